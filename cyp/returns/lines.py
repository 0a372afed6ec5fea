"""Who reports what: a team's lines and indicators for a quarter, its deadline, its current return."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session, selectinload

from cyp.quarters import Quarter
from cyp.spelling import closest
from cyp.storage.config import get_settings
from cyp.storage.models import Action, Indicator, Objective, Outcome, Partner, Plan, QuarterDeadline, Return


class UnknownTeam(LookupError):
    """No team matches the name or ref given; the message suggests the closest."""


class NothingToReport(LookupError):
    """The team has no lines or indicators to report in that quarter's plan."""


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("&", "and"))


def team_names(partner: Partner) -> list[str]:
    """Every way a team may be written: name, ref and recorded variants."""
    variants = [v for v in (partner.variants or "").split("|") if v.strip()]
    return [partner.name, partner.ref, *variants]


class TeamRow(NamedTuple):
    """A team as one plain row: what checking and storing a return need of it."""

    id: int
    ref: str
    name: str


# Built once: every upload looks its team up.
_TEAM_NAMED_EXACTLY = (
    select(Partner.id, Partner.ref, Partner.name)
    .where(or_(Partner.ref == bindparam("text"), Partner.name == bindparam("text")))
    .order_by(Partner.id)
    .limit(1)
)


def find_team_row(session: Session, text: str) -> TeamRow | None:
    """Like :func:`find_team`, as a plain row (no ORM record is built when the name is written exactly)."""
    if not _squash(text):
        return None
    # The template writes the team's exact name (and its ref): looked up directly before comparing every spelling.
    exact = session.connection().execute(_TEAM_NAMED_EXACTLY, {"text": text.strip()}).first()
    if exact is not None:
        return TeamRow(*exact)
    wanted = _squash(text)
    for partner in session.scalars(select(Partner).order_by(Partner.id)):
        if any(_squash(name) == wanted for name in team_names(partner)):
            return TeamRow(partner.id, partner.ref, partner.name)
    return None


def find_team(session: Session, text: str) -> Partner | None:
    """The team named, by name, ref or a recorded variant, ignoring case, spacing and punctuation."""
    row = find_team_row(session, text)
    return session.get(Partner, row.id) if row is not None else None


def suggest_team(session: Session, text: str) -> str | None:
    """The name of the team closest to ``text``, for a did-you-mean."""
    names = {
        _squash(name): partner.name for partner in session.scalars(select(Partner)) for name in team_names(partner)
    }
    close = closest(_squash(text), names)
    return names[close] if close else None


def require_team(session: Session, text: str) -> Partner:
    """Like :func:`find_team` but raising :class:`UnknownTeam` with a did-you-mean."""
    partner = find_team(session, text)
    if partner is None:
        suggestion = suggest_team(session, text)
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        raise UnknownTeam(f"'{text}' is not a known team{hint}")
    return partner


def financial_year(quarter: Quarter) -> int:
    """The calendar year in which the quarter's financial year starts (2025 for 2025-26 Q3)."""
    return quarter.start.year if quarter.start.month >= 4 else quarter.start.year - 1


def plan_for_quarter(session: Session, quarter: Quarter) -> Plan | None:
    """The plan whose period covers the quarter (the later one if two overlap)."""
    return plan_covering(session.scalars(select(Plan)), quarter)


def plan_covering(plans: Iterable[Plan], quarter: Quarter) -> Plan | None:
    """Of ``plans`` already loaded, the one whose period covers the quarter (the later one if two overlap)."""
    year = financial_year(quarter)
    covering = [plan for plan in plans if plan.first_year <= year <= plan.last_year]
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


def latest_version(session: Session, partner: Partner, quarter_label: str) -> int:
    """The highest version number stored for the team and quarter (0 when none)."""
    return (
        session.scalar(
            select(func.max(Return.version)).where(Return.partner_id == partner.id, Return.quarter == quarter_label)
        )
        or 0
    )
