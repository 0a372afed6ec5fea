"""A board meeting's load on one app process: ``python bench/load.py [--scale demo|large]`` prints one JSON object.

Streamlit runs every session's script in a thread of one process, so many sessions at once is where the app breaks
first. This starts the real web server (``streamlit run serve.py``) on a free loopback port against a database built
as ``bench/run.py`` builds it (*demo*, or *large*: demo plus :mod:`bench.scale`), signs in N board members (server-side
sessions made through :mod:`cyp.access.sessions`, the cookie sent on the websocket handshake, as a browser does) and
has all N, at once, over real websockets speaking Streamlit's protocol (its own protobuf classes): open the Overview,
open the Outcomes page, change the Quarter filter there, open the board display. Each figure is the time from the
``rerun_script`` BackMsg to the ForwardMsg ``script_finished``. Meanwhile M leads upload a return each through the
ingest the upload page calls (:func:`cyp.returns.ingest.ingest_return`, each in its own process, as a second app
instance or the command line would), and the versions are counted afterwards: none lost, none doubled. The server's
resident memory (its process tree, psutil) is sampled throughout.

``--browser N`` cross-checks at N sessions with Chromium contexts (Playwright, ``/usr/bin/chromium``); ``--memory``
adds the one-process memory figure: a sequence of sessions, an administrator's, visiting every page of ``app.py`` in
both plans. Everything is built in a temporary folder; ``CYP_TODAY`` defaults to 2026-11-23 as in ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402 - after the path is set; also sets CYP_TODAY
    INGEST_QUARTER,
    SCALE_PLAN,
    add_scale_data,
    app_pages,
    build_demo_database,
    default_page,
    filled_return,
)
from bench.scale import ScaleSpec  # noqa: E402
from cyp.web.lifespan import FREEZE_AFTER_SECONDS  # noqa: E402

APP_TITLE = "CYP Plan Monitor"
# What each session does, in order; "filter" is the Outcomes page again with another quarter chosen in its filter.
STEPS = ("overview", "outcome", "filter", "display")
# The page each step shows, as its document title names it (app.py: "<page title> – CYP Plan Monitor").
STEP_TITLES = {"overview": "Overview", "outcome": "Outcomes", "filter": "Outcomes", "display": "Board display"}
DEFAULT_SESSIONS = (10, 25, 50, 100)
RUN_TIMEOUT_SECONDS = 300
SAMPLE_SECONDS = 0.05
TARGETS = {
    "p95_s_at_50_sessions_every_page": "<= 1.5",
    "errors": "0",
    "uploads_lost_or_duplicated": "0",
    "rss_growth_per_session_mb": "<= 2",
    "rss_peak_mb": "<= 400",
    "memory_every_page_both_plans_peak_mb": "<= 300",
}


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (the 2 CPUs are shared: read every figure beside these)."""
    return [round(value, 2) for value in os.getloadavg()]


def summary(seconds: list[float]) -> dict[str, float | None]:
    """p50, p95 and max of a list of durations, in seconds (None when the list is empty)."""
    if not seconds:
        return {"p50_s": None, "p95_s": None, "max_s": None}
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]
    return {"p50_s": round(statistics.median(ordered), 3), "p95_s": round(p95, 3), "max_s": round(ordered[-1], 3)}


class MemoryWatch:
    """The resident memory of a process and its children, sampled in a thread: now, and the peak since a reset."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def now(self) -> int:
        """Bytes resident in the process tree now."""
        import psutil

        total = 0
        for process in [self._process, *self._process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def cpu_seconds(self) -> float:
        """CPU seconds (user and system) the process tree has used so far: the work, whatever the machine's load."""
        import psutil

        total = 0.0
        for process in [self._process, *self._process.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            try:
                self.peak = max(self.peak, self.now())
            except Exception:  # noqa: BLE001 - the server stopped: the last peak stands
                return

    def reset(self) -> int:
        """Start a new peak from now; returns the bytes resident now."""
        current = self.now()
        self.peak = current
        return current

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=2)


def mb(count: int | float) -> float:
    """Bytes as MB (MiB), rounded for printing."""
    return round(count / 1024 / 1024, 1)


@dataclass
class Run:
    """What one script run sent back: its time, the document title, the text drawn, widgets, errors."""

    seconds: float = 0.0
    messages: int = 0  # ForwardMsgs the run sent (each element is one): what drawing the page costs grows with it
    title: str = ""
    texts: list[str] = field(default_factory=list)
    selectboxes: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def shows(self, text: str) -> bool:
        """Whether any markdown, heading or alert of the run contains ``text``."""
        return any(text in body for body in self.texts)


class StreamlitTab:
    """One browser tab's Streamlit session over the websocket ``/_stcore/stream``, in Streamlit's own protocol.

    The session cookie goes on the handshake, as a browser sends it; each :meth:`run` sends a ``rerun_script``
    BackMsg (a page, its query, any changed widget) and reads ForwardMsgs until the run's ``script_finished``.
    """

    def __init__(self, base: str, cookies: dict[str, str]) -> None:
        self.base = base
        self.cookies = cookies
        self.pages: dict[str, str] = {}  # url path ("" for the default page) -> page script hash
        self.page_hash = ""
        self.query = ""
        self._socket: Any = None

    async def __aenter__(self) -> StreamlitTab:
        from websockets.asyncio.client import connect
        from websockets.typing import Subprotocol

        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self._socket = await connect(
            self.base.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=[Subprotocol("streamlit")],
            additional_headers={"Cookie": cookie, "Origin": self.base},
            max_size=None,
            open_timeout=RUN_TIMEOUT_SECONDS,
            ping_interval=None,  # Streamlit's client sends no pings; a busy server must not be cut off for it
        )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._socket.close()

    async def run(self, page: str | None = None, query: str | None = None, widget: Any = None) -> Run:
        """Ask for a run of ``page`` (a url path; None: the page on screen) with ``query`` (None: the query on
        screen) and ``widget`` (a WidgetState proto, a changed value), and wait for it to finish."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        state = message.rerun_script
        if page is not None:
            state.page_script_hash = self.pages.get(page, "")
            state.page_name = page
        else:
            state.page_script_hash = self.page_hash
        state.query_string = self.query if query is None else query
        path = page if page is not None else next((p for p, h in self.pages.items() if h == self.page_hash), "")
        state.context_info.url = f"{self.base}/{path}" + (f"?{state.query_string}" if state.query_string else "")
        state.context_info.timezone = "Europe/London"
        state.context_info.locale = "en-GB"
        if widget is not None:
            state.widget_states.widgets.append(widget)
        run = Run()
        started = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        begun = False
        while True:
            incoming = ForwardMsg()
            incoming.ParseFromString(await asyncio.wait_for(self._socket.recv(), RUN_TIMEOUT_SECONDS))
            run.messages += 1
            kind = incoming.WhichOneof("type")
            if kind == "new_session":
                begun = True
                self.page_hash = incoming.new_session.page_script_hash or self.page_hash
            elif kind == "navigation":
                self.page_hash = incoming.navigation.page_script_hash or self.page_hash
                for app_page in incoming.navigation.app_pages:
                    self.pages[app_page.url_pathname] = app_page.page_script_hash
            elif kind == "page_config_changed" and incoming.page_config_changed.title:
                run.title = incoming.page_config_changed.title
            elif kind == "page_info_changed":
                self.query = incoming.page_info_changed.query_string
            elif kind == "page_not_found":
                run.errors.append(f"page not found: {incoming.page_not_found.page_name}")
            elif kind == "delta" and incoming.delta.WhichOneof("type") == "new_element":
                self._read_element(incoming.delta.new_element, run)
            elif kind == "script_finished" and begun:
                status = incoming.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the script asked for a rerun (st.rerun): the next run is the one that counts
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    run.errors.append("compile error")
                run.seconds = time.perf_counter() - started
                return run

    @staticmethod
    def _read_element(element: Any, run: Run) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            run.errors.append(f"{element.exception.type}: {element.exception.message}"[:300])
        elif kind in ("markdown", "heading", "alert", "text"):
            run.texts.append(getattr(element, kind).body)
        elif kind == "selectbox":
            run.selectboxes[element.selectbox.label] = element.selectbox


def other_quarter(box: Any) -> str:
    """An option of the Quarter selectbox other than the one shown: the quarter before it, else the one after."""
    options = list(box.options)
    shown = options.index(box.raw_value) if box.raw_value in options else 0
    return options[shown + 1] if shown + 1 < len(options) else options[max(shown - 1, 0)]


def check(step: str, run: Run, username: str, expected_text: str) -> list[str]:
    """What is wrong with a step's run: errors, a sign-in page instead of the page, the page's content missing."""
    problems = list(run.errors)
    wanted = f"{STEP_TITLES[step]} – {APP_TITLE}"
    if run.title != wanted:
        problems.append(f"title {run.title!r}, not {wanted!r}")
    if not run.shows(f"Signed in as **{username}**"):
        problems.append(f"not shown signed in as {username}")
    if expected_text and not run.shows(expected_text):
        problems.append(f"{expected_text!r} not on the page")
    return problems


@dataclass
class Step:
    """One step of a member's visit: its run's seconds and ForwardMsgs, and what was wrong (nothing: it passed)."""

    seconds: float = 0.0
    messages: int = 0
    problems: list[str] = field(default_factory=list)


async def meeting_member(base: str, token: str, username: str) -> dict[str, Step]:
    """One board member's visit: Overview, Outcomes, another quarter there, the board display; a Step each."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from cyp.access.sessions import SESSION_COOKIE

    results: dict[str, Step] = {}

    def record(step: str, run: Run, expected_text: str) -> None:
        results[step] = Step(run.seconds, run.messages, check(step, run, username, expected_text))

    try:
        async with StreamlitTab(base, {SESSION_COOKIE: token}) as tab:
            record("overview", await tab.run(page="", query=""), "Outcomes in ")
            run = await tab.run(page="outcome", query="")
            record("outcome", run, "Overall in ")
            box = run.selectboxes.get("Quarter")
            if box is None:
                results["filter"] = Step(problems=["no Quarter filter on the Outcomes page"])
            else:
                chosen = other_quarter(box)
                run = await tab.run(widget=WidgetState(id=box.id, string_value=chosen))
                record("filter", run, f"Overall in {chosen.split(' (')[0]}")
            record("display", await tab.run(page="display", query=""), 'class="board"')
    except Exception as error:  # noqa: BLE001 - a failed session is an error figure, not the end of the benchmark
        for step in STEPS:
            results.setdefault(step, Step(problems=[f"{type(error).__name__}: {error}"[:300]]))
    return results


@dataclass
class Bench:
    """The database, the accounts and their cookies, and the running server."""

    folder: Path
    url: str
    base: str = ""
    pid: int = 0
    members: list[tuple[str, str]] = field(default_factory=list)  # (username, session token)
    admin: tuple[str, str] = ("", "")
    leads: list[tuple[str, str]] = field(default_factory=list)  # (username, team ref)
    upload_quarter: str = ""
    upload_round: int = 0


def build_database(folder: Path, scale: str, spec: ScaleSpec) -> str:
    """The database as bench/run.py builds its *demo* or *large* one."""
    path = folder / f"{scale}.db"
    url = build_demo_database(path)
    return add_scale_data(path, spec) if scale == "large" else url


def sign_in_accounts(bench: Bench, members: int, uploads: int) -> None:
    """``members`` viewer accounts signed in (a server-side session each), an administrator signed in, and a lead
    account for each of ``uploads`` teams with lines to report in the upload quarter."""
    from cyp.access.accounts import create_user
    from cyp.access.permissions import SYSTEM, principal_for_user
    from cyp.access.sessions import PASSWORD as METHOD
    from cyp.access.sessions import claim_ticket, issue_ticket
    from cyp.read.tracker import submission_tracker
    from cyp.storage.db import make_engine, write_session

    def signed_in(session: Any, user: Any) -> str:
        # The domain's own way in: a one-time ticket for a browser, claimed by that browser for the cookie.
        browser = f"bench-browser-{user.username}"
        ticket = issue_ticket(session, principal_for_user(user), METHOD, browser)
        started = claim_ticket(session, ticket, browser, client_address="127.0.0.1", user_agent="bench/load.py")
        if started is None:
            raise RuntimeError(f"no session for {user.username}")
        return started.token

    engine = make_engine(bench.url)
    with write_session(engine) as session:
        for number in range(1, members + 1):
            user = create_user(session, SYSTEM, f"bench-member-{number:03d}", "viewer", password=None)
            bench.members.append((user.username, signed_in(session, user)))
        admin = create_user(session, SYSTEM, "bench-admin", "administrator")
        bench.admin = (admin.username, signed_in(session, admin))
        rows = [row for row in submission_tracker(session, bench.upload_quarter) if row.lines_expected]
        if len(rows) < uploads:
            raise RuntimeError(f"only {len(rows)} teams have lines in {bench.upload_quarter}; asked for {uploads}")
        for number, row in enumerate(rows[:uploads], start=1):
            lead = create_user(session, SYSTEM, f"bench-lead-{number:03d}", "lead", teams=[row.team_ref])
            bench.leads.append((lead.username, row.team_ref))
    engine.dispose()


def warm_worker(seconds: float) -> int:
    """Import what an upload needs, in a worker process, and hold it a moment so each worker starts: the leads'
    processes are running before the meeting, and starting them is not the meeting's load."""
    import cyp.returns.ingest  # noqa: F401

    time.sleep(seconds)
    return os.getpid()


def upload_one(url: str, data: bytes, filename: str, username: str, uploads_dir: str) -> dict[str, Any]:
    """One lead's upload through the ingest the upload page calls (in a worker process): seconds and outcome."""
    from sqlalchemy import select

    from cyp.access.permissions import principal_for_user
    from cyp.returns.ingest import ingest_return
    from cyp.storage.db import make_engine, read_session
    from cyp.storage.models import User

    engine = make_engine(url)
    with read_session(engine) as session:
        principal = principal_for_user(session.scalars(select(User).where(User.username == username)).one())
    started = time.perf_counter()
    result = ingest_return(
        data, filename, principal, acknowledge_queries=True, engine=engine, uploads_dir=Path(uploads_dir)
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "status": result.status, "summary": result.summary[:200]}


def versions(url: str, quarter: str, teams: list[str]) -> dict[str, tuple[list[int], int]]:
    """Per team: the version numbers of its returns for ``quarter``, and how many of them are current."""
    from sqlalchemy import select

    from cyp.storage.db import make_engine, read_session
    from cyp.storage.models import Partner, Return

    engine = make_engine(url)
    found: dict[str, tuple[list[int], int]] = {}
    with read_session(engine) as session:
        for team in teams:
            rows = session.execute(
                select(Return.version, Return.is_current)
                .join(Partner, Partner.id == Return.partner_id)
                .where(Partner.ref == team, Return.quarter == quarter)
            ).all()
            found[team] = (sorted(row.version for row in rows), sum(1 for row in rows if row.is_current))
    engine.dispose()
    return found


def upload_files(bench: Bench) -> list[tuple[bytes, str, str]]:
    """(file, file name, lead) per lead: the team's template filled in, different in every round."""
    bench.upload_round += 1
    return [
        (
            filled_return(bench.url, team, bench.upload_quarter, 100 * bench.upload_round + number),
            f"return-{team}-{bench.upload_round}.xlsx",
            username,
        )
        for number, (username, team) in enumerate(bench.leads)
    ]


async def meeting(bench: Bench, sessions: int, uploads: bool, pool: ProcessPoolExecutor | None) -> dict[str, Any]:
    """N members at once (and the leads' uploads alongside): the figures per step, memory, uploads."""
    watch = MemoryWatch(bench.pid)
    files = upload_files(bench) if uploads and bench.leads else []
    teams = [team for _username, team in bench.leads]
    before = versions(bench.url, bench.upload_quarter, teams) if files else {}
    load_before = load_average()
    rss_before = watch.reset()
    cpu_before = watch.cpu_seconds()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    pending = [
        loop.run_in_executor(pool, upload_one, bench.url, data, name, user, str(bench.folder / "uploads"))
        for data, name, user in files
    ]
    members = [meeting_member(bench.base, token, username) for username, token in bench.members[:sessions]]
    results = await asyncio.gather(*members)
    wall = time.perf_counter() - started
    uploaded = await asyncio.gather(*pending)
    # Every session is still held by the server (Streamlit keeps a closed tab's session for a while): the memory now
    # over the memory before, per session, is what one more member costs.
    rss_after = watch.now()
    peak = max(watch.peak, rss_after)  # the last sample may be up to SAMPLE_SECONDS old
    cpu = watch.cpu_seconds() - cpu_before
    watch.stop()
    figures: dict[str, Any] = {"sessions": sessions, "wall_s": round(wall, 2), "load_average_before": load_before}
    # The server's own CPU time for the meeting (its uploads run in other processes): what a run costs, which the
    # machine's other load does not change the way it changes the wall-clock figures.
    figures["server_cpu_s"] = round(cpu, 2)
    figures["server_cpu_per_session_s"] = round(cpu / sessions, 3)
    errors = 0
    samples: list[str] = []
    for step in STEPS:
        passed = [result[step] for result in results if not result[step].problems]
        problems = [problem for result in results for problem in result[step].problems]
        failed = len(results) - len(passed)
        errors += failed
        samples.extend(problems[:2])
        messages = max((found.messages for found in passed), default=0)
        figures[step] = {**summary([found.seconds for found in passed]), "errors": failed, "messages": messages}
    figures["errors"] = errors
    figures["error_samples"] = samples[:6]
    figures["load_average_after"] = load_average()
    figures["rss_before_mb"] = mb(rss_before)
    figures["rss_peak_mb"] = mb(peak)
    figures["rss_after_mb"] = mb(rss_after)
    figures["rss_growth_per_session_mb"] = round((rss_after - rss_before) / sessions / 1024 / 1024, 2)
    if files:
        figures["uploads"] = upload_check(bench, before, uploaded, teams)
    return figures


def upload_check(
    bench: Bench, before: dict[str, tuple[list[int], int]], uploaded: list[dict[str, Any]], teams: list[str]
) -> dict[str, Any]:
    """The uploads' times and whether each accepted upload is there exactly once (one new version, one current)."""
    after = versions(bench.url, bench.upload_quarter, teams)
    lost = duplicated = 0
    for team, outcome in zip(teams, uploaded, strict=True):
        old, new = before[team][0], after[team][0]
        added = len(new) - len(old)
        expected = 1 if outcome["status"] == "accepted" else 0
        lost += max(0, expected - added)
        duplicated += max(0, added - expected) + (len(new) - len(set(new)))
        duplicated += 0 if after[team][1] == 1 else 1  # exactly one current version
    return {
        "count": len(uploaded),
        "statuses": {
            status: sum(1 for u in uploaded if u["status"] == status) for status in {u["status"] for u in uploaded}
        },
        **summary([u["seconds"] for u in uploaded]),
        "lost": lost,
        "duplicated": duplicated,
        "not_accepted": [u["summary"] for u in uploaded if u["status"] != "accepted"][:3],
    }


def start_server(bench: Bench, log: Path) -> subprocess.Popen[bytes]:
    """``streamlit run serve.py`` on a free loopback port against the bench database, once healthy."""
    from tests.fixtures_browser import _wait_until_healthy
    from tests.fixtures_postgres import free_port

    port = free_port()
    bench.base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    command += ["--browser.gatherUsageStats", "false", "--server.runOnSave", "false"]
    env = {
        **os.environ,
        "CYP_DATABASE_URL": bench.url,
        "CYP_UPLOADS_DIR": str(bench.folder / "uploads"),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    _wait_until_healthy(bench.base, process, log)
    bench.pid = process.pid
    return process


async def every_page(bench: Bench) -> dict[str, Any]:
    """One process serving every page of app.py in both plans: a fresh administrator's session per page and plan,
    one after another; the peak resident memory of the server over the whole sequence."""
    from cyp.access.sessions import SESSION_COOKIE

    watch = MemoryWatch(bench.pid)
    rss_before = watch.reset()
    username, token = bench.admin
    plans = {"current plan": "", SCALE_PLAN: f"plan={SCALE_PLAN}&quarter={INGEST_QUARTER.replace(' ', '+')}"}
    seconds: dict[str, float] = {}
    problems: list[str] = []
    for path in app_pages():
        name = Path(path).stem
        address = "" if path == default_page() else name
        for plan, query in plans.items():
            try:
                async with StreamlitTab(bench.base, {SESSION_COOKIE: token}) as tab:
                    run = await tab.run(page=address, query=query)
            except Exception as error:  # noqa: BLE001 - one page's failure must not lose every other figure
                problems.append(f"{name} ({plan}): {type(error).__name__}: {error}"[:300])
                continue
            seconds[f"{name} ({plan})"] = round(run.seconds, 3)
            problems.extend(f"{name} ({plan}): {error}" for error in run.errors)
            if run.title.startswith("Sign in"):
                problems.append(f"{name} ({plan}): shown signed out")
    peak = max(watch.peak, watch.now())
    watch.stop()
    return {
        "visits": len(seconds),
        "seconds": seconds,
        "errors": len(problems),
        "error_samples": problems[:6],
        "rss_before_mb": mb(rss_before),
        "peak_mb": mb(peak),
        "vmhwm_mb": vm_hwm_mb(bench.pid),
        "load_average": load_average(),
    }


def vm_hwm_mb(pid: int) -> float:
    """The process's own peak resident set since it started (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def browser_check(bench: Bench, sessions: int) -> dict[str, Any]:
    """The same visit in ``sessions`` Chromium contexts at once (each with its member's cookie): seconds from
    opening each page's address to the page settled (Streamlit's run finished and drawn), and errors."""
    from playwright.async_api import async_playwright

    from cyp.access.sessions import SESSION_COOKIE
    from tests.fixtures_browser import _SETTLED, CHROMIUM, CHROMIUM_ARGS, _run_watcher_script

    steps = {"overview": "", "outcome": "outcome", "display": "display"}
    results: list[dict[str, tuple[float, list[str]]]] = []

    async def member(browser: Any, username: str, token: str) -> None:
        context = await browser.new_context(viewport={"width": 1366, "height": 768})
        await context.add_init_script(_run_watcher_script())
        cookie = {"name": SESSION_COOKIE, "value": token, "url": bench.base}
        await context.add_cookies([cookie])
        page = await context.new_page()
        found: dict[str, tuple[float, list[str]]] = {}
        for step, path in steps.items():
            started = time.perf_counter()
            try:
                await page.goto(f"{bench.base}/{path}")
                await page.wait_for_function(_SETTLED, timeout=RUN_TIMEOUT_SECONDS * 1000)
                seconds = time.perf_counter() - started
                wanted = f"{STEP_TITLES[step]} – {APP_TITLE}"
                title = await page.title()
                problems = [] if title == wanted else [f"title {title!r}, not {wanted!r}"]
                if await page.get_by_test_id("stException").count():
                    problems.append("an exception on the page")
                if not await page.get_by_text(f"Signed in as {username}").count():
                    problems.append(f"not shown signed in as {username}")
                found[step] = (seconds, problems)
            except Exception as error:  # noqa: BLE001
                found[step] = (0.0, [f"{type(error).__name__}: {error}"[:300]])
        results.append(found)
        await context.close()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        await asyncio.gather(*(member(browser, u, t) for u, t in bench.members[:sessions]))
        await browser.close()
    figures: dict[str, Any] = {"sessions": sessions, "load_average": load_average()}
    errors = 0
    for step in steps:
        failed = [result[step][1] for result in results if result[step][1]]
        errors += len(failed)
        figures[step] = {
            **summary([result[step][0] for result in results if not result[step][1]]),
            "errors": len(failed),
        }
        if failed:
            figures[step]["error_samples"] = failed[:2]
    figures["errors"] = errors
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build the database, start the server, run each meeting size, print one JSON object of figures."""
    parser = argparse.ArgumentParser(description="A board meeting's load on one app process; prints one JSON object.")
    parser.add_argument("--scale", choices=("demo", "large"), default="large", help="the database (default large)")
    parser.add_argument("--sessions", default=",".join(map(str, DEFAULT_SESSIONS)), help="meeting sizes, e.g. 10,25")
    parser.add_argument("--uploads", type=int, default=5, help="leads uploading a return during each meeting")
    parser.add_argument("--browser", type=int, default=5, help="Chromium cross-check at this many sessions (0: off)")
    parser.add_argument("--memory", action="store_true", help="also: every page in both plans, one process's peak")
    parser.add_argument(
        "--settle",
        type=float,
        help="seconds from the server's start to the first meeting (default: until its last garbage-collector "
        "freeze, cyp.web.lifespan.FREEZE_AFTER_SECONDS, has run, as on a server that has been up a while)",
    )
    parser.add_argument("--teams", type=int, default=ScaleSpec.teams, help="benchmark teams at large scale")
    parser.add_argument("--quarters", type=int, default=ScaleSpec.quarters, help="quarters of history at large scale")
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.sessions.split(",") if part.strip()]
    spec = ScaleSpec(teams=args.teams, quarters=args.quarters)
    figures: dict[str, Any] = {"scale": args.scale, "cpus": os.cpu_count(), "targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="cyp-load-") as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        bench = Bench(folder, build_database(folder, args.scale, spec))
        from cyp.quarters import current_quarter

        # Large: the quarter where every benchmark team reports; demo: the quarter a lead reports on now.
        bench.upload_quarter = INGEST_QUARTER if args.scale == "large" else current_quarter().previous().label
        sign_in_accounts(bench, max([*sizes, args.browser, 1]), args.uploads)
        figures["build_s"] = round(time.perf_counter() - started, 1)
        server_started = time.monotonic()
        process = start_server(bench, folder / "streamlit.log")
        pool = ProcessPoolExecutor(max_workers=max(1, args.uploads), mp_context=get_context("spawn"))
        try:
            figures["rss_started_mb"] = mb(MemoryWatch(bench.pid).reset())
            # One member first, alone: the first visit (imports, empty caches) is not what a meeting waits for.
            figures["first_visit"] = asyncio.run(meeting(bench, 1, uploads=False, pool=None))
            if args.uploads:  # every worker started and imported (on 2 CPUs, five starting took a meeting's CPU)
                list(pool.map(warm_worker, [1.0] * args.uploads))
            # A meeting happens on a server that has been running: not during the full collection and freeze the
            # server makes once, FREEZE_AFTER_SECONDS after it starts (each holds the interpreter lock ~0.1-0.3 s).
            settle = max(FREEZE_AFTER_SECONDS) + 2 if args.settle is None else args.settle
            time.sleep(max(0.0, server_started + settle - time.monotonic()))
            figures["settled_s"] = round(time.monotonic() - server_started, 1)
            figures["meetings"] = {}
            for index, size in enumerate(sizes):
                # A size given twice is run twice (its second run keyed "N (2)"), e.g. to see the spread.
                key = str(size) if size not in sizes[:index] else f"{size} ({sizes[: index + 1].count(size)})"
                figures["meetings"][key] = asyncio.run(meeting(bench, size, uploads=args.uploads > 0, pool=pool))
            if len(sizes) > 1:
                rss = [meeting_figures["rss_after_mb"] for meeting_figures in figures["meetings"].values()]
                slope = statistics.linear_regression(sizes, rss).slope if len(set(sizes)) > 1 else 0.0
                figures["rss_growth_per_session_between_sizes_mb"] = round(slope, 2)
            if args.browser:
                figures["cross_check"] = {
                    "websocket": asyncio.run(meeting(bench, args.browser, uploads=False, pool=None)),
                    "browser": asyncio.run(browser_check(bench, args.browser)),
                }
            figures["rss_peak_mb"] = max(
                [figures["first_visit"]["rss_peak_mb"], *(m["rss_peak_mb"] for m in figures["meetings"].values())]
            )
            figures["vmhwm_mb"] = vm_hwm_mb(bench.pid)
        finally:
            pool.shutdown(cancel_futures=True)
            process.terminate()
            process.wait(timeout=20)
        if args.memory:
            # A fresh process: its peak is what serving every page costs, not what the meetings left behind.
            process = start_server(bench, folder / "streamlit-memory.log")
            try:
                figures["memory"] = asyncio.run(every_page(bench))
            finally:
                process.terminate()
                process.wait(timeout=20)
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
