"""The plan framework as plain records: what the files and the administrator's workbook both read into.

Records are flat and point at their parent by ref (an outcome names its plan, an action its
objective), so the files (where a record sits inside its parent) and the workbook (where a row
names its parent in a column) give the same shape. Every record carries its :class:`Source`:
file and line, or sheet and row with each field's column, so a problem names the place to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cyp.problems import Problem

MAPPING_KINDS = ("objective", "indicator")


def stored_quirks(quirks: tuple[str, ...]) -> str | None:
    """Quirks as the database keeps them: one per line (readable in the workbook and on the framework page)."""
    return "\n".join(quirks) or None


@dataclass(frozen=True)
class Source:
    """Where a record was read: a file and line, or a sheet and row (with the column of each field)."""

    file: str | None = None
    line: int | None = None
    sheet: str | None = None
    row: int | None = None
    # Field name -> what the person sees: the column header, or the key in the file.
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)
    # Field name -> column letter (workbook) or line of its key (file).
    columns: Mapping[str, str] = field(default_factory=dict, compare=False)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)
    # Fields the reader could not read (and already reported): the checker says nothing more about them.
    unreadable: frozenset[str] = frozenset()

    def label(self, name: str) -> str:
        """How the person sees field ``name``: ``Unit`` on a sheet, ``unit`` in a file."""
        return self.labels.get(name, name)

    def title(self, name: str) -> str:
        """:meth:`label` to start a sentence with."""
        label = self.label(name)
        return label[:1].upper() + label[1:]

    @property
    def unit(self) -> str:
        """``row`` or ``line``: what a place in this source is called."""
        return "row" if self.sheet else "line"

    def place(self, here: Source | None = None) -> str:
        """``row 3``, ``line 57``, or ``plan-2019-2023.yaml line 57`` when ``here`` is another file."""
        number = self.row if self.sheet else self.line
        if here is not None and (here.file, here.sheet) != (self.file, self.sheet):
            return f"{self.sheet or self.file} {self.unit} {number}"
        return f"{self.unit} {number}"

    def problem(self, code: str, message: str, name: str | None = None, value: Any = None) -> Problem:
        """A problem at this record, at the cell (or line) of field ``name`` when given."""
        text = None if value is None else str(value)
        if self.sheet:
            letter = self.columns.get(name or "") or self.columns.get("ref")
            cell = f"{letter}{self.row}" if letter and self.row else None
            return Problem(code, message, sheet=self.sheet, cell=cell, value=text)
        line = self.lines.get(name or "", self.line)
        return Problem(code, message, file=self.file, line=line, value=text)


@dataclass(frozen=True)
class Plan:
    """One edition of the Children and Young People's Plan."""

    ref: str | None
    title: str | None
    first_year: int | None
    last_year: int | None
    current: bool = False
    vision: str | None = None
    document: str | None = None
    quirks: tuple[str, ...] = ()
    at: Source = Source()


@dataclass(frozen=True)
class Outcome:
    """An outcome (2019–23) or theme (2023–27) of a plan."""

    ref: str | None
    plan: str | None
    name: str | None
    group: str | None = None
    description: str | None = None
    quirks: tuple[str, ...] = ()
    position: int | None = None
    at: Source = Source()


@dataclass(frozen=True)
class Objective:
    """An objective under an outcome."""

    ref: str | None
    outcome: str | None
    text: str | None
    quirks: tuple[str, ...] = ()
    position: int | None = None
    at: Source = Source()


@dataclass(frozen=True)
class Action:
    """A line teams report on: an action, or a whole objective; partners, bodies and drivers by name."""

    ref: str | None
    objective: str | None
    text: str | None
    responsible: tuple[str, ...] = ()
    monitoring: tuple[str, ...] = ()
    reporting: str | None = None
    drivers: tuple[str, ...] = ()
    whole_objective: bool = False
    demo: bool = False
    quirks: tuple[str, ...] = ()
    position: int | None = None
    at: Source = Source()


@dataclass(frozen=True)
class Indicator:
    """A "What we know" measure: baseline, and optionally a target, tolerance and reporting team."""

    ref: str | None
    outcome: str | None
    name: str | None
    unit: str | None
    polarity: str | None = None
    baseline: float | None = None
    baseline_text: str | None = None
    period: str | None = None
    target: float | None = None
    tolerance: float | None = None
    reporting: str | None = None
    quirks: tuple[str, ...] = ()
    position: int | None = None
    at: Source = Source()


@dataclass(frozen=True)
class Partner:
    """A partner organisation or team, with the other spellings accepted for it."""

    ref: str | None
    name: str | None
    variants: tuple[str, ...] = ()
    demo: bool = False
    # Its name in the database before this import: lines may still use it (a rename on its own sheet).
    former_names: tuple[str, ...] = ()
    at: Source = Source()


@dataclass(frozen=True)
class Body:
    """A board, plan or report through which actions are monitored."""

    ref: str | None
    name: str | None
    variants: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    at: Source = Source()


@dataclass(frozen=True)
class Driver:
    """A cross-cutting driver of a plan (2023–27)."""

    ref: str | None
    plan: str | None
    name: str | None
    description: str | None = None
    position: int | None = None
    at: Source = Source()


@dataclass(frozen=True)
class Domain:
    """A Family Friendly Index domain."""

    ref: str | None
    name: str | None
    short_name: str | None
    position: int | None = None
    at: Source = Source()


@dataclass(frozen=True)
class IndexMapping:
    """One objective or indicator → index domain link, with its reason; refs as written."""

    kind: str | None
    ref: str | None
    domain: str | None
    reason: str | None
    at: Source = Source()


@dataclass(frozen=True)
class Framework:
    """The whole framework as read from one source, with how that source names things.

    ``forgiving`` is the source's naming policy: the workbook matches names and refs ignoring case and
    spacing and accepts a partner's variants; the files must use the canonical spelling.
    ``places`` says, per kind, where a person adds a record (``the Partners sheet``, ``partners.yaml``).
    """

    plans: tuple[Plan, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    objectives: tuple[Objective, ...] = ()
    actions: tuple[Action, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    partners: tuple[Partner, ...] = ()
    bodies: tuple[Body, ...] = ()
    drivers: tuple[Driver, ...] = ()
    domains: tuple[Domain, ...] = ()
    mappings: tuple[IndexMapping, ...] = ()
    forgiving: bool = False
    places: Mapping[str, str] = field(default_factory=dict, compare=False)

    def place(self, kind: str) -> str:
        """Where a person adds a record of ``kind``."""
        return self.places.get(kind, f"the {kind} list")

    @cached_property
    def _children(self) -> dict[tuple[str, str | None], list[Any]]:
        found: dict[tuple[str, str | None], list[Any]] = {}
        for kind, records, parent in (
            ("outcomes", self.outcomes, "plan"),
            ("drivers", self.drivers, "plan"),
            ("objectives", self.objectives, "outcome"),
            ("indicators", self.indicators, "outcome"),
            ("actions", self.actions, "objective"),
        ):
            for record in records:
                found.setdefault((kind, getattr(record, parent)), []).append(record)
        return found

    def children(self, kind: str, parent: str | None) -> list[Any]:
        """The records of ``kind`` (``outcomes``, ``objectives``, …) under the parent with ref ``parent``."""
        return self._children.get((kind, parent), [])

    def outcomes_of(self, plan: str | None) -> list[Outcome]:
        """The outcomes of a plan, in order."""
        return self.children("outcomes", plan)

    def objectives_of(self, outcome: str | None) -> list[Objective]:
        """The objectives of an outcome, in order."""
        return self.children("objectives", outcome)

    def actions_of(self, objective: str | None) -> list[Action]:
        """The actions of an objective, in order."""
        return self.children("actions", objective)

    def indicators_of(self, outcome: str | None) -> list[Indicator]:
        """The indicators of an outcome, in order."""
        return self.children("indicators", outcome)

    def drivers_of(self, plan: str | None) -> list[Driver]:
        """The drivers of a plan, in order."""
        return self.children("drivers", plan)

    @cached_property
    def by_ref(self) -> dict[str, Any]:
        """Every plan, outcome, objective, action and indicator by ref (the first, where a ref is used twice)."""
        found: dict[str, Any] = {}
        for records in (self.plans, self.outcomes, self.objectives, self.actions, self.indicators):
            for record in records:
                if record.ref is not None:
                    found.setdefault(record.ref, record)
        return found

    def plan_of_objective(self, objective: str | None) -> str | None:
        """The ref of the plan an objective belongs to, or None when its outcome is unknown."""
        found = self.by_ref.get(objective or "")
        outcome = self.by_ref.get(found.outcome or "") if isinstance(found, Objective) else None
        return outcome.plan if isinstance(outcome, Outcome) else None
