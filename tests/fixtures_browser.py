"""Pytest plugin: the real app in a subprocess, driven by Debian's Chromium through Playwright.

- ``app_server(...)`` (factory fixture) starts the real web server, ``streamlit run serve.py`` (Streamlit's ASGI app
  with our routes, middleware and lifespan, as ``scripts/run.sh`` does), on a free loopback port against a test
  database and returns its base URL once ``/_stcore/health`` answers; the server is stopped after the test and its
  log is printed when the test failed (and always kept under ``test-artifacts/logs/``).
- ``browser`` (session) is Chromium from ``/usr/bin/chromium``; nothing downloads a browser.
- ``page`` is a fresh 1366×768 page in its own context.
- ``wait_for_streamlit(page)`` waits until Streamlit has finished rendering; ``screenshot(page, name)`` saves a PNG.

``scripts/test.sh`` installs Debian's ``chromium`` when it is missing. Without it the browser tests are skipped
locally, and fail loudly when ``CI`` is set.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures_postgres import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("CYP_CHROMIUM", "/usr/bin/chromium"))
# The flags this machine's closed network needs: without the background-networking ones Chromium keeps trying to
# reach Google and fills the log with refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_SECONDS = 60
RENDER_TIMEOUT_MS = 30_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found; run the tests with `bash scripts/test.sh` (it installs Debian's chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


def _prepare_sqlite(url: str) -> None:
    """Migrate and load the framework into a fresh SQLite file, as `python -m cyp init` would."""
    from cyp.bootstrap import initialise_database
    from cyp.storage.db import make_engine

    engine = make_engine(url)
    try:
        initialise_database(engine)
    finally:
        engine.dispose()


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with {process.returncode} before answering:\n{log_file.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"streamlit did not answer within {START_TIMEOUT_SECONDS} s:\n{log_file.read_text(errors='replace')}"
    )


@contextmanager
def start_app_server(
    log_file: Path,
    env: Mapping[str, str] | None = None,
    script: str | Path = "serve.py",
    port: int | None = None,
) -> Iterator[str]:
    """Run ``streamlit run SCRIPT`` on ``port`` (default: a free loopback port) and yield its base URL once healthy.

    ``serve.py`` (the default) is the app's ASGI server; a plain Streamlit script runs as Streamlit runs it. The
    server inherits this process's environment (so ``CYP_DATABASE_URL`` etc. from the test) plus ``env``, and is
    stopped (SIGTERM, as a service manager would) when the block ends. Use this directly for a module-scoped
    server or a restart on the same port; tests normally use the ``app_server`` fixture.
    """
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
    ]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(base_url, process, log_file)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Remember each phase's report on the test item so fixtures can tell, at teardown, whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _test_failed(request: pytest.FixtureRequest) -> bool:
    return any(getattr(getattr(request.node, f"report_{phase}", None), "failed", False) for phase in ("setup", "call"))


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:150]


AppServer = Callable[..., str]


@pytest.fixture
def app_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppServer]:
    """Factory: ``app_server(env=None, database_url=None, script="serve.py") -> base URL`` of the real app.

    Without ``database_url`` the app runs on this test's SQLite file (``CYP_DATABASE_URL`` from ``isolated_settings``),
    migrated and loaded with the framework first. With one, that database is used as it is (prepare it yourself).
    ``env`` adds or overrides environment variables of the server process.
    """
    log_files: list[Path] = []
    with ExitStack() as servers:

        def start(
            env: Mapping[str, str] | None = None,
            database_url: str | None = None,
            script: str | Path = "serve.py",
        ) -> str:
            if database_url is None:
                database_url = os.environ.get("CYP_DATABASE_URL") or f"sqlite:///{tmp_path / 'cyp.db'}"
                if database_url.startswith("sqlite"):
                    _prepare_sqlite(database_url)
            log_file = ARTIFACTS / "logs" / f"{_safe_name(request.node.nodeid)}-{len(log_files)}.log"
            log_files.append(log_file)
            server_env = {"CYP_DATABASE_URL": database_url, **(env or {})}
            return servers.enter_context(start_app_server(log_file, env=server_env, script=script))

        yield start

    if _test_failed(request):
        for log_file in log_files:
            sys.stderr.write(f"\n----- streamlit log {log_file} -----\n{log_file.read_text(errors='replace')}\n")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian (``/usr/bin/chromium``), shared by the tests of this process."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page at 1366×768 in its own browser context (own cookies and storage)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    context.set_default_timeout(RENDER_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def wait_for_streamlit(page: Page, timeout_ms: int = RENDER_TIMEOUT_MS) -> None:
    """Wait until Streamlit finished rendering: connected, script not running, no skeletons left.

    The same checks as Streamlit's own end-to-end tests (``wait_for_app_run``). Call it after every navigation or
    interaction that reruns the script.
    """
    # Let widget debounce timers fire and a rerun start before we look at the script state.
    page.wait_for_timeout(200)
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"]', state="attached", timeout=timeout_ms
    )
    # A new session reports "not running" before its first run has even started (on a busy machine, for longer
    # than the pause above): wait until that run has drawn something, so a caller never looks at an empty page.
    page.wait_for_selector(
        '[data-testid="stMain"] [data-testid="stElementContainer"]', state="attached", timeout=timeout_ms
    )
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms
    )
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=timeout_ms
    )


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a PNG of ``page`` as ``test-artifacts/screenshots/NAME.png`` and return its path."""
    path = ARTIFACTS / "screenshots" / f"{_safe_name(name)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that use a browser fixture ``browser``, so ``-m "not browser"`` leaves them out."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures or "page" in fixtures or "app_server" in fixtures:
            item.add_marker(pytest.mark.browser)
