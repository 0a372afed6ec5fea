"""The board display in Chromium at 1920×1080: signed in as the display account, a screenshot per slide,
the keyboard moves to the next slide, and no app chrome is visible."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.storage.db import make_engine, write_session
from tests.fixtures_browser import new_context, screenshot, wait_for_streamlit
from tests.readside_factory import add_return

QUARTER = "2022-23 Q4"
PASSWORD = "board-room-screen-2026"


@pytest.fixture
def display_url(app_server, db_url):
    engine = make_engine(db_url)
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(
            session,
            "family-services",
            QUARTER,
            {
                "19-FB-1.1": ("Red", "Waiting list for family support doubled since January."),
                "19-FB-1.2": ("Amber", "One hub opening moved to May."),
                "19-FB-2.1": "Green",
                "19-FB-2.2": "Blue",
            },
            uploaded_at=datetime(2023, 4, 20, 9, 30, tzinfo=UTC),
        )
        add_return(session, "public-health", QUARTER, {"19-HW-1.1": "Green"}, values={"19-SS-I1": 42.0})
        create_user(session, SYSTEM, "board.screen", "display", password=PASSWORD)
    engine.dispose()
    base = app_server(database_url=db_url)
    return f"{base}/display?plan=2019-23&quarter={quote(QUARTER)}&slide=1"


def test_board_display_slides_at_1920x1080_with_keyboard_navigation(browser, display_url):
    context = new_context(browser, viewport={"width": 1920, "height": 1080})
    context.set_default_timeout(90_000)  # generous: other tests share the two cores
    page = context.new_page()
    try:
        page.goto(display_url)
        wait_for_streamlit(page)
        username = page.get_by_label("Username", exact=True)
        if username.count():  # signed out, the display's address shows the sign-in form first
            username.fill("board.screen")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            wait_for_streamlit(page)
        page.get_by_text(f"{QUARTER} at a glance").wait_for()
        for testid in ("stSidebar", "stToolbar", "stHeader", "stDecoration"):
            assert not page.locator(f'[data-testid="{testid}"]').first.is_visible()
        heading_px = page.locator(".board h1").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        body_px = page.locator(".board .row").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert heading_px >= 56 and body_px >= 28
        screenshot(page, "display-01-summary", full_page=False)
        titles = [
            "Family & Belonging",
            "Safe & Secure",
            "Education & Learning",
            "Culture",
            "Cooperation & Leadership",
            "Communication",
            "Health & Wellbeing",
            "Exceptions",
        ]
        for number, title in enumerate(titles, start=2):
            page.mouse.click(1900, 1070)  # an empty corner: keys go to the page, not to a widget
            page.keyboard.press("ArrowRight")
            page.locator(".board h1", has_text=title).wait_for()
            wait_for_streamlit(page)
            assert f"Slide {number} of 9" in page.locator(".board .bar").inner_text()
            assert f"slide={number}" in page.url
            screenshot(page, f"display-{number:02d}-{title.split()[0].lower()}", full_page=False)
        page.keyboard.press("ArrowLeft")
        page.locator(".board h1", has_text="Health & Wellbeing").wait_for()
    finally:
        context.close()
