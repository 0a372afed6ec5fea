"""Read the plan framework files under ``data/framework/`` (format: ``data/framework/README.md``) into the model.

Reading raises :class:`FrameworkFileError` for a file that cannot be read as the format says (bad
YAML or CSV, a field of the wrong type, an unknown key). What is well-formed but wrong (a blank
name, an unknown partner, a duplicate ref, a mapping that points at nothing) is for the checker,
cyp/framework/checks.py, which the workbook import shares. Every record carries its file and line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from cyp.framework.model import (
    Action,
    Body,
    Domain,
    Driver,
    Framework,
    IndexMapping,
    Indicator,
    Objective,
    Outcome,
    Partner,
    Plan,
    Source,
)
from cyp.problems import Problem

PLAN_GLOB = "plan-*.yaml"
PARTNERS_FILE = "partners.yaml"
BODIES_FILE = "monitoring-bodies.yaml"
DOMAINS_FILE = "index-domains.yaml"
MAPPING_FILE = "index-mapping.csv"
MAPPING_HEADER = ("kind", "ref", "domain", "reason")
PLACES = {
    "partner": PARTNERS_FILE,
    "body": BODIES_FILE,
    "domain": DOMAINS_FILE,
    "driver": "the plan's drivers",
    "objective": "a plan file",
    "indicator": "a plan file",
}


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


class _Located(dict[Any, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class _LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, keeping line numbers on mappings (for problems that name the line)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Located:
    loader.flatten_mapping(node)
    value = _Located()
    value.line = node.start_mark.line + 1
    value.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value[key] = loader.construct_object(value_node, deep=True)
        value.key_lines[key] = key_node.start_mark.line + 1
    return value


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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

    def source(self, **renamed: str) -> Source:
        """Where this mapping is; ``renamed`` maps a model field to the key it is written as."""
        key_lines = getattr(self.value, "key_lines", {})
        lines = {str(key): line for key, line in key_lines.items()}
        lines |= {field: key_lines[key] for field, key in renamed.items() if key in key_lines}
        return Source(file=self.path.name, line=getattr(self.value, "line", None), labels=renamed, lines=lines)

    def fail(self, key: str, message: str) -> FrameworkFileError:
        return FrameworkFileError(message, path=self.path, location=f"{self.where}.{key}")

    def text(self, key: str) -> str | None:
        value = self.value.get(key)
        # A number typed where text is expected ("155") is unambiguous; anything else is a mistake.
        if isinstance(value, bool) or not (value is None or isinstance(value, str | int | float)):
            raise self.fail(key, f"must be text, found {_kind(value)}")
        return None if value is None or not str(value).strip() else str(value).strip()

    def integer(self, key: str) -> int | None:
        value = self.value.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
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
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # a SafeLoader subclass
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


def _nested(f: _Fields, key: str) -> Iterable[tuple[int, Any, str]]:
    """The entries of list ``key``, numbered from 1, each with its place for error messages."""
    parent, dot = ("", "") if f.where == "plan" else (f.where, ".")
    for index, item in enumerate(f.items(key)):
        yield index + 1, item, _where(parent, dot + key, index, item)


class _PlanReader:
    """Flattens one plan file into the model's records, each pointing at its parent by ref."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.outcomes: list[Outcome] = []
        self.objectives: list[Objective] = []
        self.actions: list[Action] = []
        self.indicators: list[Indicator] = []
        self.drivers: list[Driver] = []

    def read(self) -> Plan:
        keys = (
            "ref",
            "title",
            "first_year",
            "last_year",
            "current",
            "vision",
            "source",
            "quirks",
            "drivers",
            "outcomes",
        )
        f = _Fields(_load_yaml(self.path), self.path, "plan", keys)
        plan = Plan(
            ref=f.text("ref"),
            title=f.text("title"),
            first_year=f.integer("first_year"),
            last_year=f.integer("last_year"),
            current=f.boolean("current"),
            vision=f.text("vision"),
            document=f.text("source"),
            quirks=f.texts("quirks"),
            at=f.source(document="source"),
        )
        for position, item, where in _nested(f, "drivers"):
            d = _Fields(item, self.path, where, ("ref", "name", "description"))
            self.drivers.append(
                Driver(d.text("ref"), plan.ref, d.text("name"), d.text("description"), position, d.source())
            )
        for position, item, where in _nested(f, "outcomes"):
            self.outcome(item, where, plan.ref, position)
        return plan

    def outcome(self, item: Any, where: str, plan: str | None, position: int) -> None:
        f = _Fields(
            item, self.path, where, ("ref", "name", "group", "description", "quirks", "objectives", "indicators")
        )
        ref = f.text("ref")
        self.outcomes.append(
            Outcome(
                ref,
                plan,
                f.text("name"),
                f.text("group"),
                f.text("description"),
                f.texts("quirks"),
                position,
                f.source(),
            )
        )
        for number, objective, place in _nested(f, "objectives"):
            self.objective(objective, place, ref, number)
        for number, indicator, place in _nested(f, "indicators"):
            keys = ("ref", "name", "unit", "polarity", "baseline", "baseline_text", "period", "reporting", "quirks")
            i = _Fields(indicator, self.path, place, keys)
            self.indicators.append(
                Indicator(
                    ref=i.text("ref"),
                    outcome=ref,
                    name=i.text("name"),
                    unit=i.text("unit"),
                    polarity=i.text("polarity"),
                    baseline=i.number("baseline"),
                    baseline_text=i.text("baseline_text"),
                    period=i.text("period"),
                    reporting=i.text("reporting"),
                    quirks=i.texts("quirks"),
                    position=number,
                    at=i.source(),
                )
            )

    def objective(self, item: Any, where: str, outcome: str | None, position: int) -> None:
        f = _Fields(item, self.path, where, ("ref", "text", "quirks", "actions"))
        ref = f.text("ref")
        self.objectives.append(Objective(ref, outcome, f.text("text"), f.texts("quirks"), position, f.source()))
        for number, action, place in _nested(f, "actions"):
            keys = ("ref", "text", "responsible", "monitoring", "reporting", "drivers", "quirks")
            a = _Fields(action, self.path, place, keys)
            self.actions.append(
                Action(
                    ref=a.text("ref"),
                    objective=ref,
                    text=a.text("text"),
                    responsible=a.texts("responsible"),
                    monitoring=a.texts("monitoring"),
                    reporting=a.text("reporting"),
                    drivers=a.texts("drivers"),
                    quirks=a.texts("quirks"),
                    position=number,
                    at=a.source(),
                )
            )


def _read_list(path: Path) -> list[Any]:
    value = _load_yaml(path)
    if not isinstance(value, list):
        raise FrameworkFileError(f"expected a list of entries, found {_kind(value)}", path=path)
    return value


def read_partners(path: Path) -> tuple[Partner, ...]:
    """Read partners.yaml."""
    entries = []
    for i, item in enumerate(_read_list(path)):
        f = _Fields(item, path, _where("", "entry", i, item), ("ref", "name", "variants"))
        entries.append(Partner(f.text("ref"), f.text("name"), f.texts("variants"), at=f.source()))
    return tuple(entries)


def read_bodies(path: Path) -> tuple[Body, ...]:
    """Read monitoring-bodies.yaml."""
    entries = []
    for i, item in enumerate(_read_list(path)):
        f = _Fields(item, path, _where("", "entry", i, item), ("ref", "name", "variants"))
        entries.append(Body(f.text("ref"), f.text("name"), f.texts("variants"), at=f.source()))
    return tuple(entries)


def read_domains(path: Path) -> tuple[Domain, ...]:
    """Read index-domains.yaml."""
    domains = []
    for i, item in enumerate(_read_list(path)):
        f = _Fields(item, path, _where("", "domain", i, item), ("ref", "name", "short_name"))
        domains.append(Domain(f.text("ref"), f.text("name"), f.text("short_name"), i + 1, f.source()))
    return tuple(domains)


def read_mappings(path: Path) -> tuple[IndexMapping, ...]:
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
        kind, ref, domain, reason = (cell.strip() or None for cell in row)
        mappings.append(IndexMapping(kind, ref, domain, reason, Source(file=path.name, line=number)))
    return tuple(mappings)


def read_framework(directory: Path) -> Framework:
    """Read every framework file in ``directory``; raises FrameworkFileError for a missing or malformed file."""
    directory = Path(directory)
    plan_paths = sorted(directory.glob(PLAN_GLOB))
    if not plan_paths:
        raise FrameworkFileError(f"no plan files ({PLAN_GLOB}) found", path=directory)
    plans, readers = [], []
    for path in plan_paths:
        reader = _PlanReader(path)
        plans.append(reader.read())
        readers.append(reader)
    return Framework(
        plans=tuple(plans),
        outcomes=tuple(o for r in readers for o in r.outcomes),
        objectives=tuple(o for r in readers for o in r.objectives),
        actions=tuple(a for r in readers for a in r.actions),
        indicators=tuple(i for r in readers for i in r.indicators),
        drivers=tuple(d for r in readers for d in r.drivers),
        partners=read_partners(directory / PARTNERS_FILE),
        bodies=read_bodies(directory / BODIES_FILE),
        domains=read_domains(directory / DOMAINS_FILE),
        mappings=read_mappings(directory / MAPPING_FILE),
        forgiving=False,
        places=PLACES,
    )
