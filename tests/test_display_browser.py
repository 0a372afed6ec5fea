"""The board display in Chromium on demo data for both plans: every slide fits 1366×768, 1920×1080, 2560×1440 and
3840×2160 with no scrolling and no clipped button, reflows at 320 px and 200% zoom, keys work as the chair expects
(Space and Enter press the focused button), and someone who opened it from the menu gets back by link or by Back."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.demo import generate_demo
from cyp.storage.db import make_engine, write_session
from tests.fixtures_browser import ARTIFACTS, new_context, screenshot, start_app_server, wait_for_streamlit

pytestmark = pytest.mark.browser

PASSWORD = "board-room-screen-2026"
SCREENS = {"1366x768": (1366, 768), "1920x1080": (1920, 1080), "2560x1440": (2560, 1440), "3840x2160": (3840, 2160)}
REFLOW = {"320px": (320, 640), "zoom200": (683, 384)}  # 200% zoom of 1366×768 is a 683×384 CSS-pixel viewport
SCREENSHOT_SIZES = ("1366x768", "1920x1080")
PLANS = {"2019-23": "2022-23 Q4", "2023-27": None}  # None: the display's default, the latest quarter with returns

# After a resize: the viewport has the new size and two frames have been drawn (charts re-lay out on resize).
SETTLED = """([width]) => new Promise(resolve => {
  if (window.innerWidth !== width) return resolve(false);
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
})"""
MEASURE = """() => ({
  scrollHeight: document.documentElement.scrollHeight,
  scrollWidth: document.documentElement.scrollWidth,
  innerHeight: window.innerHeight,
  innerWidth: window.innerWidth,
  clipped: [...document.querySelectorAll('[data-testid="stMain"] button, [data-testid="stMain"] a')]
    .filter(e => e.offsetParent !== null)
    .flatMap(e => [e, ...e.querySelectorAll('p, span')])
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.innerText || '').trim() + ` (${e.scrollWidth} > ${e.clientWidth})`),
  overlaps: (() => {
    const controls = document.querySelector('.st-key-board-controls');
    const last = [...document.querySelectorAll('.board')].pop();
    const top = controls ? controls.getBoundingClientRect().top : Infinity;
    const blocks = [...(last ? last.children : []), ...document.querySelectorAll('[data-testid="stMain"] .vega-embed')];
    return blocks.filter(e => e.getBoundingClientRect().bottom > top + 1)
      .map(e => (e.innerText || e.className).slice(0, 60));
  })(),
  sticksOut: [...document.querySelectorAll('[data-testid="stMain"] .vega-embed :is(canvas, svg)')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => `chart ${Math.round(e.getBoundingClientRect().right)} > ${window.innerWidth} px`),
  below: [...document.querySelectorAll('[data-testid="stMain"] button')]
    .filter(e => e.getBoundingClientRect().bottom > window.innerHeight + 1).map(e => e.innerText.trim()),
})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on demo data for both plans, with a display account and an administrator."""
    folder = tmp_path_factory.mktemp("display")
    url = f"sqlite:///{folder / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        generate_demo(session)
        create_user(session, SYSTEM, "board.screen", "display", password=PASSWORD)
        create_user(session, SYSTEM, "board.admin", "administrator", password=PASSWORD)
    engine.dispose()
    env = {"CYP_DATABASE_URL": url, "CYP_UPLOADS_DIR": str(folder / "uploads"), "CYP_TODAY": "2026-11-23"}
    with start_app_server(ARTIFACTS / "logs" / "display-browser.log", env=env) as base_url:
        yield base_url


def sign_in_if_asked(page, username: str) -> None:
    """Every new address is a new session: fill in the sign-in form when it shows."""
    wait_for_streamlit(page)
    field = page.get_by_label("Username", exact=True)
    if field.count():
        field.fill(username)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        wait_for_streamlit(page)


def open_display(page, base_url: str, plan: str, quarter: str | None, extra: str = "") -> None:
    address = f"{base_url}/display?plan={plan}" + (f"&quarter={quote(quarter)}" if quarter else "") + extra
    page.goto(address)
    sign_in_if_asked(page, "board.screen")
    page.locator(".board .bar").wait_for()


def slide_number(page) -> tuple[int, int]:
    match = re.search(r"Slide (\d+) of (\d+)", page.locator(".board .bar").inner_text())
    assert match, page.locator(".board .bar").inner_text()
    return int(match.group(1)), int(match.group(2))


def next_slide(page, expected: int) -> None:
    page.get_by_role("button", name="Next →").click()
    page.locator(".board .bar", has_text=re.compile(rf"Slide {expected} of")).wait_for()
    wait_for_streamlit(page)


CHARTS_INSIDE = """() => [...document.querySelectorAll('[data-testid="stMain"] .vega-embed :is(canvas, svg)')]
  .every(e => e.getBoundingClientRect().right <= window.innerWidth + 1)"""


def resize(page, width: int, height: int) -> None:
    """Set the viewport and wait until it is drawn; charts re-lay out to their new width a moment later."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function(SETTLED, arg=[width])
    with contextlib.suppress(PlaywrightTimeout):  # measured and reported by the caller
        page.wait_for_function(CHARTS_INSIDE, timeout=10_000)


@pytest.mark.parametrize("plan", list(PLANS))
def test_every_slide_fits_every_room_screen_and_reflows(browser, site, plan):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(90_000)  # generous: other tests share the two cores
    page = context.new_page()
    problems: list[str] = []
    try:
        open_display(page, site, plan, PLANS[plan])
        first, count = slide_number(page)
        assert first == 1 and count >= 6, f"{plan}: {count} slides"
        titles = []
        for number in range(1, count + 1):
            if number > 1:
                next_slide(page, number)
            titles.append(page.locator(".board h1").inner_text())
            for name, (width, height) in {**SCREENS, **REFLOW}.items():
                resize(page, width, height)
                found = page.evaluate(MEASURE)
                where = f"{plan} slide {number} ({titles[-1]!r}) at {name}"
                if found["overlaps"] or found["sticksOut"]:
                    problems.append(
                        f"{where}: over the buttons {found['overlaps']}, past the edge {found['sticksOut']}"
                    )
                if found["scrollWidth"] > found["innerWidth"]:
                    problems.append(f"{where}: scrolls sideways ({found['scrollWidth']} > {found['innerWidth']} px)")
                if name in SCREENS:
                    if found["scrollHeight"] > found["innerHeight"]:
                        problems.append(f"{where}: {found['scrollHeight']} px tall in {found['innerHeight']} px")
                    if found["clipped"]:
                        problems.append(f"{where}: clipped controls {found['clipped']}")
                    if found["below"]:
                        problems.append(f"{where}: buttons below the screen {found['below']}")
                if name in SCREENSHOT_SIZES or (name in REFLOW and number <= 2):
                    screenshot(page, f"display-{plan}-{number:02d}-{name}", full_page=False)
            resize(page, 1366, 768)
        assert titles[0].startswith("What changed since") and titles[-1].startswith("Exceptions"), titles
        assert any(title.endswith("at a glance") for title in titles), titles
        if plan == "2019-23":  # its outcomes have many indicators: they must continue rather than overflow
            assert any("(2 of" in title for title in titles), f"{plan}: no outcome continued on another slide: {titles}"
        next_slide(page, 1)  # past the last slide the display starts again
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_keys_press_the_focused_button_and_drive_slides_otherwise(browser, site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(90_000)
    page = context.new_page()
    try:
        open_display(page, site, "2019-23", PLANS["2019-23"], extra="&interval=600&slide=1")
        bar = page.locator(".board .bar")
        assert "next in 600 s" in bar.inner_text()
        page.get_by_role("button", name="Next →").focus()
        page.keyboard.press("Space")
        bar.filter(has_text="Slide 2 of").wait_for()
        wait_for_streamlit(page)
        assert "next in 600 s" in bar.inner_text(), "Space on the focused Next button paused the timer"
        page.get_by_role("button", name="Next →").focus()
        page.keyboard.press("Enter")
        bar.filter(has_text="Slide 3 of").wait_for()
        wait_for_streamlit(page)
        assert "slide=3" in page.url
        page.get_by_role("button", name="← Previous").focus()
        page.keyboard.press("Space")
        bar.filter(has_text="Slide 2 of").wait_for()
        wait_for_streamlit(page)
        # With no control focused the keys drive the display.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("ArrowRight")
        bar.filter(has_text="Slide 3 of").wait_for()
        wait_for_streamlit(page)
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Space")
        bar.filter(has_text="paused").wait_for()
        wait_for_streamlit(page)
        assert "Slide 3 of" in bar.inner_text()
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("ArrowLeft")
        bar.filter(has_text="Slide 2 of").wait_for()
        # The meeting-room account has no other page, so no Menu link.
        assert page.get_by_role("link", name="Menu").count() == 0
    finally:
        context.close()


def test_opened_from_the_menu_it_shows_a_way_back_and_back_leaves_it(browser, site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(90_000)
    page = context.new_page()
    try:
        page.goto(site)
        sign_in_if_asked(page, "board.admin")
        page.get_by_test_id("stSidebar").get_by_role("link", name="Board display").click()
        page.locator(".board .bar").wait_for()
        wait_for_streamlit(page)
        menu = page.get_by_role("link", name="Menu")
        assert menu.is_visible()
        next_slide(page, 2)
        next_slide(page, 3)
        assert "slide=3" in page.url
        page.go_back()
        page.wait_for_url(lambda url: "/display" not in url)
        wait_for_streamlit(page)
        assert page.get_by_test_id("stSidebar").is_visible()

        page.get_by_test_id("stSidebar").get_by_role("link", name="Board display").click()
        page.locator(".board .bar").wait_for()
        wait_for_streamlit(page)
        page.get_by_role("link", name="Menu").click()
        page.wait_for_url(lambda url: "/display" not in url)
        wait_for_streamlit(page)
        assert page.get_by_test_id("stSidebar").is_visible()
        assert page.locator(".board").count() == 0
    finally:
        context.close()
