"""What changed since last quarter, per outcome and for the whole plan: plain data for the display and the pack.

Status changes compare the update that counts for each line in the quarter with the one in the quarter before
("No return" when there was none); a new Red is a line Red now and not Red before; a line recovered was Red or
Amber and is now Green or Blue; questions answered are board questions closed by a return for the quarter.
Commentary is not part of it: these are facts about statuses and questions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cyp.quarters import Quarter, parse_quarter
from cyp.read import queries
from cyp.read.questions import QuestionRow, list_questions
from cyp.status import NO_RETURN
from cyp.storage.models import BoardQuestion, Outcome, Return

if TYPE_CHECKING:
    import pandas as pd

RECOVERED_FROM = ("Red", "Amber")
RECOVERED_TO = ("Green", "Blue")


@dataclass(frozen=True)
class LineChange:
    """One line whose status is not what it was last quarter."""

    ref: str
    line: str
    team: str | None
    before: str
    after: str


@dataclass
class OutcomeChanges:
    """What changed in one outcome (theme) between two quarters."""

    outcome_ref: str
    outcome: str
    status_changes: list[LineChange] = field(default_factory=list)
    new_reds: list[LineChange] = field(default_factory=list)
    recovered: list[LineChange] = field(default_factory=list)
    questions_answered: list[QuestionRow] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        """Whether anything changed in this outcome."""
        return bool(self.status_changes or self.questions_answered)


@dataclass
class PlanChanges:
    """What changed across a plan between ``previous`` and ``quarter``, outcome by outcome in plan order."""

    plan_ref: str
    quarter: str
    previous: str
    outcomes: list[OutcomeChanges]

    @property
    def status_changes(self) -> list[LineChange]:
        """Every line whose status changed, in plan order."""
        return [change for outcome in self.outcomes for change in outcome.status_changes]

    @property
    def new_reds(self) -> list[LineChange]:
        """Every line that became Red."""
        return [change for outcome in self.outcomes for change in outcome.new_reds]

    @property
    def recovered(self) -> list[LineChange]:
        """Every line that went from Red or Amber to Green or Blue."""
        return [change for outcome in self.outcomes for change in outcome.recovered]

    @property
    def questions_answered(self) -> list[QuestionRow]:
        """Every board question answered by this quarter's returns."""
        return [question for outcome in self.outcomes for question in outcome.questions_answered]

    def outcome(self, outcome_ref: str) -> OutcomeChanges:
        """The changes of one outcome, by ref."""
        return next(item for item in self.outcomes if item.outcome_ref == outcome_ref)


def changes_since_last_quarter(
    session: Session,
    plan_ref: str,
    quarter: Quarter | str,
    *,
    signed_off_only: bool = False,
    outcome_ref: str | None = None,
) -> PlanChanges:
    """Status changes, new Reds, lines recovered and questions answered, per outcome of the plan, against the
    quarter before. ``signed_off_only`` compares signed-off data (sign-off switched on); ``outcome_ref`` reads only
    that outcome's lines (its changes are the same; the other outcomes are left out)."""
    current = quarter if isinstance(quarter, Quarter) else parse_quarter(quarter)
    previous = current.previous()

    def in_outcome(statement: Select) -> Select:
        return statement.where(Outcome.ref == outcome_ref) if outcome_ref is not None else statement

    # On the session's connection: plain rows, without the ORM's result handling (see cyp.read.reports).
    connection = session.connection()
    previous_lines = queries.line_status_by_ref(plan_ref, previous.label, signed_off_only=signed_off_only)
    before = dict(connection.execute(in_outcome(previous_lines)).all())
    rows = connection.execute(
        in_outcome(queries.line_status_rows(plan_ref, current.label, signed_off_only=signed_off_only))
    ).all()
    lines = (
        (
            row.ref,
            row.status,
            before.get(row.ref, NO_RETURN),
            row.outcome_ref,
            row.outcome,
            _line_text(row),
            row.reporting_team,
        )
        for row in rows
    )
    return _plan_changes(session, plan_ref, current, lines)


def changes_from_lines(
    session: Session, plan_ref: str, quarter: Quarter | str, lines: pd.DataFrame, *, signed_off_only: bool = False
) -> PlanChanges:
    """:func:`changes_since_last_quarter` from the quarter's :func:`cyp.read.reports.line_statuses` of the whole plan
    (unfiltered, counted with the same ``signed_off_only``), already read: its ``previous_status`` column holds
    last quarter's statuses, so the two quarters' lines are not read again.

    Where that column is empty (the quarter before is outside the plan), it falls back to reading both quarters.
    """
    current = quarter if isinstance(quarter, Quarter) else parse_quarter(quarter)
    if lines.empty or lines["previous_status"].isna().all():
        return changes_since_last_quarter(session, plan_ref, current, signed_off_only=signed_off_only)
    before = dict(zip(lines["ref"].tolist(), lines["previous_status"].tolist(), strict=True))
    records = zip(
        *(lines[column].tolist() for column in ("ref", "status", "outcome_ref", "outcome", "objective", "action")),
        lines["whole_objective"].tolist(),
        lines["reporting_team"].tolist(),
        strict=True,
    )
    rows = (
        (
            ref,
            status,
            was if isinstance(was := before.get(ref), str) else NO_RETURN,
            outcome_ref,
            outcome,
            objective if whole or not action else action,
            team,
        )
        for ref, status, outcome_ref, outcome, objective, action, whole, team in records
    )
    return _plan_changes(session, plan_ref, current, rows)


def _line_text(row: Any) -> str:
    return row.objective if row.whole_objective or not row.action else row.action


def _plan_changes(session: Session, plan_ref: str, current: Quarter, lines: Iterable[tuple[Any, ...]]) -> PlanChanges:
    # ``lines``: (ref, status now, status last quarter, outcome ref, outcome, line text, reporting team), plan order.
    outcomes: dict[str, OutcomeChanges] = {}
    for ref, status, was, outcome_ref, outcome_name, line, team in lines:
        entry = outcomes.setdefault(outcome_ref, OutcomeChanges(outcome_ref, outcome_name))
        if was == status:
            continue
        change = LineChange(ref, line, team, was, status)
        entry.status_changes.append(change)
        if status == "Red":
            entry.new_reds.append(change)
        if was in RECOVERED_FROM and status in RECOVERED_TO:
            entry.recovered.append(change)
    answered_ids = set(
        session.scalars(
            select(BoardQuestion.id)
            .join(Return, Return.id == BoardQuestion.answer_return_id)
            .where(Return.quarter == current.label)
        )
    )
    if answered_ids:
        for question in list_questions(session, open_only=False, plan_ref=plan_ref):
            if question.id in answered_ids and question.outcome_ref in outcomes:
                outcomes[question.outcome_ref].questions_answered.append(question)
    return PlanChanges(plan_ref, current.label, current.previous().label, list(outcomes.values()))
