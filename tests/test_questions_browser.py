"""A board question in Chromium, from the meeting to the answer: the chair records it on the board display, the team's
next template carries it in a "Board asked" column beside an "Answer to the board" input, the lead fills the answer
and uploads the return through the upload page, and the line's history shows the question answered and closed.

Also screenshots of the display's first slide (what changed since last quarter) and of an outcome page at 1366×768
and 1920×1080, for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.cycle.questions import ask_question
from cyp.returns.template import HEADER_ROW
from cyp.storage.db import make_engine, write_session
from tests.fixtures_browser import ARTIFACTS, new_context, screenshot, start_app_server, wait_for_streamlit
from tests.readside_factory import add_return

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
TEAM = "family-services"
PLAN, MEETING, NEXT = "2019-23", "2022-23 Q3", "2022-23 Q4"
QUESTION = "Why has the waiting list doubled? **not bold** <b>not a tag</b>"
STANDING = "Is the reopening of the centre lasting?"
ANSWER = "Two family support workers left in December; both posts are filled from April."
SCREENS = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}
# The Ask button is inside the viewport and its label is not cut off.
ASK_FITS = """() => {
  const button = [...document.querySelectorAll('[data-testid="stPopoverButton"]')]
    .find(e => e.offsetParent !== null && e.innerText.includes('Ask'));
  if (!button) return 'no Ask button';
  const box = button.getBoundingClientRect();
  if (box.bottom > window.innerHeight + 1 || box.right > window.innerWidth + 1) return `outside: ${box.bottom}`;
  const clipped = [button, ...button.querySelectorAll('p, span')].filter(e => e.scrollWidth > e.clientWidth + 1);
  return clipped.length ? 'clipped' : 'fits';
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with two quarters of Family Services returns (2022-23 Q2 and Q3), the chair and the team's lead."""
    folder = tmp_path_factory.mktemp("questions")
    url = f"sqlite:///{folder / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(
            session,
            TEAM,
            "2022-23 Q2",
            {"19-FB-1.1": ("Green", "Hubs busy."), "19-FB-2.2": ("Red", "Centre closed for repairs.")},
            uploaded_at=datetime(2022, 10, 20, 9, 30, tzinfo=UTC),
        )
        add_return(
            session,
            TEAM,
            MEETING,
            {"19-FB-1.1": ("Red", "Waiting list doubled."), "19-FB-2.2": ("Green", "Centre reopened.")},
            uploaded_at=datetime(2023, 1, 20, 9, 30, tzinfo=UTC),
        )
        # Asked about next quarter, so not in the Q4 template: open (and overdue) on the cards and slides throughout.
        ask_question(session, SYSTEM, "19-FB-2.2", NEXT, STANDING, due_by=date(2026, 11, 1))
        create_user(session, SYSTEM, "chair", "viewer", password=PASSWORD)
        create_user(session, SYSTEM, "fs.lead", "lead", password=PASSWORD, teams=[TEAM])
    engine.dispose()
    env = {"CYP_DATABASE_URL": url, "CYP_UPLOADS_DIR": str(folder / "uploads"), "CYP_TODAY": "2026-11-23"}
    with start_app_server(ARTIFACTS / "logs" / "questions-browser.log", env=env) as base_url:
        yield base_url


@pytest.fixture
def fresh_context(browser):
    """A factory of fresh browser contexts (own cookies, own Streamlit session) at a size, closed after the test."""
    contexts = []

    def make(width: int = 1366, height: int = 768):
        context = new_context(browser, viewport={"width": width, "height": height}, accept_downloads=True)
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


def display_at(site: str, slide: int) -> str:
    return f"{site}/display?plan={PLAN}&quarter={quote(MEETING)}&slide={slide}"


def answered_return(template: bytes) -> bytes:
    """The template with every line Green with a progress update, and the board's question answered."""
    book = load_workbook(BytesIO(template))
    sheet = book["Return"]
    headers = {str(cell.value).strip(): cell.column for cell in sheet[HEADER_ROW] if cell.value}
    assert "Board asked" in headers and "Answer to the board" in headers, headers
    asked = {}
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        ref = sheet.cell(row=row, column=headers["Ref"]).value
        if not ref:
            continue
        sheet.cell(row=row, column=headers["RAG status"], value="Green")
        sheet.cell(row=row, column=headers["Progress update"], value=f"Progress on {ref} this quarter.")
        asked[ref] = sheet.cell(row=row, column=headers["Board asked"]).value
        if asked[ref]:
            sheet.cell(row=row, column=headers["Answer to the board"], value=ANSWER)
    # Only the line the board asked about carries the question, as the chair typed it (text, not markup).
    assert {ref: text for ref, text in asked.items() if text} == {
        "19-FB-1.1": f"Question ({MEETING}, due by 21 Dec 2026): {QUESTION}"
    }
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_question_asked_on_the_display_is_answered_in_the_next_return(site, fresh_context, tmp_path: Path):
    chair = fresh_context()
    sign_in_at(chair, display_at(site, 3), "chair")
    chair.locator(".board h1").filter(has_text="Family & Belonging").wait_for()
    assert chair.evaluate(ASK_FITS) == "fits"
    # The visible one: with a tooltip Streamlit also keeps a hidden copy of the button inside the popover.
    chair.locator('[data-testid="stPopoverButton"]:visible').filter(has_text="Ask").click()
    chair.get_by_role("textbox", name="What the board asks").fill(QUESTION)
    # The line box offers this slide's lines, the first chosen; the due date defaults to four weeks on (the template
    # below says so).
    screenshot(chair, "questions-display-ask-form", full_page=False)
    chair.get_by_role("button", name="Record").click()
    chair.get_by_text("Recorded for 19-FB-1.1: it goes into the team's next template.").wait_for()
    wait_for_streamlit(chair)
    # The exceptions slide lists it, as text; the address was rewritten by the display, so go round to it.
    chair.goto(display_at(site, 1))
    wait_for_streamlit(chair)
    chair.get_by_role("button", name="← Previous").click()
    exceptions = chair.locator(".board").filter(has_text="Board questions open (2)")
    exceptions.wait_for()
    assert QUESTION in exceptions.inner_text() and STANDING in exceptions.inner_text()
    assert "OVERDUE" in exceptions.inner_text() and "due by 1 Nov 2026 (overdue)" in exceptions.inner_text()
    screenshot(chair, "questions-display-exceptions-slide")

    lead = fresh_context()
    sign_in_at(lead, f"{site}/upload?quarter={quote(NEXT)}", "fs.lead")
    with lead.expect_download() as download:
        lead.get_by_role("button", name=f"Download the {NEXT} template for Family Services").click()
    filled = tmp_path / "family services Q4.xlsx"
    filled.write_bytes(answered_return(Path(download.value.path()).read_bytes()))
    with lead.expect_file_chooser() as chooser:
        lead.get_by_test_id("stFileUploaderDropzone").get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(filled))
    lead.get_by_role("button", name="Check and submit").click()
    lead.get_by_text("Accepted.").wait_for()
    wait_for_streamlit(lead)

    chair.goto(f"{site}/line_history?line=19-FB-1.1&plan={PLAN}&quarter={quote(NEXT)}")
    wait_for_streamlit(chair)
    chair.get_by_text("Answered by fs.lead on", exact=False).wait_for()
    page_text = chair.locator('[data-testid="stMain"]').inner_text()
    assert "Board asked (closed)" in page_text and QUESTION in page_text and ANSWER in page_text
    screenshot(chair, "questions-line-history-answered")
    # Answered in this quarter: the next meeting's first slide counts it.
    chair.goto(f"{site}/display?plan={PLAN}&quarter={quote(NEXT)}&slide=1")
    wait_for_streamlit(chair)
    chair.locator(".board .counts").filter(has_text="1 board question answered").wait_for()


@pytest.mark.parametrize("screen", SCREENS)
def test_screenshots_of_the_first_slide_and_an_outcome_page(site, fresh_context, screen: str):
    width, height = SCREENS[screen]
    page = fresh_context(width, height)
    sign_in_at(page, display_at(site, 1), "chair")
    page.locator(".board h1").filter(has_text="What changed since 2022-23 Q2").wait_for()
    counts = page.locator(".board .counts").inner_text()
    assert "2 status changes" in counts and "1 new Red" in counts and "1 line recovered" in counts
    size = page.evaluate("() => [document.documentElement.scrollHeight, window.innerHeight]")
    assert size[0] <= size[1], f"the first slide scrolls at {screen}: {size}"
    assert page.evaluate(ASK_FITS) == "fits"
    screenshot(page, f"questions-display-first-slide-{screen}", full_page=False)
    page.goto(f"{site}/outcome?plan={PLAN}&quarter={quote(MEETING)}&outcome=19-FB")
    wait_for_streamlit(page)
    page.get_by_text("What changed since 2022-23 Q2:", exact=False).wait_for()
    screenshot(page, f"questions-outcome-page-{screen}", full_page=False)
    card = page.get_by_text(f"Overdue: {STANDING}", exact=False)
    card.scroll_into_view_if_needed()
    screenshot(page, f"questions-outcome-card-{screen}", full_page=False)
