"""A small, fast run of the benchmarks (``bench/run.py``) and the scale generator (``bench/scale.py``).

Benchmarks are not pass/fail here: these tests check that every figure is produced and is a number, on a tiny
scale, and that the scale data is exactly what its spec says and is removed cleanly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.scale import ScaleSpec, clear_scale, generate_scale
from cyp.bootstrap import initialise_database
from cyp.storage.db import read_session, write_session
from cyp.storage.models import Action, IndicatorValue, LineUpdate, Meta, Partner, Return
from tests.fixtures_browser import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--teams", "2", "--quarters", "2", "--runs", "1", "--backfill", "3"]


def run_bench(*args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "bench/run.py", *TINY, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def test_scale_data_matches_its_spec_and_is_removed_exactly(engine):
    initialise_database(engine)
    spec = ScaleSpec(teams=3, lines_per_team=4, quarters=5, second_version_share=0.5, seed=1)
    with write_session(engine) as session:
        before = session.scalar(select(func.count(Partner.id)))
        counts = generate_scale(session, spec)
    with read_session(engine) as session:
        versions = session.scalar(select(func.count(Return.id)).where(Return.version == 2))
        current = session.scalar(select(func.count(Return.id)).where(Return.is_current))
        assert counts["teams"] == 3 and counts["lines"] == 12
        assert counts["returns"] == 3 * 5 + versions and current == 3 * 5
        assert counts["line updates"] == 4 * counts["returns"]
        assert session.scalar(select(func.count(LineUpdate.id))) == counts["line updates"]
        assert session.scalar(select(func.count(Return.id)).where(Return.is_demo.is_(False))) == 0
        assert session.scalar(select(func.count(Action.id)).where(Action.is_demo)) == 12
        assert session.get(Meta, "scale") is not None
    with write_session(engine) as session:
        again = generate_scale(session, spec)  # deterministic, and replaces the earlier run
    assert again == counts
    with write_session(engine) as session:
        removed = clear_scale(session)
    assert removed["returns"] == counts["returns"] and removed["teams"] == 3
    with read_session(engine) as session:
        assert session.scalar(select(func.count(Partner.id))) == before
        assert session.scalar(select(func.count(Return.id))) == 0
        assert session.scalar(select(func.count(IndicatorValue.id))) == 0
        assert session.scalar(select(func.count(Action.id)).where(Action.is_demo)) == 0


def test_benchmark_run_prints_every_figure_as_json():
    figures = run_bench("--pages", "overview,outcome", "--skip-browser")
    ingest = figures["ingest"]
    for key in (
        "ingest_s",
        "safe_floor_s",
        "pandas_openpyxl_read_s",
        "ingest_vs_safe_floor",
        "ingest_vs_pandas_openpyxl_read",
        "ingest_cpu_s",
        "safe_floor_cpu_s",
        "ingest_vs_safe_floor_cpu",
    ):
        assert is_number(ingest[key]) and ingest[key] > 0, key
    # The CPU time of a side never exceeds its wall time by more than the clocks' resolution.
    assert ingest["ingest_cpu_s"] <= ingest["ingest_s"] * 1.05 + 1e-3
    assert set(ingest["stages_s"]) == {"file_checks", "read", "personal_data_scan", "file_sync"}
    assert all(is_number(value) and value > 0 for value in ingest["stages_s"].values())
    assert ingest["lines"] == 40
    assert figures["backfill"]["statuses"] == {"accepted": 3} and figures["backfill"]["returns_per_s"] > 0
    pages = figures["pages"]
    for view in ("demo_s", "large_s", "plan_2019_23_demo_s", "plan_2019_23_large_s", "plan_2019_23_short_history_s"):
        assert set(pages[view]) == {"overview", "outcome"} and all(map(is_number, pages[view].values())), view
    for key in (
        "page_render_large_s",
        "page_render_large_vs_demo",
        "plan_2019_23_slowest_large_s",
        "plan_2019_23_large_vs_short_history",
    ):
        assert is_number(pages[key]), key
    assert figures["scale"]["lines_total"] > 80
    assert all(is_number(figures["demo"][key]) and figures["demo"][key] > 0 for key in ("generate_s", "generate_cpu_s"))
    assert set(figures["targets"]) >= {"ingest_vs_safe_floor", "peak_memory_mb"}


@pytest.mark.browser
@pytest.mark.slow
def test_benchmark_browser_figures_and_peak_memory():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found; run the tests with `bash scripts/test.sh`")
    browser = run_bench("--pages", "outcome")["browser"]
    assert is_number(browser["outcome_page_first_s"]) and is_number(browser["outcome_page_s"])
    assert is_number(browser["outcome_page_2019_23_first_s"]) and is_number(browser["outcome_page_2019_23_s"])
    assert set(browser["sign_in_and_render_every_page_s"]) == {"outcome", "outcome (2019-23)"}
    assert 50 < browser["peak_memory_mb"] < 4000
