"""CPU seconds of each page's first visit, for comparing two checkouts: ``python bench/first_visits.py ROOT OUT.json``.

``bench/run.py --quick`` times first visits on the wall clock, once each, wherever a full garbage collection happens
to land. To compare the code of two commits page by page, this runs ``render_pages`` of ROOT's own ``bench/run.py``
(AppTest, every cache cleared before each visit) on ROOT's own databases, timing the CPU of the visit with a
``gc.collect()`` just before it (the collector's debt from earlier pages is not charged to this one), and writes the
median of RUNS per page for four views: the large and demo databases, each in the default view and in the 2019-23
plan's last quarter. Run it for each checkout in turn, twice, interleaved::

    python bench/first_visits.py /path/to/old/checkout old-1.json
    python bench/first_visits.py . new-1.json

Each checkout renders its own generated data, and the demo generator changes between commits. To compare the code
alone, ``--databases DIR`` renders copies of ``DIR/demo.db`` and ``DIR/large.db`` instead: the first run (with the
older checkout as ROOT) builds them there; the newer code migrates its copies forward::

    python bench/first_visits.py /path/to/old/checkout old-1.json --databases /tmp/same
    python bench/first_visits.py . new-1.json --databases /tmp/same

``bench/results/first-visit-cpu/`` holds the runs of 1 December 2026 (0705bfe, 0705bfe with its pages/ folder
renamed app_pages/ as ``bench/results/0705bfe-pages-renamed.patch`` does, and main; ``same-db-*`` on the databases
built by 0705bfe).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Render every page of ROOT's app.py in four views and write (and print) the CPU medians as JSON."""
    parser = argparse.ArgumentParser(description="CPU of each page's first visit in one checkout.")
    parser.add_argument("root", type=Path, help="the checkout whose bench/run.py, app.py and cyp/ are measured")
    parser.add_argument("out", type=Path, help="where to write the JSON figures")
    parser.add_argument("--runs", type=int, default=5, help="timed visits per page and view (median; default 5)")
    parser.add_argument("--pages", help="comma-separated page names (default: every page in app.py)")
    parser.add_argument(
        "--databases",
        type=Path,
        help="render copies of DIR/demo.db and DIR/large.db (built there by this ROOT's code when missing)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    os.chdir(root)
    sys.path.insert(0, str(root))
    run = importlib.import_module("bench.run")
    scale = importlib.import_module("bench.scale")

    def cpu_timed(function: Callable[[], Any]) -> tuple[float, Any]:
        gc.collect()
        started = time.process_time()
        result = function()
        return time.process_time() - started, result

    run.timed = cpu_timed
    median = run.median_of
    run.median_of = lambda values, digits=4: median(values, 5)
    pages = run.app_pages()
    if args.pages:
        pages = [page for page in pages if Path(page).stem in args.pages.split(",")]
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cyp-first-visits-") as temporary:
        if args.databases is None:
            demo, large, _short = run.build_databases(Path(temporary), scale.ScaleSpec())
        else:
            kept = args.databases.resolve()
            if not all((kept / f"{name}.db").exists() for name in ("demo", "large")):
                kept.mkdir(parents=True, exist_ok=True)
                run.build_databases(kept, scale.ScaleSpec())
            for name in ("demo", "large"):
                shutil.copyfile(kept / f"{name}.db", Path(temporary) / f"{name}.db")
            demo, large = (f"sqlite:///{Path(temporary) / name}.db" for name in ("demo", "large"))
        figures["large_default"] = run.render_pages(large, pages, args.runs)
        figures["large_2019_23"] = run.render_pages(large, pages, args.runs, run.LARGE_VIEW)
        figures["demo_default"] = run.render_pages(demo, pages, args.runs)
        figures["demo_2019_23"] = run.render_pages(demo, pages, args.runs, run.LARGE_VIEW)
    args.out.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
