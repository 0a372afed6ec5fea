"""Read the plan framework back from the database for pages, exports and the CLI."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cyp.models import (
    Action,
    IndexDomain,
    Indicator,
    IndicatorDomain,
    Objective,
    ObjectiveDomain,
    Outcome,
    Plan,
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


def load_plan_tree(session: Session, plan_ref: str) -> Plan | None:
    """A plan with its outcomes, objectives, actions (partners, bodies, drivers) and indicators loaded."""
    return session.scalar(
        select(Plan)
        .where(Plan.ref == plan_ref)
        .options(
            selectinload(Plan.outcomes)
            .selectinload(Outcome.objectives)
            .selectinload(Objective.actions)
            .options(selectinload(Action.partners), selectinload(Action.bodies), selectinload(Action.drivers)),
            selectinload(Plan.outcomes).selectinload(Outcome.indicators),
            selectinload(Plan.drivers),
        )
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
