"""``bench/startup.py`` at one run per figure: every figure is there and is a number (the targets are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_browser import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
CLI_AND_SERVER = {"cli_help_s", "cli_report_s", "app_http_200_s"}


def run_startup(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "bench/startup.py", "--runs", "1", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def test_startup_figures_without_the_browser():
    figures = run_startup("--skip-browser")
    assert figures["runs"] == 1
    assert [key for key in CLI_AND_SERVER if not positive(figures.get(key))] == []
    assert "app_first_page_s" not in figures
    assert set(figures["targets"]) == {"cli_help_s", "cli_report_s", "app_first_page_s"}


@pytest.mark.browser
@pytest.mark.slow
def test_startup_figures_with_the_first_page_in_chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found; run the tests with `bash scripts/test.sh`")
    figures = run_startup()
    keys = CLI_AND_SERVER | {"app_first_page_s", "app_first_page_server_cpu_s", "app_signed_in_s"}
    assert [key for key in keys if not positive(figures.get(key))] == []
    # The page is rendered after the server first answers, from the same start.
    assert figures["app_first_page_s"] > figures["app_http_200_s"]
