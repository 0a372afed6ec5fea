"""The one rule set for the plan framework, whichever source it was read from.

Each rule looks at the model (cyp/framework/model.py) and returns a Problem, located at the
record's file and line or sheet and cell, for every record it refuses. The files under
``data/framework/`` and the administrator's workbook are read into the same model and checked
by these same rules, so a record one refuses the other refuses too, with the same code.
How names resolve (exactly, or forgiving case, spacing and variants) is the source's policy,
carried by the model; see cyp/framework/names.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from sqlalchemy import String

from cyp.framework.model import MAPPING_KINDS, Framework, Source
from cyp.framework.names import Lookup, Lookups, lookups, name_key
from cyp.problems import Code, Problem
from cyp.status import POLARITIES
from cyp.storage import models

# A ref is letters and digits, in parts joined by one '-', '.' or '_': 19-SS-1.2, FFI-1, barnet-ccg, 23-FB-1.W.
REF = re.compile(r"^[A-Za-z0-9]+(?:[-._][A-Za-z0-9]+)*$")
# (label, the model's attribute, the table whose ref column limits its length)
KINDS: tuple[tuple[str, str, type[models.Base]], ...] = (
    ("plan", "plans", models.Plan),
    ("outcome", "outcomes", models.Outcome),
    ("objective", "objectives", models.Objective),
    ("action", "actions", models.Action),
    ("indicator", "indicators", models.Indicator),
    ("partner", "partners", models.Partner),
    ("monitoring body", "bodies", models.MonitoringBody),
    ("driver", "drivers", models.Driver),
    ("index domain", "domains", models.IndexDomain),
)
# Fields that must not be blank, by the model's attribute (an action's text: unless it is a whole objective).
REQUIRED = {
    "plans": ("title", "first_year", "last_year"),
    "outcomes": ("name",),
    "objectives": ("text",),
    "actions": ("text",),
    "indicators": ("name", "unit"),
    "partners": ("name",),
    "bodies": ("name",),
    "drivers": ("name",),
    "domains": ("short_name", "name"),
    "mappings": ("kind",),
}

Rule = Callable[[Framework, Lookups], Iterator[Problem]]


def ref_length(model: type[models.Base]) -> int:
    """How long a ref the database column of ``model`` holds."""
    column_type = model.__table__.c.ref.type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{model.__name__}.ref is not a string column of fixed length")
    return column_type.length


def check_refs(data: Framework, _names: Lookups) -> Iterator[Problem]:
    """Every record has a ref, well-formed, short enough for the database, and not used twice in its kind."""
    for label, attr, model in KINDS:
        limit = ref_length(model)
        first: dict[str, Source] = {}
        for record in getattr(data, attr):
            at, ref = record.at, record.ref
            if ref is None:
                if "ref" not in at.unreadable:
                    message = f"The {label} on this {at.unit} has no {at.label('ref')}; give it a new, unused ref."
                    yield at.problem(Code.BLANK_REF, message, "ref")
                continue
            if len(ref) > limit:
                # Reported, but the record is kept so records that point at it are not reported as well.
                yield at.problem(Code.LONG_REF, f"Ref '{ref}' is longer than {limit} characters.", "ref", ref)
            elif not REF.match(ref):
                message = f"Ref '{ref}' is not a ref; use letters and digits joined by -, . or _ (e.g. 19-SS-1.2)."
                yield at.problem(Code.BAD_REF, message, "ref", ref)
            if ref in first:
                yield at.problem(
                    Code.DUPLICATE_REF, f"Ref '{ref}' is already used on {first[ref].place(at)}.", "ref", ref
                )
            else:
                first[ref] = at


def check_required(data: Framework, _names: Lookups) -> Iterator[Problem]:
    """The fields a record cannot do without are filled in."""
    for attr, fields in REQUIRED.items():
        for record in getattr(data, attr):
            for name in fields:
                if name == "text" and getattr(record, "whole_objective", False):
                    continue  # a whole-objective line takes its objective's wording
                value = getattr(record, name)
                if (value is None or value == "") and name not in record.at.unreadable:
                    yield record.at.problem(Code.BLANK, f"{record.at.title(name)} is blank; fill it in.", name)


def check_plans(data: Framework, _names: Lookups) -> Iterator[Problem]:
    """A plan's years run forwards, it has outcomes, and only one plan is current."""
    current = None
    for plan in data.plans:
        at = plan.at
        first, last = plan.first_year, plan.last_year
        if first is not None and last is not None and last < first:
            yield at.problem(Code.BAD_YEARS, f"Last year {last} is before first year {first}.", "last_year", last)
        if plan.ref is not None and not data.outcomes_of(plan.ref):
            yield at.problem(Code.NO_OUTCOMES, f"Plan {plan.ref} has no outcomes; add at least one.", "ref")
        if plan.current and current is not None:
            mark = "yes" if at.sheet else "true"
            message = f"Only one plan can be current; {current.ref} is already marked {mark}."
            yield at.problem(Code.SEVERAL_CURRENT, message, "current", mark)
        elif plan.current:
            current = plan


def check_indicators(data: Framework, _names: Lookups) -> Iterator[Problem]:
    """An indicator's polarity is higher, lower or none."""
    for indicator in data.indicators:
        polarity = indicator.polarity
        if polarity is not None and polarity not in POLARITIES:
            label = indicator.at.title("polarity")
            message = f"{label} must be one of {', '.join(POLARITIES)}, not '{polarity}'."
            yield indicator.at.problem(Code.BAD_POLARITY, message, "polarity", polarity)


def check_names(data: Framework, _names: Lookups) -> Iterator[Problem]:
    """No two partners (or monitoring bodies) share a name, and no spelling belongs to two of them."""
    for label, records in (("partner", data.partners), ("monitoring body", data.bodies)):
        named: dict[str, Source] = {}
        owners: dict[str, set[str | None]] = {}
        for record in records:
            for spelling in {name_key(n) for n in (record.name, *record.variants) if n}:
                owners.setdefault(spelling, set()).add(record.ref)
            if record.name is None:
                continue
            key = name_key(record.name)
            if key in named:
                message = f"'{record.name}' is already the name on {named[key].place(record.at)}; names must be unique."
                yield record.at.problem(Code.DUPLICATE_NAME, message, "name", record.name)
            else:
                named[key] = record.at
        for record in records:
            for variant in record.variants:
                if len(owners.get(name_key(variant), ())) > 1:
                    message = f"'{variant}' is also the name or a variant of another {label}; a spelling means one."
                    yield record.at.problem(Code.AMBIGUOUS_NAME, message, "variants", variant)


def _unknown(lookup: Lookup, at: Source, code: Code, field: str, typed: str) -> Iterator[Problem]:
    if lookup.find(typed) is None:
        yield at.problem(code, lookup.refusal(typed), field, typed)


def check_lines(data: Framework, names: Lookups) -> Iterator[Problem]:
    """Someone is responsible for each line, and every partner, body and driver a line names is known."""
    for action in data.actions:
        at = action.at
        if not action.responsible and not action.reporting and "responsible" not in at.unreadable:
            message = (
                f"{at.title('responsible')} is blank and so is {at.label('reporting')}; "
                "name at least one responsible partner."
            )
            yield at.problem(Code.NO_PARTNER, message, "responsible")
        for typed in action.responsible:
            yield from _unknown(names.partners, at, Code.UNKNOWN_PARTNER, "responsible", typed)
        for typed in action.monitoring:
            yield from _unknown(names.bodies, at, Code.UNKNOWN_BODY, "monitoring", typed)
        if action.reporting:
            yield from _unknown(names.partners, at, Code.UNKNOWN_PARTNER, "reporting", action.reporting)
        drivers = names.drivers_of(data.plan_of_objective(action.objective))
        if drivers is not None:  # an unknown objective is reported where it is read
            for typed in action.drivers:
                yield from _unknown(drivers, at, Code.UNKNOWN_DRIVER, "drivers", typed)
    for indicator in data.indicators:
        if indicator.reporting:
            yield from _unknown(names.partners, indicator.at, Code.UNKNOWN_PARTNER, "reporting", indicator.reporting)


def check_mappings(data: Framework, names: Lookups) -> Iterator[Problem]:
    """Each index mapping links a known objective or indicator to a known domain, once, with a reason."""
    seen: dict[tuple[str, str, str], Source] = {}
    for mapping in data.mappings:
        at = mapping.at
        kind = mapping.kind
        if kind is not None and kind not in MAPPING_KINDS:
            message = f"{at.title('kind')} must be one of {', '.join(MAPPING_KINDS)}, not '{kind}'."
            yield at.problem(Code.BAD_KIND, message, "kind", kind)
            kind = None
        ref = domain = None
        if mapping.ref is None:
            message = f"{at.title('ref')} is blank; give the ref of the objective or indicator."
            yield at.problem(Code.BLANK_REF, message, "ref")
        elif kind is not None:
            lookup = names.objectives if kind == "objective" else names.indicators
            ref = lookup.find(mapping.ref)
            if ref is None:
                yield at.problem(Code.UNKNOWN_REF, lookup.refusal(mapping.ref), "ref", mapping.ref)
        if mapping.domain is None:
            message = f"{at.title('domain')} is blank; give the ref of an index domain."
            yield at.problem(Code.BLANK, message, "domain")
        else:
            domain = names.domains.find(mapping.domain)
            if domain is None:
                yield at.problem(Code.UNKNOWN_DOMAIN, names.domains.refusal(mapping.domain), "domain", mapping.domain)
        if not mapping.reason:
            yield at.problem(Code.NO_REASON, "Give a short reason for the mapping.", "reason")
        if kind is not None and ref is not None and domain is not None:
            key = (kind, ref, domain)
            if key in seen:
                message = f"{kind} {ref} is already mapped to {domain} on {seen[key].place(at)}."
                yield at.problem(Code.DUPLICATE_MAPPING, message, "domain", domain)
            else:
                seen[key] = at


RULES: tuple[Rule, ...] = (
    check_refs,
    check_required,
    check_plans,
    check_indicators,
    check_names,
    check_lines,
    check_mappings,
)


def check_framework(data: Framework) -> list[Problem]:
    """Every problem the rules find in ``data``; all are errors."""
    names = lookups(data)
    found = [problem for rule in RULES for problem in rule(data, names)]
    # File by file, line by line (a workbook's problems are ordered by sheet and cell by its importer).
    return sorted(found, key=lambda problem: (problem.file or "", problem.line or 0))
