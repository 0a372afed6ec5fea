"""Read and check the plan framework files under ``data/framework/`` (format: ``data/framework/README.md``).

Reading turns the files into frozen dataclasses and raises :class:`FrameworkFileError` for a file that is
malformed (bad YAML or CSV, a missing or mistyped field, an unknown key). Checking looks across files for
what is well-formed but wrong (an unknown partner, a duplicate ref, a mapping that points at nothing) and
returns every problem at once.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cyp.problems import Problem

PLAN_GLOB = "plan-*.yaml"
PARTNERS_FILE = "partners.yaml"
BODIES_FILE = "monitoring-bodies.yaml"
DOMAINS_FILE = "index-domains.yaml"
MAPPING_FILE = "index-mapping.csv"
MAPPING_HEADER = ("kind", "ref", "domain", "reason")
MAPPING_KINDS = ("objective", "indicator")
POLARITIES = ("higher", "lower")

OUTCOME_REF = re.compile(r"^\d{2}-[A-Z]{2,4}$")
OBJECTIVE_REF = re.compile(r"^\d{2}-[A-Z]{2,4}-\d+$")
ACTION_REF = re.compile(r"^\d{2}-[A-Z]{2,4}-\d+\.\d+$")
INDICATOR_REF = re.compile(r"^\d{2}-[A-Z]{2,4}-I\d+$")
DRIVER_REF = re.compile(r"^D-[A-Z]{2,8}$")
DOMAIN_REF = re.compile(r"^FFI-\d+$")
NAME_REF = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PLAN_REF = re.compile(r"^\d{4}-\d{2}$")


class FrameworkFileError(Exception):
    """A framework file cannot be read, or the framework has problems; names the file and where in it."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        location: str | None = None,
        problems: Iterable[Problem] = (),
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.location = location
        self.problems = tuple(problems)
        where = ": ".join(part for part in (self.path.name if self.path else None, location) if part)
        text = f"{where}: {message}" if where else message
        if self.problems:
            text += "\n" + "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(text)


@dataclass(frozen=True)
class Action:
    """A "What we are doing" row: responsible partners and monitoring bodies by canonical name."""

    ref: str
    text: str
    responsible: tuple[str, ...]
    monitoring: tuple[str, ...]
    quirks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Indicator:
    """A "What we know" figure: the baseline of an indicator."""

    ref: str
    name: str
    unit: str
    polarity: str | None
    baseline: float | None
    baseline_text: str | None
    period: str | None
    quirks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Objective:
    """An objective under an outcome, in the wording of the plan's canonical summary list."""

    ref: str
    text: str
    actions: tuple[Action, ...] = ()
    quirks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """An outcome (2019–23) or theme (2023–27)."""

    ref: str
    name: str
    group: str | None
    description: str | None
    objectives: tuple[Objective, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    quirks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Driver:
    """A cross-cutting driver (2023–27)."""

    ref: str
    name: str
    description: str | None


@dataclass(frozen=True)
class Plan:
    """One plan file."""

    ref: str
    title: str
    first_year: int
    last_year: int
    current: bool
    vision: str | None
    source: str | None
    outcomes: tuple[Outcome, ...]
    drivers: tuple[Driver, ...] = ()
    quirks: tuple[str, ...] = ()
    file: str = ""


@dataclass(frozen=True)
class NamedEntry:
    """A canonical partner or monitoring body with the other spellings found for it."""

    ref: str
    name: str
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    """A Family Friendly Index domain."""

    ref: str
    name: str
    short_name: str


@dataclass(frozen=True)
class DomainMapping:
    """One row of the default objective/indicator → index domain mapping."""

    kind: str
    ref: str
    domain: str
    reason: str
    line: int = 0


@dataclass(frozen=True)
class FrameworkData:
    """Everything in the framework folder, as read."""

    plans: tuple[Plan, ...]
    partners: tuple[NamedEntry, ...]
    bodies: tuple[NamedEntry, ...]
    domains: tuple[Domain, ...]
    mappings: tuple[DomainMapping, ...]


class _Fields:
    """Typed access to one YAML mapping, raising FrameworkFileError that says where."""

    def __init__(self, value: Any, path: Path, where: str, allowed: Iterable[str]) -> None:
        if not isinstance(value, dict):
            raise FrameworkFileError(
                f"expected a mapping (key: value), found {_kind(value)}", path=path, location=where
            )
        unknown = sorted(str(key) for key in value if key not in set(allowed))
        if unknown:
            raise FrameworkFileError(
                f"unknown key {', '.join(unknown)} (allowed: {', '.join(allowed)})", path=path, location=where
            )
        self.value: dict[str, Any] = value
        self.path = path
        self.where = where

    def fail(self, key: str, message: str) -> FrameworkFileError:
        return FrameworkFileError(message, path=self.path, location=f"{self.where}.{key}")

    def text(self, key: str) -> str:
        value = self.optional_text(key)
        if value is None or not value.strip():
            raise self.fail(key, "is required and must be text")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.value.get(key)
        # A number typed where text is expected ("155") is unambiguous; anything else is a mistake.
        if isinstance(value, bool) or not (value is None or isinstance(value, str | int | float)):
            raise self.fail(key, f"must be text, found {_kind(value)}")
        return None if value is None else str(value).strip()

    def integer(self, key: str) -> int:
        value = self.value.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, found {_kind(value)}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.value.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, found {_kind(value)}")
        return value

    def number(self, key: str) -> float | None:
        value = self.value.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number or null, found {_kind(value)}")
        return float(value)

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.value.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(key, "must be a list of texts")
        return tuple(item.strip() for item in value)

    def items(self, key: str) -> list[Any]:
        value = self.value.get(key) or []
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, found {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__
    )


def _load_yaml(path: Path) -> Any:
    if not path.is_file():
        raise FrameworkFileError("file not found", path=path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        location = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrameworkFileError(f"not valid YAML: {problem}", path=path, location=location) from exc
    except UnicodeDecodeError as exc:
        raise FrameworkFileError("not UTF-8 text", path=path) from exc


def _where(parent: str, key: str, index: int, item: Any) -> str:
    ref = item.get("ref") if isinstance(item, dict) else None
    return f"{parent}{key}[{index}]" + (f" ({ref})" if ref else "")


def _read_action(item: Any, path: Path, where: str) -> Action:
    f = _Fields(item, path, where, ("ref", "text", "responsible", "monitoring", "quirks"))
    return Action(f.text("ref"), f.text("text"), f.texts("responsible"), f.texts("monitoring"), f.texts("quirks"))


def _read_indicator(item: Any, path: Path, where: str) -> Indicator:
    keys = ("ref", "name", "unit", "polarity", "baseline", "baseline_text", "period", "quirks")
    f = _Fields(item, path, where, keys)
    return Indicator(
        ref=f.text("ref"),
        name=f.text("name"),
        unit=f.text("unit"),
        polarity=f.optional_text("polarity"),
        baseline=f.number("baseline"),
        baseline_text=f.optional_text("baseline_text"),
        period=f.optional_text("period"),
        quirks=f.texts("quirks"),
    )


def _read_objective(item: Any, path: Path, where: str) -> Objective:
    f = _Fields(item, path, where, ("ref", "text", "quirks", "actions"))
    actions = tuple(
        _read_action(action, path, _where(where, ".actions", i, action)) for i, action in enumerate(f.items("actions"))
    )
    return Objective(f.text("ref"), f.text("text"), actions, f.texts("quirks"))


def _read_outcome(item: Any, path: Path, where: str) -> Outcome:
    f = _Fields(item, path, where, ("ref", "name", "group", "description", "quirks", "objectives", "indicators"))
    return Outcome(
        ref=f.text("ref"),
        name=f.text("name"),
        group=f.optional_text("group"),
        description=f.optional_text("description"),
        objectives=tuple(
            _read_objective(o, path, _where(where, ".objectives", i, o)) for i, o in enumerate(f.items("objectives"))
        ),
        indicators=tuple(
            _read_indicator(x, path, _where(where, ".indicators", i, x)) for i, x in enumerate(f.items("indicators"))
        ),
        quirks=f.texts("quirks"),
    )


def read_plan(path: Path) -> Plan:
    """Read one plan file; raises FrameworkFileError naming the file and the place in it."""
    keys = ("ref", "title", "first_year", "last_year", "current", "vision", "source", "quirks", "drivers", "outcomes")
    f = _Fields(_load_yaml(path), path, "plan", keys)
    drivers = []
    for i, item in enumerate(f.items("drivers")):
        d = _Fields(item, path, _where("", "drivers", i, item), ("ref", "name", "description"))
        drivers.append(Driver(d.text("ref"), d.text("name"), d.optional_text("description")))
    return Plan(
        ref=f.text("ref"),
        title=f.text("title"),
        first_year=f.integer("first_year"),
        last_year=f.integer("last_year"),
        current=f.boolean("current"),
        vision=f.optional_text("vision"),
        source=f.optional_text("source"),
        outcomes=tuple(_read_outcome(o, path, _where("", "outcomes", i, o)) for i, o in enumerate(f.items("outcomes"))),
        drivers=tuple(drivers),
        quirks=f.texts("quirks"),
        file=path.name,
    )


def _read_list(path: Path) -> list[Any]:
    value = _load_yaml(path)
    if not isinstance(value, list):
        raise FrameworkFileError(f"expected a list of entries, found {_kind(value)}", path=path)
    return value


def read_named_entries(path: Path) -> tuple[NamedEntry, ...]:
    """Read partners.yaml or monitoring-bodies.yaml."""
    entries = []
    for i, item in enumerate(_read_list(path)):
        f = _Fields(item, path, _where("", "entry", i, item), ("ref", "name", "variants"))
        entries.append(NamedEntry(f.text("ref"), f.text("name"), f.texts("variants")))
    return tuple(entries)


def read_domains(path: Path) -> tuple[Domain, ...]:
    """Read index-domains.yaml."""
    domains = []
    for i, item in enumerate(_read_list(path)):
        f = _Fields(item, path, _where("", "domain", i, item), ("ref", "name", "short_name"))
        domains.append(Domain(f.text("ref"), f.text("name"), f.text("short_name")))
    return tuple(domains)


def read_mappings(path: Path) -> tuple[DomainMapping, ...]:
    """Read index-mapping.csv (header ``kind,ref,domain,reason``)."""
    if not path.is_file():
        raise FrameworkFileError("file not found", path=path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FrameworkFileError(f"not a readable CSV file: {exc}", path=path) from exc
    if not rows or tuple(cell.strip() for cell in rows[0]) != MAPPING_HEADER:
        found = ",".join(rows[0]) if rows else "an empty file"
        raise FrameworkFileError(f"the first line must be {','.join(MAPPING_HEADER)}, found {found}", path=path)
    mappings = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(MAPPING_HEADER):
            raise FrameworkFileError(
                f"expected {len(MAPPING_HEADER)} columns, found {len(row)} (quote a reason that contains commas)",
                path=path,
                location=f"line {number}",
            )
        kind, ref, domain, reason = (cell.strip() for cell in row)
        mappings.append(DomainMapping(kind, ref, domain, reason, number))
    return tuple(mappings)


def read_framework(directory: Path) -> FrameworkData:
    """Read every framework file in ``directory``; raises FrameworkFileError for a missing or malformed file."""
    directory = Path(directory)
    plan_paths = sorted(directory.glob(PLAN_GLOB))
    if not plan_paths:
        raise FrameworkFileError(f"no plan files ({PLAN_GLOB}) found", path=directory)
    return FrameworkData(
        plans=tuple(read_plan(path) for path in plan_paths),
        partners=read_named_entries(directory / PARTNERS_FILE),
        bodies=read_named_entries(directory / BODIES_FILE),
        domains=read_domains(directory / DOMAINS_FILE),
        mappings=read_mappings(directory / MAPPING_FILE),
    )


def _problem(code: str, message: str, file: str, ref: str | None = None, value: str | None = None) -> Problem:
    return Problem(code=code, message=message, sheet=file, cell=ref, value=value)


def _duplicates(values: Iterable[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_names(entries: tuple[NamedEntry, ...], file: str, what: str) -> list[Problem]:
    problems = [
        _problem("duplicate-ref", f"{what} ref {ref} is used twice", file, ref)
        for ref in _duplicates(e.ref for e in entries)
    ]
    # Names are matched ignoring case and spacing, so two entries must not share a spelling in that sense.
    spellings = Counter(key for e in entries for key in {_name_key(n) for n in (e.name, *e.variants)})
    for entry in entries:
        if not NAME_REF.match(entry.ref):
            problems.append(_problem("bad-ref", f"{what} ref must be lower-case words joined by '-'", file, entry.ref))
        for name in (entry.name, *entry.variants):
            if spellings[_name_key(name)] > 1:
                problems.append(
                    _problem(
                        "ambiguous-name",
                        f"'{name}' is the name or a variant of more than one {what}",
                        file,
                        entry.ref,
                        name,
                    )
                )
    return problems


def _check_used(
    names: tuple[str, ...], entries: tuple[NamedEntry, ...], file: str, ref: str, what: str, field: str
) -> list[Problem]:
    if not names:
        return [_problem(f"no-{field}", f"action has no {what}; give at least one", file, ref)]
    canonical = {e.name for e in entries}
    by_variant = {v: e.name for e in entries for v in e.variants}
    problems = []
    for name in names:
        if name in canonical:
            continue
        hint = f"; write it as '{by_variant[name]}'" if name in by_variant else f"; add it to the {what} list first"
        problems.append(_problem(f"unknown-{field}", f"'{name}' is not a canonical {what}{hint}", file, ref, name))
    return problems


def check_framework(data: FrameworkData) -> list[Problem]:
    """Every problem across the framework files: duplicate or malformed refs, unknown names, dangling mappings, …

    Each problem's ``sheet`` is the file name and ``cell`` the ref (or CSV line) it concerns; all are errors.
    """
    problems: list[Problem] = []
    refs: dict[str, list[tuple[str, str]]] = {
        kind: [] for kind in ("outcome", "objective", "action", "indicator", "driver")
    }
    for ref in _duplicates(plan.ref for plan in data.plans):
        problems.append(_problem("duplicate-ref", f"plan ref {ref} is used by two files", ref))
    current = [plan.file for plan in data.plans if plan.current]
    if len(current) > 1:
        problems.append(
            _problem("two-current", f"more than one plan is marked current: {', '.join(current)}", current[1])
        )
    for plan in data.plans:
        if not PLAN_REF.match(plan.ref):
            problems.append(_problem("bad-ref", "plan ref must look like 2019-23", plan.file, plan.ref))
        if plan.first_year > plan.last_year:
            problems.append(_problem("bad-years", "first_year is after last_year", plan.file, plan.ref))
        if not plan.outcomes:
            problems.append(_problem("no-outcomes", "plan has no outcomes", plan.file, plan.ref))
        refs["driver"] += [(d.ref, plan.file) for d in plan.drivers]
        for outcome in plan.outcomes:
            refs["outcome"].append((outcome.ref, plan.file))
            for indicator in outcome.indicators:
                refs["indicator"].append((indicator.ref, plan.file))
                if indicator.polarity is not None and indicator.polarity not in POLARITIES:
                    problems.append(
                        _problem(
                            "bad-polarity",
                            f"polarity must be higher, lower or null, not '{indicator.polarity}'",
                            plan.file,
                            indicator.ref,
                            indicator.polarity,
                        )
                    )
            for objective in outcome.objectives:
                refs["objective"].append((objective.ref, plan.file))
                for action in objective.actions:
                    refs["action"].append((action.ref, plan.file))
                    problems += _check_used(
                        action.responsible, data.partners, plan.file, action.ref, "partner", "partner"
                    )
                    problems += _check_used(
                        action.monitoring, data.bodies, plan.file, action.ref, "monitoring body", "body"
                    )
    patterns = {
        "outcome": OUTCOME_REF,
        "objective": OBJECTIVE_REF,
        "action": ACTION_REF,
        "indicator": INDICATOR_REF,
        "driver": DRIVER_REF,
    }
    for kind, found in refs.items():
        files = dict(found)
        for ref in _duplicates(ref for ref, _ in found):
            problems.append(_problem("duplicate-ref", f"{kind} ref {ref} is used more than once", files[ref], ref))
        for ref, file in found:
            if not patterns[kind].match(ref):
                problems.append(_problem("bad-ref", f"{kind} ref '{ref}' is not well-formed", file, ref))
    problems += _check_names(data.partners, PARTNERS_FILE, "partner")
    problems += _check_names(data.bodies, BODIES_FILE, "monitoring body")
    for ref in _duplicates(d.ref for d in data.domains):
        problems.append(_problem("duplicate-ref", f"domain ref {ref} is used twice", DOMAINS_FILE, ref))
    for domain in data.domains:
        if not DOMAIN_REF.match(domain.ref):
            problems.append(_problem("bad-ref", "domain ref must look like FFI-1", DOMAINS_FILE, domain.ref))
    problems += _check_mappings(
        data.mappings, {k: {r for r, _ in v} for k, v in refs.items()}, {d.ref for d in data.domains}
    )
    return problems


def _check_mappings(mappings: tuple[DomainMapping, ...], refs: dict[str, set[str]], domains: set[str]) -> list[Problem]:
    problems = []
    seen: set[tuple[str, str, str]] = set()
    for mapping in mappings:
        line = f"line {mapping.line}"
        if mapping.kind not in MAPPING_KINDS:
            problems.append(
                _problem(
                    "bad-kind",
                    f"kind must be objective or indicator, not '{mapping.kind}'",
                    MAPPING_FILE,
                    line,
                    mapping.kind,
                )
            )
            continue
        if mapping.ref not in refs[mapping.kind]:
            problems.append(
                _problem("unknown-ref", f"no {mapping.kind} has ref '{mapping.ref}'", MAPPING_FILE, line, mapping.ref)
            )
        if mapping.domain not in domains:
            problems.append(
                _problem(
                    "unknown-domain", f"no index domain has ref '{mapping.domain}'", MAPPING_FILE, line, mapping.domain
                )
            )
        if not mapping.reason:
            problems.append(_problem("no-reason", "give a short reason for the mapping", MAPPING_FILE, line))
        key = (mapping.kind, mapping.ref, mapping.domain)
        if key in seen:
            problems.append(
                _problem("duplicate-mapping", f"{mapping.ref} → {mapping.domain} is listed twice", MAPPING_FILE, line)
            )
        seen.add(key)
    return problems
