"""Check a read return against the framework: every problem at once, each naming its sheet and cell.

Errors block storing; queries need the uploader's acknowledgement. A line of the
team that is missing from the workbook is a *query*, not an error: the submission
tracker counts lines returned against lines expected, and a line assigned after
the template was downloaded should not block the rest of the return. A workbook
with no lines at all is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import BindParameter, Select, bindparam, func, select
from sqlalchemy.orm import QueryableAttribute, Session

from cyp.problems import Code, Problem
from cyp.quarters import Quarter, QuarterError, parse_quarter, today
from cyp.returns.lines import TeamRow, find_team_row, plan_covering, plan_period, suggest_team
from cyp.returns.personal_data import PersonalDataHit, find_personal_data_each
from cyp.returns.reader import Cell, ParsedReturn, display_name
from cyp.status import STATUSES, parse_status, suggest_status
from cyp.storage.models import Action, Indicator, Objective, Outcome, Partner, Plan

NEEDS_UPDATE = ("Red", "Amber")
CHOOSE_STATUS = "choose " + ", ".join(STATUSES[:-1]) + f" or {STATUSES[-1]}"


class PlanRow(NamedTuple):
    """A plan as one plain row: what checking and storing a return need of it (no ORM record is built)."""

    id: int
    ref: str
    title: str
    first_year: int
    last_year: int


class Named(NamedTuple):
    """A line (action) or indicator that a workbook names: just what checking and storing need, as one row."""

    id: int
    ref: str
    plan_id: int
    reporting_partner_id: int | None


@dataclass
class CheckedLine:
    """A line of the workbook that passed every check, ready to store."""

    action: Named
    status: str
    progress: str | None
    next_steps: str | None
    risks: str | None
    board_answer: str | None = None


@dataclass
class CheckedIndicator:
    """An indicator row that passed every check, ready to store."""

    indicator: Named
    value: float | None
    target: float | None
    commentary: str | None


@dataclass
class CheckedReturn:
    """The outcome of checking: problems, and what was resolved (team, quarter, plan, lines) along the way."""

    problems: list[Problem] = field(default_factory=list)
    team: TeamRow | None = None
    quarter: Quarter | None = None
    plan: PlanRow | None = None
    lines: list[CheckedLine] = field(default_factory=list)
    indicators: list[CheckedIndicator] = field(default_factory=list)


@lru_cache(maxsize=8192)  # each ref is normalised three times per upload, and a team's refs repeat every quarter
def normalise_ref(text: str) -> str:
    """A ref compared ignoring case and spaces."""
    return "".join(text.split()).upper()


def parse_number(cell: Cell) -> float | None:
    """A number written as a number or as text ("12%", "1,234", " 7 ", "£5"); None when blank.

    Raises ValueError when the text is not a number.
    """
    if cell.text is None:
        return None
    if isinstance(cell.raw, int | float) and not isinstance(cell.raw, bool):
        return float(cell.raw)
    text = cell.text.replace(",", "").replace(" ", "").removeprefix("£").removesuffix("%")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)", text):
        raise ValueError(cell.text)
    return float(text)


def validate_return(session: Session, parsed: ParsedReturn) -> list[Problem]:
    """Every problem with the return, errors and queries, in sheet order."""
    return check_return(session, parsed).problems


def check_return(session: Session, parsed: ParsedReturn) -> CheckedReturn:
    """Check the return and resolve its team, quarter, plan, lines and indicators (see :func:`validate_return`)."""
    checked = CheckedReturn(problems=list(parsed.problems))
    if any(p.code in ("unreadable", "no-return-sheet") for p in parsed.problems):
        return checked
    sheet = parsed.return_sheet
    problems = checked.problems
    checked.team = _check_team(session, parsed, problems)
    checked.quarter = _check_quarter(parsed, problems)
    if checked.quarter is not None:
        checked.plan = _check_plan(session, parsed, checked.quarter, problems)
    _check_lines(session, parsed, checked)
    _check_indicators(session, parsed, checked)
    order = {None: 0, sheet: 1}
    problems.sort(
        key=lambda p: (order.get(p.sheet, 2), p.sheet or "", _row_of(p.cell), len(p.cell or ""), p.cell or "")
    )
    return checked


def _row_of(cell: str | None) -> int:
    digits = re.sub(r"\D", "", cell or "")
    return int(digits) if digits else 0


def _label_or_about(parsed: ParsedReturn, key: str) -> Cell | None:
    visible = parsed.team if key == "team" else parsed.quarter
    if visible is not None:
        return visible
    # The template's team ref survives a team being renamed; its name is the fallback.
    return (parsed.about.get("team_ref") if key == "team" else None) or parsed.about.get(key)


def _check_team(session: Session, parsed: ParsedReturn, problems: list[Problem]) -> TeamRow | None:
    cell = _label_or_about(parsed, "team")
    sheet = parsed.return_sheet if cell is parsed.team else "About"
    if cell is None or cell.text is None:
        problems.append(
            Problem(
                Code.MISSING_TEAM,
                "the workbook does not say which team it is for; write the team's name in the cell to the right of "
                "'Team' above the table",
                sheet=parsed.return_sheet,
            )
        )
        return None
    partner = find_team_row(session, cell.text)
    if partner is None:
        suggestion = suggest_team(session, cell.text)
        hint = f"; did you mean {suggestion}?" if suggestion else "; use the team name shown on your template"
        problems.append(
            Problem(
                Code.UNKNOWN_TEAM,
                f"'{cell.text}' is not a known team{hint}",
                sheet=sheet,
                cell=cell.address,
                value=cell.text,
            )
        )
    return partner


def _check_quarter(parsed: ParsedReturn, problems: list[Problem]) -> Quarter | None:
    cell = _label_or_about(parsed, "quarter")
    sheet = parsed.return_sheet if cell is parsed.quarter else "About"
    if cell is None or cell.text is None:
        problems.append(
            Problem(
                Code.MISSING_QUARTER,
                "the workbook does not say which quarter it is for; write it (e.g. 2025-26 Q3) in the cell to the "
                "right of 'Quarter' above the table",
                sheet=parsed.return_sheet,
            )
        )
        return None
    try:
        quarter = parse_quarter(cell.raw if isinstance(cell.raw, date) else cell.text)
    except QuarterError as exc:
        problems.append(Problem(Code.BAD_QUARTER, str(exc), sheet=sheet, cell=cell.address, value=cell.text))
        return None
    now = today()
    if quarter.start > now:
        problems.append(
            Problem(
                Code.FUTURE_QUARTER,
                f"{quarter.label} has not started yet (today is {now:%d %B %Y}); check the quarter",
                sheet=sheet,
                cell=cell.address,
                value=cell.text,
            )
        )
        return None
    return quarter


def _check_plan(session: Session, parsed: ParsedReturn, quarter: Quarter, problems: list[Problem]) -> PlanRow | None:
    cell = parsed.quarter if parsed.quarter is not None else parsed.about.get("quarter")
    sheet = parsed.return_sheet if cell is parsed.quarter else "About"
    address = cell.address if cell else None
    plans = [PlanRow(*row) for row in session.connection().execute(_PLANS)]
    plan = plan_covering(plans, quarter)
    if plan is None:
        periods = "; ".join(f"{p.title}: {plan_period(p)}" for p in plans) or "no plan is loaded"
        problems.append(
            Problem(
                Code.QUARTER_OUTSIDE_PLAN,
                f"{quarter.label} is outside the period of every plan ({periods})",
                sheet=sheet,
                cell=address,
                value=quarter.label,
            )
        )
        return None
    template_plan = parsed.about.get("plan")
    if template_plan is not None and template_plan.text is not None:
        recorded = next((p for p in plans if template_plan.text in (p.ref, p.title)), None)
        if recorded is not None and recorded.id != plan.id:
            problems.append(
                Problem(
                    Code.QUARTER_OUTSIDE_PLAN,
                    f"{quarter.label} is outside the period of {recorded.title} ({plan_period(recorded)}), the plan "
                    f"this template was made for; download the template for {quarter.label}",
                    sheet=sheet,
                    cell=address,
                    value=quarter.label,
                )
            )
            return None
    return plan


def _by_ref(query: Select, ref: QueryableAttribute[str]) -> tuple[Select, Select]:
    """``query`` for refs as stored (through the unique index) and for refs compared ignoring case and spaces."""
    refs: BindParameter[list[str]] = bindparam("refs", expanding=True)
    return query.where(ref.in_(refs)), query.where(func.upper(func.replace(ref, " ", "")).in_(refs))


_PLANS = select(Plan.id, Plan.ref, Plan.title, Plan.first_year, Plan.last_year).order_by(Plan.first_year)
# Built once: an upload runs these on every ingest, and building a statement costs more than running it.
_ACTIONS_NAMED = _by_ref(
    select(Action.id, Action.ref, Outcome.plan_id, Action.reporting_partner_id)
    .join(Objective, Action.objective_id == Objective.id)
    .join(Outcome, Objective.outcome_id == Outcome.id),
    Action.ref,
)
_INDICATORS_NAMED = _by_ref(
    select(Indicator.id, Indicator.ref, Outcome.plan_id, Indicator.reporting_partner_id).join(
        Outcome, Indicator.outcome_id == Outcome.id
    ),
    Indicator.ref,
)
_EXPECTED_LINES = (
    select(Action.id, Action.ref, func.coalesce(func.nullif(Action.text, ""), Objective.text))
    .join(Objective, Action.objective_id == Objective.id)
    .join(Outcome, Objective.outcome_id == Outcome.id)
    .where(Outcome.plan_id == bindparam("plan_id"), Action.reporting_partner_id == bindparam("partner_id"))
    .order_by(Outcome.position, Objective.position, Action.position, Action.id)
)


def _named(
    session: Session, statements: tuple[Select, Select], refs: Iterable[str], known: Iterable[Named] = ()
) -> dict[str, Named]:
    """{normalised ref: row} of the actions or indicators a workbook names, loading only those, as plain rows.

    Refs as stored are found through the unique index; only refs typed differently (case, spaces) fall back to
    comparing normalised refs in SQL, which reads every ref. Rows of ``known`` stored exactly as normalised are
    what the index would find for their refs, so those refs are not looked up again.
    """
    wanted = {normalise_ref(ref) for ref in refs}
    found = {row.ref: row for row in known if row.ref in wanted and normalise_ref(row.ref) == row.ref}
    connection = session.connection()
    for statement in statements:
        missing = sorted(wanted - found.keys())
        for start in range(0, len(missing), 500):
            rows = connection.execute(statement, {"refs": missing[start : start + 500]}).all()
            found |= {normalise_ref(row[1]): Named(*row) for row in rows}
    return found


def _owner_wording(session: Session, partner_id: int | None) -> str:
    owner = session.get(Partner, partner_id) if partner_id is not None else None
    return f"is reported by {owner.name}" if owner else "is not assigned to any team"


def _check_lines(session: Session, parsed: ParsedReturn, checked: CheckedReturn) -> None:
    sheet = parsed.return_sheet
    problems = checked.problems
    # The team's own lines, read once: to name those the workbook misses, and as the rows its refs usually name.
    expected: list[tuple[int, str, str | None]] = []
    own: list[Named] = []
    if checked.team is not None and checked.plan is not None:
        expected = _expected_lines(session, checked.team, checked.plan)
        own = [Named(action_id, ref, checked.plan.id, checked.team.id) for action_id, ref, _ in expected]
    actions = _named(session, _ACTIONS_NAMED, (line.ref.text for line in parsed.lines if line.ref.text), own)
    seen: dict[int, int] = {}
    # A return repeats a handful of status spellings; each is looked up in the status vocabulary once.
    known_statuses: dict[str, str | None] = {}
    texts = [
        cell.text for line in parsed.lines for cell in (line.progress, line.next_steps, line.risks, line.board_answer)
    ]
    each = find_personal_data_each(texts)
    # Most returns hold no personal data at all: then no cell needs looking at again.
    hits = iter(each) if any(each) else None
    for line in parsed.lines:
        action = _check_line_ref(session, line.ref, line.row, sheet, actions, checked, seen)
        status = _check_status(line.status, line.ref.text, sheet, problems, known_statuses)
        if status in NEEDS_UPDATE and line.progress.address and line.progress.text is None:
            name = action.ref if action else (line.ref.text or f"row {line.row}")
            problems.append(
                Problem(
                    Code.NO_PROGRESS_UPDATE,
                    f"{name} is {status} but has no progress update; say what is being done about it",
                    severity="query",
                    sheet=sheet,
                    cell=line.progress.address,
                )
            )
        if hits is not None:
            for cell in (line.progress, line.next_steps, line.risks, line.board_answer):
                if found := next(hits):
                    _check_personal_data(cell, found, sheet, problems)
        if action is not None and status is not None:
            checked.lines.append(
                CheckedLine(
                    action, status, line.progress.text, line.next_steps.text, line.risks.text, line.board_answer.text
                )
            )
    if any(p.code in ("no-header-row", "missing-column", "ambiguous-column") for p in problems if p.sheet == sheet):
        return
    if checked.team is None or checked.quarter is None or checked.plan is None:
        return
    if expected and not parsed.lines:
        problems.append(
            Problem(
                Code.NO_LINES,
                f"the table has no lines; {checked.team.name} reports {len(expected)} lines in {checked.quarter.label}"
                " — use the template downloaded for this quarter",
                sheet=sheet,
            )
        )
        return
    present = set(seen)
    for action_id, ref, text in expected:
        if action_id not in present:
            problems.append(
                Problem(
                    Code.MISSING_LINE,
                    f"line {ref} ({_short(text)}) is not in the workbook; it will show as 'No return' this quarter",
                    severity="query",
                    sheet=sheet,
                )
            )


def _expected_lines(session: Session, team: TeamRow, plan: PlanRow) -> list[tuple[int, str, str | None]]:
    """(id, ref, text) of the lines the team reports in the plan, in plan order, as plain rows.

    The same lines as :func:`cyp.returns.lines.team_lines`, without building ORM records for every one of them
    when usually none is missing.
    """
    # .all(): one fetchall, where iterating the result fetches row by row.
    rows = session.connection().execute(_EXPECTED_LINES, {"plan_id": plan.id, "partner_id": team.id}).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _short(text: str | None, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _check_line_ref(
    session: Session,
    ref: Cell,
    row: int,
    sheet: str,
    actions: dict[str, Named],
    checked: CheckedReturn,
    seen: dict[int, int],
) -> Named | None:
    problems = checked.problems
    if ref.text is None:
        problems.append(
            Problem(
                Code.MISSING_REF,
                f"row {row} has no Ref; copy the line's ref from the template, or delete the row",
                sheet=sheet,
                cell=ref.address,
            )
        )
        return None
    action = actions.get(normalise_ref(ref.text))
    plan = checked.plan
    if action is None:
        where = f"a line of {plan.title}" if plan else "a known line"
        problems.append(
            Problem(
                Code.UNKNOWN_REF,
                f"'{ref.text}' is not {where}; check the ref against your template",
                sheet=sheet,
                cell=ref.address,
                value=ref.text,
            )
        )
        return None
    if action.id in seen:
        problems.append(
            Problem(
                Code.DUPLICATE_REF,
                f"{action.ref} appears more than once (first in row {seen[action.id]}); keep one row per line",
                sheet=sheet,
                cell=ref.address,
                value=ref.text,
            )
        )
        return None
    seen[action.id] = row
    if plan is not None and checked.quarter is not None and action.plan_id != plan.id:
        action_plan = session.get_one(Plan, action.plan_id)
        problems.append(
            Problem(
                Code.WRONG_PLAN_REF,
                f"{action.ref} is a line of {action_plan.title}, but {checked.quarter.label} is reported against "
                f"{plan.title}; use the template for this quarter",
                sheet=sheet,
                cell=ref.address,
                value=ref.text,
            )
        )
        return None
    team = checked.team
    if team is not None and action.reporting_partner_id != team.id:
        whose = _owner_wording(session, action.reporting_partner_id)
        problems.append(
            Problem(
                Code.NOT_TEAM_LINE,
                f"{action.ref} {whose}, not by {team.name}; delete the row, or ask the plan administrator to "
                "reassign the line",
                sheet=sheet,
                cell=ref.address,
                value=ref.text,
            )
        )
        return None
    return action


def _check_status(
    cell: Cell, ref: str | None, sheet: str, problems: list[Problem], known: dict[str, str | None]
) -> str | None:
    if not cell.address:
        return None  # no status column: already reported once as a missing column
    if cell.text is None:
        problems.append(
            Problem(
                Code.MISSING_STATUS,
                f"no RAG status for {ref or 'this row'}; {CHOOSE_STATUS}",
                sheet=sheet,
                cell=cell.address,
            )
        )
        return None
    if cell.text not in known:
        known[cell.text] = parse_status(cell.text)
    status = known[cell.text]
    if status is None:
        suggestion = suggest_status(cell.text)
        hint = f"did you mean {suggestion}?" if suggestion else CHOOSE_STATUS
        problems.append(
            Problem(
                Code.BAD_STATUS,
                f"'{cell.text}' is not a RAG status; {hint}",
                sheet=sheet,
                cell=cell.address,
                value=cell.text,
            )
        )
    return status


def _masked(hits: list[PersonalDataHit]) -> str:
    """Kinds of hit with just enough of each to find it in the cell: the full text is never echoed back."""
    shown: list[str] = []
    for hit in hits:
        text = f"{hit.kind} '{hit.masked}'"
        if text not in shown:
            shown.append(text)
    return ", ".join(shown)


def _check_personal_data(cell: Cell, hits: list[PersonalDataHit], sheet: str, problems: list[Problem]) -> None:
    """Problems for the personal data ``hits`` found in ``cell`` (:func:`find_personal_data_each`)."""
    if not hits:
        return
    blocking = [hit for hit in hits if hit.blocks]
    if blocking:
        problems.append(
            Problem(
                Code.PERSONAL_DATA,
                f"holds personal data about a child ({_masked(blocking)}); a return must never hold an NHS number, "
                "a unique pupil number or a date of birth: remove it and upload again",
                sheet=sheet,
                cell=cell.address,
            )
        )
    others = [hit for hit in hits if not hit.blocks]
    if others:
        problems.append(
            Problem(
                Code.PERSONAL_DATA,
                f"looks like personal data ({_masked(others)}); remove it, or acknowledge if it is not about a child "
                "or family (such as a service's address)",
                severity="query",
                sheet=sheet,
                cell=cell.address,
            )
        )


def _check_indicators(session: Session, parsed: ParsedReturn, checked: CheckedReturn) -> None:
    sheet = parsed.indicators_sheet
    problems = checked.problems
    # Only the indicators the sheet names, as for lines; none at all when the sheet is empty.
    indicators = _named(session, _INDICATORS_NAMED, (row.ref.text for row in parsed.indicators if row.ref.text))
    seen: dict[int, int] = {}
    hits = iter(find_personal_data_each([row.commentary.text for row in parsed.indicators]))
    for row in parsed.indicators:
        numbers: dict[str, float | None] = {}
        for name, cell in (("value", row.value), ("target", row.target)):
            try:
                numbers[name] = parse_number(cell)
            except ValueError:
                problems.append(
                    Problem(
                        Code.BAD_NUMBER,
                        f"'{cell.text}' is not a number; write a number such as 12, 12% or 1,234",
                        sheet=sheet,
                        cell=cell.address,
                        value=cell.text,
                    )
                )
        _check_personal_data(row.commentary, next(hits), sheet, problems)
        indicator = _check_indicator_ref(session, row.ref, row.row, sheet, indicators, checked, seen)
        if indicator is None or len(numbers) < 2:
            continue
        if numbers["value"] is None and row.commentary.text is None:
            continue  # nothing reported for this indicator this quarter
        checked.indicators.append(CheckedIndicator(indicator, numbers["value"], numbers["target"], row.commentary.text))


def _check_indicator_ref(
    session: Session,
    ref: Cell,
    row: int,
    sheet: str,
    indicators: dict[str, Named],
    checked: CheckedReturn,
    seen: dict[int, int],
) -> Named | None:
    problems = checked.problems
    if ref.text is None:
        problems.append(
            Problem(
                Code.MISSING_REF,
                f"row {row} has no Ref; copy the indicator's ref from the template, or delete the row",
                sheet=sheet,
                cell=ref.address,
            )
        )
        return None
    indicator = indicators.get(normalise_ref(ref.text))
    plan = checked.plan
    if indicator is None or (plan is not None and indicator.plan_id != plan.id):
        where = f"an indicator of {plan.title}" if plan else "a known indicator"
        problems.append(
            Problem(
                Code.UNKNOWN_INDICATOR,
                f"'{ref.text}' is not {where}; check the ref against your template",
                sheet=sheet,
                cell=ref.address,
                value=ref.text,
            )
        )
        return None
    if indicator.id in seen:
        problems.append(
            Problem(
                Code.DUPLICATE_REF,
                f"{indicator.ref} appears more than once (first in row {seen[indicator.id]}); keep one row per "
                "indicator",
                sheet=sheet,
                cell=ref.address,
                value=ref.text,
            )
        )
        return None
    seen[indicator.id] = row
    team = checked.team
    if team is not None and indicator.reporting_partner_id != team.id:
        whose = _owner_wording(session, indicator.reporting_partner_id)
        problems.append(
            Problem(
                Code.NOT_TEAM_INDICATOR,
                f"{indicator.ref} {whose}, not by {team.name}; delete the row",
                sheet=sheet,
                cell=ref.address,
                value=ref.text,
            )
        )
        return None
    return indicator


def required_columns_text() -> str:
    """The Return sheet's required headings, for instructions."""
    return ", ".join(display_name("return_columns", key) for key in ("ref", "status", "progress"))
