"""The web application over HTTP (Starlette's TestClient on the real st.App): headers, health, session routes."""

from __future__ import annotations

import base64
import gc
import hashlib
import re
import weakref
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from cyp.access import sessions
from cyp.access.accounts import create_user, disable_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import WebSession
from cyp.storage.schema import alembic_config
from cyp.web.app import build_app
from cyp.web.lifespan import freeze_long_lived_objects
from cyp.web.routes import safe_next

BROWSER = "the-browser-cookie"


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    """The real ASGI app, started once (lifespan, Streamlit runtime) for this module: one runtime per process."""
    from streamlit.runtime import Runtime

    application = build_app()
    with TestClient(application):
        yield application
    Runtime._instance = None  # let later tests (AppTest) make their own


@pytest.fixture
def client(app) -> TestClient:  # type: ignore[no-untyped-def]
    """A fresh client (no cookies) of the running app over http."""
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


@pytest.fixture
def https_client(app) -> TestClient:  # type: ignore[no-untyped-def]
    """A fresh client of the running app as reached over https (e.g. through the reverse proxy)."""
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def lee(engine: Engine) -> Engine:
    with write_session(engine) as session:
        create_user(session, SYSTEM, "lee", "viewer")
    return engine


def set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every Set-Cookie of a response, by cookie name, as sent."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        found[header.split("=", 1)[0]] = header
    return found


def asset_path(client: TestClient) -> str:
    """The address of the JavaScript bundle the page loads."""
    return "/" + re.search(r'src="\./(static/js/index\.[^"]+\.js)"', client.get("/").text).group(1)


SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


@pytest.mark.parametrize("path", ["/", "/outcome?plan=2019-23", "ASSET", "/_stcore/health", "/healthz", "/readyz"])
def test_every_response_carries_the_security_headers(client: TestClient, engine: Engine, path: str):
    response = client.get(asset_path(client) if path == "ASSET" else path)
    assert response.status_code == 200, response.text
    for name in SECURITY_HEADERS:
        assert name in response.headers, name
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "'unsafe-eval'" not in csp and "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "strict-transport-security" not in response.headers  # plain http: a browser ignores it


def test_the_policy_allows_exactly_the_inline_script_of_the_page(client: TestClient):
    page = client.get("/")
    inline = re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL)
    assert len(inline) == 1 and "prerenderReady" in inline[0]
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["content-security-policy"]


def test_hsts_and_secure_cookies_over_https(https_client: TestClient, lee: Engine):
    page = https_client.get("/")
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    browser_cookie = set_cookies(page)[sessions.BROWSER_COOKIE]
    assert "; Secure" in browser_cookie
    browser = SimpleCookie(browser_cookie)[sessions.BROWSER_COOKIE].value
    with write_session(lee) as session:
        ticket = sessions.issue_ticket(session, Principal("lee", "viewer"), sessions.PASSWORD, browser)
    claimed = https_client.get("/session/claim", params={"ticket": ticket, "next": "/"})
    assert claimed.status_code == 303
    assert "; Secure" in set_cookies(claimed)[sessions.SESSION_COOKIE]


def test_frame_ancestors_is_a_setting(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CYP_FRAME_ANCESTORS", "'self' https://intranet.example.org")
    response = client.get("/healthz")
    assert "frame-ancestors 'self' https://intranet.example.org" in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers  # it cannot name another site
    monkeypatch.setenv("CYP_FRAME_ANCESTORS", "'none'")
    assert client.get("/healthz").headers["x-frame-options"] == "DENY"


def test_a_page_gives_a_new_browser_its_cookie_once(client: TestClient):
    first = client.get("/")
    cookie = set_cookies(first)[sessions.BROWSER_COOKIE]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    value = SimpleCookie(cookie)[sessions.BROWSER_COOKIE].value
    assert len(value) == 43
    client.cookies.set(sessions.BROWSER_COOKIE, value)
    assert sessions.BROWSER_COOKIE not in set_cookies(client.get("/"))
    assert sessions.BROWSER_COOKIE not in set_cookies(client.get("/healthz"))  # not on JSON


def test_healthz_needs_no_database(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("CYP_DATABASE_URL", f"sqlite:///{tmp_path}")  # a folder: no database can open there
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    unready = client.get("/readyz")
    assert unready.status_code == 503 and unready.json()["reason"].startswith("database unreachable")


def test_readyz_compares_the_database_with_the_newest_migration(client: TestClient, tmp_path: Path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("CYP_DATABASE_URL", url)
    empty = client.get("/readyz")
    assert empty.status_code == 503
    assert empty.json()["reason"] == "database not initialised; run `python -m cyp init`"
    old = make_engine(url)
    with old.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    old.dispose()
    behind = client.get("/readyz").json()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert (behind["status"], behind["migration"], behind["expected"]) == ("not ready", "0001", head)
    assert behind["reason"].startswith("migrations pending")
    upgraded = make_engine(url)
    with upgraded.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    upgraded.dispose()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_claim_exchanges_a_ticket_for_the_session_cookie_once(client: TestClient, lee: Engine):
    with write_session(lee) as session:
        ticket = sessions.issue_ticket(session, Principal("lee", "viewer"), sessions.PASSWORD, BROWSER)
    client.cookies.set(sessions.BROWSER_COOKIE, BROWSER)
    response = client.get(
        "/session/claim", params={"ticket": ticket, "next": "/outcome?plan=2019-23"}, headers={"user-agent": "Probe/1"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/outcome?plan=2019-23"
    cookie = set_cookies(response)[sessions.SESSION_COOKIE]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert 12 * 3600 - 60 <= int(re.search(r"Max-Age=(\d+)", cookie).group(1)) <= 12 * 3600
    token = SimpleCookie(cookie)[sessions.SESSION_COOKIE].value
    with read_session(lee) as session:
        assert sessions.check_session(session, token).principal == Principal("lee", "viewer")
        row = session.scalars(select(WebSession)).one()
        assert (row.user_agent, row.client_address) == ("Probe/1", "testclient")
    again = client.get("/session/claim", params={"ticket": ticket, "next": "/"})
    assert again.status_code == 403 and "Sign-in link not valid" in again.text
    assert again.headers["content-security-policy"]


def test_claim_refuses_a_ticket_from_another_browser(client: TestClient, lee: Engine):
    with write_session(lee) as session:
        ticket = sessions.issue_ticket(session, Principal("lee", "viewer"), sessions.PASSWORD, BROWSER)
    client.cookies.set(sessions.BROWSER_COOKIE, "somebody-else")
    response = client.get("/session/claim", params={"ticket": ticket, "next": "/"})
    assert response.status_code == 403 and sessions.SESSION_COOKIE not in set_cookies(response)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/outcome?plan=2019-23", "/outcome?plan=2019-23"),
        ("//evil.example.org/", "/"),
        ("/\\evil.example.org", "/"),
        ("https://evil.example.org/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        (None, "/"),
    ],
)
def test_redirects_never_leave_the_site(target: str | None, expected: str):
    assert safe_next(target) == expected


def test_signout_deletes_the_session_and_clears_the_cookie(client: TestClient, lee: Engine):
    with write_session(lee) as session:
        ticket = sessions.issue_ticket(session, Principal("lee", "viewer"), sessions.PASSWORD, BROWSER)
    with write_session(lee) as session:
        token = sessions.claim_ticket(session, ticket, BROWSER).token
    client.cookies.set(sessions.SESSION_COOKIE, token)
    from_elsewhere = client.get("/session/signout", params={"next": "/"}, headers={"sec-fetch-site": "cross-site"})
    assert from_elsewhere.status_code == 303
    with read_session(lee) as session:
        assert sessions.check_session(session, token).principal is not None  # another site cannot sign you out
    response = client.get(
        "/session/signout", params={"next": "/auth/logout"}, headers={"sec-fetch-site": "same-origin"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/auth/logout"
    assert "Max-Age=0" in set_cookies(response)[sessions.SESSION_COOKIE]
    with read_session(lee) as session:
        assert sessions.check_session(session, token).principal is None


def test_a_display_link_signs_the_screen_in_and_lands_on_the_board_display(client: TestClient, engine: Engine):
    with write_session(engine) as session:
        create_user(session, SYSTEM, "ada", "administrator")
        session.flush()
        link = sessions.issue_display_link(session, Principal("ada", "administrator"), "Room 1")
    response = client.get(f"/display-link/{link}", params={"interval": "30"})
    assert response.status_code == 303 and response.headers["location"] == "/display?interval=30"
    cookie = set_cookies(response)[sessions.SESSION_COOKIE]
    assert 89 * 86400 <= int(re.search(r"Max-Age=(\d+)", cookie).group(1)) <= 90 * 86400
    token = SimpleCookie(cookie)[sessions.SESSION_COOKIE].value
    with read_session(engine) as session:
        assert sessions.check_session(session, token).principal == Principal("display:Room 1", "display")
    assert client.get("/display-link/not-a-link").status_code == 403


def test_a_disabled_account_cannot_claim_its_ticket(client: TestClient, lee: Engine):
    with write_session(lee) as session:
        ticket = sessions.issue_ticket(session, Principal("lee", "viewer"), sessions.PASSWORD, BROWSER)
    with write_session(lee) as session:
        disable_user(session, SYSTEM, "lee")
    client.cookies.set(sessions.BROWSER_COOKIE, BROWSER)
    assert client.get("/session/claim", params={"ticket": ticket}).status_code == 403


def test_the_data_api_is_served_by_the_same_app_with_the_same_headers(client: TestClient, engine: Engine):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    refused = client.get("/api/v1/report")
    assert refused.status_code == 401 and refused.headers["referrer-policy"] == "same-origin"


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_long_lived_objects_are_frozen_out_of_the_collectors_sight_after_garbage_is_collected() -> None:
    garbage = weakref.ref(_Cycle())  # a reference cycle: only the collector frees it; frozen, it would stay for good
    try:
        frozen = freeze_long_lived_objects()
        assert frozen == gc.get_freeze_count() > 1000
        assert garbage() is None
    finally:
        gc.unfreeze()
