"""Every registered page renders through the real Streamlit app (AppTest) on a real database."""

import importlib
import re
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, event
from streamlit.testing.v1 import AppTest

from cyp.access.permissions import Principal
from cyp.ui import PRINCIPAL_KEY

ROOT = Path(__file__).resolve().parent.parent
REGISTERED_PAGES = [
    page for page in re.findall(r'ui\.page\("(app_pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))
]
ADMIN = Principal("admin", "administrator")


@pytest.fixture
def app(engine):
    """The real app on this test's freshly initialised database."""
    st.cache_data.clear()
    st.cache_resource.clear()

    def run(page: str | None = None, principal: Principal | None = ADMIN, **query_params: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if principal is not None:
            at.session_state[PRINCIPAL_KEY] = principal
        for key, value in query_params.items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page)
            at.run()
        return at

    return run


def all_text(at: AppTest) -> str:
    parts = [element.value for element in at.markdown] + [element.value for element in at.title]
    parts += [element.value for element in at.header] + [element.value for element in at.subheader]
    parts += [element.value for element in at.caption]
    parts += [str(getattr(element, "label", "")) for element in at.expander]
    return "\n".join(str(part) for part in parts)


def test_pages_are_registered():
    assert "app_pages/overview.py" in REGISTERED_PAGES
    assert "app_pages/framework.py" in REGISTERED_PAGES


def test_pages_are_made_once_per_process_and_each_run_gets_its_own_copies(app, monkeypatch):
    made: list[str] = []
    real_page = st.Page

    def counting_page(script, **options):
        made.append(str(script))
        return real_page(script, **options)

    monkeypatch.setattr(st, "Page", counting_page)
    navigation = importlib.import_module("cyp.ui.navigation")  # the module (cyp.ui.navigation is also a function)
    monkeypatch.setattr(navigation, "_PAGES", {})
    viewer = Principal("viewer", "viewer")  # also a refusal stand-in for each page a viewer may not see
    first, second = app("app_pages/outcome.py", principal=viewer), app("app_pages/exceptions.py", principal=viewer)
    assert not first.exception and not second.exception
    assert "Exceptions" in [title.value for title in second.title]
    # The app's 16 pages and the viewer's stand-ins, each made once over the four runs of the two sessions.
    assert len(made) == len(set(made)) == len(navigation._PAGES) > len(REGISTERED_PAGES)
    key = ("app_pages/outcome.py", "Outcomes", ":material/flag:", None, False)
    copies = [navigation.page("app_pages/outcome.py", title="Outcomes", icon=":material/flag:") for _ in range(2)]
    assert copies[0] is not copies[1] and copies[0] is not navigation._PAGES[key]
    assert copies[0].url_path == copies[1].url_path == "outcome" and copies[0].title == "Outcomes"


def test_the_menu_lists_each_section_and_the_account_under_who_is_signed_in(app):
    at = app(principal=Principal("director", "viewer"))
    menu = [
        (type(element).__name__, str(getattr(element, "value", "") or getattr(element, "label", "")))
        for element in at.sidebar
    ]
    captions = [text for kind, text in menu if kind == "Caption"]
    assert captions == ["Plan", "Board", "Returns", "Share", "Signed in as **director** (viewer)"]
    assert menu[-3:] == [
        ("Caption", "Signed in as **director** (viewer)"),
        ("PageLink", "Your account"),
        ("Button", "Sign out"),
    ]
    assert ("PageLink", "Submit a return") not in menu  # a viewer's menu has no upload page


@pytest.mark.parametrize("page", REGISTERED_PAGES)
def test_every_page_renders_without_exception(app, page):
    at = app(page)
    assert not at.exception, [e.value for e in at.exception]


def test_overview_lists_both_plans_with_counts(app):
    at = app()
    text = all_text(at)
    assert "Children and Young People's Plan 2019–2023" in text
    assert "Children and Young People's Plan 2023–2027" in text
    assert "**19** objectives" in text  # 2023–27: 6 + 4 + 4 + 5, under the plan's heading


def test_framework_page_shows_real_framework_text(app):
    at = app("app_pages/framework.py", plan="2019-23")
    text = all_text(at)
    assert "Safe & Secure" in text
    assert "Ensure the most vulnerable are protected" in text
    assert "There is a strong social care service that builds resilience" in text
    frames = [frame.value for frame in at.dataframe]
    actions = [text for frame in frames if "Action" in frame.columns for text in frame["Action"]]
    assert "Raise standards and effectiveness through implementation of Ofsted Improvement Plan" in actions


def test_signed_out_visitor_sees_the_sign_in_form(app):
    at = app(principal=None)
    assert not at.exception
    assert at.title[0].value == "Sign in to CYP Plan Monitor"
    assert [field.label for field in at.text_input] == ["Username", "Password"]


def test_meeting_room_screen_starts_on_the_board_display(app):
    at = app(principal=Principal("screen", "display"))
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "does not give access" in e.value]
    assert any("slide" in str(value).lower() for value in [m.value for m in at.markdown])


def test_a_first_request_straight_to_a_page_goes_through_sign_in(engine):
    # The first run of a fresh session asks for /upload itself (a shared link), before any run of the app: it must
    # still go through app.py's navigation, so a signed-out visitor gets the sign-in form, not the page. It fails
    # if a pages/ folder sits beside app.py (Streamlit's legacy directory mode runs the page file on its own).
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("app_pages/upload.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Sign in to CYP Plan Monitor"
    assert not at.file_uploader and not at.download_button


@pytest.mark.parametrize("page", ["app_pages/overview.py", "app_pages/outcome.py", "app_pages/exceptions.py"])
def test_the_data_version_is_read_once_per_run_not_once_per_loader(app, page):
    at = app(page)
    versions: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "max(audit_events.id)" in statement:
            versions.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        at.run()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert not at.exception, [e.value for e in at.exception]
    assert len(versions) == 1
