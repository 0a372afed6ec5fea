"""Accessibility in Chromium: axe-core (WCAG 2.2 A/AA) on every page empty, loaded and in error, statuses readable
in greyscale, reflow at 320 px and at 200% zoom, the public accessibility statement, and a screenshot of every page
at 1366×768 and 1920×1080 (test-artifacts/screenshots/)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import Workbook

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.demo import generate_demo
from cyp.read.charts import STATUS_ICONS
from cyp.storage.db import make_engine, write_session
from tests import htmlcs
from tests.axe import describe, serious_violations
from tests.fixtures_browser import ARTIFACTS, ROOT, new_context, screenshot, start_app_server, wait_for_streamlit

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
ADMIN = "access.admin"
# Streamlit elements the app cannot make pass, each recorded in tests/a11y-false-positives.yaml with the reason and
# in docs/accessibility.md: (axe rule, selector part).
STREAMLIT_EXCLUSIONS: tuple[tuple[str, str], ...] = tuple(
    (entry.rule, entry.target) for entry in htmlcs.false_positives("axe")
)
# Heading levels, in document order, of the page's main area and sidebar (a skip such as h2 -> h4 is a finding).
HEADINGS = """() => [...document.querySelectorAll('[data-testid="stMain"] :is(h1,h2,h3,h4,h5,h6)')]
  .filter(e => e.offsetParent !== null && e.innerText.trim())
  .map(e => [Number(e.tagName[1]), e.innerText.trim().slice(0, 60)])"""
CONTACT_EMAIL = "cyp.plan.accessibility@test.invalid"
SIZES = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}
# Laid out at a new size: the viewport has it, and the boxes of the page's elements and charts are the same in two
# polls (one animation frame apart), so columns and charts have finished re-laying out for the screenshot.
LAID_OUT_AT = """([width, height]) => {
    if (window.innerWidth !== width || window.innerHeight !== height) return false;
    const boxes = [...document.querySelectorAll('[data-testid="stElementContainer"], canvas, svg.marks')]
        .map((element) => { const box = element.getBoundingClientRect(); return `${box.width}x${box.height}`; })
        .join(",");
    const same = window.__cypLayout === boxes;
    window.__cypLayout = boxes;
    return same;
}"""


def page_paths() -> list[str]:
    """Every page registered in app.py, as its address (the default page is the site root)."""
    text = (ROOT / "app.py").read_text(encoding="utf-8")
    paths = re.findall(r'ui\.page\(\s*"app_pages/(\w+)\.py"', text)
    default = re.search(r'ui\.page\(\s*"app_pages/(\w+)\.py"[^)]*default=True', text)
    return ["" if default and path == default.group(1) else path for path in paths]


def _site(tmp_path_factory: pytest.TempPathFactory, name: str, demo: bool) -> Iterator[str]:
    folder = tmp_path_factory.mktemp(name)
    url = f"sqlite:///{folder / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, ADMIN, "administrator", password=PASSWORD)
        create_user(session, SYSTEM, "access.viewer", "viewer", password=PASSWORD)
        if demo:
            generate_demo(session)
    engine.dispose()
    env = {
        "CYP_DATABASE_URL": url,
        "CYP_UPLOADS_DIR": str(folder / "uploads"),
        "CYP_TODAY": "2026-11-23",
        "CYP_ACCESSIBILITY_EMAIL": CONTACT_EMAIL,
    }
    with start_app_server(ARTIFACTS / "logs" / f"accessibility-{name}.log", env=env) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def empty_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a database with the framework and accounts but no returns."""
    yield from _site(tmp_path_factory, "empty", demo=False)


@pytest.fixture(scope="module")
def loaded_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a database with generated demo returns for every past quarter."""
    yield from _site(tmp_path_factory, "loaded", demo=True)


def open_page(page, base_url: str, path: str, username: str = ADMIN) -> None:
    """Go to an address signed in as ``username`` (a sign-in lasts across addresses: anyone else signs out first)."""
    page.goto(f"{base_url}/{path}")
    wait_for_streamlit(page)
    sign_out = page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")
    if sign_out.count() and not page.get_by_text(f"Signed in as {username}").count():
        sign_out.click()
        page.get_by_label("Username", exact=True).wait_for()
        page.goto(f"{base_url}/{path}")
        wait_for_streamlit(page)
    field = page.get_by_label("Username", exact=True)
    # The sign-in form, not the User accounts page's own "Username" field.
    if page.get_by_role("button", name="Sign in", exact=True).count():
        field.fill(username)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text(f"Signed in as {username}").wait_for(state="attached")
        wait_for_streamlit(page)


def visit(page, base_url: str, path: str) -> None:
    """Open a page through the sidebar when it is there (same session: no new sign-in), else by its address."""
    link = page.get_by_test_id("stSidebar").locator(f'a[href="{base_url}/{path}"]')
    if link.count() and link.first.is_visible():
        link.first.click()
        page.wait_for_url(f"{base_url}/{path}*")
        wait_for_streamlit(page)
    else:
        open_page(page, base_url, path)


def ordered_paths() -> list[str]:
    """Every page, the board display last: it hides the sidebar that the others are reached through."""
    return sorted(page_paths(), key=lambda path: path == "display")


def _name(path: str) -> str:
    return (path.split("?")[0] or "overview").replace("/", "-")


def heading_skips(page) -> list[str]:
    """Each place the page's heading levels skip one (h1 then h3, h2 then h4), and a first heading that is not h1."""
    headings = page.evaluate(HEADINGS)
    skips = []
    previous = 0
    for level, text in headings:
        if level > previous + 1:
            skips.append(f"h{previous} -> h{level} {text!r}" if previous else f"first heading is h{level} {text!r}")
        previous = level
    return skips


def scan(page, label: str) -> str:
    """Serious/critical axe violations, HTML_CodeSniffer errors and heading skips as a message ("" when none)."""
    parts = []
    found = serious_violations(page, exclude=STREAMLIT_EXCLUSIONS)
    if found:
        parts.append(describe(found))
    # Without `npm ci` in tests/node the second engine is skipped locally; in CI reading it fails loudly.
    if (htmlcs.htmlcs_available() or os.environ.get("CI")) and (findings := htmlcs.serious_findings(page)):
        parts.append(htmlcs.describe(findings))
    if skips := heading_skips(page):
        parts.append("heading levels skip: " + "; ".join(skips))
    return f"--- {label}\n" + "\n".join(parts) if parts else ""


def test_every_page_loaded_passes_axe_and_is_screenshotted_at_both_sizes(browser, loaded_site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(30_000)
    page = context.new_page()
    failures = []
    try:
        for path in ordered_paths():
            visit(page, loaded_site, path)
            if failure := scan(page, f"loaded /{path}"):
                failures.append(failure)
            for size, (width, height) in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_function(LAID_OUT_AT, arg=[width, height])
                screenshot(page, f"page-{_name(path)}-{size}", full_page=False)
            page.set_viewport_size({"width": 1366, "height": 768})
    finally:
        context.close()
    assert not failures, "\n".join(failures)


def test_every_page_empty_passes_axe(browser, empty_site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(30_000)
    page = context.new_page()
    failures = []
    try:
        for path in ordered_paths():
            visit(page, empty_site, path)
            if failure := scan(page, f"empty /{path}"):
                failures.append(failure)
            screenshot(page, f"empty-{_name(path)}", full_page=False)
    finally:
        context.close()
    assert not failures, "\n".join(failures)


def _bad_return() -> bytes:
    """A workbook that is not a return at all: every required column is missing."""
    book = Workbook()
    book.active.title = "Return"
    book.active.append(["Something", "Else"])
    book.active.append(["x", "y"])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_error_states_pass_axe(browser, empty_site, tmp_path: Path):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(30_000)
    page = context.new_page()
    failures = []
    try:
        page.goto(empty_site)
        wait_for_streamlit(page)
        page.get_by_label("Username", exact=True).fill(ADMIN)
        page.get_by_role("textbox", name="Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("The username or password is not right").wait_for()
        failures.append(scan(page, "wrong password"))

        open_page(page, empty_site, "line_history?line=NO-SUCH-LINE")
        page.get_by_text("There is no line 'NO-SUCH-LINE'").wait_for()
        failures.append(scan(page, "unknown line"))
        screenshot(page, "error-unknown-line", full_page=False)

        open_page(page, empty_site, "upload", username="access.viewer")
        page.get_by_text("does not give access to this page").wait_for()
        failures.append(scan(page, "refusal"))

        open_page(page, empty_site, f"upload?quarter={quote('2022-23 Q4')}")
        bad = tmp_path / "bad return.xlsx"
        bad.write_bytes(_bad_return())
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
        page.get_by_role("button", name="Check and submit").click()
        wait_for_streamlit(page)
        page.get_by_text("Not stored:").wait_for()
        failures.append(scan(page, "bad upload"))
        screenshot(page, "error-bad-upload", full_page=True)
    finally:
        context.close()
    failures = [failure for failure in failures if failure]
    assert not failures, "\n".join(failures)


def test_every_status_badge_carries_its_word_and_icon_in_greyscale(browser, loaded_site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        for path in ("", "outcome", "young_people"):
            visit(page, loaded_site, path)
            page.add_style_tag(content="html { filter: grayscale(1) !important; }")
            screenshot(page, f"greyscale-{_name(path)}", full_page=False)
            badges = page.locator(".cyp-status").all_inner_texts()
            assert badges, f"no status badges on /{path}"
            for text in badges:
                assert any(icon in text and status in text for status, icon in STATUS_ICONS.items()), (
                    f"status badge {text!r} on /{path} is not readable without colour"
                )
    finally:
        context.close()


REFLOW_PAGES = ("", "outcome", "line_history", "upload", "tracker", "young_people", "accessibility")


@pytest.mark.parametrize(
    ("label", "viewport", "scale"),
    [("320px", {"width": 320, "height": 640}, 1), ("zoom200", {"width": 683, "height": 384}, 2)],
)
def test_pages_reflow_at_320px_and_200_percent_zoom(browser, loaded_site, label, viewport, scale):
    context = new_context(browser, viewport=viewport, device_scale_factor=scale)
    context.set_default_timeout(30_000)
    page = context.new_page()
    width = viewport["width"]
    try:
        for path in REFLOW_PAGES:
            visit(page, loaded_site, path)
            heading = page.locator('[data-testid="stMain"] h1').first
            assert heading.is_visible(), f"/{path} at {label}: no visible page heading"
            box = heading.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width + 2, f"/{path} at {label} scrolls sideways ({scroll_width} px > {width} px)"
            screenshot(page, f"{label}-{_name(path)}", full_page=False)
    finally:
        context.close()


def test_accessibility_statement_is_public_and_says_what_the_regulations_ask(browser, empty_site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        page.goto(f"{empty_site}/accessibility")
        wait_for_streamlit(page)
        main = page.get_by_test_id("stMain")
        main.get_by_role("heading", name="Accessibility statement for CYP Plan Monitor").wait_for()
        # Drawn text carries invisible word joiners after "@" and ":" (the one escaping function: they stop Streamlit
        # turning text into links or emoji); a reader reads past them, so the check does too.
        text = main.inner_text().replace("\u2060", "")
        for needed in (
            "WCAG",
            "2.2",
            "not fully accessible",
            "Reporting a problem",
            "Enforcement procedure",
            "Equality and Human Rights Commission",
            "Accessibility Regulations 2018",
            "Feedback and contact information",
            CONTACT_EMAIL,  # the contact details come from the CYP_ACCESSIBILITY_* settings
            "Non-accessible content",
            "Non-compliance with the accessibility regulations",
            "Disproportionate burden",
            "not within the scope of the accessibility regulations",
            "board pack PDF",
            "Preparation of this statement",
            "last tested",
            "HTML_CodeSniffer",
        ):
            assert needed in text, f"the statement does not mention {needed!r}"
        assert page.get_by_label("Username", exact=True).count() == 0  # no sign-in needed
        screenshot(page, "accessibility-statement", full_page=True)
    finally:
        context.close()


def test_second_engine_runs_and_finds_a_real_barrier(browser):
    """HTML_CodeSniffer is really injected and run: an image with no text alternative is an error (H37)."""
    if not htmlcs.htmlcs_available() and not os.environ.get("CI"):
        pytest.skip("run `npm ci` in tests/node (scripts/test.sh does) for the second engine")
    htmlcs.false_positives()  # every entry has a reason, or this raises
    context = new_context(browser, viewport={"width": 800, "height": 600})
    page = context.new_page()
    try:
        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main><img src="x.png"></main></body></html>'
        )
        codes = [finding["code"] for finding in htmlcs.serious_findings(page)]
        assert any("H37" in code for code in codes), codes
    finally:
        context.close()


def _luminance(rgb: tuple[float, ...]) -> float:
    channels = [c / 255 for c in rgb[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# The focus mark of the focused element (or of the field around a focused input): outline width and colour, and
# the colour of the first opaque background behind it.
FOCUS_MARK = """() => {
  const rgb = text => (text.match(/[\\d.]+/g) || []).map(Number);
  const focused = document.activeElement;
  let marked = null;
  for (let node = focused, depth = 0; node && depth < 5; node = node.parentElement, depth++) {
    const style = getComputedStyle(node);
    if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) { marked = node; break; }
  }
  let background = [255, 255, 255, 1];
  for (let node = marked || focused; node; node = node.parentElement) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length >= 3 && (colour.length === 3 || colour[3] > 0.5)) { background = colour; break; }
  }
  if (!focused || focused === document.body) return {label: 'BODY', width: 0, colour: [], background};
  const label = (focused.getAttribute('aria-label') || focused.innerText || focused.tagName).trim().slice(0, 50);
  if (!marked) return {label, width: 0, colour: [], background};
  const style = getComputedStyle(marked);
  return {label, width: parseFloat(style.outlineWidth), colour: rgb(style.outlineColor), background};
}"""


def test_keyboard_focus_is_marked_at_3_to_1_everywhere(browser, loaded_site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems = []
    try:
        for path, stops in (("", 30), ("upload", 40)):
            visit(page, loaded_site, path)
            page.locator("body").focus()
            seen = 0
            for _ in range(stops):
                page.keyboard.press("Tab")
                mark = page.evaluate(FOCUS_MARK)
                if mark["label"] in ("BODY", ""):
                    continue
                seen += 1
                ratio = _contrast(tuple(mark["colour"]), tuple(mark["background"])) if mark["colour"] else 0
                if mark["width"] < 2 or ratio < 3:
                    problems.append(f"/{path} {mark['label']!r}: {mark['width']} px at {ratio:.2f}:1")
            assert seen >= 10, f"/{path}: only {seen} focus stops"
        # The file uploader's button is among the stops on the upload page.
        visit(page, loaded_site, "upload")
        page.get_by_test_id("stFileUploaderDropzone").locator("button").focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        mark = page.evaluate(FOCUS_MARK)
        assert mark["width"] >= 2 and _contrast(tuple(mark["colour"]), tuple(mark["background"])) >= 3, mark
    finally:
        context.close()
    assert not problems, "\n".join(problems)


FOCUSED_FIELD = """() => {
  const box = document.activeElement && document.activeElement.closest('[data-testid="stSelectbox"]');
  return box ? box.querySelector('label').innerText.trim() : null;
}"""


def test_filters_tab_row_by_row_and_keep_focus_when_changed(browser, loaded_site):
    context = new_context(browser, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        visit(page, loaded_site, "exceptions")
        page.get_by_test_id("stMain").get_by_role("combobox", name=re.compile("^Quarter")).focus()
        order = [page.evaluate(FOCUSED_FIELD)]
        for _ in range(6):
            page.keyboard.press("Tab")
            order.append(page.evaluate(FOCUSED_FIELD))
        assert order == ["Quarter", "Plan", "Outcome", "Team", "Monitoring body", "Index domain", "Driver"], order

        visit(page, loaded_site, "outcome")
        main = page.get_by_test_id("stMain")
        other = "2023-27" if "plan=2019-23" in page.url else "2019-23"
        main.get_by_role("combobox", name=re.compile("^Plan")).focus()
        page.keyboard.type(other)  # the box filters its list as you type; Enter picks the one left
        page.get_by_role("option", name=re.compile(f"^{other}")).wait_for()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(f"plan={other}"))
        main.locator("h1").first.wait_for()
        wait_for_streamlit(page)
        moved_to = page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
        assert page.evaluate(FOCUSED_FIELD) == "Plan", f"changing the plan moved the focus to {moved_to}"

        pills = page.get_by_test_id("stMain").get_by_test_id("stButtonGroup").locator("button")
        pills.nth(1).focus()
        name = pills.nth(1).inner_text()
        page.keyboard.press("Enter")
        page.get_by_test_id("stMain").locator("h2", has_text=name).first.wait_for()
        wait_for_streamlit(page)
        focused = page.evaluate("() => document.activeElement.closest('[data-testid=\"stButtonGroup\"]') !== null")
        assert focused, f"picking {name!r} moved the focus to {page.evaluate('document.activeElement.tagName')}"
    finally:
        context.close()
