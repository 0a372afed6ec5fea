"""Write a checked framework workbook's plan (cyp/framework/diff.py) to the database.

Records are upserted by ref, each line's partners, bodies and drivers set in order, the index
mapping brought in line, and records the workbook no longer lists removed (children first). Only
runs after the checker and :func:`cyp.framework.diff.removal_problems` found nothing wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from cyp.framework.diff import Planned, Sheets
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
from cyp.storage import models

# Records one row of a sheet added, updated or removed (ImportResult.count).
Counter = Callable[[str, str], None]


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
    moving: list[Any] = [
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
    rows: Any = session.execute(
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
    for indicator_link in session.scalars(select(models.IndicatorDomain)):
        links[("indicator", indicator_link.indicator.ref, indicator_link.domain.ref)] = indicator_link
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
