"""Read the plan framework back from the database for pages, exports and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from cyp.read import queries
from cyp.storage.models import (
    Action,
    Driver,
    IndexDomain,
    Indicator,
    IndicatorDomain,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Partner,
    Plan,
    action_bodies,
    action_partners,
)


def plan_summaries(session: Session) -> pd.DataFrame:
    """One row per plan: ref, title, period, whether current, and counts of what it holds."""
    objectives = (
        select(Outcome.plan_id, func.count(Objective.id).label("objectives"))
        .join(Objective, Objective.outcome_id == Outcome.id)
        .group_by(Outcome.plan_id)
        .subquery()
    )
    outcomes = select(Outcome.plan_id, func.count(Outcome.id).label("outcomes")).group_by(Outcome.plan_id).subquery()
    actions = (
        select(Outcome.plan_id, func.count(Action.id).label("actions"))
        .join(Objective, Objective.outcome_id == Outcome.id)
        .join(Action, Action.objective_id == Objective.id)
        .group_by(Outcome.plan_id)
        .subquery()
    )
    indicators = (
        select(Outcome.plan_id, func.count(Indicator.id).label("indicators"))
        .join(Indicator, Indicator.outcome_id == Outcome.id)
        .group_by(Outcome.plan_id)
        .subquery()
    )
    query = (
        select(
            Plan.ref,
            Plan.title,
            Plan.first_year,
            Plan.last_year,
            Plan.is_current,
            func.coalesce(outcomes.c.outcomes, 0).label("outcomes"),
            func.coalesce(objectives.c.objectives, 0).label("objectives"),
            func.coalesce(actions.c.actions, 0).label("actions"),
            func.coalesce(indicators.c.indicators, 0).label("indicators"),
        )
        .outerjoin(outcomes, outcomes.c.plan_id == Plan.id)
        .outerjoin(objectives, objectives.c.plan_id == Plan.id)
        .outerjoin(actions, actions.c.plan_id == Plan.id)
        .outerjoin(indicators, indicators.c.plan_id == Plan.id)
        .order_by(Plan.is_current.desc(), Plan.first_year.desc())
    )
    frame = pd.DataFrame(session.execute(query).mappings().all())
    if not frame.empty:
        frame["period"] = frame.apply(lambda r: f"{r.first_year}–{r.last_year + 1}", axis=1)
    return frame


def plan_refs(session: Session) -> list[str]:
    """Plan refs, the current plan first."""
    return list(session.scalars(select(Plan.ref).order_by(Plan.is_current.desc(), Plan.first_year.desc())))


def current_plan_ref(session: Session) -> str | None:
    """The ref of the plan marked current, if any."""
    return session.scalar(select(Plan.ref).where(Plan.is_current))


@dataclass(frozen=True)
class PlanChoices:
    """What the view filters can be set to within one plan, as (ref, label) pairs in plan or name order."""

    title: str
    first_year: int
    last_year: int
    outcomes: tuple[tuple[str, str], ...]
    objectives: tuple[tuple[str, str, str], ...]  # (ref, text, outcome ref)
    teams: tuple[tuple[str, str], ...]
    bodies: tuple[tuple[str, str], ...]
    drivers: tuple[tuple[str, str], ...]


def plan_choices(session: Session, plan_ref: str) -> PlanChoices | None:
    """The plan's outcomes, objectives, drivers, and the teams and monitoring bodies named on its lines.

    A handful of SQL queries: loading the whole tree of a plan with thousands of lines only to list them costs
    a first page view half a second at council scale.
    """
    plan = session.execute(
        select(Plan.id, Plan.title, Plan.first_year, Plan.last_year).where(Plan.ref == plan_ref)
    ).first()
    if plan is None:
        return None
    plan_actions = queries.plan_action_ids(plan_ref)
    named_partners = select(action_partners.c.partner_id).where(action_partners.c.action_id.in_(plan_actions))
    reporting_partners = select(Action.reporting_partner_id).where(Action.id.in_(plan_actions))
    teams = (
        select(Partner.ref, Partner.name)
        .where(or_(Partner.id.in_(named_partners), Partner.id.in_(reporting_partners)))
        .order_by(Partner.name, Partner.ref)
    )
    bodies = (
        select(MonitoringBody.ref, MonitoringBody.name)
        .where(
            MonitoringBody.id.in_(select(action_bodies.c.body_id).where(action_bodies.c.action_id.in_(plan_actions)))
        )
        .order_by(MonitoringBody.name, MonitoringBody.ref)
    )
    objectives = (
        select(Objective.ref, Objective.text, Outcome.ref)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .where(Outcome.plan_id == plan.id)
        .order_by(Outcome.position, Objective.position)
    )

    def pairs(statement: Select) -> tuple:  # type: ignore[type-arg]
        return tuple(tuple(row) for row in session.execute(statement))

    return PlanChoices(
        title=plan.title,
        first_year=plan.first_year,
        last_year=plan.last_year,
        outcomes=pairs(select(Outcome.ref, Outcome.name).where(Outcome.plan_id == plan.id).order_by(Outcome.position)),
        objectives=pairs(objectives),
        teams=pairs(teams),
        bodies=pairs(bodies),
        drivers=pairs(select(Driver.ref, Driver.name).where(Driver.plan_id == plan.id).order_by(Driver.position)),
    )


def load_plan_tree(session: Session, plan_ref: str, *, actions: bool = True) -> Plan | None:
    """A plan with its outcomes, objectives, indicators and drivers loaded, and unless ``actions`` is False its
    actions with their partners, bodies and drivers (at council scale, thousands: see :func:`plan_actions`)."""
    objectives = selectinload(Plan.outcomes).selectinload(Outcome.objectives)
    options = [
        objectives.selectinload(Objective.actions).options(
            selectinload(Action.partners), selectinload(Action.bodies), selectinload(Action.drivers)
        )
        if actions
        else objectives,
        selectinload(Plan.outcomes).selectinload(Outcome.indicators),
        selectinload(Plan.drivers),
    ]
    return session.scalar(select(Plan).where(Plan.ref == plan_ref).options(*options))


def plan_actions(session: Session, plan_ref: str) -> pd.DataFrame:
    """Every action of a plan in plan order, as plain rows: objective_ref, ref, action, responsible, monitored_by.

    Responsible and monitored_by are "; "-separated names in the order the plan gives them.
    """

    def names_by_line(statement: Select) -> dict[int, list[str]]:
        names: dict[int, list[str]] = {}
        for action_id, name in session.execute(statement):
            names.setdefault(action_id, []).append(name)
        return names

    partners = names_by_line(queries.line_teams(plan_ref))
    bodies = names_by_line(queries.line_bodies(plan_ref))
    return pd.DataFrame(
        [
            (
                line.objective_ref,
                line.ref,
                line.action,
                "; ".join(partners.get(line.action_id, [])),
                "; ".join(bodies.get(line.action_id, [])),
            )
            for line in session.execute(queries.plan_lines(plan_ref))
        ],
        columns=["objective_ref", "ref", "action", "responsible", "monitored_by"],
    )


def domain_mappings(session: Session) -> pd.DataFrame:
    """Every index-domain mapping: domain, kind (objective/indicator), ref, text, plan and reason."""
    objective_rows = session.execute(
        select(
            IndexDomain.ref.label("domain_ref"),
            IndexDomain.name.label("domain"),
            Objective.ref,
            Objective.text,
            Plan.ref.label("plan"),
            ObjectiveDomain.reason,
        )
        .join(ObjectiveDomain, ObjectiveDomain.domain_id == IndexDomain.id)
        .join(Objective, Objective.id == ObjectiveDomain.objective_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
    ).mappings()
    indicator_rows = session.execute(
        select(
            IndexDomain.ref.label("domain_ref"),
            IndexDomain.name.label("domain"),
            Indicator.ref,
            Indicator.name.label("text"),
            Plan.ref.label("plan"),
            IndicatorDomain.reason,
        )
        .join(IndicatorDomain, IndicatorDomain.domain_id == IndexDomain.id)
        .join(Indicator, Indicator.id == IndicatorDomain.indicator_id)
        .join(Outcome, Outcome.id == Indicator.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
    ).mappings()
    frame = pd.DataFrame(
        [{**row, "kind": "Objective"} for row in objective_rows]
        + [{**row, "kind": "Indicator"} for row in indicator_rows],
        columns=["domain_ref", "domain", "kind", "ref", "text", "plan", "reason"],
    )
    return frame.sort_values(["domain_ref", "kind", "ref"]).reset_index(drop=True)


def index_domains(session: Session) -> list[IndexDomain]:
    """The nine Family Friendly Index domains in order."""
    return list(session.scalars(select(IndexDomain).order_by(IndexDomain.position)))
