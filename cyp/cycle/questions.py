"""Board questions: what the board asks about a line, carried into the team's next template until answered.

A viewer or the chair records a question (or an action) against a line for the quarter the board was reviewing.
It stays open until the team's return for a later quarter answers it in the "Answer to the board" column, or an
administrator closes it with a reason. Questions are board business: nothing here feeds the young people's
summary or the public API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.quarters import QuarterError, parse_quarter, today
from cyp.returns.reader import display_name
from cyp.storage.models import Action, BoardQuestion, Objective, Outcome, Partner, Plan, utcnow

KINDS = ("question", "action")
MAX_TEXT = 2000
ASKED_WIDTH = 45
ANSWER_WIDTH = 50
ASKED_FILL = PatternFill("solid", fgColor="DDEBF7")


class QuestionError(ValueError):
    """A question that cannot be recorded or closed as asked; the message says what to change."""


@dataclass(frozen=True)
class QuestionRow:
    """One board question as plain data, for a line's card, the exceptions page, the display and the pack."""

    id: int
    line_ref: str
    line: str
    outcome_ref: str
    outcome: str
    team: str | None
    quarter: str
    kind: str
    text: str
    asked_by: str
    asked_at: datetime
    due_by: date | None
    is_open: bool
    answer: str | None
    closed_by: str | None
    closed_at: datetime | None
    close_reason: str | None

    @property
    def overdue(self) -> bool:
        """Open and past its due date."""
        return self.is_open and self.due_by is not None and self.due_by < today()


def _clean_text(text: str, what: str) -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise QuestionError(f"The {what} is empty; write what the board wants to know.")
    if len(cleaned) > MAX_TEXT:
        raise QuestionError(f"The {what} is {len(cleaned)} characters long; keep it under {MAX_TEXT}.")
    return cleaned


def ask_question(
    session: Session,
    principal: Principal,
    line_ref: str,
    quarter: str,
    text: str,
    *,
    kind: str = "question",
    due_by: date | None = None,
) -> BoardQuestion:
    """Record a board question or action against a line for a quarter; audited. Never commits."""
    require(session, principal, "question.ask", target=f"line:{line_ref}")
    if kind not in KINDS:
        raise QuestionError(f"{kind!r} is not a kind of board item; choose question or action.")
    try:
        label = parse_quarter(quarter).label
    except QuarterError as error:
        raise QuestionError(str(error)) from None
    action = session.scalar(select(Action).where(Action.ref == line_ref.strip()))
    if action is None:
        raise QuestionError(f"There is no line {line_ref.strip()!r}; give a line ref such as 23-FB-1.1.")
    question = BoardQuestion(
        action_id=action.id,
        quarter=label,
        kind=kind,
        text=_clean_text(text, kind),
        asked_by=principal.username,
        asked_at=utcnow(),
        due_by=due_by,
    )
    session.add(question)
    session.flush()
    detail = f"{kind} for {label}" + (f", due by {due_by.isoformat()}" if due_by else "") + f": {question.text}"
    audit.record(
        session, principal.username, "question.ask", "ok", target=f"question:{question.id} {action.ref}", detail=detail
    )
    return question


def close_question(session: Session, principal: Principal, question_id: int, reason: str) -> BoardQuestion:
    """An administrator closes an open question with a reason (e.g. answered at the meeting); audited."""
    require(session, principal, "question.close", target=f"question:{question_id}")
    question = session.get(BoardQuestion, question_id)
    if question is None:
        raise QuestionError(f"There is no board question {question_id}; `python -m cyp question list` shows them.")
    if question.closed_at is not None:
        raise QuestionError(f"Board question {question_id} is already closed ({question.close_reason or 'answered'}).")
    question.close_reason = _clean_text(reason, "reason")
    question.closed_by = principal.username
    question.closed_at = utcnow()
    audit.record(
        session,
        principal.username,
        "question.close",
        "ok",
        target=f"question:{question_id}",
        detail=question.close_reason,
    )
    return question


def _rows_query() -> Select:
    return (
        select(
            BoardQuestion, Action.ref, Action.text, Action.whole_objective, Objective.text, Outcome.ref, Outcome.name
        )
        .add_columns(Partner.name)
        .join(Action, Action.id == BoardQuestion.action_id)
        .join(Objective, Objective.id == Action.objective_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
        .outerjoin(Partner, Partner.id == Action.reporting_partner_id)
        .order_by(Outcome.position, Objective.position, Action.position, BoardQuestion.asked_at, BoardQuestion.id)
    )


def list_questions(
    session: Session,
    *,
    open_only: bool = True,
    quarter: str | None = None,
    line_ref: str | None = None,
    outcome_ref: str | None = None,
    plan_ref: str | None = None,
    team_ref: str | None = None,
) -> list[QuestionRow]:
    """Board questions in plan order (open ones only by default), narrowed by quarter, line, outcome, plan or team."""
    query = _rows_query()
    if open_only:
        query = query.where(BoardQuestion.closed_at.is_(None))
    if quarter:
        query = query.where(BoardQuestion.quarter == parse_quarter(quarter).label)
    if line_ref:
        query = query.where(Action.ref == line_ref)
    if outcome_ref:
        query = query.where(Outcome.ref == outcome_ref)
    if plan_ref:
        query = query.where(Plan.ref == plan_ref)
    if team_ref:
        query = query.where(Partner.ref == team_ref)
    rows = []
    for question, ref, action_text, whole, objective_text, o_ref, o_name, team in session.execute(query):
        rows.append(
            QuestionRow(
                id=question.id,
                line_ref=ref,
                line=objective_text if whole or not action_text else action_text,
                outcome_ref=o_ref,
                outcome=o_name,
                team=team,
                quarter=question.quarter,
                kind=question.kind,
                text=question.text,
                asked_by=question.asked_by,
                asked_at=question.asked_at,
                due_by=question.due_by,
                is_open=question.closed_at is None,
                answer=question.answer,
                closed_by=question.closed_by,
                closed_at=question.closed_at,
                close_reason=question.close_reason,
            )
        )
    return rows


def questions_for_template(session: Session, partner_id: int, quarter_label: str) -> dict[int, list[BoardQuestion]]:
    """{action id: open questions} on the team's lines asked about quarters before ``quarter_label``."""
    query = (
        select(BoardQuestion)
        .join(Action, Action.id == BoardQuestion.action_id)
        .where(
            Action.reporting_partner_id == partner_id,
            BoardQuestion.closed_at.is_(None),
            BoardQuestion.quarter < quarter_label,
        )
        .order_by(BoardQuestion.asked_at, BoardQuestion.id)
    )
    found: dict[int, list[BoardQuestion]] = defaultdict(list)
    for question in session.scalars(query):
        found[question.action_id].append(question)
    return dict(found)


def asked_text(questions: Sequence[BoardQuestion]) -> str:
    """What the template's "Board asked" cell says: each question with its quarter and due date."""
    parts = []
    for question in questions:
        due = f", due by {question.due_by.day} {question.due_by:%b %Y}" if question.due_by else ""
        kind = "Action" if question.kind == "action" else "Question"
        parts.append(f"{kind} ({question.quarter}{due}): {question.text}")
    return "\n".join(parts)


def write_board_columns(
    sheet: Worksheet,
    questions: dict[int, list[BoardQuestion]],
    lines: Sequence[Action],
    header_row: int,
    first_column: int,
    header_style: tuple[Font, PatternFill],
    input_cell: Callable[[Cell | MergedCell], None],
) -> bool:
    """Add "Board asked" (locked) and "Answer to the board" (input) columns when any line has an open question.

    ``input_cell(cell)`` styles an input the way the template does. Returns whether the columns were added.
    """
    if not any(action.id in questions for action in lines):
        return False
    asked_column, answer_column = first_column, first_column + 1
    for column, key, width in (
        (asked_column, "board_asked", ASKED_WIDTH),
        (answer_column, "board_answer", ANSWER_WIDTH),
    ):
        cell = sheet.cell(row=header_row, column=column, value=display_name("return_columns", key))
        cell.font, cell.fill = header_style
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, action in enumerate(lines, start=header_row + 1):
        asked = questions.get(action.id)
        if not asked:
            continue
        cell = sheet.cell(row=row, column=asked_column, value=asked_text(asked))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = ASKED_FILL
        input_cell(sheet.cell(row=row, column=answer_column))
    return True


def record_answers(
    session: Session, return_id: int, quarter_label: str, answers: Iterable[tuple[int, str | None]], answered_by: str
) -> int:
    """Close the open questions on each line a return answers (asked before its quarter); audited. Never commits.

    ``answers`` are (action id, answer text); blank answers leave the questions open. Returns how many closed.
    """
    given = {action_id: " ".join(text.split()) for action_id, text in answers if text and text.strip()}
    if not given:
        return 0
    open_questions = session.scalars(
        select(BoardQuestion).where(
            BoardQuestion.action_id.in_(list(given)),
            BoardQuestion.closed_at.is_(None),
            BoardQuestion.quarter < quarter_label,
        )
    )
    closed = 0
    now = utcnow()
    for question in open_questions:
        question.answer = given[question.action_id]
        question.answer_return_id = return_id
        question.closed_by = answered_by[:200]
        question.closed_at = now
        audit.record(
            session, answered_by, "question.answer", "ok", target=f"question:{question.id}", detail=question.answer
        )
        closed += 1
    return closed
