"""What changed since last quarter, per outcome and for the whole plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from cyp.access.permissions import SYSTEM
from cyp.cycle.questions import ask_question
from cyp.cycle.signoff import sign_off
from cyp.read.changes import changes_since_last_quarter
from cyp.returns.answers import record_answers
from cyp.storage.db import read_session, write_session
from cyp.storage.models import Action
from tests.readside_factory import add_return
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
    return engine


def test_status_changes_new_reds_recoveries_and_questions_answered(framework: Engine, tmp_path: Path) -> None:
    with write_session(framework) as session:
        add_return(session, "family-services", "2025-26 Q2", {"T23-1.1": "Green", "T23-1.2": "Red"})
        add_return(session, "public-health", "2025-26 Q2", {"T23-2.1": "Amber"})
        ask_question(session, SYSTEM, "T23-1.2", "2025-26 Q2", "When will the hub open?")
        ask_question(session, SYSTEM, "T23-2.1", "2025-26 Q2", "Still open")
        q3 = add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Red", "T23-1.2": "Green"})
        action = session.query(Action).filter_by(ref="T23-1.2").one()
        record_answers(session, q3.id, "2025-26 Q3", [(action.id, "In April.")], "a.lee")
    with read_session(framework) as session:
        changes = changes_since_last_quarter(session, "T2023", "Q3 2025/26")
    assert (changes.quarter, changes.previous) == ("2025-26 Q3", "2025-26 Q2")
    assert [(c.ref, c.before, c.after) for c in changes.status_changes] == [
        ("T23-1.1", "Green", "Red"),
        ("T23-1.2", "Red", "Green"),
        ("T23-2.1", "Amber", "No return"),
    ]
    assert [c.ref for c in changes.new_reds] == ["T23-1.1"]
    assert [c.ref for c in changes.recovered] == ["T23-1.2"]
    [answered] = changes.questions_answered
    assert (answered.line_ref, answered.answer, answered.is_open) == ("T23-1.2", "In April.", False)
    outcome = changes.outcome("T23-O1")
    assert outcome.outcome == "Family and belonging" and outcome.anything
    assert changes.new_reds[0].line == "Support families early"  # a whole-objective line reads as its objective
    assert changes.new_reds[0].team == "Family Services"


def test_nothing_changed_is_an_empty_answer(framework: Engine) -> None:
    with write_session(framework) as session:
        for quarter in ("2025-26 Q2", "2025-26 Q3"):
            add_return(session, "family-services", quarter, {"T23-1.1": "Green", "T23-1.2": "Amber"})
    with read_session(framework) as session:
        changes = changes_since_last_quarter(session, "T2023", "2025-26 Q3")
    assert changes.status_changes == [] and changes.new_reds == [] and changes.questions_answered == []
    assert [(o.outcome_ref, o.anything) for o in changes.outcomes] == [("T23-O1", False)]


def test_signed_off_only_compares_what_was_signed_off(framework: Engine) -> None:
    with write_session(framework) as session:
        add_return(session, "family-services", "2025-26 Q2", {"T23-1.1": "Green"})
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Red"})
        sign_off(session, SYSTEM, "family-services", "2025-26 Q2")
    with read_session(framework) as session:
        signed = changes_since_last_quarter(session, "T2023", "2025-26 Q3", signed_off_only=True)
        everything = changes_since_last_quarter(session, "T2023", "2025-26 Q3")
    assert [(c.ref, c.before, c.after) for c in signed.status_changes if c.ref == "T23-1.1"] == [
        ("T23-1.1", "Green", "No return")
    ]
    assert [c.ref for c in everything.new_reds] == ["T23-1.1"] and signed.new_reds == []
