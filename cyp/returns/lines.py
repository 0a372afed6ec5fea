"""Who reports what: a team's lines and indicators for a quarter, its deadline, its current return."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

# Team lookup and the plan covering a quarter are framework rules (cyp.framework.teams and .plans, so cyp.access
# and cyp.read use them without importing cyp.returns); the names stay importable from here for the returns code.
from cyp.framework.plans import plan_covering, plan_covers, plan_for_quarter, plan_period  # noqa: F401
from cyp.framework.teams import (  # noqa: F401
    TeamRow,
    UnknownTeam,
    find_team,
    find_team_row,
    require_team,
    suggest_team,
    team_names,
)
from cyp.quarters import Quarter
from cyp.storage.config import get_settings
from cyp.storage.models import Action, Indicator, Objective, Outcome, Partner, Plan, QuarterDeadline, Return


class NothingToReport(LookupError):
    """The team has no lines or indicators to report in that quarter's plan."""


def team_lines(session: Session, partner: Partner, plan: Plan) -> list[Action]:
    """The lines the team reports in the plan, in plan order (objective and outcome loaded)."""
    query = (
        select(Action)
        .join(Objective, Action.objective_id == Objective.id)
        .join(Outcome, Objective.outcome_id == Outcome.id)
        .where(Outcome.plan_id == plan.id, Action.reporting_partner_id == partner.id)
        .order_by(Outcome.position, Objective.position, Action.position, Action.id)
        .options(selectinload(Action.objective).selectinload(Objective.outcome))
    )
    return list(session.scalars(query))


def team_indicators(session: Session, partner: Partner, plan: Plan) -> list[Indicator]:
    """The indicators the team reports in the plan, in plan order."""
    query = (
        select(Indicator)
        .join(Outcome, Indicator.outcome_id == Outcome.id)
        .where(Outcome.plan_id == plan.id, Indicator.reporting_partner_id == partner.id)
        .order_by(Outcome.position, Indicator.position, Indicator.id)
    )
    return list(session.scalars(query))


def line_text(action: Action) -> str:
    """What the Action column shows: the action, or a note that the whole objective is the line."""
    if action.whole_objective:
        return action.text or "(the whole objective)"
    return action.text


def deadline_for(session: Session, quarter: Quarter) -> date:
    """The quarter's deadline: an administrator's override, else quarter end plus ``CYP_DEADLINE_DAYS``."""
    override = session.get(QuarterDeadline, quarter.label)
    if override is not None:
        return override.due
    return quarter.end + timedelta(days=get_settings().deadline_days)


def current_return(session: Session, partner: Partner, quarter_label: str) -> Return | None:
    """The team's current return version for a quarter, with its line updates and indicator values."""
    return session.scalar(
        select(Return)
        .where(Return.partner_id == partner.id, Return.quarter == quarter_label, Return.is_current)
        .options(selectinload(Return.line_updates), selectinload(Return.indicator_values))
    )
