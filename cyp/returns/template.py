"""Write the return workbook for one team and quarter: its lines locked, inputs unlocked, last answers carried forward.

The team and quarter are written in labelled cells above the table (what the lead
sees and the reader looks for) and again in a hidden, protected ``About`` sheet,
so an upload needs no other input. Sheets are protected without a password: the
reference columns are guarded against slips, yet a lead who must can unprotect.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from cyp.cells import write_cell
from cyp.quarters import Quarter, parse_quarter
from cyp.read.prefill import prefill_source
from cyp.read.questions import questions_for_template
from cyp.returns.board_columns import write_board_columns
from cyp.returns.lines import (
    NothingToReport,
    deadline_for,
    line_text,
    plan_for_quarter,
    plan_period,
    require_team,
    team_indicators,
    team_lines,
)
from cyp.returns.reader import display_name, header_vocabulary
from cyp.status import STATUS_MEANINGS, STATUSES
from cyp.storage.models import Action, Indicator, Partner, Plan, Return

TEMPLATE_VERSION = "1"
HEADER_ROW = 8
INDICATOR_HEADER_ROW = 3
RETURN_WIDTHS = {"ref": 13, "outcome": 22, "objective": 40, "action": 50, "status": 13, "progress": 50}
RETURN_WIDTHS |= {"next_steps": 40, "risks": 40}
INDICATOR_WIDTHS = {"ref": 13, "indicator": 50, "unit": 14, "value": 13, "target": 13, "commentary": 50}

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="7F7F7F")
INPUT_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
UNLOCKED = Protection(locked=False)


def _fmt_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def write_template(session: Session, team: str, quarter: Quarter | str) -> bytes:
    """The return workbook (xlsx bytes) for a team (by name, ref or variant) and quarter (any parseable form).

    Raises :class:`~cyp.returns.lines.UnknownTeam`, :class:`~cyp.quarters.QuarterError`, or
    :class:`~cyp.returns.lines.NothingToReport` when no plan covers the quarter or the team has nothing assigned.
    """
    partner = require_team(session, team)
    quarter = quarter if isinstance(quarter, Quarter) else parse_quarter(quarter)
    plan = plan_for_quarter(session, quarter)
    if plan is None:
        raise NothingToReport(f"no plan covers {quarter.label}, so there is nothing to report")
    lines = team_lines(session, partner, plan)
    indicators = team_indicators(session, partner, plan)
    if not lines and not indicators:
        raise NothingToReport(
            f"{partner.name} has no lines or indicators to report in {plan.title} for {quarter.label}; "
            "ask the plan administrator to assign the actions or objectives your team reports on"
        )
    # This quarter's current version if there is one, so a re-download never undoes an answer.
    source = prefill_source(session, partner, quarter)
    previous = source.return_
    deadline = deadline_for(session, quarter)

    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook's one sheet
    sheet.title = display_name("sheets", "return")
    _write_return_sheet(sheet, partner, quarter, plan, deadline, lines, previous)
    sheet["A2"] = source.note
    sheet["A2"].font = Font(italic=True)
    board_questions = questions_for_template(session, partner.id, quarter.label)
    write_board_columns(
        sheet, board_questions, lines, HEADER_ROW, len(RETURN_WIDTHS) + 1, (HEADER_FONT, HEADER_FILL), _input
    )
    _write_indicators_sheet(workbook.create_sheet(display_name("sheets", "indicators")), indicators, previous)
    _write_instructions(workbook.create_sheet("Instructions"), partner, quarter, deadline, bool(indicators))
    _write_about(workbook.create_sheet(display_name("sheets", "about")), partner, quarter, plan)
    workbook.properties.title = f"CYP Plan return: {partner.name}, {quarter.label}"
    workbook.properties.subject = f"{partner.ref} {quarter.label}"
    workbook.properties.keywords = f"team={partner.ref}; quarter={quarter.label}; plan={plan.ref}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _label(key: str) -> str:
    return header_vocabulary()["labels"][key][0]


def _header(sheet: Worksheet, row: int, section: str, keys: list[str], widths: dict[str, int]) -> None:
    for column, key in enumerate(keys, start=1):
        cell = write_cell(_cell(sheet, row, column), display_name(section, key))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(column)].width = widths[key]


def _cell(sheet: Worksheet, row: int, column: int) -> Cell:
    """The cell at ``row`` and ``column``: never a MergedCell, as these new sheets merge no cells."""
    return cast(Cell, sheet.cell(row=row, column=column))


def _input(cell: Cell | MergedCell, value: Any = None, text: bool = True) -> None:
    cell = cast(Cell, cell)  # typed as write_board_columns passes it; never a MergedCell, as these sheets merge none
    write_cell(cell, value)
    if text:
        # Typed into a Text cell, "50%" or "1,234" stays what the lead wrote instead of becoming 0.5 or 1234.
        cell.number_format = "@"
    cell.protection = UNLOCKED
    cell.fill = INPUT_FILL
    cell.border = INPUT_BORDER
    cell.alignment = WRAP


def _write_return_sheet(
    sheet: Worksheet,
    partner: Partner,
    quarter: Quarter,
    plan: Plan,
    deadline: date,
    lines: list[Action],
    previous: Return | None,
) -> None:
    write_cell(sheet["A1"], f"CYP Plan quarterly return: {partner.name}, {quarter.label}")
    sheet["A1"].font = Font(bold=True, size=14)
    facts = [
        (_label("team"), partner.name),
        (_label("quarter"), quarter.label),
        (_label("plan"), f"{plan.title} ({plan_period(plan)})"),
        (_label("deadline"), _fmt_date(deadline)),
    ]
    for row, (label, value) in enumerate(facts, start=3):
        write_cell(_cell(sheet, row, 1), label).font = Font(bold=True)
        write_cell(_cell(sheet, row, 2), value)
    note = write_cell(_cell(sheet, HEADER_ROW - 1, 1), "Fill in the yellow cells. See the Instructions sheet.")
    note.font = Font(italic=True)
    # The board's columns are added after these by cyp.returns.board_columns, only when a question is open.
    keys = [key for key in header_vocabulary()["return_columns"] if key in RETURN_WIDTHS]
    _header(sheet, HEADER_ROW, "return_columns", keys, RETURN_WIDTHS)
    answers = {u.action_id: u for u in previous.line_updates} if previous else {}
    for row, action in enumerate(lines, start=HEADER_ROW + 1):
        objective = action.objective
        reference = [action.ref, objective.outcome.name, objective.text, line_text(action)]
        for column, value in enumerate(reference, start=1):
            write_cell(_cell(sheet, row, column), value).alignment = WRAP
        answer = answers.get(action.id)
        carried = [answer.status, answer.progress, answer.next_steps, answer.risks] if answer else [None] * 4
        for column, carried_value in enumerate(carried, start=len(reference) + 1):
            _input(_cell(sheet, row, column), carried_value)
    last_row = HEADER_ROW + max(len(lines), 1)
    status_column = get_column_letter(keys.index("status") + 1)
    choice = DataValidation(
        type="list",
        formula1='"' + ",".join(STATUSES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="RAG status",
        error="Choose Blue, Green, Amber or Red.",
    )
    choice.add(f"{status_column}{HEADER_ROW + 1}:{status_column}{last_row}")
    sheet.add_data_validation(choice)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def _write_indicators_sheet(sheet: Worksheet, indicators: list[Indicator], previous: Return | None) -> None:
    write_cell(sheet["A1"], "Indicators: the latest figure for each measure your team reports")
    sheet["A1"].font = Font(bold=True, size=14)
    keys = list(header_vocabulary()["indicator_columns"])
    _header(sheet, INDICATOR_HEADER_ROW, "indicator_columns", keys, INDICATOR_WIDTHS)
    answers = {v.indicator_id: v for v in previous.indicator_values} if previous else {}
    for row, indicator in enumerate(indicators, start=INDICATOR_HEADER_ROW + 1):
        for column, fixed in enumerate([indicator.ref, indicator.name, indicator.unit], start=1):
            write_cell(_cell(sheet, row, column), fixed).alignment = WRAP
        answer = answers.get(indicator.id)
        value = answer.value if answer else None
        target = answer.target if answer and answer.target is not None else indicator.target
        commentary = answer.commentary if answer else None
        for column, cell_value in enumerate([value, target, commentary], start=4):
            _input(_cell(sheet, row, column), cell_value, text=column == 6)
    sheet.freeze_panes = f"A{INDICATOR_HEADER_ROW + 1}"
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def _write_instructions(
    sheet: Worksheet, partner: Partner, quarter: Quarter, deadline: date, has_indicators: bool
) -> None:
    paragraphs: list[tuple[str, bool]] = [
        (f"How to fill in this return ({partner.name}, {quarter.label})", True),
        (f"Please upload it by {_fmt_date(deadline)}.", False),
        ("", False),
        ("What is required", True),
        ("Give a RAG status for every line on the Return sheet, using the drop-down.", False),
        (
            "Give a progress update for every line that is Red or Amber: what is happening and what is being done.",
            False,
        ),
        ("Next steps and risks and issues are optional but help the board.", False),
        (
            "The latest answers are already filled in (the line under the title says from which return): "
            "change what has changed.",
            False,
        ),
        ("Do not change the Ref column or delete rows; extra columns of your own are ignored.", False),
    ]
    if has_indicators:
        paragraphs.append(("On the Indicators sheet, give the latest figure for each indicator as a number.", False))
    paragraphs += [("", False), ("What each status means", True)]
    paragraphs += [(f"{status}: {STATUS_MEANINGS[status]}", False) for status in STATUSES]
    paragraphs += [
        ("", False),
        ("Personal data", True),
        (
            "Never include personal data about children or families: no names, dates of birth, NHS numbers, "
            "unique pupil numbers or full postcodes. Describe services and numbers, not individuals.",
            False,
        ),
        ("", False),
        ("Uploading", True),
        (
            "Upload this workbook on the Upload page. Every problem is listed with its sheet and cell; fix them and "
            "upload again. A new upload replaces your earlier one for this quarter, which is kept in the history.",
            False,
        ),
    ]
    sheet.column_dimensions["A"].width = 110
    for row, (text, bold) in enumerate(paragraphs, start=1):
        cell = write_cell(_cell(sheet, row, 1), text or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True, size=13 if row == 1 else 11)
    sheet.protection.sheet = True


def _write_about(sheet: Worksheet, partner: Partner, quarter: Quarter, plan: Plan) -> None:
    rows = [
        (_label("team"), partner.name),
        (_label("team_ref"), partner.ref),
        (_label("quarter"), quarter.label),
        (_label("plan"), plan.ref),
        ("Template version", TEMPLATE_VERSION),
    ]
    for row, (key, value) in enumerate(rows, start=1):
        write_cell(_cell(sheet, row, 1), key)
        write_cell(_cell(sheet, row, 2), value)
    sheet.sheet_state = "hidden"
    sheet.protection.sheet = True
