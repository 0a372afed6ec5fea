"""Submission tracker: expected and returned lines, versions, on time / late / missing / not due, deadline overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.read.tracker import (
    TRACKER_COLUMNS,
    for_team,
    returns_received,
    submission_tracker,
    tracker_frame,
    tracker_grid,
    tracker_table,
)
from cyp.storage.models import Action, Partner, QuarterDeadline
from tests.readside_factory import add_return
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


@pytest.fixture
def session(engine):
    """2025-26 Q3 (deadline 31 January 2026 by default): Family Services on time then corrected late,
    Public Health late, Housing missing."""
    with Session(engine) as db_session:
        build_framework(db_session)
        add_return(db_session, "family-services", "2025-26 Q3", {"T23-1.1": "Green"}, uploaded_at=at("2026-01-31"))
        add_return(
            db_session,
            "family-services",
            "2025-26 Q3",
            {"T23-1.1": "Green", "T23-1.2": "Amber"},
            uploaded_at=at("2026-02-20"),
            uploaded_by="second lead",
        )
        add_return(db_session, "public-health", "2025-26 Q3", {"T23-2.1": "Blue"}, uploaded_at=at("2026-02-15"))
        yield db_session


def summary(rows):
    return [(r.team, r.lines_expected, r.lines_returned, r.version, r.submitted_by, r.state) for r in rows]


def test_states_with_the_default_deadline(session):
    rows = submission_tracker(session, "2025-26 Q3")
    # Housing reports no line of the plan, so it is not expected; a late correction does not make a return late.
    assert summary(rows) == [
        ("Family Services", 2, 2, 2, "second lead", "On time"),
        ("Public Health", 1, 1, 1, "test lead", "Late"),
    ]
    assert {r.deadline for r in rows} == {date(2026, 1, 31)}
    family = rows[0]
    assert family.first_submitted_at.date() == date(2026, 1, 31)
    assert family.submitted_at.date() == date(2026, 2, 20)


def test_a_team_with_lines_and_no_return_is_missing(session):
    housing = session.scalar(select(Partner).where(Partner.ref == "housing"))
    session.scalar(select(Action).where(Action.ref == "T23-2.1")).reporting_partner = housing
    session.flush()
    states = {r.team: (r.lines_expected, r.state) for r in submission_tracker(session, "2025-26 Q3")}
    assert states == {"Family Services": (2, "On time"), "Housing": (1, "Missing"), "Public Health": (0, "Late")}


def test_a_deadline_override_changes_late_to_on_time(session):
    session.add(QuarterDeadline(quarter="2025-26 Q3", due=date(2026, 2, 28)))
    session.flush()
    rows = submission_tracker(session, "Oct-Dec 2025")
    assert [(r.team, r.state, r.deadline) for r in rows] == [
        ("Family Services", "On time", date(2026, 2, 28)),
        ("Public Health", "On time", date(2026, 2, 28)),
    ]


def test_earlier_deadline_override_makes_a_return_late(session):
    session.add(QuarterDeadline(quarter="2025-26 Q3", due=date(2026, 1, 15)))
    session.flush()
    assert [r.state for r in submission_tracker(session, "2025-26 Q3")] == ["Late", "Late"]


def test_missing_and_not_due_yet(session):
    # CYP_TODAY is 2026-11-23: 2026-27 Q2 closed on 31 October 2026; Q3 is still running.
    assert [(r.team, r.state) for r in submission_tracker(session, "2026-27 Q2")] == [
        ("Family Services", "Missing"),
        ("Public Health", "Missing"),
    ]
    assert {r.state for r in submission_tracker(session, "2026-27 Q3")} == {"Not due yet"}


def test_grid_is_teams_by_quarters(session):
    grid = tracker_grid(session, ["2026-27 Q2", "2025-26 Q3"])
    assert list(grid.columns) == ["2025-26 Q3", "2026-27 Q2"]
    assert grid.to_dict(orient="index") == {
        "Family Services": {"2025-26 Q3": "On time", "2026-27 Q2": "Missing"},
        "Public Health": {"2025-26 Q3": "Late", "2026-27 Q2": "Missing"},
    }
    # A 2019–23 quarter has the old plan's reporters.
    assert list(tracker_grid(session, ["2020-21 Q1"]).index) == ["Family Services", "Public Health"]


def test_frames_have_the_documented_columns(session):
    assert list(tracker_frame(submission_tracker(session, "2025-26 Q3")).columns) == TRACKER_COLUMNS
    assert list(tracker_table(session, ["2025-26 Q3", "2025-26 Q2"])["quarter"].unique()) == [
        "2025-26 Q2",
        "2025-26 Q3",
    ]


def test_returns_received_counts_on_time_and_late_but_not_missing(session):
    assert returns_received(tracker_frame(submission_tracker(session, "2025-26 Q3"))) == 2
    housing = session.scalar(select(Partner).where(Partner.ref == "housing"))
    session.scalar(select(Action).where(Action.ref == "T23-2.1")).reporting_partner = housing
    session.flush()
    frame = tracker_frame(submission_tracker(session, "2026-27 Q1"))  # no team has returned for that quarter
    assert returns_received(frame) == 0 and len(frame) > 0
    frame = tracker_frame(submission_tracker(session, "2025-26 Q3"))
    assert sorted(frame["state"]) == ["Late", "Missing", "On time"]
    assert returns_received(frame) == 2


def test_for_team_matches_a_ref_or_a_name_ignoring_case(session):
    frame = tracker_frame(submission_tracker(session, "2025-26 Q3"))
    assert list(for_team(frame, "PUBLIC-HEALTH")["team"]) == ["Public Health"]
    assert list(for_team(frame, " family services")["team"]) == ["Family Services"]
    assert for_team(frame, "nobody").empty
    assert len(for_team(frame, None)) == len(frame) == 2
