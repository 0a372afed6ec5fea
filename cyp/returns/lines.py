"""Who reports what: a team's lines and indicators for a quarter, its deadline, its current return."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cyp.quarters import Quarter

# Team lookup lives in cyp.read.teams (so cyp.access can use it without importing cyp.returns); the names stay
# importable from here for the returns code that has always found them here.
from cyp.read.teams import (  # noqa: F401
    TeamRow,
    UnknownTeam,
    find_team,
    find_team_row,
    require_team,
    suggest_team,
    team_names,
)
from cyp.storage.config import get_settings
from cyp.storage.models import Action, Indicator, Objective, Outcome, Partner, Plan, QuarterDeadline, Return


class NothingToReport(LookupError):
    """The team has no lines or indicators to report in that quarter's plan."""


def plan_for_quarter(session: Session, quarter: Quarter) -> Plan | None:
    """The plan whose period covers the quarter (the later one if two overlap)."""
    return plan_covering(session.scalars(select(Plan)), quarter)


def plan_covers(plan: Plan, quarter: Quarter) -> bool:
    """Whether the plan's period (financial years ``first_year`` to ``last_year``) includes the quarter."""
    return plan.first_year <= quarter.year <= plan.last_year


def plan_covering(plans: Iterable[Plan], quarter: Quarter) -> Plan | None:
    """Of ``plans`` already loaded, the one whose period covers the quarter (the later one if two overlap)."""
    covering = [plan for plan in plans if plan_covers(plan, quarter)]
    return max(covering, key=lambda plan: plan.first_year, default=None)


def plan_period(plan: Plan) -> str:
    """A plan's period as quarter labels, e.g. "2019-20 Q1 to 2022-23 Q4"."""
    first, last = plan.first_year, plan.last_year
    return f"{first}-{(first + 1) % 100:02d} Q1 to {last}-{(last + 1) % 100:02d} Q4"


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
