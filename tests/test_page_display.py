"""The board display in the real app (AppTest): slides and order, controls, starting slide from the URL, refresh.

The display rewrites the address in the browser (no history entry per slide), so the slide it is on is read here
from its bar ("Slide 2 of 12") and from the address it writes.
"""

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from cyp.access.permissions import Principal
from cyp.bootstrap import initialise_database
from cyp.storage.db import write_session
from cyp.ui import PRINCIPAL_KEY
from tests.readside_factory import add_return

ROOT = Path(__file__).resolve().parent.parent
QUARTER = "2022-23 Q4"
OUTCOMES = [
    "Family & Belonging",
    "Safe & Secure",
    "Education & Learning",
    "Culture",
    "Cooperation & Leadership",
    "Communication",
    "Health & Wellbeing",
]


@pytest.fixture
def board_db(engine):
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(
            session,
            "family-services",
            QUARTER,
            {"19-FB-1.1": ("Red", "Waiting list for family support doubled."), "19-FB-2.2": "Green"},
            uploaded_at=datetime(2023, 4, 20, 9, 30, tzinfo=UTC),
        )
    st.cache_data.clear()
    st.cache_resource.clear()
    return engine


def open_display(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = Principal("board.screen", "display", frozenset())
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("app_pages/display.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    return "\n".join(block.value for block in at.markdown)


def slide_number(at: AppTest) -> tuple[int, int]:
    """(slide, of) from the display's bar, after checking the address it writes names the same slide."""
    number, count = map(int, re.search(r"Slide (\d+) of (\d+)", shown(at)).groups())
    # The address rides in a data attribute beside the one fixed script the Content-Security-Policy allows.
    scripts = [html.unescape(element.proto.body) for element in at.get("html")]
    assert any(f'"slide": "{number}"' in script for script in scripts), scripts
    return number, count


def test_opens_on_what_changed_then_the_quarter_summary_with_freshness_and_no_chrome(board_db):
    at = open_display({"quarter": QUARTER, "plan": "2019-23"})
    text = shown(at)
    assert "<h1>What changed since 2022-23 Q3" in text
    number, count = slide_number(at)
    assert number == 1 and count >= 10  # what changed, summary, seven outcomes (one slide or more each), exceptions
    assert "latest return accepted 20 Apr 2023, 10:30" in text  # London time (BST) of the return above
    assert 'data-testid="stSidebar"' in text and "display: none" in text
    at.button(key="board_next").click().run()
    text = shown(at)
    assert f"{QUARTER} at a glance" in text and slide_number(at)[0] == 2
    for name in OUTCOMES:
        assert name.replace("&", "&amp;") in text


def test_next_and_previous_step_through_outcomes_then_exceptions(board_db):
    at = open_display({"quarter": QUARTER, "plan": "2019-23"})
    at.button(key="board_next").click().run()
    at.button(key="board_next").click().run()
    text = shown(at)
    assert "<h1>Family &amp; Belonging" in text and slide_number(at)[0] == 3
    # Status is never colour alone: badges carry icon and word; the Red line shows its progress.
    assert "✖ Red" in text and "Waiting list for family support doubled." in text
    assert "19-FB-1.1" in text
    _number, count = slide_number(at)
    for _ in range(3):  # back to the first slide, then round to the last
        at.button(key="board_previous").click().run()
    assert "<h1>Exceptions" in shown(at) and slide_number(at) == (count, count)
    for _ in range(4):  # the exceptions may run over several slides, the Red lines first
        if "Red lines (1)" in shown(at):
            break
        at.button(key="board_previous").click().run()
    assert "Red lines (1)" in shown(at) and "<h1>Exceptions" in shown(at)


def test_starting_slide_interval_and_pause_from_the_url(board_db):
    at = open_display({"quarter": QUARTER, "plan": "2019-23", "slide": "4", "interval": "20"})
    text = shown(at)
    assert "<h1>Safe &amp; Secure" in text and "next in 20 s" in text and slide_number(at)[0] == 4
    at.button(key="board_pause").click().run()
    assert "paused" in shown(at) and at.button(key="board_pause").label == "▶ Play"
    at.button(key="board_next").click().run()
    assert slide_number(at)[0] == 5


def test_timer_is_off_by_default_so_pause_is_disabled(board_db):
    at = open_display({"quarter": QUARTER})
    assert "chair's control" in shown(at)
    assert at.button(key="board_pause").disabled


def test_a_return_accepted_during_the_meeting_appears_on_the_next_refresh(board_db):
    at = open_display({"quarter": QUARTER, "plan": "2019-23", "slide": "2"})
    assert "Returns received: 1 of" in shown(at)
    with write_session(board_db) as session:
        add_return(
            session,
            "public-health",
            QUARTER,
            {"19-HW-1.1": ("Red", "Clinic closed for refurbishment.")},
            uploaded_at=datetime(2023, 5, 2, 15, 0, tzinfo=UTC),
        )
    at.run()  # what the timed fragment does: re-read; nobody cleared a cache or reloaded
    text = shown(at)
    assert "Returns received: 2 of" in text
    assert "latest return accepted 02 May 2023, 16:00" in text
