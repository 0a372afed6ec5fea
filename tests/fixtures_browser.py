"""Pytest plugin: the real app in a subprocess, driven by Debian's Chromium through Playwright.

- ``app_server(...)`` (factory fixture) starts the real web server, ``streamlit run serve.py`` (Streamlit's ASGI app
  with our routes, middleware and lifespan, as ``scripts/run.sh`` does), on a free loopback port against a test
  database and returns its base URL once ``/_stcore/health`` answers; the server is stopped after the test and its
  log is printed when the test failed (and always kept under ``test-artifacts/logs/``).
- ``browser`` (session) is Chromium from ``/usr/bin/chromium``; nothing downloads a browser.
- ``page`` is a fresh 1366×768 page in its own context; ``new_context(browser, ...)`` makes another context.
- ``wait_for_streamlit(page)`` waits until Streamlit has finished every run asked for so far and drawn it (a
  condition read from the app's websocket and React, never a fixed pause); ``screenshot(page, name)`` saves a PNG.

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
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures_postgres import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

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


# Runs in every page before Streamlit's own code. Streamlit's frontend shows no run id in the page, so the record
# comes from the two places that know: the websocket (the browser's rerun_script and file_urls_request messages, the
# server's new_session and script_finished ones, read as protobuf with the field numbers from streamlit.proto) and
# React's commit hook (the one React DevTools uses), which tells that what arrived has been drawn.
_RUN_WATCHER = """
(() => {
  if (window.__cypRuns) return;
  const runs = { sequence: 0, rerunSent: 0, started: 0, finished: 0, drawn: 0 };
  window.__cypRuns = runs;

  // Top-level fields of a protobuf message: [field number, wire type, value of a varint field or null].
  const fields = (bytes) => {
    const found = [];
    let at = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do {
        byte = bytes[at++];
        value += (byte & 0x7f) * scale;
        scale *= 128;
      } while (byte & 0x80 && at < bytes.length);
      return value;
    };
    while (at < bytes.length) {
      const key = varint(), number = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) found.push([number, wire, varint()]);
      else if (wire === 2) { const length = varint(); found.push([number, wire, null]); at += length; }
      else if (wire === 1) { found.push([number, wire, null]); at += 8; }
      else if (wire === 5) { found.push([number, wire, null]); at += 4; }
      else break;  // groups: Streamlit's messages have none
    }
    return found;
  };
  const asBytes = (data) => data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;

  const Native = window.WebSocket;
  const send = Native.prototype.send;
  Native.prototype.send = function (data) {
    const bytes = asBytes(data);
    // A file upload starts by asking for upload URLs and ends in a rerun with the file: count the ask as a rerun,
    // so the wait covers the upload too (the rerun itself is only sent once the file is on the server).
    const asks = (number) => number === __RERUN_SCRIPT__ || number === __FILE_URLS_REQUEST__;
    if (bytes && fields(bytes).some(([number]) => asks(number))) runs.rerunSent = ++runs.sequence;
    return send.call(this, data);
  };
  const received = (bytes) => {
    for (const [number, wire, value] of fields(bytes)) {
      // Every run, fragment runs too, starts with a new_session message.
      if (number === __NEW_SESSION__ && wire === 2) runs.started = ++runs.sequence;
      // A finish counts only for a run that started after the last request: a run already going when the page
      // asked (say, the rerun after a download, finishing while a file uploads) is not the one asked for.
      const finished = number === __SCRIPT_FINISHED__ && wire === 0 && value !== __FINISHED_EARLY_FOR_RERUN__;
      if (finished && runs.started > runs.rerunSent) runs.finished = ++runs.sequence;
    }
  };
  window.WebSocket = new Proxy(Native, {
    construct(target, args, newTarget) {
      const socket = Reflect.construct(target, args, newTarget);
      // Added before Streamlit's own listener, so a message is counted before the app acts on it.
      socket.addEventListener("message", (event) => {
        const bytes = asBytes(event.data);
        if (bytes) received(bytes);
        else if (event.data instanceof Blob) {
          event.data.arrayBuffer().then((buffer) => received(new Uint8Array(buffer)));
        }
      });
      return socket;
    },
  });

  // React calls this hook after every commit to the page, when it is there before React loads.
  window.__REACT_DEVTOOLS_GLOBAL_HOOK__ = {
    supportsFiber: true,
    isDisabled: false,
    renderers: new Map(),
    inject(renderer) { this.renderers.set(this.renderers.size + 1, renderer); return this.renderers.size; },
    checkDCE() {},
    onScheduleFiberRoot() {},
    onCommitFiberRoot() { runs.drawn = ++runs.sequence; },
    onCommitFiberUnmount() {},
    onPostCommitFiberRoot() {},
  };
})();
"""


def _run_watcher_script() -> str:
    """The init script that keeps ``window.__cypRuns``: when the page last asked for a run, last heard one finish,
    and React last drew anything, each as a number from one counter, so their order is known."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    numbers = {
        "RERUN_SCRIPT": BackMsg.DESCRIPTOR.fields_by_name["rerun_script"].number,
        "FILE_URLS_REQUEST": BackMsg.DESCRIPTOR.fields_by_name["file_urls_request"].number,
        "NEW_SESSION": ForwardMsg.DESCRIPTOR.fields_by_name["new_session"].number,
        "SCRIPT_FINISHED": ForwardMsg.DESCRIPTOR.fields_by_name["script_finished"].number,
        "FINISHED_EARLY_FOR_RERUN": ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN"),
    }
    script = _RUN_WATCHER
    for name, number in numbers.items():
        script = script.replace(f"__{name}__", str(number))
    return script


def watch_streamlit_runs(context: BrowserContext) -> BrowserContext:
    """Make every page of ``context`` keep the record ``wait_for_streamlit`` waits on; call before opening pages."""
    context.add_init_script(_run_watcher_script())
    return context


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """``browser.new_context(**options)`` whose pages ``wait_for_streamlit`` can wait on, with the render timeout."""
    context = watch_streamlit_runs(browser.new_context(**options))
    context.set_default_timeout(RENDER_TIMEOUT_MS)
    return context


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page at 1366×768 in its own browser context (own cookies and storage)."""
    context = new_context(browser, viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


# Settled: every run the page asked for has finished (a run cut short for a newer one does not count) and React has
# drawn since, and the page shows it: connected, not running, no skeleton, and no element left over from the run
# before (Streamlit marks those data-stale until the new run replaces or removes them).
_SETTLED = """() => {
    const runs = window.__cypRuns;
    if (!runs) return "no-watcher";
    const app = document.querySelector('[data-testid="stApp"]');
    return runs.finished > runs.rerunSent
        && runs.drawn > runs.finished
        && app !== null
        && app.getAttribute("data-test-connection-state") === "CONNECTED"
        && app.getAttribute("data-test-script-state") === "notRunning"
        && document.querySelector('[data-testid="stSkeleton"]') === null
        && document.querySelector('[data-testid="stMain"] [data-stale="true"]') === null;
}"""


def wait_for_streamlit(page: Page, timeout_ms: int = RENDER_TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished every run asked for so far and drawn the result.

    Call it after every navigation or interaction that reruns the script. "Asked for" is read from the page's own
    websocket (each ``rerun_script`` message the browser sends), "finished" from the server's ``script_finished``,
    so a rerun that has not started yet, however busy the machine, is waited for rather than missed. The page's
    context must come from ``new_context`` (or ``watch_streamlit_runs``); the ``page`` fixture's does.
    """
    settled = page.wait_for_function(_SETTLED, timeout=timeout_ms).json_value()
    if settled == "no-watcher":
        raise RuntimeError(
            "wait_for_streamlit needs the page's context made with new_context(browser, ...) from "
            "tests/fixtures_browser.py (or passed to watch_streamlit_runs before the page opened)"
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
