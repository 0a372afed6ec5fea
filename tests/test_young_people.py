"""The young people's summary: plain words a 9 to 11 year old can read, promises and how they are going, work
counts shown as they are, only counts of people from 1 to 5 suppressed, and no commentary."""

from __future__ import annotations

from pathlib import Path

import pytest
import textstat
from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.cycle.signoff import sign_off
from cyp.demo import generate_demo
from cyp.read.reports import UnknownPlan, latest_quarter_with_returns, outcome_summary
from cyp.read.young_people import (
    counts_people,
    publishable_count,
    rule_sentences,
    summary_words,
    young_people_summary,
    young_people_words,
)
from cyp.status import ALL_STATUSES, RollupRule
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import Indicator
from tests.fixtures_browser import screenshot, wait_for_streamlit
from tests.readside_factory import add_return
from tests.returns_factory import build_framework


def test_counts_from_one_to_five_are_never_published_as_numbers():
    words = young_people_words()
    assert (words["suppress_up_to"], words["suppressed"]) == (5, "fewer than 6")
    assert [publishable_count(count, words) for count in (0, 1, 5, 6, 40)] == [
        "none",
        "fewer than 6",
        "fewer than 6",
        "6",
        "40",
    ]


def test_the_threshold_and_words_come_from_the_words_file():
    words = {"suppress_up_to": 2, "suppressed": "a few"}
    assert [publishable_count(count, words) for count in (1, 2, 3)] == ["a few", "a few", "3"]


def test_only_counts_of_people_are_people():
    words = young_people_words()
    assert counts_people("Children looked after", "count", words)
    assert counts_people("Young people voicing their views at Youthorium", "count", words)
    assert counts_people("Referrals to Children's Social Care", "count", words)
    assert not counts_people("Schools recruited to the Resilient Schools Programme", "count", words)
    assert not counts_people("Children achieving a good level of development", "percent", words)


@pytest.fixture
def small_plan(engine):
    """The factory framework with the real framework's unit words, and one return for 2025-26 Q3."""
    with Session(engine) as session:
        build_framework(session)
        for ref, unit in (("T23-I1", "count"), ("T23-I2", "percent")):
            session.scalar(select(Indicator).where(Indicator.ref == ref)).unit = unit
        add_return(
            session,
            "family-services",
            "2025-26 Q3",
            {"T23-1.1": ("Green", "Confidential: the Smith family moved."), "T23-1.2": "Red"},
            values={"T23-I1": 3},
        )
        add_return(session, "public-health", "2025-26 Q3", {"T23-2.1": "Green"}, values={"T23-I2": 61.5})
        session.commit()
    return engine


def test_summary_says_how_each_promise_is_going_with_work_counts_as_they_are(small_plan):
    with Session(small_plan) as session:
        news = young_people_summary(session, "2025-26 Q3", "T2023")
    assert [(outcome.ref, outcome.name) for outcome in news] == [("T23-O1", "Family and belonging")]
    outcome = news[0]
    # "Support families early" has a Green and a Red line: the roll-up rule makes it Red (at least 25% Red).
    assert [(p.text, p.status) for p in outcome.promises] == [
        ("Support families early", "Red"),
        ("Healthy lives", "Green"),
    ]
    assert outcome.on_track == 1
    assert outcome.promises_with(("Green", "Blue")) == ("Healthy lives",)
    assert outcome.promises_with(("Red", "Amber")) == ("Support families early",)
    assert outcome.headline == "We made 2 promises here. 1 of them is on track or done."
    # Counts of plan lines are the council's work, not people: shown as they are, never "fewer than 6".
    counts = dict(outcome.line_counts)
    assert (counts["Green"], counts["Red"], counts["Blue"]) == (2, 1, 0)
    assert outcome.work == (
        "Teams are doing 3 pieces of work for this theme.",
        "Going well: 2",
        "Stuck, and needs extra help: 1",
    )
    # A count of children from 1 to 5 is suppressed; a percentage is not a count of people.
    assert [(n.name, n.value) for n in outcome.numbers] == [
        ("Children with a child protection plan", "fewer than 6"),
        ("Reception children of healthy weight", "61.5%"),
    ]
    assert "Smith" not in repr(news) and "Confidential" not in " ".join(summary_words(news, young_people_words()))


def test_a_count_of_children_above_five_is_shown(small_plan):
    with Session(small_plan) as session:
        add_return(session, "family-services", "2025-26 Q4", {"T23-1.1": "Green"}, values={"T23-I1": 140})
        session.commit()
        news = young_people_summary(session, "2025-26 Q4", "T2023")
    assert news[0].numbers[0].value == "140"


def test_signed_off_only_counts_nothing_that_awaits_sign_off(small_plan):
    with Session(small_plan) as session:
        sign_off(session, SYSTEM, "public-health", "2025-26 Q3")
        session.commit()
        [awaiting] = young_people_summary(session, "2025-26 Q3", "T2023", signed_off_only=True)
        [current] = young_people_summary(session, "2025-26 Q3", "T2023")
    # Family Services' return (one Red line, 3 children) awaits sign-off: not counted, its number not published.
    assert dict(awaiting.line_counts) == {"Blue": 0, "Green": 1, "Amber": 0, "Red": 0, "No return": 2}
    assert [(n.name, n.value) for n in awaiting.numbers] == [("Reception children of healthy weight", "61.5%")]
    assert dict(current.line_counts)["Red"] == 1


def test_the_rule_in_plain_words_follows_the_status_rules():
    words = young_people_words()
    default = rule_sentences(words)
    assert default[0] == "A promise is stuck when at least 25% of its work is stuck."
    stricter = rule_sentences(words, RollupRule(red_share=0.5, any_red_is_amber=False))
    assert stricter[0] == "A promise is stuck when at least 50% of its work is stuck."
    assert stricter[1] == "It is a bit behind when at least 25% of its work is behind or stuck."


def test_an_unknown_plan_is_refused(engine):
    with Session(engine) as session, pytest.raises(UnknownPlan):
        young_people_summary(session, "2025-26 Q3", "NO-PLAN")


@pytest.mark.parametrize("signed_off_only", [False, True])
def test_each_themes_status_and_work_counts_are_the_outcome_summarys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signed_off_only: bool
):
    # The summary adds each outcome's counts up from its objectives' (one query for both): they must stay the
    # outcome summary's, on the real framework with the demo's returns, in every quarter of both plans.
    monkeypatch.setenv("CYP_TODAY", "2026-11-23")
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    initialise_database(engine)
    with write_session(engine) as session:
        generate_demo(session)
    compared = 0
    with read_session(engine) as session:
        for plan_ref, quarters in (
            ("2019-23", ("2019-20 Q1", "2021-22 Q3", "2022-23 Q4")),
            ("2023-27", ("2025-26 Q2",)),
        ):
            for quarter in quarters:
                expected = outcome_summary(session, quarter, plan_ref, signed_off_only=signed_off_only)
                news = young_people_summary(session, quarter, plan_ref, signed_off_only=signed_off_only)
                assert [(o.ref, o.name, o.status, dict(o.line_counts)) for o in news] == [
                    (row["outcome_ref"], row["outcome"], row["status"], {s: row[s] for s in ALL_STATUSES})
                    for row in expected.to_dict("records")
                ]
                compared += sum(o.lines for o in news)
    engine.dispose()
    assert compared > 0


@pytest.mark.parametrize("plan_ref", ["2019-23", "2023-27"])
def test_the_summary_reads_at_age_9_to_11(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan_ref: str):
    """Everything the summary writes itself, on the real framework with demo returns, reads at a Flesch reading ease
    of 70 or more ("fairly easy": age 12 and under) and a Flesch-Kincaid grade of 6 or less (age 11 to 12).

    The plan's own promise texts are quoted as the plan wrote them (plan facts are not reworded), so they are not
    part of the measure.
    """
    monkeypatch.setenv("CYP_TODAY", "2026-11-23")
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    initialise_database(engine)
    with write_session(engine) as session:
        generate_demo(session)
    with read_session(engine) as session:
        quarter = latest_quarter_with_returns(session, plan_ref)
        assert quarter is not None
        news = young_people_summary(session, quarter.label, plan_ref)
    engine.dispose()
    text = " ".join(
        sentence if sentence.rstrip().endswith((".", ":", "?")) else f"{sentence}."
        for sentence in summary_words(news, young_people_words())
    )
    assert textstat.lexicon_count(text) > 150
    assert textstat.flesch_reading_ease(text) >= 70, text
    assert textstat.flesch_kincaid_grade(text) <= 6, text


def test_the_summary_fits_a_phone_and_prints_without_the_menu(tmp_path, app_server, page, monkeypatch):
    monkeypatch.setenv("CYP_TODAY", "2026-11-23")
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        generate_demo(session)
    engine.dispose()
    base_url = app_server(database_url=url, env={"CYP_TODAY": "2026-11-23"})
    page.goto(f"{base_url}/young_people")
    wait_for_streamlit(page)
    main = page.locator('[data-testid="stMain"]')
    assert "promises here" in main.inner_text() and "Ctrl and P" in main.inner_text()
    screenshot(page, "young-people-1366")
    page.emulate_media(media="print")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.get_by_text("Ctrl and P").is_visible()
    assert page.get_by_text("promises here").first.is_visible()
    pdf = screenshot(page, "young-people-print").with_suffix(".pdf")
    page.pdf(path=str(pdf))
    assert pdf.stat().st_size > 10_000
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 320, "height": 800})
    wait_for_streamlit(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    screenshot(page, "young-people-320")
    page.get_by_text("promises here").first.scroll_into_view_if_needed()
    screenshot(page, "young-people-320-theme")
