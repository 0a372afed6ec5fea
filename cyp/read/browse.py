"""Read the plan framework back from the database for pages, exports and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from cyp.quarters import Quarter, current_quarter, quarter_range
from cyp.read import queries
from cyp.read.reports import UnknownPlan, quarters_with_returns
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import load_data_file
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

OUTCOME_TERMS = PROJECT_ROOT / "data" / "outcome-terms.yaml"


def outcomes_label(plan_ref: str) -> str:
    """What the pages call the top level of this plan ("Outcomes" or "Outcomes / themes"): data/outcome-terms.yaml."""
    labels = load_data_file(OUTCOME_TERMS)["outcomes"]
    return str(labels.get(plan_ref, labels["default"]))


def plan_summaries(session: Session) -> pd.DataFrame:
    """One row per plan: ref, title, period, whether current, counts of what it holds, and ``outcomes_label``."""
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
        frame["outcomes_label"] = frame["ref"].map(outcomes_label)
    return frame


def plan_list(session: Session) -> list[tuple[str, str, bool]]:
    """(ref, title, is current) per plan, the current plan first."""
    return [(row.ref, row.title, bool(row.is_current)) for row in session.execute(queries.plans_in_order())]


def plan_refs(session: Session) -> list[str]:
    """Plan refs, the current plan first."""
    return [ref for ref, _title, _current in plan_list(session)]


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


def _outcomes_and_objectives(
    session: Session, plan_id: int
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    outcomes = select(Outcome.ref, Outcome.name).where(Outcome.plan_id == plan_id).order_by(Outcome.position)
    objectives = (
        select(Objective.ref, Objective.text, Outcome.ref)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .where(Outcome.plan_id == plan_id)
        .order_by(Outcome.position, Objective.position)
    )
    return (
        tuple((ref, name) for ref, name in session.execute(outcomes)),
        tuple((ref, text, parent) for ref, text, parent in session.execute(objectives)),
    )


def plan_outcomes_and_objectives(
    session: Session, plan_ref: str
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]] | None:
    """The plan's outcomes as (ref, name) and objectives as (ref, text, outcome ref), in plan order, as in
    :func:`plan_choices` without its teams, bodies and drivers; None for an unknown plan."""
    plan_id = session.scalar(select(Plan.id).where(Plan.ref == plan_ref))
    return None if plan_id is None else _outcomes_and_objectives(session, plan_id)


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

    def pairs(statement: Select) -> tuple:
        return tuple(tuple(row) for row in session.execute(statement))

    outcomes, objectives = _outcomes_and_objectives(session, plan.id)
    return PlanChoices(
        title=plan.title,
        first_year=plan.first_year,
        last_year=plan.last_year,
        outcomes=outcomes,
        objectives=objectives,
        teams=pairs(teams),
        bodies=pairs(bodies),
        drivers=pairs(select(Driver.ref, Driver.name).where(Driver.plan_id == plan.id).order_by(Driver.position)),
    )


@dataclass(frozen=True)
class FilterOptions:
    """What each view filter can be set to within one plan: (value, label) pairs, plain data so it caches."""

    plan_title: str
    quarters: tuple[str, ...]  # newest first, up to the current quarter
    quarters_with_returns: tuple[str, ...]
    outcomes: tuple[tuple[str, str], ...]
    objectives: tuple[tuple[str, str, str], ...]  # (ref, text, outcome ref)
    teams: tuple[tuple[str, str], ...]
    bodies: tuple[tuple[str, str], ...]
    domains: tuple[tuple[str, str], ...]
    drivers: tuple[tuple[str, str], ...]


def filter_options(session: Session, plan_ref: str) -> FilterOptions:
    """Every value each view filter can take within a plan, with readable labels; raises :class:`UnknownPlan`.

    The quarters are the plan's own, newest first, stopping at the current quarter (no view of the future).
    """
    plan = plan_choices(session, plan_ref)
    if plan is None:
        raise UnknownPlan(f"There is no plan '{plan_ref}'.")
    last = min(Quarter(plan.last_year, 4), current_quarter())
    return FilterOptions(
        plan_title=plan.title,
        quarters=tuple(q.label for q in reversed(quarter_range(Quarter(plan.first_year, 1), last))),
        quarters_with_returns=tuple(q.label for q in quarters_with_returns(session, plan_ref)),
        outcomes=plan.outcomes,
        objectives=plan.objectives,
        teams=plan.teams,
        bodies=plan.bodies,
        domains=tuple((d.ref, d.short_name) for d in index_domains(session)),
        drivers=plan.drivers,
    )


@dataclass(frozen=True)
class OutcomeOutline:
    """One outcome of a plan as plain data: its objectives as (ref, text) and its indicators' baselines."""

    ref: str
    name: str
    group: str | None
    description: str | None
    objectives: tuple[tuple[str, str], ...]
    indicators: tuple[dict[str, str | None], ...]  # Ref, Indicator, Baseline (None if not given), When, Better when


@dataclass(frozen=True)
class PlanOutline:
    """A plan's framework without its actions, as plain data (for a page to cache and show)."""

    ref: str
    title: str
    first_year: int
    last_year: int
    vision: str | None
    drivers: tuple[tuple[str, str], ...]  # (ref, name)
    outcomes: tuple[OutcomeOutline, ...]


def plan_outline(session: Session, plan_ref: str) -> PlanOutline | None:
    """The plan's outcomes, objectives, indicators and drivers as plain data, or None for an unknown plan."""
    plan = load_plan_tree(session, plan_ref, actions=False)
    if plan is None:
        return None
    return PlanOutline(
        ref=plan.ref,
        title=plan.title,
        first_year=plan.first_year,
        last_year=plan.last_year,
        vision=plan.vision,
        drivers=tuple((driver.ref, driver.name) for driver in plan.drivers),
        outcomes=tuple(
            OutcomeOutline(
                ref=outcome.ref,
                name=outcome.name,
                group=outcome.group,
                description=outcome.description,
                objectives=tuple((objective.ref, objective.text) for objective in outcome.objectives),
                indicators=tuple(
                    {
                        "Ref": indicator.ref,
                        "Indicator": indicator.name,
                        "Baseline": indicator.baseline_text,
                        "When": indicator.baseline_period or "",
                        "Better when": indicator.polarity or "not stated",
                    }
                    for indicator in outcome.indicators
                ),
            )
            for outcome in plan.outcomes
        ),
    )


def line_info(session: Session, line_ref: str) -> dict[str, str] | None:
    """A line's framework context (plan, outcome, objective, action, teams, bodies) as text, or None for an unknown
    ref. ``teams`` names the responsible partners, or the reporting team where the plan names none."""
    action = session.scalar(queries.line_by_ref(line_ref))
    if action is None:
        return None
    objective = action.objective
    outcome = objective.outcome
    return {
        "ref": action.ref,
        "action": action.text or objective.text,
        "whole_objective": str(action.whole_objective),
        "objective_ref": objective.ref,
        "objective": objective.text,
        "outcome_ref": outcome.ref,
        "outcome": outcome.name,
        "plan": outcome.plan.ref,
        "plan_title": outcome.plan.title,
        "teams": "; ".join(p.name for p in action.partners)
        or (action.reporting_partner.name if action.reporting_partner else ""),
        "bodies": "; ".join(b.name for b in action.bodies),
        "is_demo": str(action.is_demo),
    }


# Said wherever the index mapping is shown (pages, board pack PDF and Excel): the plan does not make it.
INDEX_MAPPING_NOTE = (
    "Which objectives and indicators count towards each Family Friendly Index domain is this project's judgement, "
    "not part of the plan: the plan names the nine domains but does not map its objectives to them. An "
    "administrator can change the mapping (data/framework/index-mapping.csv, or the framework workbook)."
)
# Said beside the team of a line the demo generator made up (the 2023-27 plan names no teams), wherever it shows.
DEMO_ASSIGNMENT = "demo assignment"


def domain_indicators(session: Session, plan_ref: str) -> tuple[tuple[str, str], ...]:
    """(indicator ref, domain ref) for every indicator of the plan mapped to a Family Friendly Index domain."""
    frame = domain_mappings(session)
    indicators = frame[(frame["kind"] == "Indicator") & (frame["plan"] == plan_ref)]
    return tuple(zip(indicators["ref"], indicators["domain_ref"], strict=True))


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
    """Every action of a plan in plan order, as plain rows: objective_ref, ref, action, responsible, monitored_by,
    is_demo.

    Responsible and monitored_by are "; "-separated names in the order the plan gives them; ``is_demo`` marks a line
    (and so its team) made up by the demo generator, which pages must label as demo.
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
                bool(line.is_demo),
            )
            for line in session.execute(queries.plan_lines(plan_ref))
        ],
        columns=["objective_ref", "ref", "action", "responsible", "monitored_by", "is_demo"],
    )


def domain_mappings(session: Session, plan_ref: str | None = None) -> pd.DataFrame:
    """Every index-domain mapping (of one plan's objectives and indicators, given ``plan_ref``): domain, kind
    (objective/indicator), ref, text, plan and reason.

    The mapping is the project's judgement (data/framework/index-mapping.csv), not part of either plan.
    """
    in_plan = (Plan.ref == plan_ref) if plan_ref is not None else true()
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
        .where(in_plan)
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
        .where(in_plan)
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
