"""Start-up times: ``python bench/startup.py [--runs N]`` prints one JSON object of figures.

Every figure is the median of N runs, each in a fresh process, on a demo database built first in a temporary folder
(``python -m cyp init`` and ``python -m cyp demo``, as ``scripts/run.sh`` does):

- ``cli_help_s``: ``python -m cyp --help``, from starting the interpreter to its exit;
- ``cli_report_s``: ``python -m cyp report --quarter "2026-27 Q2" --format json``, the same;
- ``app_http_200_s``: from starting the web server (``streamlit run serve.py``, headless, on a free port, as
  ``scripts/run.sh`` runs it) until a GET of ``/`` answers 200;
- ``app_first_page_s``: from starting the server until Chromium, already open, shows the first page rendered: its
  heading (signed out, the sign-in form's "Sign in to CYP Plan Monitor") and Streamlit finished drawing;
- ``app_first_page_server_cpu_s``: the CPU time (user and system) the server process had used by then: on a
  shared machine the wall times above wait for other work too, this one much less;
- ``app_signed_in_s``: from the click on "Sign in" on that page until the default page (the Overview) is rendered
  for the administrator signed in.

``CYP_TODAY`` defaults to 2026-11-23, so the quarter reported and the demo data do not move with the calendar.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("CYP_TODAY", "2026-11-23")

from tests.fixtures_browser import CHROMIUM, CHROMIUM_ARGS, new_context, wait_for_streamlit  # noqa: E402
from tests.fixtures_postgres import free_port  # noqa: E402

REPORT_QUARTER = "2026-27 Q2"
TARGETS = {"cli_help_s": "<= 0.3", "cli_report_s": "<= 0.8", "app_first_page_s": "<= 3"}
# Not a secret (a throwaway account on a throwaway database); long and free of the username, as the rules ask.
PASSWORD = "start-up figures, not a secret"
SIGN_IN_HEADING = "Sign in to CYP Plan Monitor"
START_TIMEOUT_S = 120


def median_of(runs: list[float]) -> float:
    """The median, rounded for printing."""
    return round(statistics.median(runs), 3)


def build_demo_database(folder: Path) -> dict[str, str]:
    """A demo database and uploads folder in ``folder``, made by the commands `scripts/run.sh` runs, plus an
    administrator the browser signs in as; the environment that points the app at them."""
    env = {
        **os.environ,
        "CYP_DATABASE_URL": f"sqlite:///{folder / 'cyp.db'}",
        "CYP_UPLOADS_DIR": str(folder / "uploads"),
        "PYTHONUNBUFFERED": "1",
    }
    for command in (["init"], ["demo"]):
        subprocess.run([sys.executable, "-m", "cyp", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    add_user = [sys.executable, "-m", "cyp", "user", "add", "--role", "administrator", "--password-stdin", "bench"]
    subprocess.run(add_user, cwd=ROOT, env=env, input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    return env


def time_command(args: list[str], env: dict[str, str]) -> float:
    """Seconds from starting ``python -m cyp ARGS`` in a fresh interpreter to its exit (it must succeed)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cyp", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``streamlit run serve.py`` on a free loopback port, as scripts/run.sh starts it; stopped (SIGTERM) after."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless=true", f"--server.port={port}"]
    command += ["--server.address=127.0.0.1", "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            yield process, f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a running process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_200(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll ``url`` until it answers 200 (the server is still starting until then); fail if the server exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while _get_status(url) != 200:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} gave no 200 within {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.02)  # a polling interval, not a wait for something: the loop's condition is the 200


def app_start(env: dict[str, str], log: Path, browser: Any | None) -> dict[str, float]:
    """One server start: seconds to the first 200 of ``/`` and, with a browser, to the first page rendered and from
    the click on "Sign in" to the Overview rendered."""
    started = time.perf_counter()
    figures: dict[str, float] = {}
    with server(env, log) as (process, base):
        wait_for_200(process, f"{base}/", log)
        figures["app_http_200_s"] = time.perf_counter() - started
        if browser is None:
            return figures
        context = new_context(browser, viewport={"width": 1366, "height": 768})
        context.set_default_timeout(START_TIMEOUT_S * 1000)
        try:
            page = context.new_page()
            page.goto(base)
            page.get_by_role("heading", level=1, name=SIGN_IN_HEADING).wait_for()
            wait_for_streamlit(page, timeout_ms=START_TIMEOUT_S * 1000)
            figures["app_first_page_s"] = time.perf_counter() - started
            figures["app_first_page_server_cpu_s"] = cpu_seconds(process.pid)
            page.get_by_label("Username").fill("bench")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            clicked = time.perf_counter()
            page.get_by_role("button", name="Sign in").click()
            # Attached, not visible: the sidebar saying who is signed in is drawn with the page it opens on.
            page.get_by_text("Signed in as bench").wait_for(state="attached")
            wait_for_streamlit(page, timeout_ms=START_TIMEOUT_S * 1000)
            figures["app_signed_in_s"] = time.perf_counter() - clicked
        finally:
            context.close()
    return figures


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs."""
    return {key: median_of([run[key] for run in runs]) for key in runs[0]}


def repeat(runs: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The medians of ``runs`` measurements."""
    return medians([measure() for _ in range(runs)])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure every start-up figure and print them as one JSON object."""
    parser = argparse.ArgumentParser(description="Start-up times of the command line and the app; prints JSON.")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure, each a fresh process (default 5)")
    parser.add_argument("--skip-browser", action="store_true", help="leave out the Chromium figures")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"runs": args.runs, "load_average": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="cyp-startup-") as temporary:
        folder = Path(temporary)
        env = build_demo_database(folder)
        report = ["report", "--quarter", REPORT_QUARTER, "--format", "json"]
        figures |= repeat(
            args.runs, lambda: {"cli_help_s": time_command(["--help"], env), "cli_report_s": time_command(report, env)}
        )
        log = folder / "streamlit.log"
        if args.skip_browser:
            figures |= repeat(args.runs, lambda: app_start(env, log, None))
        else:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                try:
                    figures |= repeat(args.runs, lambda: app_start(env, log, browser))
                finally:
                    browser.close()
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["targets"] = TARGETS
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
