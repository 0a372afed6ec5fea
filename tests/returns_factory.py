"""Builders for return tests: a small framework, and return workbooks written by code with overrides.

The framework is made up for tests (refs start with ``T``); it is never loaded into a real database.
Family Services reports two lines of the 2023–27 test plan (one a whole objective) and one indicator;
Public Health reports one line and one indicator; Housing reports nothing.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from cyp.storage.models import Action, Indicator, Objective, Outcome, Partner, Plan

RETURN_HEADERS = [
    "Ref",
    "Outcome",
    "Objective",
    "Action",
    "RAG status",
    "Progress update",
    "Next steps",
    "Risks and issues",
]
INDICATOR_HEADERS = ["Ref", "Indicator", "Unit", "Value", "Target", "Commentary"]
HEADER_ROW = 6


def build_framework(session: Session) -> dict[str, Any]:
    """Add two plans, three teams, lines and indicators; returns them by ref for tests to use."""
    family = Partner(ref="family-services", name="Family Services", variants="Barnet Family Services|FS")
    health = Partner(ref="public-health", name="Public Health")
    housing = Partner(ref="housing", name="Housing")
    old = Plan(ref="T2019", title="Test plan 2019–2023", first_year=2019, last_year=2022)
    new = Plan(ref="T2023", title="Test plan 2023–2027", first_year=2023, last_year=2026, is_current=True)
    old_outcome = Outcome(ref="T19-O1", name="Safe and secure", position=1, plan=old)
    old_objective = Objective(ref="T19-1", text="Keep children safe", position=1, outcome=old_outcome)
    new_outcome = Outcome(ref="T23-O1", name="Family and belonging", position=1, plan=new)
    new_objective = Objective(ref="T23-1", text="Support families early", position=1, outcome=new_outcome)
    other_objective = Objective(ref="T23-2", text="Healthy lives", position=2, outcome=new_outcome)
    actions = [
        Action(
            ref="T19-1.1", text="Run the early help hubs", position=1, objective=old_objective, reporting_partner=family
        ),
        Action(
            ref="T19-1.2",
            text="Deliver the healthy schools programme",
            position=2,
            objective=old_objective,
            reporting_partner=health,
        ),
        Action(
            ref="T23-1.1", text="", position=1, objective=new_objective, whole_objective=True, reporting_partner=family
        ),
        Action(
            ref="T23-1.2", text="Open two family hubs", position=2, objective=new_objective, reporting_partner=family
        ),
        Action(
            ref="T23-2.1",
            text="Reduce childhood obesity",
            position=1,
            objective=other_objective,
            reporting_partner=health,
        ),
    ]
    indicators = [
        Indicator(
            ref="T23-I1",
            name="Children with a child protection plan",
            unit="children",
            polarity="lower",
            target=150,
            position=1,
            outcome=new_outcome,
            reporting_partner=family,
        ),
        Indicator(
            ref="T23-I2",
            name="Reception children of healthy weight",
            unit="%",
            polarity="higher",
            position=2,
            outcome=new_outcome,
            reporting_partner=health,
        ),
    ]
    session.add_all([family, health, housing, old, new, *actions, *indicators])
    session.flush()
    return (
        {p.ref: p for p in (family, health, housing)}
        | {a.ref: a for a in actions}
        | {i.ref: i for i in indicators}
        | {"T2019": old, "T2023": new}
    )


def clean_lines() -> list[dict[str, Any]]:
    """Family Services' lines for 2025-26 Q3, correctly filled in."""
    return [
        {
            "Ref": "T23-1.1",
            "Objective": "Support families early",
            "RAG status": "Green",
            "Progress update": "Hubs open five days a week.",
            "Next steps": "Extend to Saturdays.",
        },
        {
            "Ref": "T23-1.2",
            "Action": "Open two family hubs",
            "RAG status": "Amber",
            "Progress update": "Second hub delayed by building works.",
            "Risks and issues": "Contractor capacity.",
        },
    ]


def clean_indicators() -> list[dict[str, Any]]:
    """Family Services' indicator for 2025-26 Q3."""
    return [
        {
            "Ref": "T23-I1",
            "Indicator": "Children with a child protection plan",
            "Unit": "children",
            "Value": 161,
            "Target": 150,
            "Commentary": "Up by six since last quarter.",
        }
    ]


def build_return(
    *,
    team: Any = "Family Services",
    quarter: Any = "2025-26 Q3",
    lines: list[dict[str, Any]] | None = None,
    headers: list[str] | None = None,
    header_row: int = HEADER_ROW,
    sheet_name: str = "Return",
    indicators: list[dict[str, Any]] | None = None,
    indicator_headers: list[str] | None = None,
    indicator_sheet: str | None = "Indicators",
    merge_title: bool = False,
    trailing_blank_rows: int = 0,
    blank_rows_between: int = 0,
    about: dict[str, str] | None = None,
) -> bytes:
    """A return workbook: a title, Team and Quarter labels, a header row and one row per line dict.

    A line dict maps header text to the cell value; a header named in a dict but not in ``headers`` is ignored.
    ``team``/``quarter`` of None leave the label out.
    """
    headers = headers if headers is not None else RETURN_HEADERS
    lines = lines if lines is not None else clean_lines()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    sheet["A1"] = "CYP Plan quarterly return"
    if merge_title:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    if team is not None:
        sheet["A2"], sheet["B2"] = "Team", team
    if quarter is not None:
        sheet["A3"], sheet["B3"] = "Quarter:", quarter
    for column, heading in enumerate(headers, start=1):
        sheet.cell(row=header_row, column=column, value=heading)
    row = header_row + 1
    for line in lines:
        for column, heading in enumerate(headers, start=1):
            if heading in line:
                sheet.cell(row=row, column=column, value=line[heading])
        row += 1 + blank_rows_between
    if trailing_blank_rows:
        # Formatted but empty rows, as Excel leaves behind after deleting content.
        for extra in range(trailing_blank_rows):
            sheet.cell(row=row + extra, column=1, value="")
            sheet.cell(row=row + extra, column=5, value="   ")
    if indicator_sheet is not None:
        ind = workbook.create_sheet(indicator_sheet)
        ind_headers = indicator_headers if indicator_headers is not None else INDICATOR_HEADERS
        for column, heading in enumerate(ind_headers, start=1):
            ind.cell(row=1, column=column, value=heading)
        for ind_row, values in enumerate(indicators if indicators is not None else clean_indicators(), start=2):
            for column, heading in enumerate(ind_headers, start=1):
                if heading in values:
                    ind.cell(row=ind_row, column=column, value=values[heading])
    if about is not None:
        about_sheet = workbook.create_sheet("About")
        for about_row, (key, value) in enumerate(about.items(), start=1):
            about_sheet.cell(row=about_row, column=1, value=key)
            about_sheet.cell(row=about_row, column=2, value=value)
        about_sheet.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_line(index: int, **changes: Any) -> list[dict[str, Any]]:
    """The clean lines with one line's cells changed (keys use ``_`` for spaces: ``RAG_status="Ambr"``)."""
    lines = clean_lines()
    lines[index] = lines[index] | {key.replace("_", " "): value for key, value in changes.items()}
    return lines


def fill_template(data: bytes, answers: dict[str, tuple[Any, ...]], values: dict[str, Any] | None = None) -> bytes:
    """A template filled in as a lead would: ``answers`` maps ref -> (status, progress, next steps, risks)."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook["Return"]
    for row in sheet.iter_rows():
        ref = row[0].value
        if ref in answers:
            for offset, value in enumerate(answers[ref]):
                row[4 + offset].value = value
    indicators = workbook["Indicators"]
    for row in indicators.iter_rows():
        if values and row[0].value in values:
            row[3].value = values[row[0].value]
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
