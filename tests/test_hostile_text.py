"""Hostile text is never markup: every page, with markdown, HTML, links, images, colours, LaTeX and emoji shortcodes
in every stored text field and in every query parameter, shows it as text (issue 15, point 3).

The database is the real framework with demo returns, then every text a user, a workbook or an administrator's
framework import can set is overwritten with hostile text. Each page runs through AppTest as an administrator, once
with no query parameters (so the data is shown) and once with every query parameter hostile; every string Streamlit
renders as markdown (bodies, labels, help) is checked. A Chromium test checks what a browser actually does with the
worst two: Line history with a hostile ``?line=`` and the public young people's summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import streamlit as st
from google.protobuf.message import Message
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.bootstrap import initialise_database
from cyp.demo import generate_demo
from cyp.storage.db import make_engine, write_session
from cyp.storage.models import (
    Action,
    Driver,
    IndexDomain,
    Indicator,
    LineUpdate,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Partner,
    Plan,
    Return,
    User,
)
from cyp.ui import PRINCIPAL_KEY
from cyp.ui.escaping import WORD_JOINER, escape_markdown
from tests.fixtures_browser import screenshot, wait_for_streamlit

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-23"
HOSTILE = (
    "**bold** [link](http://evil.example/x) ![img](http://evil.example/i.png) <img src=x onerror=alert(1)> "
    ":red[colour] $x^2$ :smile: www.evil.example/w me@evil.example"
)
# A hostile administrator name too: the sidebar shows who is signed in.
ADMIN = Principal("admin **bold** :smile:", "administrator")
ADMIN_USERNAME, ADMIN_PASSWORD = "hostile.admin", "a long enough password for the browser"
PAGES = sorted(path.name for path in (ROOT / "app_pages").glob("*.py"))
QUERY_PARAMETERS = ("plan", "quarter", "outcome", "objective", "team", "body", "domain", "driver", "status", "line")
QUERY_PARAMETERS += ("slide", "timer")
# Markup that is live only when unescaped: each escaped form has a backslash or a word joiner inside it.
LIVE_IN_MARKDOWN = ("**bold**", "[link]", "](http", "![img", "<img", ":red[", "$x^2$", ":smile:")
LIVE_IN_MARKDOWN += ("http://evil", "www.evil", "@evil")
# A raw HTML block (unsafe_allow_html, starting with a tag) is not parsed as markdown: only HTML and the rewrites
# Streamlit makes after parsing (emoji, bare links) matter there.
LIVE_IN_HTML = ("<img", "<a ", ":smile:", "http://evil", "www.evil", "@evil")
RENDERED_FIELDS = {"body", "label", "help", "labels", "caption"}


def hostile(text: str | None) -> str:
    """The original text (so names stay unique and recognisable) followed by the hostile text."""
    return f"{text or ''} {HOSTILE}".strip()


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real framework and demo returns, with every text field a person can set made hostile."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'hostile.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYP_TODAY", TODAY)
        engine = make_engine(url)
        initialise_database(engine)
        with write_session(engine) as session:
            generate_demo(session)
            for model, columns in (
                (Plan, ("title", "vision")),
                (Outcome, ("name", "description", "group")),
                (Objective, ("text",)),
                (Action, ("text",)),
                (Driver, ("name", "description")),
                (IndexDomain, ("name", "short_name")),
                (ObjectiveDomain, ("reason",)),
                (Partner, ("name",)),
                (MonitoringBody, ("name",)),
                (Indicator, ("name", "unit")),
                (LineUpdate, ("progress", "next_steps", "risks")),
                (User, ("display_name",)),
            ):
                for row in session.scalars(select(model)):
                    for column in columns:
                        setattr(row, column, hostile(getattr(row, column)))
            session.execute(update(Return).values(uploaded_by=f"lead {HOSTILE}"))
            create_user(session, SYSTEM, ADMIN_USERNAME, "administrator", password=ADMIN_PASSWORD)
        engine.dispose()
    yield url


@pytest.fixture
def run_page(hostile_url: str, monkeypatch: pytest.MonkeyPatch):
    """``run_page(page, **query_params) -> AppTest``: the page run as a (hostile-named) administrator."""
    monkeypatch.setenv("CYP_DATABASE_URL", hostile_url)
    monkeypatch.setenv("CYP_TODAY", TODAY)
    st.cache_data.clear()
    st.cache_resource.clear()

    def run(page: str, **query_params: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        at.session_state[PRINCIPAL_KEY] = ADMIN
        at.run()
        for key, value in query_params.items():
            at.query_params[key] = value
        at.switch_page(f"app_pages/{page}")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


def _strings(message: Message, field: str = "") -> Iterator[tuple[str, str]]:
    """Every (field name, string) in a protobuf message, nested messages included."""
    for descriptor, value in message.ListFields():
        repeated = not isinstance(value, (str, bytes, Message)) and hasattr(value, "__iter__")
        values = value if repeated else [value]
        for item in values:
            if isinstance(item, Message):
                yield from _strings(item, descriptor.name)
            elif isinstance(item, str):
                yield descriptor.name, item


def rendered_markdown(at: AppTest) -> list[str]:
    """Every string the page hands Streamlit to render as markdown: element bodies, labels, help and captions."""
    found: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if isinstance(proto, Message):
            found.extend(text for name, text in _strings(proto) if name in RENDERED_FIELDS)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def live_markup(texts: list[str]) -> list[tuple[str, str]]:
    """(pattern, text) for every piece of hostile markup left live in the texts."""
    problems = []
    for text in texts:
        patterns = LIVE_IN_HTML if text.lstrip().startswith("<") else LIVE_IN_MARKDOWN
        # A backslash before the pattern escapes its first character, which is enough to make it text.
        problems += [(pattern, text[:300]) for pattern in patterns if re.search(r"(?<!\\)" + re.escape(pattern), text)]
    return problems


def test_the_escaping_function_leaves_nothing_live():
    for text in (escape_markdown(HOSTILE), f"<div>{escape_markdown(HOSTILE, inside_html=True)}</div>"):
        assert not live_markup([text]), text
    # Shown, not dropped: the words are all still there once the escapes are read.
    shown = re.sub(r"\\(.)", r"\1", escape_markdown(HOSTILE)).replace(WORD_JOINER, "")
    assert shown == HOSTILE
    assert escape_markdown(None) == escape_markdown(float("nan")) == ""
    assert escape_markdown("two\n\nparagraphs") == "two paragraphs"


def test_the_hostile_database_has_the_hostile_text_everywhere(hostile_url):
    engine = make_engine(hostile_url)
    with write_session(engine) as session:
        assert all(HOSTILE in name for name in session.scalars(select(Outcome.name)))
        assert all(HOSTILE in (text or "") for text in session.scalars(select(LineUpdate.progress)))
    engine.dispose()


# Pages that show stored framework or team text on their default view: the hostile text must be seen (escaped),
# so the test can't pass by a page showing nothing.
SHOWS_STORED_TEXT = {
    "framework.py",
    "index_domains.py",
    "outcome.py",
    "overview.py",
    "young_people.py",
    "display.py",
}


@pytest.mark.parametrize("page_file", PAGES)
def test_every_page_shows_hostile_stored_text_as_text(run_page, page_file):
    texts = rendered_markdown(run_page(page_file))
    assert not live_markup(texts)
    if page_file in SHOWS_STORED_TEXT:
        assert any("evil" in text for text in texts), f"{page_file} showed none of the hostile text"
    # The signed-in name in the sidebar is shown escaped.
    assert any(escape_markdown(ADMIN.username) in text for text in texts)


@pytest.mark.parametrize("page_file", PAGES)
def test_every_page_shows_hostile_query_parameters_as_text(run_page, page_file):
    at = run_page(page_file, **dict.fromkeys(QUERY_PARAMETERS, HOSTILE))
    assert not live_markup(rendered_markdown(at))


def test_line_history_of_a_real_line_shows_hostile_commentary_as_text(run_page, hostile_url):
    engine = make_engine(hostile_url)
    with write_session(engine) as session:
        line_ref = session.scalars(select(Action.ref).join(LineUpdate, LineUpdate.action_id == Action.id)).first()
    engine.dispose()
    texts = rendered_markdown(run_page("line_history.py", line=line_ref))
    assert not live_markup(texts)
    assert any(text.startswith("**Progress:**") and "evil" in text for text in texts)


def test_a_hostile_line_in_the_address_is_named_as_text(run_page):
    at = run_page("line_history.py", line=HOSTILE)
    assert [error.value for error in at.error] == [
        f"There is no line '{escape_markdown(HOSTILE)}'. Check the link, or choose a line above."
    ]


def _no_evil_in_browser(page, base_url: str, path: str | None, requests: list[str]) -> None:
    """The page at ``path`` (or as it is, for None) has no link or image to evil.example and asked it for nothing."""
    if path is not None:
        page.goto(f"{base_url}/{path}")
        wait_for_streamlit(page)
    assert page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"]').count() > 0
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    sources = page.eval_on_selector_all("img[src], [srcset]", "els => els.map(e => e.outerHTML)")
    # Heading anchors ("#...-evil-example-...") stay on the page; no link may leave for the other host.
    assert not [href for href in hrefs if "evil.example" in href]
    assert not [source for source in sources if "evil.example" in source or 'src="x"' in source]
    assert page.locator("[data-testid='stMain'] img[src='x']").count() == 0
    assert not [url for url in requests if "evil" in (urlsplit(url).hostname or "")]


def test_a_browser_draws_no_link_image_or_request_to_another_host(app_server, page, hostile_url):
    base_url = app_server(database_url=hostile_url, env={"CYP_TODAY": TODAY})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    _no_evil_in_browser(page, base_url, "young_people", requests)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "**bold**" in text.replace(WORD_JOINER, "") and ":smile:" in text.replace(WORD_JOINER, "")
    screenshot(page, "hostile-young-people")
    # Line history with the crafted ?line= of the report: the link opens the sign-in form, then the page itself.
    page.goto(f"{base_url}/line_history?line={quote(HOSTILE)}")
    wait_for_streamlit(page)
    _sign_in(page)
    _no_evil_in_browser(page, base_url, None, requests)
    screenshot(page, "hostile-line-history")
    error = page.locator('[data-testid="stAlert"]').filter(has_text="There is no line").inner_text()
    error = error.replace(WORD_JOINER, "")
    assert HOSTILE in error


def _sign_in(page) -> None:
    """Sign in on the form the page shows and wait for the page itself, drawn signed in.

    The sign-in run ends by sending the browser to ``/session/claim``, which sets the cookie and redirects back to
    the same address: waiting for that run alone would settle on the sign-in form's document as it is replaced.
    """
    page.get_by_label("Username").fill(ADMIN_USERNAME)
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {ADMIN_USERNAME}").wait_for(state="attached")
    wait_for_streamlit(page)
