"""Board pack benchmarks: seconds and peak memory of the PDF for every quarter of both plans at demo scale and the
busiest quarters at council scale, and the same pack laid out by WeasyPrint (PDF/UA-1) to compare the engines.

Every figure comes from a fresh Python process that gathers the board data and builds the pack as the app does
(:func:`cyp.board.pdf.typeset`, Typst in a child process), so memory is what a pack costs on its own:
``tree_peak_rss_mb`` is the peak of that process and its typesetter together, sampled every 2 ms from the bench's
own process (the figure the 250 MB target is for); ``peak_rss_mb`` the process alone (pandas, pyarrow and
SQLAlchemy take about 135 MB of it: ``baseline_rss_mb``), ``typesetter_peak_rss_mb`` the Typst child
(:mod:`cyp.board.typeset`). ``seconds`` is wall time from opening the database to the PDF bytes (imports
excluded); ``cpu_s`` the processor time of both processes, which other work on a shared machine does not inflate.

    python bench/pack.py              # everything (a few minutes; WeasyPrint's council pack is the slow part)
    python bench/pack.py --quick      # two demo quarters per plan, one council quarter, WeasyPrint on demo only
    python bench/pack.py --skip-weasyprint   # every quarter, Typst only

WeasyPrint is not a dependency of the app: install it (``pip install weasyprint==70.0``, with Debian's Pango) to
get its figures; without it the Typst figures are printed alone.
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {"demo_seconds": 2.0, "demo_peak_rss_mb": 250, "council_seconds": 5.0}
COUNCIL_QUARTERS = ("2022-23 Q4", "2021-22 Q2")  # the 2019-23 plan carries the scale data: its last and a middle one


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def weasyprint_html(document: dict[str, Any]) -> str:
    """The same pack document as HTML for WeasyPrint: headings, paragraphs, lists, tables with header cells and the
    same SVG charts with the same alt text, a contents page with page numbers and the same footer."""
    escape = html.escape
    parts: list[str] = []
    contents: list[str] = []
    for number, block in enumerate(document["blocks"]):
        kind = block["kind"]
        if kind == "heading":
            level, text = block["level"], escape(block["text"])
            parts.append(f'<h{level} id="h{number}">{text}</h{level}>')
            if block.get("outlined", True) and level <= 2:
                contents.append(f'<li class="l{level}"><a href="#h{number}">{text}</a></li>')
        elif kind == "para":
            body = escape(block["text"])
            parts.append(
                f'<p class="{block["size"]}">{"<strong>" + body + "</strong>" if block["strong"] else body}</p>'
            )
        elif kind == "list":
            items = "".join(
                f"<li><strong>{escape(label)}</strong>: {escape(text)}</li>" for label, text in block["items"]
            )
            parts.append(f"<ul>{items}</ul>")
        elif kind == "table":

            def cell(value: Any) -> str:
                if isinstance(value, dict):
                    colours = document["statuses"][value["status"]]
                    return (
                        f'<td style="background:{colours["fill"]};color:{colours["ink"]}">{escape(value["text"])}</td>'
                    )
                return f"<td>{escape(value)}</td>"

            head = "".join(f"<th>{escape(h)}</th>" for h in block["header"])
            rows = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in block["rows"])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind in ("figure", "figures"):
            items = block["items"] if kind == "figures" else [block]
            figures = "".join(
                f'<figure><img src="data:image/svg+xml;base64,{base64.b64encode(item["svg"].encode()).decode()}" '
                f'alt="{escape(item["alt"])}"><figcaption>{escape(item["caption"])}</figcaption></figure>'
                for item in items
            )
            parts.append(f'<div class="{"pair" if kind == "figures" else "one"}">{figures}</div>')
        elif kind == "pagebreak":
            parts.append('<div class="break"></div>')
    cover = document["cover"]
    notice = f'<p class="notice">{escape(cover["notice"])}</p>' if cover["notice"] else ""
    footer = escape(document["footer"]).replace('"', "")
    return f"""<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{escape(document["title"])}</title>
<style>
@page {{ size: A4; margin: 16mm 16mm 20mm; @bottom-center {{ content: "{footer} · page " counter(page) " of "
  counter(pages); font: 8pt "DejaVu Sans"; color: #4D4D4D; }} }}
body {{ font: 9.5pt/1.35 "DejaVu Sans", "Liberation Sans"; color: #1A1A1A; }}
h1 {{ font-size: 17pt; }} h2 {{ font-size: 13pt; }} h3 {{ font-size: 10.5pt; }}
.small {{ font-size: 8.5pt; }} .notice {{ background: #FFF3CD; border: 1pt solid #1A1A1A; padding: 8pt; }}
table {{ border-collapse: collapse; width: 100%; font-size: 8.5pt; }}
th {{ background: #E6E6E6; text-align: left; }} th, td {{ border: 0.5pt solid #8C8C8C; padding: 3pt 4pt; }}
figure {{ margin: 0 0 4mm; }} img {{ width: 100%; }} figcaption {{ font-size: 8.5pt; color: #4D4D4D; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 5mm 6mm; }}
.break, .cover {{ break-after: page; }} .cover {{ padding-top: 30mm; }} .title {{ font-size: 26pt; font-weight: bold; }}
nav li {{ list-style: none; }} nav .l2 {{ margin-left: 1.2em; }}
nav a {{ color: inherit; text-decoration: none; }}
nav a::after {{ content: leader(".") target-counter(attr(href), page); }}
</style></head><body>
<section class="cover"><p class="large">{escape(cover["kicker"])}</p><p class="title">{escape(cover["headline"])}</p>
<p class="large">{escape(cover["plan"])}</p>{"".join(f"<p>{escape(line)}</p>" for line in cover["lines"])}{notice}
</section>
<nav class="break"><h1>Contents</h1><ul>{"".join(contents)}</ul></nav>
{"".join(parts)}</body></html>"""


def _vm_kb(pid: int | str, field: str = "VmRSS") -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
        return int(status.split(f"{field}:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return 0  # the process has just ended


def _children(pid: int | str) -> list[str]:
    found: list[str] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend((task / "children").read_text(encoding="ascii").split())
        except OSError:
            continue
    return found


class TreeWatch:
    """Samples, every 2 ms from outside, the resident memory of a process and all its descendants together (what
    the machine must hold at once: the pack process and its typesetter), and the largest descendant's own peak
    (its ``VmHWM``: the kernel's ``RUSAGE_CHILDREN`` figure counts the pages a child is forked with, before it runs
    the typesetter). Watching from another process keeps the sampler's own memory out of the figure."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self.child_peak_kb = pid, 0, 0
        self._command = b""

    def sample(self) -> None:
        """One sample of the tree (a process that has just ended counts as nothing)."""
        if not self._command:
            self._command = _cmdline(self.pid)
        own = _vm_kb(self.pid)
        pending, children = _children(self.pid), 0
        while pending:
            pid = pending.pop()
            if _cmdline(pid) in (b"", self._command):
                # Forked but not yet the typesetter: it still shares the pack process's pages (vfork, or copy on
                # write), and counting them twice would report memory nobody holds.
                continue
            children += _vm_kb(pid)
            self.child_peak_kb = max(self.child_peak_kb, _vm_kb(pid, "VmHWM"))
            pending.extend(_children(pid))
        self.peak_kb = max(self.peak_kb, own + children)


def _cmdline(pid: int | str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def measure_one(url: str, quarter: str, plan: str, engine: str, out: str) -> dict[str, Any]:
    """Build one pack in this process, as the app and ``python -m cyp export`` do, write it to ``out`` and report
    its figures (run, and its memory watched, by :func:`run_one` in a fresh process).

    ``peak_rss_mb`` is this process's own peak (``VmHWM``; the kernel's ``ru_maxrss`` keeps the peak of the
    process this one was forked from), ``baseline_rss_mb`` what it holds once the pack's modules are imported.
    """
    import cyp.board.pdf  # noqa: F401 - imported before the baseline is read, as the app has it loaded
    from cyp.board.data import board_data
    from cyp.board.pdf import pack_document, typeset
    from cyp.storage.db import make_engine, read_session

    if engine == "weasyprint":
        import weasyprint
    baseline = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    database = make_engine(url)
    with read_session(database) as session:
        data = board_data(session, quarter, plan)
    document = pack_document(data)
    lines = len(data.lines)
    if engine == "typst":
        pdf = typeset(document)
    else:
        pdf = weasyprint.HTML(string=weasyprint_html(document)).write_pdf(pdf_variant="pdf/ua-1")
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    Path(out).write_bytes(pdf)
    return {
        "engine": engine,
        "plan": plan,
        "quarter": quarter,
        "lines": lines,
        "bytes": len(pdf),
        "seconds": round(seconds, 2),
        "cpu_s": round(time.process_time() - cpu + children.ru_utime + children.ru_stime, 2),
        "baseline_rss_mb": round(baseline),
        "peak_rss_mb": round(_vm_kb("self", "VmHWM") / 1024),
    }


def run_one(url: str, quarter: str, plan: str, engine: str, timeout: float = 900) -> dict[str, Any]:
    """:func:`measure_one` in a fresh process, so each figure's memory is its own, with its process tree watched
    from here: ``tree_peak_rss_mb`` (the pack process and its typesetter at the same moment: the figure the
    250 MB target is for) and ``typesetter_peak_rss_mb``; ``pages`` counted here from the PDF it wrote."""
    import io

    from pypdf import PdfReader

    with tempfile.TemporaryDirectory(prefix="cyp-bench-one-") as folder:
        out = Path(folder) / "pack.pdf"
        with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
            child = subprocess.Popen(
                [sys.executable, __file__, "--one", url, quarter, plan, engine, str(out)], stdout=stdout, stderr=stderr
            )
            watch, deadline = TreeWatch(child.pid), time.monotonic() + timeout
            while child.poll() is None:
                watch.sample()
                if time.monotonic() > deadline:
                    child.kill()
                time.sleep(0.002)
            stdout.seek(0)
            stderr.seek(0)
            if child.returncode != 0:
                reason = stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:]
                return {"engine": engine, "plan": plan, "quarter": quarter, "error": reason}
            figures = json.loads(stdout.read())
        figures["pages"] = len(PdfReader(io.BytesIO(out.read_bytes())).pages)
    figures["typesetter_peak_rss_mb"] = round(watch.child_peak_kb / 1024) if engine == "typst" else None
    figures["tree_peak_rss_mb"] = round(watch.peak_kb / 1024)
    return figures


def quarters_with_returns(url: str) -> dict[str, list[str]]:
    """Every quarter with a current return, per plan."""
    from sqlalchemy import select

    from cyp.storage.db import make_engine, read_session
    from cyp.storage.models import Plan, Return

    with read_session(make_engine(url)) as session:
        rows = session.execute(
            select(Plan.ref, Return.quarter).join(Plan, Return.plan_id == Plan.id).where(Return.is_current).distinct()
        ).all()
    found: dict[str, list[str]] = {}
    for plan, quarter in sorted(rows):
        found.setdefault(plan, []).append(quarter)
    return found


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [run for run in runs if "error" not in run]
    if not ok:
        return {"runs": len(runs), "errors": len(runs)}
    slowest = max(ok, key=lambda run: run["seconds"])
    return {
        "runs": len(runs),
        "errors": len(runs) - len(ok),
        "max_seconds": slowest["seconds"],
        "slowest": f"{slowest['plan']} {slowest['quarter']}",
        "max_cpu_s": max(run["cpu_s"] for run in ok),
        "max_peak_rss_mb": max(run["peak_rss_mb"] for run in ok),
        "max_peak_above_baseline_mb": max(run["peak_rss_mb"] - run["baseline_rss_mb"] for run in ok),
        "max_typesetter_peak_rss_mb": max((run["typesetter_peak_rss_mb"] or 0) for run in ok) or None,
        "max_tree_peak_rss_mb": max(run["tree_peak_rss_mb"] for run in ok),
        "largest_tree": max(ok, key=lambda run: run["tree_peak_rss_mb"])["quarter"],
        "max_pages": max(run["pages"] for run in ok),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build the demo and council databases, measure, and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer quarters; no WeasyPrint council pack")
    parser.add_argument("--skip-weasyprint", action="store_true", help="Typst figures only")
    parser.add_argument("--one", nargs=5, metavar=("URL", "QUARTER", "PLAN", "ENGINE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(*args.one)))
        return {}
    os.environ.setdefault("CYP_TODAY", "2026-11-23")  # as bench/run.py: the same demo history on every run
    from bench.scale import ScaleSpec, generate_scale
    from cyp.bootstrap import initialise_database
    from cyp.demo import generate_demo
    from cyp.storage.db import make_engine, write_session

    figures: dict[str, Any] = {"targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="cyp-bench-pack-") as folder:
        demo = Path(folder) / "demo.db"
        engine = make_engine(f"sqlite:///{demo}")
        initialise_database(engine)
        with write_session(engine) as session:
            generate_demo(session)
        engine.dispose()
        council = Path(folder) / "council.db"
        shutil.copyfile(demo, council)
        engine = make_engine(f"sqlite:///{council}")
        with write_session(engine) as session:
            generate_scale(session, ScaleSpec())
        engine.dispose()
        demo_url, council_url = f"sqlite:///{demo}", f"sqlite:///{council}"

        plans = quarters_with_returns(demo_url)
        if args.quick:
            plans = {plan: quarters[-2:] for plan, quarters in plans.items()}
        demo_runs = [run_one(demo_url, q, plan, "typst") for plan, quarters in plans.items() for q in quarters]
        council_quarters = COUNCIL_QUARTERS[:1] if args.quick else COUNCIL_QUARTERS
        council_runs = [run_one(council_url, q, "2019-23", "typst") for q in council_quarters]
        demo, council = summary(demo_runs), summary(council_runs)
        figures["typst"] = {"demo": demo, "council": council, "demo_runs": demo_runs, "council_runs": council_runs}
        figures["met"] = {
            "demo_seconds": demo.get("max_seconds", 99) <= TARGETS["demo_seconds"],
            "demo_cpu_seconds": demo.get("max_cpu_s", 99) <= TARGETS["demo_seconds"],
            "demo_tree_peak_rss_mb": demo.get("max_tree_peak_rss_mb", 9999) <= TARGETS["demo_peak_rss_mb"],
            "council_seconds": council.get("max_seconds", 99) <= TARGETS["council_seconds"],
            "council_cpu_seconds": council.get("max_cpu_s", 99) <= TARGETS["council_seconds"],
        }
        largest = {plan: quarters[-1] for plan, quarters in plans.items()}
        if importlib.util.find_spec("weasyprint") is None or args.skip_weasyprint:
            figures["weasyprint"] = "not run (pip install weasyprint==70.0, with Debian's Pango, to compare engines)"
        else:
            weasy_demo = [run_one(demo_url, q, plan, "weasyprint") for plan, q in largest.items()]
            figures["weasyprint"] = {"demo_runs": weasy_demo, "demo": summary(weasy_demo)}
            if not args.quick:
                weasy_council = [run_one(council_url, COUNCIL_QUARTERS[0], "2019-23", "weasyprint", timeout=1800)]
                figures["weasyprint"] |= {"council_runs": weasy_council, "council": summary(weasy_council)}
            figures["same_quarters_typst"] = [
                run for run in demo_runs if run.get("quarter") == largest.get(run.get("plan"))
            ]
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
