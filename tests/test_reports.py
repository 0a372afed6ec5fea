"""The read side: the public status report (JSON and table), page DataFrames, filters and the report command."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cyp.cli import cli
from cyp.quarters import Quarter
from cyp.read.reports import (
    LINE_COLUMNS,
    UnknownPlan,
    ViewFilters,
    domain_summary,
    exceptions,
    format_report_table,
    indicator_series,
    latest_quarter_with_returns,
    line_history,
    line_statuses,
    line_trends,
    outcome_summary,
    status_report,
)
from cyp.status import describe_rule
from cyp.storage.db import dispose_engines, get_engine, write_session
from cyp.storage.models import (
    Action,
    Driver,
    IndexDomain,
    IndicatorDomain,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Plan,
    action_partners,
)
from tests.readside_factory import add_return, rows
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases


def build_reporting_framework(session: Session) -> dict:
    """The returns test framework plus a second outcome whose one line Housing reports and Public Health shares."""
    refs = build_framework(session)
    plan = session.scalar(select(Plan).where(Plan.ref == "T2023"))
    outcome = Outcome(ref="T23-O2", name="Safe and secure", position=2, plan=plan)
    objective = Objective(ref="T23-3", text="Safer streets", position=1, outcome=outcome)
    board = MonitoringBody(ref="csp", name="Community Safety Partnership")
    driver = Driver(ref="T23-DR1", name="Inclusion", position=1, plan=plan)
    action = Action(
        ref="T23-3.1",
        text="Run youth safety sessions",
        position=1,
        objective=objective,
        reporting_partner=refs["housing"],
        bodies=[board],
        drivers=[driver],
    )
    safety = IndexDomain(ref="FFI-1", name="Children feel safe where they live", short_name="Safety", position=1)
    play = IndexDomain(ref="FFI-2", name="Places to play", short_name="Play", position=2)
    session.add_all([outcome, objective, board, driver, action, safety, play])
    session.flush()
    session.add_all(
        [
            ObjectiveDomain(objective_id=objective.id, domain_id=safety.id, reason="test"),
            IndicatorDomain(indicator_id=refs["T23-I1"].id, domain_id=safety.id, reason="test"),
        ]
    )
    session.execute(
        insert(action_partners),
        [
            {"action_id": action.id, "partner_id": refs["housing"].id, "position": 0},
            {"action_id": action.id, "partner_id": refs["public-health"].id, "position": 1},
        ],
    )
    session.flush()
    return refs


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


def add_two_quarters(session: Session) -> None:
    """2025-26 Q2 and Q3 returns; Family Services' Q3 return has a superseded first version."""
    add_return(
        session, "family-services", "2025-26 Q2", {"T23-1.1": "Green", "T23-1.2": "Green"}, values={"T23-I1": 160}
    )
    add_return(session, "public-health", "2025-26 Q2", {"T23-2.1": "Green"})
    add_return(session, "housing", "2025-26 Q2", {"T23-3.1": ("Red", "Sessions paused")})
    add_return(
        session, "family-services", "2025-26 Q3", {"T23-1.1": "Red", "T23-1.2": "Red"}, uploaded_at=at("2026-01-10")
    )
    add_return(
        session,
        "family-services",
        "2025-26 Q3",
        {"T23-1.1": ("Green", "Hubs open"), "T23-1.2": ("Amber", "Second hub delayed")},
        uploaded_at=at("2026-02-20"),
        values={"T23-I1": 155},
    )
    add_return(session, "public-health", "2025-26 Q3", {"T23-2.1": ("Blue", "Done")}, uploaded_at=at("2026-02-15"))


@pytest.fixture
def session(engine):
    with Session(engine) as db_session:
        build_reporting_framework(db_session)
        add_two_quarters(db_session)
        yield db_session


def test_status_report_json_shape_and_values(session):
    report = status_report(session, "2025-26 Q3")
    assert report == {
        "quarter": "2025-26 Q3",
        "plan": "T2023",
        "rule": describe_rule(),
        "outcomes": [
            {
                "ref": "T23-O1",
                "name": "Family and belonging",
                "status": "Amber",
                "counts": {"Blue": 1, "Green": 1, "Amber": 1, "Red": 0, "No return": 0},
            },
            {
                "ref": "T23-O2",
                "name": "Safe and secure",
                "status": "No return",
                "counts": {"Blue": 0, "Green": 0, "Amber": 0, "Red": 0, "No return": 1},
            },
        ],
        "lines": [
            {
                "ref": "T23-1.1",
                "outcome": "T23-O1",
                "objective": "T23-1",
                "teams": ["Family Services"],
                "status": "Green",
                "progress": "Hubs open",
            },
            {
                "ref": "T23-1.2",
                "outcome": "T23-O1",
                "objective": "T23-1",
                "teams": ["Family Services"],
                "status": "Amber",
                "progress": "Second hub delayed",
            },
            {
                "ref": "T23-2.1",
                "outcome": "T23-O1",
                "objective": "T23-2",
                "teams": ["Public Health"],
                "status": "Blue",
                "progress": "Done",
            },
            {
                "ref": "T23-3.1",
                "outcome": "T23-O2",
                "objective": "T23-3",
                "teams": ["Housing", "Public Health"],
                "status": "No return",
                "progress": None,
            },
        ],
    }
    json.dumps(report)  # serialisable as it stands


def test_counts_add_up_and_rollups_follow_the_rule(session):
    # Worked out from add_two_quarters and data/status-rules.yaml: Q1 has no returns (all "No return"); in Q2
    # T23-O1 is Green, Green, Green and T23-O2 its one Red line; in Q3 T23-O1 is Green, Amber, Blue (1 of 3 Red or
    # Amber is over the 25% amber share) and Housing sent nothing for T23-O2's one line (100% missing > 50%).
    expected = {
        "2025-26 Q1": {"T23-O1": "No return", "T23-O2": "No return"},
        "2025-26 Q2": {"T23-O1": "Green", "T23-O2": "Red"},
        "2025-26 Q3": {"T23-O1": "Amber", "T23-O2": "No return"},
    }
    for quarter, statuses in expected.items():
        report = status_report(session, quarter)
        assert sum(sum(o["counts"].values()) for o in report["outcomes"]) == len(report["lines"]) == 4
        assert {o["ref"]: o["status"] for o in report["outcomes"]} == statuses, quarter
        for outcome in report["outcomes"]:
            lines = [line for line in report["lines"] if line["outcome"] == outcome["ref"]]
            assert sum(outcome["counts"].values()) == len(lines)


def test_a_quarter_with_no_returns_is_all_no_return(session):
    report = status_report(session, Quarter(2024, 1))
    assert {line["status"] for line in report["lines"]} == {"No return"}
    assert [o["status"] for o in report["outcomes"]] == ["No return", "No return"]


def test_plan_defaults_to_the_plan_covering_the_quarter_and_can_be_named(session):
    assert status_report(session, "2020-21 Q1")["plan"] == "T2019"
    assert [line["ref"] for line in status_report(session, "2020-21 Q1")["lines"]] == ["T19-1.1", "T19-1.2"]
    assert status_report(session, "2025-26 Q3", "T2019")["plan"] == "T2019"
    with pytest.raises(UnknownPlan, match="no plan 'X'"):
        status_report(session, "2025-26 Q3", "X")
    with pytest.raises(UnknownPlan, match="No plan covers 2030-31 Q1"):
        status_report(session, "2030-31 Q1")


def test_table_format_contains_the_figures(session):
    text = format_report_table(status_report(session, "2025-26 Q3"))
    assert "CYP Plan T2023: line status for 2025-26 Q3" in text
    outcome_line = next(line for line in text.splitlines() if line.startswith("T23-O1"))
    assert outcome_line.split()[-7:] == ["Amber", "1", "1", "1", "0", "0", "3"]
    assert "All lines: Blue 1, Green 1, Amber 1, Red 0, No return 1 (of 4)" in text
    line_row = next(line for line in text.splitlines() if line.startswith("T23-3.1"))
    assert "No return" in line_row and "Housing; Public Health" in line_row


def test_outcome_summary_has_counts_rollup_and_change(session):
    frame = outcome_summary(session, "2025-26 Q3")
    assert rows(frame, "outcome_ref", "Blue", "Green", "Amber", "Red", "No return", "lines") == [
        ("T23-O1", 1, 1, 1, 0, 0, 3),
        ("T23-O2", 0, 0, 0, 0, 1, 1),
    ]
    assert rows(frame, "status", "previous_status", "change") == [
        ("Amber", "Green", "Worse"),
        ("No return", "Red", None),
    ]
    # The first quarter of a plan has nothing before it.
    first = outcome_summary(session, "2023-24 Q1")
    assert first["previous_status"].isna().all()


def test_line_statuses_with_previous_quarter_and_context(session):
    frame = line_statuses(session, "2025-26 Q3")
    assert list(frame.columns) == LINE_COLUMNS
    assert rows(frame, "ref", "status", "previous_status", "change") == [
        ("T23-1.1", "Green", "Green", "Same"),
        ("T23-1.2", "Amber", "Green", "Worse"),
        ("T23-2.1", "Blue", "Green", "Improved"),
        ("T23-3.1", "No return", "Red", None),
    ]
    last = frame.iloc[-1]
    assert (last.teams, last.bodies, last.drivers, last.domains) == (
        "Housing; Public Health",
        "Community Safety Partnership",
        "Inclusion",
        "Safety",
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ViewFilters(team="housing"), ["T23-3.1"]),
        (ViewFilters(team="Public Health"), ["T23-2.1", "T23-3.1"]),
        (ViewFilters(team="family services"), ["T23-1.1", "T23-1.2"]),
        (ViewFilters(outcome="T23-O2"), ["T23-3.1"]),
        (ViewFilters(objective="T23-1"), ["T23-1.1", "T23-1.2"]),
        (ViewFilters(body="csp"), ["T23-3.1"]),
        (ViewFilters(driver="Inclusion"), ["T23-3.1"]),
        (ViewFilters(domain="Safety"), ["T23-3.1"]),
        (ViewFilters(domain="Play"), []),
        (ViewFilters(status="Amber"), ["T23-1.2"]),
        (ViewFilters(status="No return"), ["T23-3.1"]),
        (ViewFilters(outcome="T23-O1", status="Blue"), ["T23-2.1"]),
    ],
)
def test_line_filters(session, filters, expected):
    assert list(line_statuses(session, "2025-26 Q3", filters=filters)["ref"]) == expected


def test_view_filters_round_trip_through_query_params():
    filters = ViewFilters(quarter="2025-26 Q3", plan="2023-27", team="Family Services", status="No return")
    params = filters.to_query_params()
    assert params == {"quarter": "2025-26 Q3", "plan": "2023-27", "team": "Family Services", "status": "No return"}
    assert ViewFilters.from_query_params(params) == filters
    assert ViewFilters.from_query_params({"team": ["Housing", "x"], "outcome": " ", "junk": "1"}) == ViewFilters(
        team="Housing"
    )
    assert filters.replace(team=None).to_query_params() == {
        "quarter": "2025-26 Q3",
        "plan": "2023-27",
        "status": "No return",
    }


def test_line_history_has_every_version(session):
    frame = line_history(session, "T23-1.1")
    assert rows(frame, "quarter", "version", "is_current", "status", "team") == [
        ("2025-26 Q2", 1, True, "Green", "Family Services"),
        ("2025-26 Q3", 1, False, "Red", "Family Services"),
        ("2025-26 Q3", 2, True, "Green", "Family Services"),
    ]
    assert line_history(session, "nope").empty


def test_line_trends_fill_no_return(session):
    frame = line_trends(session, "T2023", ["2025-26 Q2", "2025-26 Q3"])
    assert rows(frame[frame["ref"] == "T23-3.1"], "quarter", "status") == [
        ("2025-26 Q2", "Red"),
        ("2025-26 Q3", "No return"),
    ]


def test_domain_summary_counts_and_gaps(session):
    frame = domain_summary(session, "2025-26 Q3")
    assert rows(frame, "domain_ref", "lines", "No return", "status", "indicators", "indicators_with_data") == [
        ("FFI-1", 1, 1, "No return", 1, 1),
        ("FFI-2", 0, 0, None, 0, 0),
    ]
    assert list(frame["gaps"]) == [[], ["no lines", "no indicators", "no current data"]]
    earlier = domain_summary(session, "2024-25 Q1")
    assert earlier["gaps"].iloc[0] == ["no current data"]
    for named in ("ffi-2", "Play", "places to play"):
        assert list(domain_summary(session, "2025-26 Q3", domain=named)["domain_ref"]) == ["FFI-2"]
    assert domain_summary(session, "2025-26 Q3", domain="nowhere").empty


def test_indicator_series_status_and_direction(session):
    frame = indicator_series(session, ["T23-I1"])
    assert rows(frame, "quarter", "value", "target", "status", "direction") == [
        ("2025-26 Q2", 160.0, 150.0, "Red", None),
        ("2025-26 Q3", 155.0, 150.0, "Amber", "Improving"),
    ]
    assert list(indicator_series(session, outcome_ref="T23-O1")["ref"].unique()) == ["T23-I1"]


def test_exceptions_are_the_boards_agenda(session):
    agenda = exceptions(session, "2025-26 Q3")
    assert list(agenda["red"]["ref"]) == []
    assert list(agenda["worse"]["ref"]) == ["T23-1.2"]
    assert list(agenda["no_return"]["ref"]) == ["T23-3.1"]
    assert rows(agenda["late"], "team", "state") == [("Housing", "Missing"), ("Public Health", "Late")]
    assert list(exceptions(session, "2025-26 Q2")["red"]["ref"]) == ["T23-3.1"]


def test_exceptions_narrowed_by_the_view_filters(session):
    housing = exceptions(session, "2025-26 Q3", filters=ViewFilters(team="HOUSING"))
    assert list(housing["worse"]["ref"]) == [] and list(housing["no_return"]["ref"]) == ["T23-3.1"]
    assert rows(housing["late"], "team", "state") == [("Housing", "Missing")]
    by_name = exceptions(session, "2025-26 Q3", filters=ViewFilters(team="Family Services"))
    assert list(by_name["worse"]["ref"]) == ["T23-1.2"] and by_name["late"].empty
    # Objective and status never narrow the agenda: it is itself a choice by status.
    unnarrowed = exceptions(session, "2025-26 Q3", filters=ViewFilters(status="Green", objective="T23-9"))
    assert list(unnarrowed["worse"]["ref"]) == ["T23-1.2"] and list(unnarrowed["no_return"]["ref"]) == ["T23-3.1"]


def test_latest_quarter_with_returns(session, engine):
    assert latest_quarter_with_returns(session) == Quarter(2025, 3)
    assert latest_quarter_with_returns(session, "T2019") is None


@pytest.fixture
def fresh_cli_engine():
    """get_engine() caches on its argument (None), so the CLI would otherwise reuse an earlier test's database."""
    dispose_engines()
    yield
    get_engine().dispose()
    dispose_engines()


def test_report_command_prints_json_and_table(engine, fresh_cli_engine):
    with write_session(engine) as db_session:
        build_reporting_framework(db_session)
        add_two_quarters(db_session)
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--quarter", "Oct-Dec 2025", "--format", "json"])
    assert result.exit_code == 0, result.output
    # "Oct-Dec 2025" is 2025-26 Q3: the values test_status_report_json_shape_and_values works out for that quarter.
    report = json.loads(result.output)
    assert (report["quarter"], report["plan"]) == ("2025-26 Q3", "T2023")
    assert [(o["ref"], o["status"]) for o in report["outcomes"]] == [("T23-O1", "Amber"), ("T23-O2", "No return")]
    assert [(line["ref"], line["status"]) for line in report["lines"]] == [
        ("T23-1.1", "Green"),
        ("T23-1.2", "Amber"),
        ("T23-2.1", "Blue"),
        ("T23-3.1", "No return"),
    ]
    table = runner.invoke(cli, ["report", "--quarter", "2025-26 Q3"])
    assert table.exit_code == 0 and "T23-O1" in table.output and "Amber" in table.output
    bad = runner.invoke(cli, ["report", "--quarter", "2025 Q3"])
    assert bad.exit_code != 0 and "ambiguous" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(cli, ["report", "--quarter", "2025-26 Q3", "--plan", "nope"])
    assert missing.exit_code != 0 and "no plan 'nope'" in missing.output


def test_a_line_in_two_current_returns_counts_the_latest_update(session):
    # A line moved from one team to another mid-quarter: the most recent current update counts.
    add_return(session, "public-health", "2025-26 Q3", {"T23-2.1": "Blue", "T23-3.1": ("Green", "Taken over")})
    report = status_report(session, "2025-26 Q3")
    assert next(line for line in report["lines"] if line["ref"] == "T23-3.1")["status"] == "Green"
