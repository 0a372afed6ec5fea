"""Sessions, display links and the HTTP surface in a real Chromium against the real server (serve.py).

Every test records every request the browser makes and every Content-Security-Policy violation the page reports,
and fails on a request to another host or on any violation.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from cyp.access import sessions
from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.bootstrap import initialise_database
from cyp.storage.db import write_session
from tests.fixtures_browser import ARTIFACTS, ROOT, new_context, screenshot, start_app_server, wait_for_streamlit
from tests.fixtures_postgres import free_port

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
# Pages record CSP violations here from the first script on (before Streamlit's own).
CSP_PROBE = (
    "window.__cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


class Server:
    """The app on one fixed port, so it can be stopped and started again at the same address."""

    def __init__(self, database_url: str, log_dir: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_dir / f"web-browser-{self.port}.log"
        self._running = None

    def start(self) -> None:
        self._running = start_app_server(self.log_file, env={"CYP_DATABASE_URL": self.database_url}, port=self.port)
        self._running.__enter__()

    def stop(self) -> None:
        if self._running is not None:
            self._running.__exit__(None, None, None)
            self._running = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def server(engine: Engine, db_url: str, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A framework-loaded database with a viewer (director) and an administrator (ada), and the server on it."""
    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, "director", "viewer", password=PASSWORD)
        create_user(session, SYSTEM, "ada", "administrator", password=PASSWORD)
    running = Server(db_url, ARTIFACTS / "logs")
    running.start()
    yield running
    running.stop()
    if any(getattr(getattr(request.node, f"report_{p}", None), "failed", False) for p in ("setup", "call")):
        sys.stderr.write(f"\n----- server log -----\n{running.log_file.read_text(errors='replace')}\n")


class Watched:
    """A browser context whose every request and every CSP violation is recorded."""

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        self.context = context
        self.requests: list[str] = []
        context.add_init_script(CSP_PROBE)
        context.on("request", lambda request: self.requests.append(request.url))
        self.pages: list = []

    def new_page(self):  # type: ignore[no-untyped-def]
        page = self.context.new_page()
        self.pages.append(page)
        return page

    def assert_clean(self, base_url: str) -> None:
        """No request left the app's own origin, and no page reported a CSP violation."""
        own = urlsplit(base_url).netloc
        elsewhere = [url for url in self.requests if url.startswith("http") and urlsplit(url).netloc != own]
        assert elsewhere == [], elsewhere
        for page in self.pages:
            if not page.is_closed():
                assert page.evaluate("window.__cspViolations") == [], page.url


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # type: ignore[no-untyped-def]
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(60_000)  # generous: other tests share the two cores
    yield Watched(context)
    context.close()


def sign_in(page, base_url: str, username: str, path: str = "") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/{path}")
    wait_for_streamlit(page)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for()
    wait_for_streamlit(page)


def signed_in_as(page, username: str) -> bool:  # type: ignore[no-untyped-def]
    return page.get_by_text(f"Signed in as {username}").count() == 1


def shows_sign_in_form(page) -> bool:  # type: ignore[no-untyped-def]
    """Wait for the sign-in form (field and button: a run draws them one after the other); True if nobody is in."""
    page.get_by_label("Username").wait_for()
    page.get_by_role("button", name="Sign in", exact=True).wait_for()
    return page.get_by_text("Signed in as").count() == 0


def test_a_sign_in_survives_reload_new_tab_shared_link_and_restart(server: Server, watched: Watched):
    page = watched.new_page()
    page.goto(server.base_url)
    wait_for_streamlit(page)
    assert page.title() == "Sign in – CYP Plan Monitor"
    screenshot(page, "web-sign-in-page")
    sign_in(page, server.base_url, "director")
    assert page.title() == "Overview – CYP Plan Monitor"
    screenshot(page, "web-overview-after-sign-in")
    cookie = next(c for c in watched.context.cookies() if c["name"] == sessions.SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["expires"] > time.time() + 11 * 3600
    assert page.evaluate("document.cookie").find(sessions.SESSION_COOKIE) == -1  # not readable by scripts

    page.reload()
    wait_for_streamlit(page)
    assert signed_in_as(page, "director")

    shared = f"{server.base_url}/outcome?plan=2019-23&quarter=2022-23+Q4"
    tab = watched.new_page()
    tab.goto(shared)
    wait_for_streamlit(tab)
    assert signed_in_as(tab, "director")
    assert tab.title() == "Outcomes – CYP Plan Monitor"
    assert "plan=2019-23" in tab.url and "2022-23" in tab.url

    server.restart()
    for each in (page, tab):
        each.reload()
        wait_for_streamlit(each)
        assert signed_in_as(each, "director"), each.url
    assert tab.title() == "Outcomes – CYP Plan Monitor"
    watched.assert_clean(server.base_url)


def test_a_shared_link_opened_signed_out_comes_back_to_the_same_view_after_sign_in(server: Server, watched: Watched):
    page = watched.new_page()
    sign_in(page, server.base_url, "director", path="line_history?line=19-FB-1.1")
    assert urlsplit(page.url).path == "/line_history" and "line=19-FB-1.1" in page.url
    assert page.title() == "Line history – CYP Plan Monitor"
    watched.assert_clean(server.base_url)


def test_signing_out_in_one_tab_signs_out_the_other(server: Server, watched: Watched):
    first = watched.new_page()
    sign_in(first, server.base_url, "director")
    second = watched.new_page()
    second.goto(f"{server.base_url}/exceptions")
    wait_for_streamlit(second)
    assert signed_in_as(second, "director")

    first.get_by_role("button", name="Sign out").click()
    assert shows_sign_in_form(first)
    assert not any(c["name"] == sessions.SESSION_COOKIE for c in watched.context.cookies())

    # The other tab's next interaction (a click in its menu) finds the session gone.
    second.get_by_test_id("stSidebar").get_by_text("Overview").click()
    assert shows_sign_in_form(second)
    assert second.get_by_text("Signed in as director").count() == 0
    watched.assert_clean(server.base_url)


def test_disabling_the_account_from_the_command_line_signs_it_out_at_the_next_interaction(
    server: Server, watched: Watched
):
    page = watched.new_page()
    sign_in(page, server.base_url, "director")
    command = [sys.executable, "-m", "cyp", "user", "disable", "director"]
    env = {**os.environ, "CYP_DATABASE_URL": server.database_url}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    time.sleep(sessions_cache_seconds() + 0.5)
    page.get_by_test_id("stSidebar").get_by_text("Exceptions").click()
    assert shows_sign_in_form(page)
    page.get_by_label("Username").fill("director")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("This account is disabled").wait_for()
    watched.assert_clean(server.base_url)


def sessions_cache_seconds() -> float:
    from cyp.ui.websession import CHECK_SECONDS

    return CHECK_SECONDS


def test_a_display_link_signs_the_screen_in_for_good_until_revoked(server: Server, watched: Watched, engine: Engine):
    with write_session(engine) as session:
        token = sessions.issue_display_link(session, Principal("ada", "administrator"), "Committee room 2")
    screen = watched.new_page()
    screen.goto(f"{server.base_url}/display-link/{token}?plan=2019-23")
    wait_for_streamlit(screen)
    assert urlsplit(screen.url).path == "/display" and "plan=2019-23" in screen.url
    assert token not in screen.url  # the link's secret does not stay on the meeting-room screen
    assert screen.title() == "Board display – CYP Plan Monitor"
    assert screen.get_by_label("Username").count() == 0
    screenshot(screen, "web-display-link-board")

    server.restart()
    screen.reload()
    wait_for_streamlit(screen)
    assert urlsplit(screen.url).path == "/display"
    assert screen.get_by_label("Username").count() == 0

    with write_session(engine) as session:
        [link] = sessions.list_display_links(session)
        assert sessions.revoke_display_link(session, Principal("ada", "administrator"), link.id) == 1
    time.sleep(sessions_cache_seconds() + 0.5)  # a change made outside the app shows within the check's cache time
    screen.reload()
    wait_for_streamlit(screen)
    assert shows_sign_in_form(screen)
    watched.assert_clean(server.base_url)


def test_an_administrator_sees_and_ends_a_users_sessions_on_the_user_accounts_page(server: Server, watched: Watched):
    director = new_context(watched.context.browser, viewport={"width": 1366, "height": 768})
    try:
        their_page = director.new_page()
        sign_in(their_page, server.base_url, "director")
        admin = watched.new_page()
        sign_in(admin, server.base_url, "ada", path="users")
        admin.get_by_role("tab", name="Change an account").click()
        admin.get_by_label("Account", exact=True).click()
        admin.get_by_role("option", name="director").click()
        wait_for_streamlit(admin)
        admin.get_by_text("Signed-in sessions of director").wait_for()
        admin.get_by_role("button", name="End every session of director").click()
        admin.get_by_text("Ended 1 session of director").wait_for()
        screenshot(admin, "web-user-accounts-sessions")
        their_page.get_by_test_id("stSidebar").get_by_text("Exceptions").click()
        assert shows_sign_in_form(their_page)
    finally:
        director.close()
    watched.assert_clean(server.base_url)


@pytest.mark.postgres
def test_two_instances_on_one_postgresql_share_the_sign_in(postgres_engine: Engine, postgres_db_url: str, watched):
    initialise_database(postgres_engine)
    with write_session(postgres_engine) as session:
        create_user(session, SYSTEM, "director", "viewer", password=PASSWORD)
    first, second = Server(postgres_db_url, ARTIFACTS / "logs"), Server(postgres_db_url, ARTIFACTS / "logs")
    first.start()
    second.start()
    try:
        page = watched.new_page()
        sign_in(page, first.base_url, "director")
        # A browser's cookies go to every port of the host: like a load balancer sending the next visit elsewhere.
        other = watched.new_page()
        other.goto(f"{second.base_url}/exceptions")
        wait_for_streamlit(other)
        assert signed_in_as(other, "director")
        other.get_by_role("button", name="Sign out").click()
        assert shows_sign_in_form(other)
        page.reload()
        wait_for_streamlit(page)
        assert shows_sign_in_form(page)
    finally:
        first.stop()
        second.stop()
    own = {urlsplit(first.base_url).netloc, urlsplit(second.base_url).netloc}
    assert [url for url in watched.requests if url.startswith("http") and urlsplit(url).netloc not in own] == []
