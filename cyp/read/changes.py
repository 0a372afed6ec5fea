"""What changed since last quarter, per outcome and for the whole plan: plain data for the display and the pack.

Status changes compare the update that counts for each line in the quarter with the one in the quarter before
("No return" when there was none); a new Red is a line Red now and not Red before; a line recovered was Red or
Amber and is now Green or Blue; questions answered are board questions closed by a return for the quarter.
Commentary is not part of it: these are facts about statuses and questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.quarters import Quarter, parse_quarter
from cyp.read import queries
from cyp.read.questions import QuestionRow, list_questions
from cyp.status import NO_RETURN
from cyp.storage.models import BoardQuestion, Return

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
    session: Session, plan_ref: str, quarter: Quarter | str, *, signed_off_only: bool = False
) -> PlanChanges:
    """Status changes, new Reds, lines recovered and questions answered, per outcome of the plan, against the
    quarter before. ``signed_off_only`` compares signed-off data (sign-off switched on)."""
    current = quarter if isinstance(quarter, Quarter) else parse_quarter(quarter)
    previous = current.previous()
    before = {
        row.ref: row.status
        for row in session.execute(queries.line_status_rows(plan_ref, previous.label, signed_off_only=signed_off_only))
    }
    outcomes: dict[str, OutcomeChanges] = {}
    for row in session.execute(queries.line_status_rows(plan_ref, current.label, signed_off_only=signed_off_only)):
        entry = outcomes.setdefault(row.outcome_ref, OutcomeChanges(row.outcome_ref, row.outcome))
        was = before.get(row.ref, NO_RETURN)
        if was == row.status:
            continue
        line = row.objective if row.whole_objective or not row.action else row.action
        change = LineChange(row.ref, line, row.reporting_team, was, row.status)
        entry.status_changes.append(change)
        if row.status == "Red":
            entry.new_reds.append(change)
        if was in RECOVERED_FROM and row.status in RECOVERED_TO:
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
    return PlanChanges(plan_ref, current.label, previous.label, list(outcomes.values()))
