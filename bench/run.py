"""Benchmarks at council scale: ``python bench/run.py [--quick]`` prints one JSON object of figures.

Every figure is the median of several runs; the things compared in a ratio are timed side by side, interleaved in
the same loop. Two databases are built first in a temporary folder: *demo* (the framework and ``python -m cyp demo``
data) and *large* (the same plus :mod:`bench.scale`, 100 teams x 40 lines x 16 quarters). ``CYP_TODAY`` defaults to
2026-11-23 so the data, and so the figures' meaning, do not move with the calendar.

Sections: ``ingest`` (one 40-line return end to end vs the safe floor, the bare steps any safe ingest takes, and
vs pandas/openpyxl),
``backfill`` (returns per second through ``ingest_return``), ``pages`` (AppTest server render of every page, cold
cache, at both scales; the default view and the 2019–23 plan's last quarter, where the 4,000 benchmark lines are),
``browser`` (Chromium, navigation to a rendered outcome page at the large scale) and ``memory`` (VmHWM of the
``streamlit run`` process after serving every page at the large scale).
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("CYP_TODAY", "2026-11-23")

from bench.scale import SCALE_PLAN, ScaleSpec, generate_scale, team_ref  # noqa: E402

INGEST_TEAM = 1  # benchmark team 001: 40 lines
INGEST_QUARTER = "2022-23 Q4"
LARGE_VIEW = {"plan": SCALE_PLAN, "quarter": INGEST_QUARTER}
# Not a secret (a throwaway account on a throwaway database); long and free of the username, as the rules ask.
PASSWORD = "quarterly figures, not a secret"
TARGETS = {
    "ingest_vs_safe_floor": "<= 2",
    "ingest_vs_pandas_openpyxl_read": "< 1",
    "page_render_large_s": "< 1",
    "page_render_large_vs_demo": "<= 1.5",
    "plan_2019_23_slowest_large_s": "< 1",
    "plan_2019_23_large_vs_short_history": "<= 1.5",
    "peak_memory_mb": "< 500",
    "demo_generate_s": "< 10",
}


def median_of(runs: list[float], digits: int = 4) -> float:
    """The median, rounded for printing."""
    return round(statistics.median(runs), digits)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by one call, and its result."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def timed_with_cpu(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds taken by one call, as wall time and as CPU time of this thread, and its result."""
    started, cpu = time.perf_counter(), time.thread_time()
    result = function()
    return time.perf_counter() - started, time.thread_time() - cpu, result


def default_page() -> str:
    """The page app.py serves at the bare address (``default=True``): it has no path of its own."""
    app_source = (ROOT / "app.py").read_text(encoding="utf-8")
    found = re.search(r'ui\.page\("(app_pages/[^"]+\.py)"[^)]*default=True', app_source)
    return found.group(1) if found else ""


def app_pages() -> list[str]:
    """Every page file the app registers, in its order (read from app.py so a new page is benchmarked too)."""
    return re.findall(r'ui\.page\("(app_pages/[^"]+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))


SHORT_HISTORY_QUARTERS = 2  # the shortest history with a quarter before the viewed one (direction of travel)


def build_demo_database(path: Path) -> str:
    """A new SQLite database at ``path`` with the framework and ``python -m cyp demo`` data (the *demo* scale)."""
    from cyp.bootstrap import initialise_database
    from cyp.demo import generate_demo
    from cyp.storage.db import make_engine, write_session

    engine = make_engine(f"sqlite:///{path}")
    initialise_database(engine)
    with write_session(engine) as session:
        generate_demo(session)
    engine.dispose()
    return f"sqlite:///{path}"


def bench_demo_generation(folder: Path, runs: int) -> dict[str, float]:
    """``python -m cyp demo``'s generator (``generate_demo`` in one transaction) on a fresh copy of a framework-only
    database each run: median wall and CPU seconds."""
    from cyp.bootstrap import initialise_database
    from cyp.demo import generate_demo
    from cyp.storage.db import make_engine, write_session

    framework = folder / "framework-only.db"
    engine = make_engine(f"sqlite:///{framework}")
    initialise_database(engine)
    engine.dispose()
    walls, cpus = [], []
    for run in range(runs):
        copy = folder / f"demo-generation-{run}.db"
        shutil.copyfile(framework, copy)
        engine = make_engine(f"sqlite:///{copy}")
        with write_session(engine) as session:
            wall, cpu, _counts = timed_with_cpu(functools.partial(generate_demo, session))
        engine.dispose()
        copy.unlink()
        walls.append(wall)
        cpus.append(cpu)
    return {"generate_s": median_of(walls, 3), "generate_cpu_s": median_of(cpus, 3)}


def add_scale_data(path: Path, spec: ScaleSpec) -> str:
    """Add the scale data of ``spec`` to the SQLite database at ``path`` (demo plus this is the *large* scale)."""
    from cyp.storage.db import make_engine, write_session

    engine = make_engine(f"sqlite:///{path}")
    with write_session(engine) as session:
        generate_scale(session, spec)
    engine.dispose()
    return f"sqlite:///{path}"


def build_databases(folder: Path, spec: ScaleSpec) -> tuple[str, str, str]:
    """(demo URL, large URL, short-history URL): the framework plus demo data; that plus the scale data; and that
    plus the same teams and lines with only the last two quarters of history."""
    demo = folder / "demo.db"
    demo_url = build_demo_database(demo)
    large = folder / "large.db"
    shutil.copyfile(demo, large)
    short = folder / "short-history.db"
    shutil.copyfile(demo, short)
    short_spec = replace(spec, quarters=min(spec.quarters, SHORT_HISTORY_QUARTERS))
    return demo_url, add_scale_data(large, spec), add_scale_data(short, short_spec)


def filled_return(url: str, team: str, quarter: str, variant: int) -> bytes:
    """The team's template for the quarter filled in as a lead would; ``variant`` makes each file distinct."""
    from openpyxl import load_workbook

    from cyp.returns.template import write_template
    from cyp.storage.db import make_engine, read_session

    engine = make_engine(url)
    with read_session(engine) as session:
        template = write_template(session, team, quarter)
    engine.dispose()
    workbook = load_workbook(io.BytesIO(template))
    statuses = ("Green", "Green", "Amber", "Green", "Red", "Blue")
    for row in workbook["Return"].iter_rows(min_row=9):
        if row[0].value:
            row[4].value = statuses[(row[0].row + variant) % len(statuses)]
            # Commentary differs line by line and carries figures, as real updates do.
            row[5].value = (
                f"Line {row[0].value}: {12 + row[0].row} sessions delivered against a plan of 15; progress as "
                f"planned this quarter (benchmark run {variant})."
            )
            row[6].value = f"Continue delivery; review with partners in week {row[0].row % 12 + 1}."
    for row in workbook["Indicators"].iter_rows(min_row=4):
        if row[0].value:
            row[3].value = 40 + variant % 7
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass
class Floor:
    """What a bare script needs to file a return's rows: ids looked up once, before any timing."""

    database: Path
    action_ids: dict[str, int]
    indicator_ids: dict[str, int]
    partner_id: int
    plan_id: int
    quarter: str
    # Version numbers far above any the scale data or the ingest gives the floor team.
    version: int = 1000


def floor_for(database: Path, quarter: str) -> Floor:
    """The floor's ids from ``database``: every action and indicator ref, a team to file under, the plan."""
    with sqlite3.connect(database) as connection:
        # Filed under another team than the ingest's, so their version numbers never meet.
        partner_id = connection.execute(
            "SELECT id FROM partners WHERE ref != ? ORDER BY id DESC LIMIT 1", (team_ref(INGEST_TEAM),)
        ).fetchone()[0]
        plan_id = connection.execute("SELECT id FROM plans WHERE ref = ?", (SCALE_PLAN,)).fetchone()[0]
        return Floor(
            database,
            dict(connection.execute("SELECT ref, id FROM actions")),
            dict(connection.execute("SELECT ref, id FROM indicators")),
            partner_id,
            plan_id,
            quarter,
        )


def safe_floor(data: bytes, floor: Floor, folder: Path) -> int:
    """The safe floor: what any ingest that keeps its promises must do, done as a bare script would.

    The zip structure checked (``ZipFile.testzip``: every member read and its CRC checked), python-calamine reading
    the Return and Indicators sheets, the kept copy of the file written to a temporary name, fsynced and renamed into
    ``folder``, and on a new ``sqlite3`` connection one transaction inserting the same rows into the same tables of
    the same database (a ``returns`` row with the file's SHA-256, its line updates and indicator values with
    ``executemany``, an audit row), committed (``synchronous=NORMAL``, as the app's engine) and closed. No
    validation, no ORM.
    """
    import python_calamine

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if archive.testzip() is not None:
            raise RuntimeError("the benchmark workbook is a broken zip")
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    lines = [row for row in workbook.get_sheet_by_name("Return").to_python()[8:] if row and row[0]]
    values = [row for row in workbook.get_sheet_by_name("Indicators").to_python()[3:] if row and row[0]]
    sha256 = hashlib.sha256(data).hexdigest()
    floor.version += 1
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".floor-", suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    connection = sqlite3.connect(floor.database, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("BEGIN")
        return_id = connection.execute(
            "INSERT INTO returns (partner_id, plan_id, quarter, version, is_current, uploaded_by, uploaded_at, "
            "original_filename, size_bytes, sha256, stored_path, queries_acknowledged, is_demo) "
            "VALUES (?, ?, ?, ?, 0, 'bench', '2026-11-23 00:00:00', 'floor.xlsx', ?, ?, ?, 0, 1) RETURNING id",
            (floor.partner_id, floor.plan_id, floor.quarter, floor.version, len(data), sha256, f"{sha256}.xlsx"),
        ).fetchone()[0]
        connection.executemany(
            "INSERT INTO line_updates (return_id, action_id, quarter, status, progress, next_steps, risks) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (return_id, floor.action_ids[r[0]], floor.quarter, r[4], r[5] or None, r[6] or None, r[7] or None)
                for r in lines
            ],
        )
        connection.executemany(
            "INSERT INTO indicator_values (return_id, indicator_id, quarter, value, target, commentary) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (return_id, floor.indicator_ids[r[0]], floor.quarter, r[3] or None, r[4] or None, r[5] or None)
                for r in values
            ],
        )
        connection.execute(
            "INSERT INTO audit_events (at, actor, action, target, outcome, detail) "
            "VALUES ('2026-11-23 00:00:00', 'bench', 'return.ingest', ?, 'accepted', ?)",
            (f"floor v{floor.version}", json.dumps({"return_id": return_id, "lines": len(lines)})),
        )
        # Under its stored name before the commit makes the return visible, as the app keeps it.
        os.replace(temporary, folder / f"{return_id}-{sha256[:12]}.xlsx")
        connection.execute("COMMIT")
    finally:
        connection.close()
    return len(lines)


def bench_ingest(large_url: str, folder: Path, runs: int) -> dict[str, Any]:
    """One 40-line return end to end, against the safe floor (:func:`safe_floor`) and pandas' openpyxl read."""
    import pandas as pd

    from cyp.access.permissions import system_acting_for
    from cyp.returns.ingest import ingest_return
    from cyp.storage.db import make_engine

    bench = system_acting_for("benchmark")
    database = folder / "ingest.db"
    shutil.copyfile(large_url.removeprefix("sqlite:///"), database)
    url = f"sqlite:///{database}"
    files = [filled_return(url, team_ref(INGEST_TEAM), INGEST_QUARTER, variant) for variant in range(runs + 1)]
    engine = make_engine(url)
    floor = floor_for(database, INGEST_QUARTER)
    uploads = folder / "uploads"
    floor_uploads = folder / "floor-uploads"
    floor_uploads.mkdir()
    ingest, safe, naive = [], [], []
    ingest_cpu, safe_cpu = [], []
    stages: dict[str, list[float]] = {}
    for index, data in enumerate(files):
        seconds, ingest_cpu_seconds, result = timed_with_cpu(
            lambda data=data: ingest_return(
                data, "return.xlsx", bench, acknowledge_queries=True, engine=engine, uploads_dir=uploads
            )
        )
        if result.status != "accepted":
            raise RuntimeError(f"benchmark return not accepted: {result.summary} {result.problems[:3]}")
        safe_seconds, safe_cpu_seconds, rows = timed_with_cpu(lambda data=data: safe_floor(data, floor, floor_uploads))
        naive_seconds, _frames = timed(
            lambda data=data: pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")
        )
        stage_seconds = ingest_stages(data, folder / "stages")
        if index:  # the first round warms imports and caches
            ingest.append(seconds)
            safe.append(safe_seconds)
            ingest_cpu.append(ingest_cpu_seconds)
            safe_cpu.append(safe_cpu_seconds)
            naive.append(naive_seconds)
            for stage, value in stage_seconds.items():
                stages.setdefault(stage, []).append(value)
    engine.dispose()
    return {
        "lines": rows,
        "runs": len(ingest),
        "ingest_s": median_of(ingest),
        "safe_floor_s": median_of(safe),
        "pandas_openpyxl_read_s": median_of(naive),
        "ingest_vs_safe_floor": round(statistics.median(ingest) / statistics.median(safe), 2),
        "ingest_vs_pandas_openpyxl_read": round(statistics.median(ingest) / statistics.median(naive), 2),
        # The same two sides as CPU time of this thread: what the disk's fsync costs at the moment is left out.
        "ingest_cpu_s": median_of(ingest_cpu, 5),
        "safe_floor_cpu_s": median_of(safe_cpu, 5),
        "ingest_vs_safe_floor_cpu": round(statistics.median(ingest_cpu) / statistics.median(safe_cpu), 2),
        # Steps of the ingest, each timed on its own in the same loop (file_sync is in the safe floor too).
        "stages_s": {stage: median_of(values, 5) for stage, values in stages.items()},
    }


def ingest_stages(data: bytes, folder: Path) -> dict[str, float]:
    """Seconds for the steps an ingest takes beyond reading and inserting, each run alone on ``data``.

    ``file_checks`` (zip structure, sizes, entity scan), ``read`` (the reader, which names every cell),
    ``personal_data_scan`` (every commentary cell), ``file_sync`` (the kept copy written and fsynced).
    """
    from cyp.returns.filecheck import check_upload
    from cyp.returns.personal_data import find_personal_data
    from cyp.returns.reader import read_return

    seconds: dict[str, float] = {}
    seconds["file_checks"], _problems = timed(lambda: check_upload(data, "return.xlsx"))
    seconds["read"], parsed = timed(lambda: read_return(io.BytesIO(data)))
    texts = [cell.text for line in parsed.lines for cell in (line.progress, line.next_steps, line.risks)]
    seconds["personal_data_scan"], _hits = timed(lambda: [find_personal_data(text) for text in texts])
    folder.mkdir(exist_ok=True)

    def write_and_sync() -> None:
        path = folder / "copy.part"
        with path.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        path.unlink()

    seconds["file_sync"], _ = timed(write_and_sync)
    return seconds


def bench_backfill(large_url: str, folder: Path, count: int) -> dict[str, Any]:
    """``count`` returns (benchmark teams x 2019–23 quarters) through ``ingest_return``: returns per second."""
    from cyp.access.permissions import system_acting_for
    from cyp.quarters import plan_quarters
    from cyp.returns.ingest import ingest_return
    from cyp.storage.db import make_engine

    bench = system_acting_for("benchmark")
    database = folder / "backfill.db"
    shutil.copyfile(large_url.removeprefix("sqlite:///"), database)
    url = f"sqlite:///{database}"
    quarters = [q.label for q in plan_quarters(2019, 2022)]
    teams = max(1, min(100, count // len(quarters) + 1))
    templates = {number: filled_return(url, team_ref(number), quarters[0], 0) for number in range(1, teams + 1)}
    # The same filled workbook per team, relabelled per quarter in its two text cells: cheap to make, real to read.
    files = []
    for index in range(count):
        number, quarter = index % teams + 1, quarters[index // teams % len(quarters)]
        files.append(relabel(templates[number], quarters[0], quarter))
    engine = make_engine(url)
    started = time.perf_counter()
    statuses: dict[str, int] = {}
    for index, data in enumerate(files):
        result = ingest_return(
            data, f"backfill-{index}.xlsx", bench, acknowledge_queries=True, engine=engine, uploads_dir=folder / "up"
        )
        statuses[result.status] = statuses.get(result.status, 0) + 1
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "returns": count,
        "seconds": round(seconds, 2),
        "returns_per_s": round(count / seconds, 1),
        "statuses": statuses,
    }


def relabel(data: bytes, old: str, new: str) -> bytes:
    """The workbook with every occurrence of one quarter label replaced (shared strings and the About sheet)."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.endswith(".xml"):
                content = content.replace(old.encode(), new.encode())
            target.writestr(info, content)
    return out.getvalue()


def render_pages(url: str, pages: list[str], runs: int, query: dict[str, str] | None = None) -> dict[str, float]:
    """Median AppTest render time per page with every cache cleared before each run (a first visit)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from cyp.access.permissions import Principal
    from cyp.storage.db import dispose_engines
    from cyp.ui import PRINCIPAL_KEY
    from cyp.ui.engine import clear_caches

    os.environ["CYP_DATABASE_URL"] = url
    st.cache_resource.clear()
    dispose_engines()
    times: dict[str, list[float]] = {page: [] for page in pages}
    for round_number in range(runs + 1):
        for page in pages:
            clear_caches()  # st.cache_data and the loaders every session shares
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
            at.session_state[PRINCIPAL_KEY] = Principal("bench", "administrator")
            at.run()
            for key, value in (query or {}).items():
                at.query_params[key] = value
            at.switch_page(page)
            # A full collection (~0.1 s at this scale) would land on whichever page crosses the collector's
            # threshold, always the same page for a given order: earlier pages' debt is not this page's time.
            gc.collect()
            seconds, _ = timed(at.run)
            if at.exception:
                raise RuntimeError(f"{page} raised: {[e.value for e in at.exception]}")
            if round_number:  # the first round warms imports and the engine
                times[page].append(seconds)
    return {Path(page).stem: median_of(values, 3) for page, values in times.items()}


def _start_server(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.fixtures_browser import _wait_until_healthy
    from tests.fixtures_postgres import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}"]
    command += ["--server.address=127.0.0.1", "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
    env = {**os.environ, "CYP_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    _wait_until_healthy(base, process, log)
    return process, base


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc status")


def _sign_in(page: Any, address: str) -> None:
    """Open an address (a new Streamlit session) and sign in there; the app then shows the page asked for."""
    from tests.fixtures_browser import wait_for_streamlit

    page.goto(address)
    wait_for_streamlit(page, timeout_ms=120_000)
    if not page.get_by_label("Username").count():
        return  # a public page (the young people's summary) shows without signing in
    page.get_by_label("Username").fill("bench")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Attached, not visible: the board display hides the sidebar that says who is signed in.
    page.get_by_text("Signed in as bench").wait_for(state="attached")
    wait_for_streamlit(page, timeout_ms=120_000)


def _choose(page: Any, box: Any, option: str) -> None:
    """Pick ``option`` in a Streamlit selectbox and wait for the rerun."""
    from tests.fixtures_browser import wait_for_streamlit

    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_streamlit(page, timeout_ms=120_000)


def bench_browser(large_url: str, folder: Path, pages: list[str], runs: int) -> dict[str, Any]:
    """Chromium at the large scale: from a click on "Outcomes" to the rendered outcome page (first visit, then
    median of repeat visits), every page signed in at its own address in both views, then the server's peak memory."""
    from playwright.sync_api import sync_playwright

    from cyp.access.accounts import create_user
    from cyp.access.permissions import SYSTEM
    from cyp.storage.db import make_engine, write_session
    from tests.fixtures_browser import CHROMIUM, CHROMIUM_ARGS, new_context, wait_for_streamlit

    engine = make_engine(large_url)
    with write_session(engine) as session:
        create_user(session, SYSTEM, "bench", "administrator", password=PASSWORD)
    engine.dispose()
    process, base = _start_server(large_url, folder / "streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            # new_context: its pages record the runs they asked for, which wait_for_streamlit waits on.
            context = new_context(browser, viewport={"width": 1366, "height": 768})
            context.set_default_timeout(120_000)
            page = context.new_page()
            _sign_in(page, base)
            menu = page.get_by_test_id("stSidebar")
            outcome: list[float] = []
            for _ in range(runs + 1):
                menu.get_by_text("Overview", exact=True).click()
                wait_for_streamlit(page, timeout_ms=120_000)
                started = time.perf_counter()
                menu.get_by_text("Outcomes", exact=True).click()
                # Until the Outcomes run has finished, the Overview's elements are still on the page (stale), its
                # Plan drop-down beside the new one: wait for the run the click asked for, then for the content.
                wait_for_streamlit(page, timeout_ms=120_000)
                page.wait_for_url("**/outcome*")
                page.get_by_text("Overall in").first.wait_for()
                outcome.append(time.perf_counter() - started)
            # The same page in the 2019-23 plan's last quarter, where the 4,000 benchmark lines are: chosen with the
            # Plan filter on the open page (a new address would be a new session, signed out). Choosing a plan
            # redraws the drop-down as a new widget (its identity follows its default), and Streamlit keeps the old
            # one on the page, marked data-retained and shown while it has focus, which it has after the choice:
            # for a while there are two Plan drop-downs, so look only at the current run's elements.
            plan_box = page.locator('[data-testid="stElementContainer"]:not([data-retained])').get_by_role(
                "combobox", name="Plan", exact=True
            )
            default_plan = plan_box.input_value()
            large_outcome: list[float] = []
            for _ in range(runs + 1):
                _choose(page, plan_box, default_plan)
                started = time.perf_counter()
                _choose(page, plan_box, SCALE_PLAN)
                page.get_by_text(f"Overall in {INGEST_QUARTER}").first.wait_for()
                large_outcome.append(time.perf_counter() - started)
            visited = {}
            large_query = "?" + "&".join(f"{k}={v.replace(' ', '+')}" for k, v in LARGE_VIEW.items())
            for path in pages:
                name = Path(path).stem
                address = "" if path == default_page() else name
                for label, query in ((name, ""), (f"{name} (2019-23)", large_query)):
                    # A fresh context per visit: a new browser session, as when a board member opens a shared link.
                    visit = new_context(browser, viewport={"width": 1366, "height": 768})
                    visit.set_default_timeout(120_000)
                    started = time.perf_counter()
                    try:
                        _sign_in(visit.new_page(), f"{base}/{address}{query}")
                        visited[label] = round(time.perf_counter() - started, 2)
                    except Exception as exc:  # noqa: BLE001 - one page's failure must not lose every other figure
                        visited[label] = f"failed: {type(exc).__name__}"
                    visit.close()
            browser.close()
        memory = peak_memory_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
    return {
        "outcome_page_first_s": round(outcome[0], 3),
        "outcome_page_s": median_of(outcome[1:], 3),
        "outcome_page_2019_23_first_s": round(large_outcome[0], 3),
        "outcome_page_2019_23_s": median_of(large_outcome[1:], 3),
        "sign_in_and_render_every_page_s": visited,
        "peak_memory_mb": memory,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every benchmark and print the figures as one JSON object; ``--quick`` runs fewer, smaller rounds."""
    parser = argparse.ArgumentParser(description="Benchmarks at council scale; prints one JSON object.")
    parser.add_argument("--quick", action="store_true", help="3 runs per figure and a 100-return back-fill")
    parser.add_argument("--teams", type=int, default=ScaleSpec.teams, help="benchmark teams (default 100)")
    parser.add_argument("--quarters", type=int, default=ScaleSpec.quarters, help="quarters of history (default 16)")
    parser.add_argument("--runs", type=int, help="runs per timed figure (default 7, or 3 with --quick)")
    parser.add_argument("--backfill", type=int, help="returns in the back-fill (default 1000, or 100 with --quick)")
    parser.add_argument("--pages", help="comma-separated page names to render (default: every page in app.py)")
    parser.add_argument("--skip-browser", action="store_true", help="leave out the Chromium and memory figures")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    page_runs = 1 if args.quick or args.runs == 1 else 3
    spec = ScaleSpec(teams=args.teams, quarters=args.quarters)
    pages = app_pages()
    if args.pages:
        pages = [page for page in pages if Path(page).stem in args.pages.split(",")]
    figures: dict[str, Any] = {"scale": {"teams": spec.teams, "lines_per_team": spec.lines_per_team}}
    with tempfile.TemporaryDirectory(prefix="cyp-bench-") as temporary:
        folder = Path(temporary)
        seconds, (demo_url, large_url, short_url) = timed(lambda: build_databases(folder, spec))
        figures["scale"]["build_s"] = round(seconds, 1)
        figures["scale"] |= database_counts(large_url)
        figures["demo"] = bench_demo_generation(folder, max(1, min(runs, 3)))
        figures["ingest"] = bench_ingest(large_url, folder, runs)
        figures["backfill"] = bench_backfill(large_url, folder, args.backfill or (100 if args.quick else 1000))
        demo_pages = render_pages(demo_url, pages, page_runs)
        large_pages = render_pages(large_url, pages, page_runs)
        demo_view = render_pages(demo_url, pages, page_runs, LARGE_VIEW)
        large_view = render_pages(large_url, pages, page_runs, LARGE_VIEW)
        short_view = render_pages(short_url, pages, page_runs, LARGE_VIEW)
        figures["pages"] = {
            "demo_s": demo_pages,
            "large_s": large_pages,
            "page_render_large_s": max(large_pages.values()),
            # All pages together: a single page's few-millisecond figure is too noisy for a ratio of its own.
            "page_render_large_vs_demo": round(sum(large_pages.values()) / sum(demo_pages.values()), 2),
            "per_page_large_vs_demo": {p: round(large_pages[p] / max(demo_pages[p], 1e-3), 2) for p in large_pages},
            "plan_2019_23_demo_s": demo_view,
            "plan_2019_23_large_s": large_view,
            "plan_2019_23_slowest_large_s": max(large_view.values()),
            "plan_2019_23_large_vs_demo": round(sum(large_view.values()) / sum(demo_view.values()), 2),
            # The same 4,000 lines in view with 2 quarters of history and with all 16: what history alone costs.
            "plan_2019_23_short_history_s": short_view,
            "plan_2019_23_large_vs_short_history": round(sum(large_view.values()) / sum(short_view.values()), 2),
        }
        if not args.skip_browser:
            figures["browser"] = bench_browser(large_url, folder, pages, max(1, min(runs, 3)))
    figures["targets"] = TARGETS
    print(json.dumps(figures, indent=2))
    return figures


def database_counts(url: str) -> dict[str, int]:
    """How many teams, lines, returns and line updates the database holds."""
    from sqlalchemy import func, select

    from cyp.storage.db import make_engine, read_session
    from cyp.storage.models import Action, LineUpdate, Partner, Return

    engine = make_engine(url)
    with read_session(engine) as session:
        counts = {
            f"{name}_total": session.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("teams", Partner),
                ("lines", Action),
                ("returns", Return),
                ("line_updates", LineUpdate),
            )
        }
    engine.dispose()
    return counts


if __name__ == "__main__":
    main()
