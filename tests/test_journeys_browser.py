"""Journeys in Chromium, as people use the app: a director clicks from the overview to a line's history and shares
the link; a lead downloads the template, fills it, uploads it and sees the overview change; a lead sees the
cell-level problems of a bad return; a lead sends a return with the keyboard alone; an administrator downloads the
audit trail and the framework workbook.

The board display's keyboard journey is tests/test_display_browser.py.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest
from openpyxl import load_workbook

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.returns.template import HEADER_ROW
from cyp.storage.db import make_engine, write_session
from tests.fixtures_browser import ARTIFACTS, new_context, screenshot, start_app_server, wait_for_streamlit
from tests.readside_factory import add_return

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
TEAM = "family-services"
SHOWN_QUARTER = "2022-23 Q4"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One app for the module: the framework, a Family Services return for 2022-23 Q4, a director and a lead."""
    folder = tmp_path_factory.mktemp("journeys")
    url = f"sqlite:///{folder / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(
            session,
            TEAM,
            SHOWN_QUARTER,
            {
                "19-FB-1.1": ("Red", "Waiting list for family support doubled since January."),
                "19-FB-1.2": ("Amber", "One hub opening moved to May."),
                "19-FB-2.1": "Green",
            },
            uploaded_at=datetime(2023, 4, 20, 9, 30, tzinfo=UTC),
        )
        add_return(session, "public-health", SHOWN_QUARTER, {"19-HW-1.1": "Green"})
        create_user(session, SYSTEM, "director", "viewer", password=PASSWORD)
        create_user(session, SYSTEM, "fs.lead", "lead", password=PASSWORD, teams=[TEAM])
        create_user(session, SYSTEM, "perf.admin", "administrator", password=PASSWORD)
    engine.dispose()
    env = {"CYP_DATABASE_URL": url, "CYP_UPLOADS_DIR": str(folder / "uploads"), "CYP_TODAY": "2026-11-23"}
    with start_app_server(ARTIFACTS / "logs" / "journeys.log", env=env) as base_url:
        yield base_url


@pytest.fixture
def fresh_context(browser):
    """A factory of fresh browser contexts (own cookies, own Streamlit session), closed after the test."""
    contexts = []

    def make():
        context = new_context(browser, viewport={"width": 1366, "height": 768}, accept_downloads=True)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in_at(page, address: str, username: str) -> None:
    """Open an address signed out; sign in on the form it shows and wait for the page itself."""
    page.goto(address)
    wait_for_streamlit(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for(state="attached")
    wait_for_streamlit(page)


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by its label."""
    page.get_by_label(label, exact=True).click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).wait_for()
    page.keyboard.press("Enter")
    wait_for_streamlit(page)


def test_director_clicks_to_a_line_history_and_the_copied_link_shows_the_same_view(site, fresh_context):
    page = fresh_context()
    sign_in_at(page, f"{site}/?plan=2019-23", "director")
    page.get_by_role("heading", name=f"Outcomes in {SHOWN_QUARTER}").wait_for()
    page.locator('a[href*="outcome=19-FB"]').filter(has_text="Open Family & Belonging").click()
    wait_for_streamlit(page)
    page.get_by_role("heading", name="19-FB · Family & Belonging").wait_for()
    choose(page, "Team", "Family Services")
    page.get_by_text("Showing only lines matching: Team family-services").wait_for()
    page.get_by_role("link", name="History of 19-FB-1.1").click()
    wait_for_streamlit(page)
    page.get_by_role("heading", name="19-FB-1.1 ·").wait_for()
    page.get_by_text("Waiting list for family support doubled since January.").wait_for()
    screenshot(page, "journey-director-line-history")

    shared = page.url
    params = parse_qs(urlparse(shared).query)
    assert params["line"] == ["19-FB-1.1"] and params["team"] == [TEAM] and params["quarter"] == [SHOWN_QUARTER]

    other = fresh_context()
    sign_in_at(other, shared, "director")
    other.get_by_role("heading", name="19-FB-1.1 ·").wait_for()
    other.get_by_text("Waiting list for family support doubled since January.").wait_for()
    assert parse_qs(urlparse(other.url).query) == params
    back = other.get_by_role("link", name="Back to Family & Belonging")
    assert f"team={TEAM}" in (back.get_attribute("href") or "")
    screenshot(other, "journey-director-shared-link")


def test_administrator_downloads_the_audit_trail_and_the_framework_made_when_pressed(site, fresh_context):
    page = fresh_context()
    sign_in_at(page, f"{site}/audit", "perf.admin")
    page.get_by_role("heading", name="Audit trail").wait_for()
    shown = re.compile(r"^\d+ events, newest first")
    every_actor = page.get_by_text(shown).inner_text()
    choose(page, "Who", "perf.admin")
    # The filtered run has drawn (its count differs: the system made the accounts) and finished. Each run gives the
    # button a new deferred file id and drops the last one, so a press during a run would ask for a dropped id.
    page.get_by_text(shown).filter(has_not_text=every_actor).wait_for()
    wait_for_streamlit(page)
    # The CSV is made on the server when the button is pressed (a deferred download), then fetched.
    download = _download_template(page, page.get_by_role("button", name="Download these events (CSV)").click)
    rows = list(csv.reader(io.StringIO(download.decode("utf-8-sig"))))
    assert rows[0] == ["at", "actor", "action", "target", "outcome", "detail"]
    assert {row[1] for row in rows[1:]} == {"perf.admin"}
    assert ["perf.admin", "auth.signin", "user:perf.admin", "ok"] in [row[1:5] for row in rows[1:]]

    # The framework workbook on the Administration page is made the same way.
    page.get_by_role("link", name="Administration", exact=True).click()
    wait_for_streamlit(page)
    workbook = _download_template(page, page.get_by_role("button", name="Download the framework workbook").click)
    assert load_workbook(BytesIO(workbook)).sheetnames[:3] == ["Read me", "Plans", "Outcomes"]


def _download_template(page, trigger) -> bytes:
    with page.expect_download() as download:
        trigger()
    return Path(download.value.path()).read_bytes()


def fill_return(template: bytes, statuses: dict[str, str] | None = None, default: str = "Green") -> bytes:
    """The template with every line given a status and a progress update (``statuses`` by ref override)."""
    book = load_workbook(BytesIO(template))
    sheet = book["Return"]
    headers = {str(cell.value).strip(): cell.column for cell in sheet[HEADER_ROW] if cell.value}
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        ref = sheet.cell(row=row, column=headers["Ref"]).value
        if not ref:
            continue
        sheet.cell(row=row, column=headers["RAG status"], value=(statuses or {}).get(ref, default))
        sheet.cell(row=row, column=headers["Progress update"], value=f"Progress on {ref} this quarter.")
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _outcome_tile_text(page, quarter: str, outcome: str) -> str:
    page.get_by_role("heading", name=f"Outcomes in {quarter}").wait_for()
    title = page.get_by_text(outcome, exact=False).first
    # The tile is the nearest block around its title: title, status badge, distribution, change note.
    return title.locator("xpath=ancestor::div[@data-testid='stVerticalBlock'][1]").inner_text()


def test_lead_downloads_fills_and_uploads_a_return_and_the_overview_changes(site, fresh_context, tmp_path):
    quarter = "2022-23 Q3"
    overview = f"{site}/?plan=2019-23&quarter={quote(quarter)}"
    page = fresh_context()
    sign_in_at(page, overview, "fs.lead")
    before = _outcome_tile_text(page, quarter, "Family & Belonging")
    assert "Green" not in before

    page.goto(f"{site}/upload?quarter={quote(quarter)}")
    wait_for_streamlit(page)
    assert page.get_by_label("Username", exact=True).count() == 0  # a typed address keeps the sign-in
    button = page.get_by_role("button", name=f"Download the {quarter} template for Family Services")
    template = _download_template(page, button.click)
    filled = tmp_path / "family services Q3.xlsx"
    filled.write_bytes(fill_return(template))

    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("stFileUploaderDropzone").get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(filled))
    page.get_by_role("button", name="Check and submit").click()
    page.get_by_text("Accepted.").wait_for()
    wait_for_streamlit(page)
    screenshot(page, "journey-lead-upload-accepted")

    page.goto(overview)
    wait_for_streamlit(page)
    assert page.get_by_label("Username", exact=True).count() == 0
    after = _outcome_tile_text(page, quarter, "Family & Belonging")
    assert "Green" in after and after != before
    screenshot(page, "journey-lead-overview-after")


def test_lead_sees_every_problem_of_a_bad_return_by_cell(site, fresh_context, tmp_path):
    quarter = "2022-23 Q1"
    page = fresh_context()
    sign_in_at(page, f"{site}/upload?quarter={quote(quarter)}", "fs.lead")
    template = _download_template(
        page, page.get_by_role("button", name=f"Download the {quarter} template for Family Services").click
    )
    bad = tmp_path / "bad.xlsx"
    first_ref = load_workbook(BytesIO(template))["Return"].cell(row=HEADER_ROW + 1, column=1).value
    bad.write_bytes(fill_return(template, {first_ref: "Ambr"}))
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    page.get_by_role("button", name="Check and submit").click()
    page.get_by_text("Not stored:").wait_for()
    problem = page.get_by_text("'Ambr' is not a RAG status; did you mean Amber?")
    problem.wait_for()
    item = problem.locator("xpath=ancestor-or-self::li").first.inner_text()
    assert item.startswith("Return!E") and item[len("Return!E") :].split()[0].isdigit(), item
    screenshot(page, "journey-lead-bad-return")


def _tab_to(page, name: str, inside: str = "body", limit: int = 80) -> None:
    """Press Tab until the focused control, within ``inside`` (a CSS selector), has ``name`` in its label
    (or, for a button or link, its text); a focusable container's text does not count."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "inside => { const e = document.activeElement; if (!e.closest(inside)) return ''; "
            "const text = ['BUTTON', 'A'].includes(e.tagName) ? e.innerText || '' : ''; "
            "return text + ' ' + (e.getAttribute('aria-label') || ''); }",
            inside,
        )
        if name in focused:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def _type(page, text: str) -> None:
    """Type into the focused field and wait until it holds the text (React re-renders can drop early keys)."""
    page.keyboard.type(text, delay=20)
    page.wait_for_function("text => document.activeElement && document.activeElement.value === text", arg=text)


def test_lead_sends_a_return_with_the_keyboard_alone(site, fresh_context, tmp_path):
    quarter = "2022-23 Q2"
    page = fresh_context()
    page.goto(f"{site}/upload?quarter={quote(quarter)}")
    wait_for_streamlit(page)
    _tab_to(page, "Username")
    _type(page, "fs.lead")
    page.keyboard.press("Tab")
    _type(page, PASSWORD)
    _tab_to(page, "Sign in", inside='[data-testid="stForm"]')
    wait_for_streamlit(page)  # let the form take the typed values before the keyboard submits it
    page.keyboard.press("Enter")
    page.get_by_text("Signed in as fs.lead").wait_for(state="attached")
    wait_for_streamlit(page)

    _tab_to(page, f"Download the {quarter} template")
    template = _download_template(page, lambda: page.keyboard.press("Enter"))
    wait_for_streamlit(page)  # the focus must stay where the keyboard left it: no run may redraw the page now
    filled = tmp_path / "keyboard.xlsx"
    filled.write_bytes(fill_return(template, default="Amber"))

    _tab_to(page, "Upload", inside='[data-testid="stFileUploaderDropzone"]')
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(filled))
    wait_for_streamlit(page)
    _tab_to(page, "Check and submit")
    page.keyboard.press("Space")
    page.get_by_text("Accepted.").wait_for()
    screenshot(page, "journey-keyboard-upload-accepted")
