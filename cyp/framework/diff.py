"""What a checked framework workbook would change: its records as database values, by sheet and ref.

The import computes this before writing anything: the planned records, the planned index mapping, and
the removals it must refuse because history (returns, line updates, indicator values, accounts) depends
on the record. cyp/framework/apply.py then writes the plan.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cyp.framework.layout import ACTIONS, BODIES, DOMAINS, DRIVERS, INDICATORS, OBJECTIVES, OUTCOMES, PARTNERS, PLANS
from cyp.framework.model import Framework, stored_quirks
from cyp.framework.names import Lookup, Lookups, lookups
from cyp.problems import Code, Problem
from cyp.storage import models


@dataclass
class Planned:
    """What one record should look like in the database: its column values, parent ref and links by ref."""

    values: dict[str, Any]
    parent: str | None = None
    reporting: str | None = None
    lists: dict[str, list[str]] = field(default_factory=dict)


Sheets = dict[str, dict[str, Planned]]


def with_former_names(session: Session, data: Framework) -> Framework:
    """``data`` with each partner's and body's current database name known as a former name.

    So a team renamed on its own sheet still matches the lines that name it the old way.
    """
    former = {
        kind: dict(session.execute(select(model.ref, model.name)).all())
        for kind, model in (("partners", models.Partner), ("bodies", models.MonitoringBody))
    }
    return dataclasses.replace(
        data,
        partners=tuple(
            dataclasses.replace(p, former_names=(former["partners"][p.ref],))
            if p.ref in former["partners"] and p.name
            else p
            for p in data.partners
        ),
        bodies=tuple(
            dataclasses.replace(b, former_names=(former["bodies"][b.ref],))
            if b.ref in former["bodies"] and b.name
            else b
            for b in data.bodies
        ),
    )


def _resolved(lookup: Lookup, typed: tuple[str, ...]) -> list[str]:
    """The refs of the names typed, each once, in the order typed (the checker made sure all resolve)."""
    return list(dict.fromkeys(ref for name in typed if (ref := lookup.find(name)) is not None))


def _lines(data: Framework, names: Lookups) -> dict[str, Planned]:
    planned = {}
    for a in data.actions:
        drivers = names.drivers_of(data.plan_of_objective(a.objective))
        planned[a.ref or ""] = Planned(
            {
                "position": a.position,
                "text": a.text,
                "whole_objective": a.whole_objective,
                "quirks": stored_quirks(a.quirks),
                "is_demo": a.demo,
            },
            a.objective,
            names.partners.find(a.reporting) if a.reporting else None,
            {
                "partners": _resolved(names.partners, a.responsible),
                "bodies": _resolved(names.bodies, a.monitoring),
                "drivers": _resolved(drivers, a.drivers) if drivers else [],
            },
        )
    return planned


def planned(data: Framework) -> Sheets:
    """The records of a checked framework as database values, by sheet and ref."""
    names = lookups(data)
    return {
        PLANS.name: {
            p.ref or "": Planned(
                {
                    "title": p.title,
                    "first_year": p.first_year,
                    "last_year": p.last_year,
                    "is_current": p.current,
                    "vision": p.vision,
                    "source": p.document,
                }
            )
            for p in data.plans
        },
        PARTNERS.name: {
            p.ref or "": Planned({"name": p.name, "variants": list(p.variants), "is_demo": p.demo})
            for p in data.partners
        },
        BODIES.name: {b.ref or "": Planned({"name": b.name, "variants": list(b.variants)}) for b in data.bodies},
        DOMAINS.name: {
            d.ref or "": Planned({"position": d.position, "short_name": d.short_name, "name": d.name})
            for d in data.domains
        },
        DRIVERS.name: {
            d.ref or "": Planned({"position": d.position, "name": d.name, "description": d.description}, d.plan)
            for d in data.drivers
        },
        OUTCOMES.name: {
            o.ref or "": Planned(
                {
                    "position": o.position,
                    "name": o.name,
                    "group": o.group,
                    "description": o.description,
                    "quirks": stored_quirks(o.quirks),
                },
                o.plan,
            )
            for o in data.outcomes
        },
        OBJECTIVES.name: {
            o.ref or "": Planned({"position": o.position, "text": o.text, "quirks": stored_quirks(o.quirks)}, o.outcome)
            for o in data.objectives
        },
        ACTIONS.name: _lines(data, names),
        INDICATORS.name: {
            i.ref or "": Planned(
                {
                    "position": i.position,
                    "name": i.name,
                    "unit": i.unit,
                    "polarity": i.polarity,
                    "baseline_value": i.baseline,
                    "baseline_text": i.baseline_text,
                    "baseline_period": i.period,
                    "target": i.target,
                    "tolerance": i.tolerance,
                    "quirks": stored_quirks(i.quirks),
                },
                i.outcome,
                names.partners.find(i.reporting) if i.reporting else None,
            )
            for i in data.indicators
        },
    }


def planned_mappings(data: Framework) -> dict[tuple[str, str, str], str]:
    """The index mapping of a checked framework: (kind, ref, domain ref) -> reason."""
    names = lookups(data)
    found = {}
    for m in data.mappings:
        lookup = names.objectives if m.kind == "objective" else names.indicators
        ref, domain = lookup.find(m.ref or ""), names.domains.find(m.domain or "")
        if m.kind and ref and domain:
            found[(m.kind, ref, domain)] = m.reason or ""
    return found


def _count_by(session: Session, column: Any, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
    return {key: count for key, count in rows}


def removal_problems(session: Session, plan: Sheets) -> list[Problem]:
    """Refuse to remove what history depends on: reported lines and indicators, teams with returns or users."""
    found: list[Problem] = []
    checks = (
        (models.Action, ACTIONS.name, models.LineUpdate.action_id, "line", "quarterly updates in returns"),
        (
            models.Indicator,
            INDICATORS.name,
            models.IndicatorValue.indicator_id,
            "indicator",
            "reported values in returns",
        ),
        (models.Partner, PARTNERS.name, models.Return.partner_id, "partner", "returns submitted"),
        (models.Partner, PARTNERS.name, models.user_teams.c.partner_id, "partner", "user accounts in the team"),
        (models.Plan, PLANS.name, models.Return.plan_id, "plan", "returns against it"),
    )
    for model, sheet, column, label, what in checks:
        rows: Any = session.execute(select(model.id, model.ref))
        gone = {model_id: ref for model_id, ref in rows if ref not in plan[sheet]}
        for model_id, count in sorted(_count_by(session, column, list(gone)).items(), key=lambda item: gone[item[0]]):
            message = (
                f"The {label} {gone[model_id]} is missing from the sheet but has {count} {what}; "
                "removing it would orphan that history. Put its row back."
            )
            found.append(Problem(Code.REMOVED_WITH_HISTORY, message, sheet=sheet, value=gone[model_id]))
    return found
