"""Return templates: layout, protection, drop-down, carried-forward answers, and clear refusals."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from cyp.access.permissions import system_acting_for
from cyp.quarters import QuarterError
from cyp.returns.ingest import ingest_return
from cyp.returns.lines import NothingToReport, UnknownTeam
from cyp.returns.reader import read_return
from cyp.returns.template import write_template
from cyp.returns.validate import validate_return
from cyp.storage.db import read_session, write_session
from cyp.storage.models import QuarterDeadline
from tests.returns_factory import build_framework, fill_template

# Who uploads does not matter here: the tests are about what the template carries.
TESTS = system_acting_for("template tests")
pytestmark = pytest.mark.both_databases


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
    return engine


def template(engine: Engine, team: str = "Family Services", quarter: str = "2025-26 Q3") -> bytes:
    with read_session(engine) as session:
        return write_template(session, team, quarter)


def test_layout_of_the_return_sheet(framework: Engine) -> None:
    workbook = load_workbook(io.BytesIO(template(framework)))
    assert workbook.sheetnames == ["Return", "Indicators", "Instructions", "About"]
    sheet = workbook["Return"]
    labels = {sheet.cell(row, 1).value: sheet.cell(row, 2).value for row in range(3, 7)}
    assert labels["Team"] == "Family Services"
    assert labels["Quarter"] == "2025-26 Q3"
    assert labels["Deadline"] == "31 January 2026"
    assert [c.value for c in sheet[8]] == [
        "Ref", "Outcome", "Objective", "Action", "RAG status", "Progress update", "Next steps", "Risks and issues"
    ]  # fmt: skip
    assert [sheet.cell(row, 1).value for row in (9, 10)] == ["T23-1.1", "T23-1.2"]
    assert sheet.cell(9, 4).value == "(the whole objective)"
    assert sheet.cell(10, 4).value == "Open two family hubs"
    assert sheet.freeze_panes == "A9"
    assert sheet.protection.sheet and not sheet.protection.password
    assert sheet.cell(9, 1).protection.locked and not sheet.cell(9, 5).protection.locked
    assert sheet.cell(9, 5).fill.fgColor.rgb.endswith("FFF2CC")
    [validation] = sheet.data_validations.dataValidation
    assert validation.formula1 == '"Blue,Green,Amber,Red"'
    assert str(validation.sqref) == "E9:E10"
    about = workbook["About"]
    assert about.sheet_state == "hidden" and about.protection.sheet
    assert {about.cell(r, 1).value: about.cell(r, 2).value for r in range(1, 5)} == {
        "Team": "Family Services",
        "Team ref": "family-services",
        "Quarter": "2025-26 Q3",
        "Plan": "T2023",
    }
    indicators = workbook["Indicators"]
    assert [c.value for c in indicators[3]] == ["Ref", "Indicator", "Unit", "Value", "Target", "Commentary"]
    assert [c.value for c in indicators[4]][:5] == [
        "T23-I1",
        "Children with a child protection plan",
        "children",
        None,
        150,
    ]
    text = "\n".join(str(c.value) for c in workbook["Instructions"]["A"] if c.value)
    assert "Please upload it by 31 January 2026." in text
    assert "progress update for every line that is Red or Amber" in text
    assert "Never include personal data about children" in text


def test_deadline_override_is_used(framework: Engine) -> None:
    with write_session(framework) as session:
        session.add(QuarterDeadline(quarter="2025-26 Q3", due=__import__("datetime").date(2026, 2, 6)))
    sheet = load_workbook(io.BytesIO(template(framework)))["Return"]
    assert sheet["B6"].value == "6 February 2026"


def test_unfilled_template_reads_cleanly_and_asks_for_statuses(framework: Engine) -> None:
    data = template(framework, team="fs", quarter="Q3 25/26")
    with read_session(framework) as session:
        problems = validate_return(session, read_return(io.BytesIO(data)))
    assert [str(p) for p in problems] == [
        "Return!E9: no RAG status for T23-1.1; choose Blue, Green, Amber or Red",
        "Return!E10: no RAG status for T23-1.2; choose Blue, Green, Amber or Red",
    ]


def test_filled_template_round_trips_through_ingest(framework: Engine) -> None:
    filled = fill_template(
        template(framework),
        {"T23-1.1": ("Green", "On track"), "T23-1.2": ("Red", "Delayed", "Re-tender", "Budget")},
        {"T23-I1": "158"},
    )
    result = ingest_return(filled, "fs.xlsx", TESTS, engine=framework)
    assert result.status == "accepted", [str(p) for p in result.problems]
    assert (result.team, result.quarter, result.version) == ("Family Services", "2025-26 Q3", 1)


def test_last_quarters_answers_are_carried_forward(framework: Engine) -> None:
    q2 = fill_template(
        template(framework, quarter="2025-26 Q2"),
        {"T23-1.1": ("Green", "Hubs open", "Saturdays"), "T23-1.2": ("Amber", "Building works", None, "Contractor")},
        {"T23-I1": 161},
    )
    assert ingest_return(q2, "q2.xlsx", TESTS, engine=framework).status == "accepted"
    workbook = load_workbook(io.BytesIO(template(framework, quarter="2025-26 Q3")))
    sheet = workbook["Return"]
    assert [[c.value for c in row[4:8]] for row in sheet.iter_rows(min_row=9, max_row=10)] == [
        ["Green", "Hubs open", "Saturdays", None],
        ["Amber", "Building works", None, "Contractor"],
    ]
    assert [c.value for c in workbook["Indicators"][4]][3:5] == [161, 150]


def test_team_with_nothing_assigned_gets_a_clear_message(framework: Engine) -> None:
    with pytest.raises(NothingToReport, match="Housing has no lines or indicators to report in Test plan 2023–2027"):
        template(framework, team="Housing")


def test_unknown_team_suggests_the_closest(framework: Engine) -> None:
    with pytest.raises(UnknownTeam, match="'Public Helth' is not a known team; did you mean Public Health"):
        template(framework, team="Public Helth")


def test_bad_quarter_raises_quarter_error(framework: Engine) -> None:
    with pytest.raises(QuarterError):
        template(framework, quarter="next Tuesday")


def test_quarter_without_a_plan(framework: Engine) -> None:
    with pytest.raises(NothingToReport, match="no plan covers 2030-31 Q1"):
        template(framework, quarter="2030-31 Q1")
