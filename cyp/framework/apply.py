"""Apply a checked framework workbook to the database: the diff by ref, upserts, links, removals.

Everything here runs after the checker found no error. Records are matched by ref; a record the
workbook no longer lists is removed, unless history (returns, line updates, indicator values,
accounts) depends on it, which :func:`removal_problems` reports before anything is applied.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from cyp.framework.layout import (
    ACTIONS,
    BODIES,
    DOMAINS,
    DRIVERS,
    INDICATORS,
    MAPPING,
    OBJECTIVES,
    OUTCOMES,
    PARTNERS,
    PLANS,
    split_variants,
)
from cyp.framework.model import Framework
from cyp.framework.names import Lookup, Lookups, lookups
from cyp.problems import Code, Problem
from cyp.storage import models

Counter = Callable[[str, str], None]


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


def _quirks(quirks: tuple[str, ...]) -> str | None:
    return "\n".join(quirks) or None


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
                "quirks": _quirks(a.quirks),
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
                    "quirks": _quirks(o.quirks),
                },
                o.plan,
            )
            for o in data.outcomes
        },
        OBJECTIVES.name: {
            o.ref or "": Planned({"position": o.position, "text": o.text, "quirks": _quirks(o.quirks)}, o.outcome)
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
                    "quirks": _quirks(i.quirks),
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
        rows = session.execute(select(model.id, model.ref))
        gone = {model_id: ref for model_id, ref in rows if ref not in plan[sheet]}
        for model_id, count in sorted(_count_by(session, column, list(gone)).items(), key=lambda item: gone[item[0]]):
            message = (
                f"The {label} {gone[model_id]} is missing from the sheet but has {count} {what}; "
                "removing it would orphan that history. Put its row back."
            )
            found.append(Problem(Code.REMOVED_WITH_HISTORY, message, sheet=sheet, value=gone[model_id]))
    return found


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, str) or isinstance(new, str):
        return (old or "").replace("\r\n", "\n").strip() == (new or "").replace("\r\n", "\n").strip()
    if isinstance(old, float | int) and isinstance(new, float | int) and not isinstance(old, bool):
        return float(old) == float(new)
    if old is None or new is None:
        return old is new
    return old is new or old == new


def _assign(record: Any, values: dict[str, Any]) -> bool:
    """Set each attribute that differs (ignoring stray spaces); True if any did."""
    changed = False
    for name, value in values.items():
        if not _same(getattr(record, name), value):
            setattr(record, name, value)
            changed = True
    return changed


def _positions(records: dict[str, Planned], existing: dict[str, Any]) -> None:
    """Fill blank Order cells: an existing row keeps its place, a new row goes last under its parent."""
    highest: dict[str | None, int] = defaultdict(lambda: 0)
    for ref, record in records.items():
        position = record.values["position"]
        if position is None and ref in existing:
            position = record.values["position"] = existing[ref].position
        if position is not None:
            highest[record.parent] = max(highest[record.parent], position)
    for record in records.values():
        if record.values["position"] is None:
            highest[record.parent] += 1
            record.values["position"] = highest[record.parent]


def _free_names(session: Session, model: Any, records: dict[str, Planned]) -> None:
    """Give renamed and departing rows a placeholder name first, so swapped or reused names do not collide."""
    moving = [
        record
        for record in session.scalars(select(model))
        if record.ref not in records or not _same(record.name, records[record.ref].values["name"])
    ]
    for record in moving:
        record.name = f"(renaming {record.ref})"
    if moving:
        session.flush()


def _values(record: Planned, current: Any, parent_attr: str | None, parents: dict[str, Any] | None) -> dict[str, Any]:
    values = dict(record.values)
    if parent_attr and parents is not None:
        values[parent_attr] = parents[record.parent or ""]
    if "variants" in values:
        # Stored "a|b" and typed "a; b" are the same list: only a different list is a change.
        same = current is not None and split_variants(current.variants) == values["variants"]
        values["variants"] = current.variants if same else ("|".join(values["variants"]) or None)
    return values


def _upsert(
    session: Session,
    count: Counter,
    touched: set[tuple[str, str]],
    sheet: str,
    model: Any,
    records: dict[str, Planned],
    parent: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Add or update every record of one sheet by ref; returns every database record of the sheet by ref."""
    existing = {record.ref: record for record in session.scalars(select(model))}
    if "position" in model.__table__.c:
        _positions(records, existing)
    parent_attr, parents = parent if parent else (None, None)
    for ref, record in records.items():
        values = _values(record, existing.get(ref), parent_attr, parents)
        if ref in existing:
            if _assign(existing[ref], values):
                count(sheet, "updated")
                touched.add((sheet, ref))
        else:
            existing[ref] = model(ref=ref, **values)
            session.add(existing[ref])
            count(sheet, "added")
            touched.add((sheet, ref))
    return existing


def _link_ids(session: Session, table: Any, key: str) -> dict[int, list[int]]:
    """Action id -> ordered target ids, in the order the export lists them."""
    model = models.Partner if table is models.action_partners else models.MonitoringBody
    rows = session.execute(
        select(table.c.action_id, model.id)
        .join(model, model.id == table.c[key])
        .order_by(table.c.action_id, table.c.position, model.name)
    )
    ids: dict[int, list[int]] = defaultdict(list)
    for action_id, target_id in rows:
        ids[action_id].append(target_id)
    return ids


def _set_links(session: Session, lines: dict[str, Planned], stored: dict[str, dict[str, Any]]) -> set[str]:
    """Set each line's partners, bodies (in order) and drivers; returns the refs of lines that changed."""
    changed: set[str] = set()
    now = {
        "partners": _link_ids(session, models.action_partners, "partner_id"),
        "bodies": _link_ids(session, models.action_bodies, "body_id"),
    }
    tables = {
        "partners": (models.action_partners, "partner_id", PARTNERS.name),
        "bodies": (models.action_bodies, "body_id", BODIES.name),
    }
    for ref, record in lines.items():
        line = stored[ACTIONS.name][ref]
        for kind, (table, key, sheet) in tables.items():
            wanted = [stored[sheet][r].id for r in record.lists[kind]]
            if wanted != now[kind].get(line.id, []):
                session.execute(delete(table).where(table.c.action_id == line.id))
                if wanted:
                    rows = [{"action_id": line.id, key: target, "position": i} for i, target in enumerate(wanted)]
                    session.execute(insert(table), rows)
                changed.add(ref)
        drivers = [stored[DRIVERS.name][r] for r in record.lists["drivers"]]
        if {d.id for d in line.drivers} != {d.id for d in drivers}:
            line.drivers = drivers
            changed.add(ref)
        if ref in changed:
            session.expire(line, ["partners", "bodies"])
    return changed


def _set_mappings(
    session: Session, mappings: dict[tuple[str, str, str], str], stored: dict[str, dict[str, Any]], count: Counter
) -> None:
    links: dict[tuple[str, str, str], Any] = {}
    for link in session.scalars(select(models.ObjectiveDomain)):
        links[("objective", link.objective.ref, link.domain.ref)] = link
    for link in session.scalars(select(models.IndicatorDomain)):
        links[("indicator", link.indicator.ref, link.domain.ref)] = link
    for key, reason in mappings.items():
        kind, ref, domain_ref = key
        domain = stored[DOMAINS.name][domain_ref]
        if key in links:
            if _assign(links[key], {"reason": reason}):
                count(MAPPING.name, "updated")
        elif kind == "objective":
            session.add(models.ObjectiveDomain(objective=stored[OBJECTIVES.name][ref], domain=domain, reason=reason))
            count(MAPPING.name, "added")
        else:
            session.add(models.IndicatorDomain(indicator=stored[INDICATORS.name][ref], domain=domain, reason=reason))
            count(MAPPING.name, "added")
    for key, link in links.items():
        if key not in mappings:
            session.delete(link)
            count(MAPPING.name, "removed")


# Children before parents, so a removal never leaves a row pointing at nothing.
REMOVAL_ORDER = (INDICATORS, ACTIONS, OBJECTIVES, OUTCOMES, DRIVERS, PLANS, DOMAINS, BODIES, PARTNERS)


def apply_framework(session: Session, plan: Sheets, mappings: dict[tuple[str, str, str], str], count: Counter) -> None:
    """Upsert every planned record by ref, set line partners, bodies and drivers, then remove what is gone."""
    touched: set[tuple[str, str]] = set()
    stored: dict[str, dict[str, Any]] = {}
    _free_names(session, models.Partner, plan[PARTNERS.name])
    _free_names(session, models.MonitoringBody, plan[BODIES.name])
    for spec, model, parent in (
        (PARTNERS, models.Partner, None),
        (BODIES, models.MonitoringBody, None),
        (DOMAINS, models.IndexDomain, None),
        (PLANS, models.Plan, None),
        (DRIVERS, models.Driver, ("plan", PLANS)),
        (OUTCOMES, models.Outcome, ("plan", PLANS)),
        (OBJECTIVES, models.Objective, ("outcome", OUTCOMES)),
        (ACTIONS, models.Action, ("objective", OBJECTIVES)),
        (INDICATORS, models.Indicator, ("outcome", OUTCOMES)),
    ):
        if spec in (ACTIONS, INDICATORS):
            for record in plan[spec.name].values():
                reporting = record.reporting
                record.values["reporting_partner"] = stored[PARTNERS.name][reporting] if reporting else None
        links = (parent[0], stored[parent[1].name]) if parent else None
        stored[spec.name] = _upsert(session, count, touched, spec.name, model, plan[spec.name], links)
    session.flush()
    for ref in _set_links(session, plan[ACTIONS.name], stored):
        # A line already counted as added or updated is one change, not two.
        if (ACTIONS.name, ref) not in touched:
            count(ACTIONS.name, "updated")
    _set_mappings(session, mappings, stored, count)
    session.flush()
    for spec in REMOVAL_ORDER:
        for ref, record in stored[spec.name].items():
            if ref not in plan[spec.name]:
                session.delete(record)
                count(spec.name, "removed")
        session.flush()
