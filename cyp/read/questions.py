"""Board questions as the read side sees them: the open ones of a line, a team's template, the pack and the display.

A question stays open until the team's return for a later quarter answers it in the "Answer to the board" column,
or an administrator closes it with a reason. Questions are board business: nothing here feeds the young people's
summary or the public API. They are asked and closed by :mod:`cyp.cycle.questions` and answered by an upload
(:mod:`cyp.returns.answers`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cyp.quarters import parse_quarter, today
from cyp.storage.models import Action, BoardQuestion, Objective, Outcome, Partner, Plan


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
