"""A small run of the board-meeting load benchmark (``bench/load.py``): every figure is there and nothing failed.

The timing targets are not pass/fail here (the machine is shared); what is checked is that the run really happened:
two signed-in sessions went through every step with no error, the upload was stored exactly once, and every figure
is a number.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_browser import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
# Not imported from bench/: importing bench.run sets CYP_TODAY for the rest of the test process.
STEPS = ("overview", "outcome", "filter", "display")
PAGES = re.findall(r'ui\.page\("(app_pages/[^"]+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))
TARGETS = {
    "p95_s_at_50_sessions_every_page",
    "errors",
    "uploads_lost_or_duplicated",
    "rss_growth_per_session_mb",
    "rss_peak_mb",
    "memory_every_page_both_plans_peak_mb",
}
MEETING_KEYS = {
    "sessions",
    "wall_s",
    "load_average_before",
    "load_average_after",
    "server_cpu_s",
    "server_cpu_per_session_s",
    "errors",
    "error_samples",
    "rss_before_mb",
    "rss_peak_mb",
    "rss_after_mb",
    "rss_growth_per_session_mb",
    *STEPS,
}


def run_load(*args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "bench/load.py", "--scale", "demo", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_meeting(meeting: dict, sessions: int) -> None:
    assert set(meeting) >= MEETING_KEYS, MEETING_KEYS - set(meeting)
    assert meeting["sessions"] == sessions
    assert meeting["errors"] == 0, meeting["error_samples"]
    for step in STEPS:
        figures = meeting[step]
        assert figures["errors"] == 0, step
        assert all(is_number(figures[key]) and figures[key] > 0 for key in ("p50_s", "p95_s", "max_s")), step
        assert figures["p50_s"] <= figures["p95_s"] <= figures["max_s"], step
    assert meeting["server_cpu_s"] > 0 and 50 < meeting["rss_peak_mb"] < 4000
    assert meeting["rss_before_mb"] <= meeting["rss_peak_mb"] and meeting["rss_after_mb"] <= meeting["rss_peak_mb"]
    assert all(is_number(value) for value in meeting["load_average_before"])


def test_load_benchmark_runs_signed_in_sessions_and_counts_the_uploads():
    figures = run_load("--sessions", "2", "--uploads", "1", "--browser", "0", "--settle", "0")
    assert figures["scale"] == "demo" and set(figures["targets"]) == TARGETS
    assert_meeting(figures["first_visit"], 1)
    meeting = figures["meetings"]["2"]
    assert_meeting(meeting, 2)
    uploads = meeting["uploads"]
    assert uploads["count"] == 1 and uploads["statuses"] == {"accepted": 1}, uploads["not_accepted"]
    assert uploads["lost"] == 0 and uploads["duplicated"] == 0
    assert is_number(uploads["max_s"]) and uploads["max_s"] > 0
    assert 50 < figures["rss_peak_mb"] < 4000 and 50 < figures["vmhwm_mb"] < 4000


@pytest.mark.browser
@pytest.mark.slow
def test_load_benchmark_browser_cross_check_and_every_page_memory():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found; run the tests with `bash scripts/test.sh`")
    figures = run_load("--sessions", "1", "--uploads", "0", "--browser", "2", "--memory", "--settle", "0")
    assert_meeting(figures["cross_check"]["websocket"], 2)
    browser = figures["cross_check"]["browser"]
    assert browser["errors"] == 0, browser
    assert all(browser[step]["errors"] == 0 and browser[step]["max_s"] > 0 for step in ("overview", "outcome"))
    memory = figures["memory"]
    assert memory["errors"] == 0, memory["error_samples"]
    # Every page of app.py in both plans, each in a fresh signed-in session.
    assert memory["visits"] == len(memory["seconds"]) == 2 * len(PAGES)
    assert 50 < memory["peak_mb"] < 4000
