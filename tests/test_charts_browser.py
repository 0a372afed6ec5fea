"""Charts in Chromium at 320 and 1920 CSS px: every chart on the outcome page stays inside its column, its text
meets AA on white, and its data is one click away as a table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.demo import generate_demo
from cyp.read.charts import contrast_ratio
from cyp.storage.db import make_engine, write_session
from tests.fixtures_browser import ARTIFACTS, new_context, screenshot, start_app_server, wait_for_streamlit

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
QUARTER = "2022-23 Q4"
# True once at least nine charts are drawn and no drawn width changed since the last poll (200 ms before).
CHARTS_SETTLED = """() => {
    const widths = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
        .filter((chart) => chart.checkVisibility())
        .map((chart) => {
            const marks = chart.querySelector("svg.marks");
            return marks ? Math.round(marks.getBoundingClientRect().width) : -1;
        });
    const seen = widths.join(",");
    const settled = widths.length >= 9 && !widths.includes(-1) && window.cypChartWidths === seen;
    window.cypChartWidths = seen;
    return settled;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The framework with demo returns (16 quarters of indicator values in 2019-23) and a director."""
    folder = tmp_path_factory.mktemp("charts")
    url = f"sqlite:///{folder / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        generate_demo(session)
        create_user(session, SYSTEM, "director", "viewer", password=PASSWORD)
    engine.dispose()
    env = {"CYP_DATABASE_URL": url, "CYP_UPLOADS_DIR": str(folder / "uploads"), "CYP_TODAY": "2026-11-23"}
    with start_app_server(ARTIFACTS / "logs" / "charts.log", env=env) as base_url:
        yield base_url


@pytest.mark.parametrize("width", [320, 1920])
def test_outcome_charts_stay_inside_their_column(site, browser, width):
    context = new_context(browser, viewport={"width": width, "height": 900})
    context.set_default_timeout(90_000)  # generous: other tests share the two cores
    page = context.new_page()
    try:
        page.goto(f"{site}/outcome?plan=2019-23&quarter={quote(QUARTER)}&outcome=19-SS")
        wait_for_streamlit(page)
        page.get_by_label("Username", exact=True).fill("director")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Indicators").wait_for()
        wait_for_streamlit(page)
        # The visible charts: the indicators (the status strips wait in their collapsed expanders).
        charts = page.locator('[data-testid="stVegaLiteChart"]:visible')
        charts.first.locator("svg.marks").first.wait_for()
        # Vega sizes a chart to its container after the first paint: wait until the drawn widths have settled.
        page.wait_for_function(CHARTS_SETTLED, polling=200)
        assert charts.count() >= 9  # the nine Safe & Secure indicators
        for index in range(charts.count()):
            chart = charts.nth(index)
            chart.scroll_into_view_if_needed()
            drawn = chart.locator("svg.marks").first.bounding_box()
            column = chart.locator("xpath=ancestor::*[@data-testid='stColumn' or @data-testid='stVerticalBlock'][1]")
            room = column.bounding_box()
            assert drawn and room and drawn["width"] > 100, index
            assert drawn["x"] >= room["x"] - 1 and drawn["x"] + drawn["width"] <= room["x"] + room["width"] + 1, (
                index,
                drawn,
                room,
            )
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing spills sideways
        # Every word the charts draw on the page (status icons sit on their fills and are checked in test_charts.py),
        # as the browser paints it, meets AA on the white page (Streamlit's theme would
        # grey it to #808495, 3.72:1).
        inks = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks text')]
                   .filter(t => t.getClientRects().length && !"✓●▲✖?".includes(t.textContent))
                   .map(t => getComputedStyle(t).fill)"""
        )
        assert inks
        for ink in set(inks):
            red, green, blue = (int(part) for part in re.findall(r"\d+", ink)[:3])
            assert contrast_ratio(f"#{red:02X}{green:02X}{blue:02X}", "#FFFFFF") >= 4.5, ink
        toggle = page.get_by_text("Data for 19-SS-I1", exact=True)
        toggle.scroll_into_view_if_needed()
        toggle.click()
        expander = page.locator('[data-testid="stExpander"]').filter(has=toggle)
        expander.locator('[data-testid="stDataFrame"]').wait_for()  # one click: the chart's data as a table
        screenshot(page, f"outcome-charts-{width}")
    finally:
        context.close()
