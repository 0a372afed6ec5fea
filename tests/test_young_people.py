"""The young people's summary: plain words, no commentary, no count from 1 to 5 shown as a number."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cyp.read.reports import UnknownPlan
from cyp.read.young_people import publishable_count, young_people_summary, young_people_words
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


def test_summary_lists_promises_and_publishable_counts_without_commentary(engine):
    with Session(engine) as session:
        build_framework(session)
        add_return(
            session,
            "family-services",
            "2025-26 Q3",
            {"T23-1.1": ("Green", "Confidential: the Smith family moved."), "T23-1.2": "Red"},
        )
        news = young_people_summary(session, "2025-26 Q3", "T2023")
    assert [(outcome.ref, outcome.name) for outcome in news] == [("T23-O1", "Family and belonging")]
    outcome = news[0]
    assert outcome.promises == ("Support families early", "Healthy lives")
    counts = dict(outcome.counts)
    assert counts["Green"] == counts["Red"] == "fewer than 6"
    assert counts["Blue"] == counts["Amber"] == "none"
    assert "Smith" not in repr(news)


def test_an_unknown_plan_is_refused(engine):
    with Session(engine) as session, pytest.raises(UnknownPlan):
        young_people_summary(session, "2025-26 Q3", "NO-PLAN")
