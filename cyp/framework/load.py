"""Load the plan framework files into the database without overwriting anything already there.

Records are matched by ref. A plan not yet in the database is inserted whole (outcomes, objectives,
actions, indicators, drivers and their index mappings); a plan already there is left exactly as it is,
because an administrator may have edited it through the workbook import and those edits win. Partners,
monitoring bodies and index domains missing by ref are added. A mapping is added together with the
objective, indicator or domain it links; a default mapping the administrator removed from records that
were already loaded is not brought back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cyp.framework.checks import check_framework
from cyp.framework.files import FrameworkFileError, read_framework
from cyp.framework.model import Body, Framework, Partner, stored_quirks
from cyp.framework.model import Plan as PlanData
from cyp.problems import errors
from cyp.storage import models
from cyp.storage.config import get_settings

COUNT_KINDS = (
    "plans",
    "outcomes",
    "objectives",
    "actions",
    "indicators",
    "drivers",
    "partners",
    "monitoring bodies",
    "index domains",
    "objective mappings",
    "indicator mappings",
)


def _checked(value: str | None, what: str) -> str:
    """A field :func:`check_framework` requires (it refuses a record without it), for data that passed the check."""
    if value is None:
        raise ValueError(f"{what} is missing: load_framework takes only data that passed check_framework")
    return value


_Named = TypeVar("_Named", models.Partner, models.MonitoringBody)


def _add_named(
    session: Session, model: type[_Named], entries: Sequence[Partner | Body]
) -> tuple[dict[str, _Named], int]:
    """Add entries missing by ref (and by name, which is unique too); return every entry by file name."""
    existing = {row.ref: row for row in session.scalars(select(model))}
    names = {row.name for row in existing.values()}
    by_name: dict[str, _Named] = {}
    inserted = 0
    for entry in entries:
        ref, name = _checked(entry.ref, "a ref"), _checked(entry.name, f"the name of {entry.ref}")
        row = existing.get(ref)
        if row is None and name not in names:
            row = model(ref=ref, name=name, variants="|".join(entry.variants) or None)
            session.add(row)
            existing[ref] = row
            names.add(name)
            inserted += 1
        if row is None:
            # Same name under another ref: the administrator's record stands in for the file's.
            row = next(r for r in existing.values() if r.name == name)
        by_name[name] = row
    return by_name, inserted


def _insert_plan(
    session: Session,
    data: Framework,
    plan: PlanData,
    partners: dict[str, models.Partner],
    bodies: dict[str, models.MonitoringBody],
    make_current: bool,
    counts: Counter[str],
) -> tuple[dict[str, models.Objective], dict[str, models.Indicator]]:
    ordered_actions: list[models.Action] = []
    row = models.Plan(
        ref=plan.ref,
        title=plan.title,
        first_year=plan.first_year,
        last_year=plan.last_year,
        is_current=make_current,
        vision=plan.vision,
        source=plan.document,
    )
    drivers = data.drivers_of(plan.ref)
    row.drivers = [
        models.Driver(ref=d.ref, name=d.name, description=d.description, position=d.position) for d in drivers
    ]
    drivers_by_name = {d.name: d_row for d, d_row in zip(drivers, row.drivers, strict=True)}
    objectives: dict[str, models.Objective] = {}
    indicators: dict[str, models.Indicator] = {}
    for outcome in data.outcomes_of(plan.ref):
        outcome_row = models.Outcome(
            ref=outcome.ref,
            name=outcome.name,
            description=outcome.description,
            group=outcome.group,
            position=outcome.position,
            quirks=stored_quirks(outcome.quirks),
        )
        for objective in data.objectives_of(outcome.ref):
            objective_row = models.Objective(
                ref=objective.ref,
                text=objective.text,
                position=objective.position,
                quirks=stored_quirks(objective.quirks),
            )
            for action in data.actions_of(objective.ref):
                responsible = [partners[name] for name in action.responsible]
                action_row = models.Action(
                    ref=action.ref,
                    text=action.text,
                    position=action.position,
                    quirks=stored_quirks(action.quirks),
                    partners=responsible,
                    bodies=[bodies[name] for name in action.monitoring],
                    # The first partner named reports the line, unless the file names who does.
                    reporting_partner=partners[action.reporting] if action.reporting else responsible[0],
                    drivers=[drivers_by_name[name] for name in action.drivers],
                )
                objective_row.actions.append(action_row)
                ordered_actions.append(action_row)
                counts["actions"] += 1
            outcome_row.objectives.append(objective_row)
            objectives[objective_row.ref] = objective_row
            counts["objectives"] += 1
        for indicator in data.indicators_of(outcome.ref):
            indicator_row = models.Indicator(
                ref=indicator.ref,
                name=indicator.name,
                unit=indicator.unit,
                polarity=indicator.polarity,
                baseline_value=indicator.baseline,
                baseline_text=indicator.baseline_text,
                baseline_period=indicator.period,
                reporting_partner=partners[indicator.reporting] if indicator.reporting else None,
                position=indicator.position,
                quirks=stored_quirks(indicator.quirks),
            )
            outcome_row.indicators.append(indicator_row)
            indicators[indicator_row.ref] = indicator_row
            counts["indicators"] += 1
        row.outcomes.append(outcome_row)
        counts["outcomes"] += 1
    session.add(row)
    counts["plans"] += 1
    counts["drivers"] += len(drivers)
    session.flush()
    store_link_order(session, ordered_actions)
    return objectives, indicators


def load_framework(session: Session, data: Framework) -> dict[str, int]:
    """Insert whatever of ``data`` is not yet in the database, matched by ref; never updates or deletes, never commits.

    Returns how many records of each kind were inserted (every count is zero when run a second time).
    Expects data that passed :func:`check_framework`.
    """
    counts: Counter[str] = Counter()
    partners, counts["partners"] = _add_named(session, models.Partner, data.partners)
    bodies, counts["monitoring bodies"] = _add_named(session, models.MonitoringBody, data.bodies)

    domains = {row.ref: row for row in session.scalars(select(models.IndexDomain))}
    new_domains: set[str] = set()
    for position, domain in enumerate(data.domains, 1):
        ref = _checked(domain.ref, "an index domain's ref")
        if ref not in domains:
            domains[ref] = models.IndexDomain(
                ref=ref, name=domain.name, short_name=domain.short_name, position=position
            )
            session.add(domains[ref])
            new_domains.add(ref)
    counts["index domains"] = len(new_domains)

    present = set(session.scalars(select(models.Plan.ref)))
    has_current = session.scalar(select(models.Plan.id).where(models.Plan.is_current)) is not None
    new_objectives: dict[str, models.Objective] = {}
    new_indicators: dict[str, models.Indicator] = {}
    for plan in data.plans:
        if plan.ref in present:
            continue
        # Never take "current" away from a plan already in the database.
        make_current = plan.current and not has_current
        objectives, indicators = _insert_plan(session, data, plan, partners, bodies, make_current, counts)
        has_current = has_current or plan.current
        new_objectives |= objectives
        new_indicators |= indicators
    session.flush()

    _add_mappings(session, data, domains, new_domains, new_objectives, new_indicators, counts)
    session.flush()
    return {kind: counts[kind] for kind in COUNT_KINDS}


def _add_mappings(
    session: Session,
    data: Framework,
    domains: dict[str, models.IndexDomain],
    new_domains: set[str],
    new_objectives: dict[str, models.Objective],
    new_indicators: dict[str, models.Indicator],
    counts: Counter[str],
) -> None:
    objectives = dict(new_objectives)
    indicators = dict(new_indicators)
    if new_domains:
        # A new domain brings its mappings to records that were already loaded as well.
        objectives |= {row.ref: row for row in session.scalars(select(models.Objective))}
        indicators |= {row.ref: row for row in session.scalars(select(models.Indicator))}
    links: dict[
        str,
        tuple[
            type[models.ObjectiveDomain] | type[models.IndicatorDomain],
            Mapping[str, models.Objective | models.Indicator],
            Collection[str],
        ],
    ] = {
        "objective": (models.ObjectiveDomain, objectives, new_objectives),
        "indicator": (models.IndicatorDomain, indicators, new_indicators),
    }
    existing = {
        ("objective", record_id, domain_id)
        for record_id, domain_id in session.execute(
            select(models.ObjectiveDomain.objective_id, models.ObjectiveDomain.domain_id)
        )
    } | {
        ("indicator", record_id, domain_id)
        for record_id, domain_id in session.execute(
            select(models.IndicatorDomain.indicator_id, models.IndicatorDomain.domain_id)
        )
    }
    for mapping in data.mappings:
        kind = _checked(mapping.kind, "a mapping's kind")
        model, records, new_records = links[kind]
        if mapping.ref is None or mapping.domain is None:
            continue
        domain = domains.get(mapping.domain)
        record = records.get(mapping.ref)
        if domain is None or record is None or not (mapping.ref in new_records or mapping.domain in new_domains):
            continue
        key = (kind, record.id, domain.id)
        if key in existing:
            continue
        session.add(model(**{kind: record}, domain=domain, reason=mapping.reason))
        existing.add(key)
        counts[f"{kind} mappings"] += 1


def seed_framework(session: Session, directory: Path | None = None) -> dict[str, int]:
    """Read, check and load the framework files (default folder: ``CYP_FRAMEWORK_DIR``); never commits.

    Raises FrameworkFileError for a malformed file, or listing every problem if the check finds errors.
    """
    directory = Path(directory) if directory is not None else get_settings().framework_dir
    data = read_framework(directory)
    problems = errors(check_framework(data))
    if problems:
        raise FrameworkFileError(
            f"the framework files have {len(problems)} problem(s); nothing was loaded",
            path=directory,
            problems=problems,
        )
    return load_framework(session, data)


def store_link_order(session: Session, actions: list[models.Action]) -> None:
    """Record the source order of each action's partners and bodies (the ORM relationship does not).

    The first partner named is the lead; monitoring bodies are listed as the plan lists them.
    """
    for action in actions:
        for position, partner in enumerate(action.partners):
            session.execute(
                update(models.action_partners)
                .where(models.action_partners.c.action_id == action.id)
                .where(models.action_partners.c.partner_id == partner.id)
                .values(position=position)
            )
        for position, body in enumerate(action.bodies):
            session.execute(
                update(models.action_bodies)
                .where(models.action_bodies.c.action_id == action.id)
                .where(models.action_bodies.c.body_id == body.id)
                .values(position=position)
            )
