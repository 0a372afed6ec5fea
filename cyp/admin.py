"""The plan administrator's writes: deadlines, who reports which line, framework import, demo data.

Each write calls :func:`cyp.access.permissions.require` before it changes anything and adds its audit event to the same
session, so the change and its record are committed (or rolled back) together; the caller owns the
transaction. The pages and the command line both call these functions (the command line as
:data:`cyp.access.permissions.SYSTEM`). Account changes live in :mod:`cyp.access.accounts`; return uploads in
:mod:`cyp.returns.ingest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import BinaryIO

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.demo import DEFAULT_SEED, set_up_demo, tear_down_demo
from cyp.framework.workbook import ImportResult, audit_import, import_framework
from cyp.quarters import Quarter, parse_quarter, plan_quarters
from cyp.returns.lines import require_team
from cyp.storage.config import get_settings
from cyp.storage.models import Action, AuditEvent, Objective, Outcome, Partner, Plan, QuarterDeadline

# Suffix of the ref of the line through which a team reports on a whole objective (``23-FB-1.W``).
WHOLE_OBJECTIVE_SUFFIX = ".W"


class AdminError(ValueError):
    """An administrator's change that cannot be made as asked; the message says why and what to do."""


def _quarter(value: str | Quarter) -> Quarter:
    return value if isinstance(value, Quarter) else parse_quarter(value)


def default_deadline(quarter: Quarter) -> date:
    """The deadline a quarter has without an override: its end plus ``CYP_DEADLINE_DAYS``."""
    return quarter.end + timedelta(days=get_settings().deadline_days)


def set_deadline(session: Session, principal: Principal, quarter: str | Quarter, due: date) -> QuarterDeadline:
    """Set the date by which returns for ``quarter`` are due (replacing any earlier override)."""
    q = _quarter(quarter)
    require(session, principal, "deadline.manage", target=f"deadline:{q.label}")
    if due <= q.end:
        raise AdminError(
            f"A deadline for {q.label} must fall after the quarter ends ({q.end:%d %B %Y}); {due:%d %B %Y} does not."
        )
    record = session.get(QuarterDeadline, q.label)
    before = record.due.isoformat() if record else f"default {default_deadline(q).isoformat()}"
    if record is None:
        record = QuarterDeadline(quarter=q.label, due=due)
        session.add(record)
    else:
        record.due = due
    detail = f"{before} -> {due.isoformat()}"
    audit.record(session, principal.username, "deadline.set", "ok", target=f"deadline:{q.label}", detail=detail)
    return record


def clear_deadline(session: Session, principal: Principal, quarter: str | Quarter) -> bool:
    """Remove the override for ``quarter`` so the default rule applies again; False when there was none."""
    q = _quarter(quarter)
    require(session, principal, "deadline.manage", target=f"deadline:{q.label}")
    record = session.get(QuarterDeadline, q.label)
    if record is None:
        return False
    detail = f"{record.due.isoformat()} -> default {default_deadline(q).isoformat()}"
    session.delete(record)
    session.flush()  # so a second clear in the same transaction finds nothing
    audit.record(session, principal.username, "deadline.clear", "ok", target=f"deadline:{q.label}", detail=detail)
    return True


def deadline_table(session: Session, plan_ref: str) -> pd.DataFrame:
    """Every quarter of a plan with its deadline and whether an administrator set it (newest first)."""
    plan = session.scalar(select(Plan).where(Plan.ref == plan_ref))
    if plan is None:
        raise AdminError(f"There is no plan {plan_ref!r}.")
    overrides = dict(session.execute(select(QuarterDeadline.quarter, QuarterDeadline.due)).all())
    rows = [
        {
            "quarter": q.label,
            "months": q.months,
            "deadline": overrides.get(q.label, default_deadline(q)),
            "set by administrator": q.label in overrides,
        }
        for q in reversed(plan_quarters(plan.first_year, plan.last_year))
    ]
    return pd.DataFrame(rows, columns=["quarter", "months", "deadline", "set by administrator"])


def _line(session: Session, action_ref: str) -> Action:
    action = session.scalar(
        select(Action).options(selectinload(Action.reporting_partner)).where(Action.ref == action_ref.strip())
    )
    if action is None:
        raise AdminError(f"There is no line {action_ref!r}; the Actions sheet of the framework export lists them.")
    return action


def _team(session: Session, team: str | None) -> Partner | None:
    if team is None or not team.strip():
        return None
    try:
        return require_team(session, team)
    except LookupError as exc:
        raise AdminError(str(exc)) from exc


def assign_line(session: Session, principal: Principal, action_ref: str, team: str | None) -> Action:
    """Make ``team`` (a name, ref or variant; None for nobody) the team that reports line ``action_ref``.

    Returns already stored stay with the team that sent them; from now on the line appears in the new team's
    template and submission tracker.
    """
    require(session, principal, "assignment.manage", target=f"line:{action_ref.strip()}")
    action = _line(session, action_ref)
    partner = _team(session, team)
    before = action.reporting_partner.ref if action.reporting_partner else "none"
    action.reporting_partner = partner
    detail = f"reporting team {before} -> {partner.ref if partner else 'none'}"
    audit.record(session, principal.username, "assignment.line", "ok", target=f"line:{action.ref}", detail=detail)
    return action


def whole_objective_ref(objective_ref: str) -> str:
    """The ref of the line through which a team reports on a whole objective."""
    return f"{objective_ref}{WHOLE_OBJECTIVE_SUFFIX}"


def assign_objective(session: Session, principal: Principal, objective_ref: str, team: str) -> Action:
    """Have ``team`` report on the whole objective ``objective_ref`` (the 2023–27 plan gives objectives, no actions).

    Creates the line ``<objective ref>.W`` the first time and changes its team afterwards. An objective that
    already has action lines is refused: its actions are assigned one by one with :func:`assign_line`.
    """
    ref = objective_ref.strip()
    require(session, principal, "assignment.manage", target=f"objective:{ref}")
    objective = session.scalar(select(Objective).where(Objective.ref == ref))
    if objective is None:
        raise AdminError(f"There is no objective {ref!r}; the Objectives sheet of the framework export lists them.")
    partner = _team(session, team)
    if partner is None:
        raise AdminError("Choose the team that reports on the objective.")
    line_ref = whole_objective_ref(objective.ref)
    actions = session.scalar(
        select(func.count(Action.id)).where(
            Action.objective_id == objective.id, Action.whole_objective.is_(False), Action.is_demo.is_(False)
        )
    )
    if actions:
        raise AdminError(
            f"Objective {objective.ref} has {actions} action line{'s' if actions != 1 else ''}; "
            "assign those to teams instead of the whole objective."
        )
    action = session.scalar(select(Action).where(Action.ref == line_ref))
    if action is None:
        position = session.scalar(select(func.max(Action.position)).where(Action.objective_id == objective.id))
        action = Action(
            objective=objective,
            ref=line_ref,
            # As the framework import does: a whole-objective line carries its objective's wording.
            text=objective.text,
            position=(position or 0) + 1,
            whole_objective=True,
            reporting_partner=partner,
            partners=[partner],
        )
        session.add(action)
        detail = f"new whole-objective line; reporting team {partner.ref}"
    else:
        before = action.reporting_partner.ref if action.reporting_partner else "none"
        action.reporting_partner = partner
        action.partners = [partner]
        detail = f"reporting team {before} -> {partner.ref}"
    audit.record(session, principal.username, "assignment.objective", "ok", target=f"line:{line_ref}", detail=detail)
    return action


def line_assignments(session: Session, plan_ref: str) -> pd.DataFrame:
    """Every line of a plan with the team that reports it, in plan order."""
    query = (
        select(
            Action.ref,
            Outcome.name.label("outcome"),
            Objective.ref.label("objective"),
            Action.text,
            Action.whole_objective,
            Partner.name.label("team"),
            Action.is_demo,
        )
        .join(Objective, Objective.id == Action.objective_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
        .outerjoin(Partner, Partner.id == Action.reporting_partner_id)
        .where(Plan.ref == plan_ref)
        .order_by(Outcome.position, Objective.position, Action.position, Action.id)
    )
    columns = ["ref", "outcome", "objective", "line", "whole objective", "team", "demo"]
    return pd.DataFrame(list(session.execute(query)), columns=columns)


def team_choices(session: Session) -> list[tuple[str, str]]:
    """(ref, name) of every team, by name, for the assignment pickers."""
    return [(row.ref, row.name) for row in session.execute(select(Partner.ref, Partner.name).order_by(Partner.name))]


@dataclass(frozen=True)
class ObjectiveChoice:
    """An objective an administrator can assign as a whole, with its current whole-objective team."""

    ref: str
    text: str
    outcome: str
    action_lines: int
    team: str | None


def objective_choices(session: Session, plan_ref: str) -> list[ObjectiveChoice]:
    """The objectives of a plan, each with how many action lines it has and who reports it as a whole."""
    objectives = session.execute(
        select(Objective.id, Objective.ref, Objective.text, Outcome.name)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
        .where(Plan.ref == plan_ref)
        .order_by(Outcome.position, Objective.position)
    ).all()
    counts = dict(
        session.execute(
            select(Action.objective_id, func.count(Action.id))
            .where(Action.whole_objective.is_(False), Action.is_demo.is_(False))
            .group_by(Action.objective_id)
        ).all()
    )
    whole = dict(
        session.execute(
            select(Action.ref, Partner.name).outerjoin(Partner, Partner.id == Action.reporting_partner_id)
        ).all()
    )
    return [
        ObjectiveChoice(ref, text, outcome, counts.get(objective_id, 0), whole.get(whole_objective_ref(ref)))
        for objective_id, ref, text, outcome in objectives
    ]


def import_framework_as(session: Session, principal: Principal, stream: BinaryIO, filename: str) -> ImportResult:
    """Import an edited framework workbook for ``principal``: checked, applied all-or-nothing, audited either way."""
    require(session, principal, "framework.import", target=filename[:200])
    result = import_framework(session, stream)
    audit_import(session, result, actor=principal.username, filename=filename)
    return result


def load_demo(
    session: Session, principal: Principal, seed: int = DEFAULT_SEED
) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    """Generate demo returns and demo accounts (see :func:`cyp.demo.set_up_demo`); returns counts and accounts."""
    require(session, principal, "demo.manage", target="demo data")
    counts, accounts = set_up_demo(session, seed=seed)
    detail = ", ".join(f"{count} {kind}" for kind, count in counts.items()) + f"; {len(accounts)} demo accounts"
    audit.record(session, principal.username, "demo.load", "ok", target="demo data", detail=detail)
    return counts, accounts


def clear_demo_data(session: Session, principal: Principal) -> dict[str, int]:
    """Remove every demo record and demo account (see :func:`cyp.demo.tear_down_demo`); returns what was removed."""
    require(session, principal, "demo.manage", target="demo data")
    counts = tear_down_demo(session)
    detail = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    audit.record(session, principal.username, "demo.clear", "ok", target="demo data", detail=detail)
    return counts


def audit_filter_choices(session: Session) -> dict[str, list[str]]:
    """The actors, actions and outcomes that occur in the audit trail, sorted, for its filters."""
    return {
        column: sorted(session.scalars(select(getattr(AuditEvent, column)).distinct()))
        for column in ("actor", "action", "outcome")
    }
