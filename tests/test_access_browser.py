"""Access in a real browser: sign-in with a local account, role-aware menu, a page reached by URL without the role."""

from sqlalchemy import select

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent
from tests.fixtures_browser import screenshot, wait_for_streamlit

PASSWORD = "correct horse battery staple"


def sign_in(page, base_url: str, username: str, path: str = "") -> None:
    page.goto(f"{base_url}/{path}")
    wait_for_streamlit(page)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for(timeout=30_000)
    wait_for_streamlit(page)


def test_viewer_signs_in_and_is_refused_the_upload_page_by_url(engine, app_server, page):
    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, "director", "viewer", password=PASSWORD)
    base_url = app_server()
    sign_in(page, base_url, "director")
    menu = page.get_by_test_id("stSidebar")
    assert menu.get_by_text("Overview").is_visible()
    assert menu.get_by_text("Submit a return").count() == 0
    screenshot(page, "access-viewer-overview")
    # The sign-in is counted against the browser's address (data/access.yaml, sign_in): here this machine.
    with read_session(engine) as session:
        signed_in = session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.signin"))
    assert (signed_in.outcome, signed_in.detail) == ("ok", "from localhost")


def test_shared_link_asks_for_sign_in_then_shows_a_clear_refusal_to_a_viewer(engine, app_server, page):
    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, "director", "viewer", password=PASSWORD)
    base_url = app_server()
    page.goto(f"{base_url}/upload")
    wait_for_streamlit(page)
    page.get_by_label("Username").fill("director")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("does not give access to this page").wait_for(timeout=30_000)
    assert page.url.endswith("/upload")
    screenshot(page, "access-refused-upload")


def test_wrong_password_is_refused_without_saying_whether_the_user_exists(engine, app_server, page):
    initialise_database(engine)
    base_url = app_server()
    page.goto(base_url)
    wait_for_streamlit(page)
    page.get_by_label("Username").fill("nobody")
    page.get_by_role("textbox", name="Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("The username or password is not right").wait_for(timeout=30_000)
