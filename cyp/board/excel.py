"""The board data as an Excel workbook: every line update and indicator value for a quarter, one row each."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cyp.board.data import BoardData, board_data, clean_text, counts_sentence, team_text
from cyp.cells import append_row
from cyp.read import queries
from cyp.read.browse import DEMO_ASSIGNMENT, INDEX_MAPPING_NOTE
from cyp.read.signoff import counted_return
from cyp.status import ALL_STATUSES
from cyp.storage.models import Action, Partner, Plan, Return


def _submissions_by_line(
    session: Session, plan_ref: str, quarter: str, signed_off_only: bool = False
) -> dict[str, dict[str, Any]]:
    """{line ref: team, version, submitted by/at} of the update that counts for each line in the quarter."""
    counted = queries.current_update_ids(quarter, signed_off_only=signed_off_only).subquery()
    from cyp.storage.models import LineUpdate

    statement = (
        select(Action.ref, Partner.name, Return.version, Return.uploaded_by, Return.uploaded_at)
        .join(counted, counted.c.action_id == Action.id)
        .join(LineUpdate, LineUpdate.id == counted.c.update_id)
        .join(Return, Return.id == LineUpdate.return_id)
        .join(Partner, Partner.id == Return.partner_id)
        .join(Plan, Plan.id == Return.plan_id)
        .where(Plan.ref == plan_ref)
    )
    return {
        ref: {"team": team, "version": version, "by": by, "at": at}
        for ref, team, version, by, at in session.execute(statement)
    }


def _indicator_submissions(session: Session, quarter: str, signed_off_only: bool = False) -> dict[str, dict[str, Any]]:
    """{indicator ref: team, version, submitted by/at} of the value that counts in the quarter."""
    from cyp.storage.models import Indicator, IndicatorValue

    latest = (
        select(IndicatorValue.indicator_id, func.max(IndicatorValue.id).label("value_id"))
        .join(Return, Return.id == IndicatorValue.return_id)
        .where(counted_return(signed_off_only), IndicatorValue.quarter == quarter)
        .group_by(IndicatorValue.indicator_id)
        .subquery()
    )
    statement = (
        select(
            Indicator.ref,
            Partner.name,
            Return.version,
            Return.uploaded_by,
            Return.uploaded_at,
            # A demo return's indicator with no team of its own was given one by the demo generator.
            Return.is_demo & Indicator.reporting_partner_id.is_(None),
        )
        .join(latest, latest.c.indicator_id == Indicator.id)
        .join(IndicatorValue, IndicatorValue.id == latest.c.value_id)
        .join(Return, Return.id == IndicatorValue.return_id)
        .join(Partner, Partner.id == Return.partner_id)
    )
    return {
        ref: {"team": team_text(team, bool(demo)), "version": version, "by": by, "at": at}
        for ref, team, version, by, at, demo in session.execute(statement)
    }


LINE_SHEET_COLUMNS = [
    "Plan",
    "Quarter",
    "Outcome ref",
    "Outcome",
    "Objective ref",
    "Objective",
    "Line ref",
    "Line",
    "Teams",
    "Monitoring bodies",
    "Status",
    "Last quarter",
    "Progress",
    "Next steps",
    "Risks",
    "Reported by team",
    "Version",
    "Submitted by",
    "Submitted at (UTC)",
    "Demo",
]
DEMO_LINE = f"yes: line and team made up by the demo ({DEMO_ASSIGNMENT}), not in the plan"
INDEX_SHEET_COLUMNS = ["Domain ref", "Domain", "Status", *ALL_STATUSES, "Lines", "Gaps"]
MAPPING_SHEET_COLUMNS = ["Domain ref", "Domain", "Kind", "Ref", "Objective or indicator", "Why", "Whose mapping"]
MAPPING_SOURCE = "the project's judgement, not the plan's"


INDICATOR_SHEET_COLUMNS = [
    "Plan",
    "Quarter",
    "Outcome ref",
    "Outcome",
    "Indicator ref",
    "Indicator",
    "Unit",
    "Value",
    "Target",
    "Status",
    "Direction",
    "Commentary",
    "Reported by team",
    "Version",
    "Submitted by",
    "Submitted at (UTC)",
]


def _sheet(workbook: Any, title: str, headings: list[str], rows: list[list[Any]], widths: dict[str, int]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    append_row(sheet, headings)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        # Text goes in as text cells exactly as stored: never a formula, and no apostrophe in front.
        append_row(sheet, row)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headings))}{max(1, len(rows) + 1)}"
    for position, heading in enumerate(headings, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = widths.get(heading, 14)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str) and len(cell.value) > 40)


def _naive(moment: Any) -> Any:
    """Excel has no time zones: UTC times are written without one (the heading says UTC)."""
    if moment is None or (not isinstance(moment, datetime) and pd.isna(moment)):
        return None
    stamp = pd.Timestamp(moment)
    return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp).to_pydatetime()


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value


def _index_sheets(workbook: Any, data: BoardData, widths: dict[str, int]) -> None:
    """The Family Friendly Index domains and what counts towards each, every mapping row saying whose it is."""
    domains = [
        [
            row["domain_ref"],
            row["domain"],
            row["status"] if isinstance(row["status"], str) else "no lines",
            *(int(row[status]) for status in ALL_STATUSES),
            int(row["lines"]),
            "; ".join(row["gaps"]),
        ]
        for row in data.domains.to_dict("records")
    ]
    _sheet(workbook, "Index domains", INDEX_SHEET_COLUMNS, domains, widths | {"Domain": 30, "Gaps": 30})
    mapping = [
        [row["domain_ref"], row["domain"], row["kind"], row["ref"], row["text"], row["reason"], MAPPING_SOURCE]
        for row in data.domain_map.to_dict("records")
    ]
    _sheet(
        workbook,
        "Index mapping",
        MAPPING_SHEET_COLUMNS,
        mapping,
        widths | {"Domain": 40, "Objective or indicator": 50, "Why": 50, "Whose mapping": 34},
    )


QUESTION_SHEET_COLUMNS = [
    "Line ref",
    "Outcome",
    "Team",
    "Quarter asked",
    "Kind",
    "Question",
    "Asked by",
    "Asked at (UTC)",
    "Due by",
    "Overdue",
]
AWAITING_SHEET_COLUMNS = ["Team", "Quarter", "Version", "Uploaded at (UTC)", "Uploaded by", "Counted instead"]


def _question_sheet(workbook: Any, data: BoardData, widths: dict[str, int]) -> None:
    """The open board questions (asked this quarter or before), with who asked, when they are due and if overdue."""
    demo_lines = set(data.lines.loc[data.lines["is_demo"].astype(bool), "ref"]) if len(data.lines) else set()
    rows = [
        [
            question.line_ref,
            question.outcome,
            team_text(question.team, question.line_ref in demo_lines) or None,
            question.quarter,
            question.kind,
            question.text,
            question.asked_by,
            _naive(question.asked_at),
            question.due_by,
            "overdue" if question.overdue else "",
        ]
        for question in data.questions
    ]
    _sheet(workbook, "Board questions", QUESTION_SHEET_COLUMNS, rows, widths | {"Question": 60, "Asked at (UTC)": 18})


CHANGES_SHEET_COLUMNS = ["Outcome ref", "Outcome", "Line ref", "Line", "Team", "Last quarter", "Status", "Change"]


def _changes_sheet(workbook: Any, data: BoardData, widths: dict[str, int]) -> None:
    """Every line whose status changed since last quarter (the PDF's first page), new Reds and recoveries named."""
    if data.changes is None:
        return
    demo_lines = set(data.lines.loc[data.lines["is_demo"].astype(bool), "ref"]) if len(data.lines) else set()
    rows = []
    for outcome in data.changes.outcomes:
        new_reds = {change.ref for change in outcome.new_reds}
        recovered = {change.ref for change in outcome.recovered}
        for change in outcome.status_changes:
            rows.append(
                [
                    outcome.outcome_ref,
                    outcome.outcome,
                    change.ref,
                    clean_text(change.line),
                    team_text(change.team, change.ref in demo_lines) or None,
                    change.before,
                    change.after,
                    "new Red" if change.ref in new_reds else "recovered" if change.ref in recovered else "",
                ]
            )
    _sheet(workbook, "What changed", CHANGES_SHEET_COLUMNS, rows, widths)


def _awaiting_sheet(workbook: Any, data: BoardData, widths: dict[str, int]) -> None:
    """With sign-off on: the quarter's returns no approver has decided on (the pack counts the signed-off one)."""
    rows = [
        [
            row.team,
            row.quarter,
            row.version,
            _naive(row.uploaded_at),
            row.uploaded_by,
            f"version {row.signed_off_version}" if row.signed_off_version else "nothing yet",
        ]
        for row in data.awaiting
    ]
    _sheet(workbook, "Awaiting sign-off", AWAITING_SHEET_COLUMNS, rows, widths | {"Uploaded at (UTC)": 18})


def board_pack_xlsx(session: Session, quarter: str, plan_ref: str | None = None) -> bytes:
    """Every line's update and every indicator value for the quarter, one row each with its framework context.

    Sheets "Lines" (every line of the plan, "No return" where none came in), "Indicators" and "About"; header
    frozen, autofilter on; text is written as text cells (:mod:`cyp.cells`), so none becomes a formula.
    """
    from openpyxl import Workbook

    data = board_data(session, quarter, plan_ref)
    submitted = _submissions_by_line(session, data.plan_ref, data.quarter, data.signed_off_only)
    bodies = data.lines.set_index("ref")["bodies"].to_dict() if len(data.lines) else {}
    line_rows = []
    for _i, line in data.lines.iterrows():
        sub = submitted.get(line["ref"], {})
        line_rows.append(
            [
                data.plan_ref,
                data.quarter,
                line["outcome_ref"],
                line["outcome"],
                line["objective_ref"],
                clean_text(line["objective"]),
                line["ref"],
                clean_text(line["action"]) or "(the whole objective)",
                team_text(line["teams"], line["is_demo"]),
                bodies.get(line["ref"], ""),
                line["status"],
                _value(line["previous_status"]),
                _value(line["progress"]),
                _value(line["next_steps"]),
                _value(line["risks"]),
                team_text(sub["team"], line["is_demo"]) if sub else None,
                sub.get("version"),
                sub.get("by"),
                _naive(sub.get("at")),
                DEMO_LINE if bool(line["is_demo"]) else "",
            ]
        )
    indicator_subs = _indicator_submissions(session, data.quarter, data.signed_off_only)
    names = {outcome["ref"]: outcome["name"] for outcome in data.outcomes}
    this_quarter = data.indicators[data.indicators["quarter"] == data.quarter]
    indicator_rows = []
    for _i, row in this_quarter.iterrows():
        sub = indicator_subs.get(row["ref"], {})
        indicator_rows.append(
            [
                data.plan_ref,
                data.quarter,
                row["outcome_ref"],
                names.get(row["outcome_ref"], ""),
                row["ref"],
                clean_text(row["name"]),
                row["unit"],
                _value(row["value"]),
                _value(row["target"]),
                _value(row["status"]),
                _value(row["direction"]),
                _value(row["commentary"]),
                sub.get("team"),
                sub.get("version"),
                sub.get("by"),
                _naive(sub.get("at")),
            ]
        )
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # a new workbook's only sheet
    wide = {"Outcome": 24, "Objective": 40, "Line": 40, "Teams": 28, "Monitoring bodies": 28, "Indicator": 40}
    wide |= {"Progress": 60, "Next steps": 40, "Risks": 40, "Commentary": 50, "Submitted at (UTC)": 18}
    _sheet(workbook, "Lines", LINE_SHEET_COLUMNS, line_rows, wide)
    _sheet(workbook, "Indicators", INDICATOR_SHEET_COLUMNS, indicator_rows, wide)
    _index_sheets(workbook, data, wide)
    _question_sheet(workbook, data, wide)
    _changes_sheet(workbook, data, wide)
    if data.signed_off_only:
        _awaiting_sheet(workbook, data, wide)
    about = [
        ["Plan", f"{data.plan_ref} {data.plan_title}"],
        ["Quarter", data.quarter],
        ["Generated (UTC)", _naive(data.generated_at)],
        ["Status rule", data.rule],
        ["Lines", counts_sentence(data.totals())],
        ["Demo data", "Yes: generated for demonstration, not real returns" if data.demo else "No"],
        [
            "Team assignments",
            f"A team marked ({DEMO_ASSIGNMENT}) was given the line by the demo data; the plan does not name it.",
        ],
        ["Index mapping", INDEX_MAPPING_NOTE],
        [
            "Sign-off",
            "On: every figure counts each team's latest signed-off return; the Awaiting sign-off sheet lists the "
            "returns not yet signed off"
            if data.signed_off_only
            else "Off: every figure counts each team's current return",
        ],
        ["Board questions", f"{len(data.questions)} open ({sum(q.overdue for q in data.questions)} overdue)"],
    ]
    _sheet(workbook, "About", ["Item", "Value"], about, {"Item": 18, "Value": 100})
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
