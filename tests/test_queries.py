"""Queries are values: each builder returns a select() that runs on a fresh SQLite database as documented."""

from __future__ import annotations

import pytest
from sqlalchemy import Select
from sqlalchemy.orm import Session

from cyp.read import queries
from tests.readside_factory import add_return
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases


@pytest.fixture
def session(engine):
    with Session(engine) as db_session:
        build_framework(db_session)
        add_return(db_session, "family-services", "2025-26 Q3", {"T23-1.1": "Red", "T23-1.2": "Red"})
        add_return(db_session, "family-services", "2025-26 Q3", {"T23-1.1": "Green"}, values={"T23-I1": 161})
        add_return(db_session, "public-health", "2025-26 Q2", {"T23-2.1": "Amber"}, values={"T23-I2": 80})
        yield db_session


def test_builders_are_pure_values():
    first = queries.line_status_rows("T2023", "2025-26 Q3")
    second = queries.line_status_rows("T2023", "2025-26 Q3")
    assert isinstance(first, Select)
    assert str(first) == str(second)
    # Building a statement touches no database: no session or engine is involved.
    assert "returns.is_current" in str(first)


def test_current_update_ids_ignore_superseded_versions(session):
    counted = dict(session.execute(queries.current_update_ids("2025-26 Q3")).all())
    assert len(counted) == 1  # only T23-1.1 is in the current version


def test_line_status_rows(session):
    statement = queries.line_status_rows("T2023", "2025-26 Q3")
    assert [(r.ref, r.status) for r in session.execute(statement)] == [
        ("T23-1.1", "Green"),
        ("T23-1.2", "No return"),
        ("T23-2.1", "No return"),
    ]
    only_missing = queries.line_status_rows("T2023", "2025-26 Q3", status="No return")
    assert [r.ref for r in session.execute(only_missing)] == ["T23-1.2", "T23-2.1"]


def test_status_counts_by_outcome_group_in_sql(session):
    counts = sorted(session.execute(queries.status_counts_by_outcome("T2023", "2025-26 Q2")).all())
    assert counts == [("T23-O1", "Amber", 1), ("T23-O1", "No return", 2)]


def test_filter_lines_by_team(session):
    statement = queries.filter_lines(queries.line_status_rows("T2023", "2025-26 Q3"), team="Public Health")
    assert [r.ref for r in session.execute(statement)] == ["T23-2.1"]


def test_quarters_with_returns_latest_first(session):
    assert list(session.scalars(queries.quarters_with_returns())) == ["2025-26 Q3", "2025-26 Q2"]
    assert list(session.scalars(queries.quarters_with_returns("T2019"))) == []


def test_line_history_every_version(session):
    assert [
        (r.quarter, r.version, r.is_current, r.status) for r in session.execute(queries.line_history("T23-1.1"))
    ] == [
        ("2025-26 Q3", 1, False, "Red"),
        ("2025-26 Q3", 2, True, "Green"),
    ]


def test_line_status_by_quarter(session):
    statement = queries.line_status_by_quarter("T2023", ["2025-26 Q2", "2025-26 Q3"])
    assert session.execute(statement).all() == [("T23-1.1", "2025-26 Q3", "Green"), ("T23-2.1", "2025-26 Q2", "Amber")]


def test_indicator_values_current_only_with_target_fallback(session):
    rows = session.execute(queries.indicator_values(["T23-I1", "T23-I2"])).all()
    assert [(r.ref, r.quarter, r.value, r.target) for r in rows] == [
        ("T23-I1", "2025-26 Q3", 161.0, 150.0),
        ("T23-I2", "2025-26 Q2", 80.0, None),
    ]


def test_tracker_inputs(session):
    expected = [(r.ref, r.lines) for r in session.execute(queries.expected_lines_by_team("T2023"))]
    assert expected == [("family-services", 2), ("public-health", 1)]
    current = [
        (r.quarter, r.version, r.lines_returned) for r in session.execute(queries.current_returns(["2025-26 Q3"]))
    ]
    assert current == [("2025-26 Q3", 2, 1)]
