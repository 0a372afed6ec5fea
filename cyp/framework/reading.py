"""Read the administrator's framework workbook into the model (cyp/framework/model.py), with sheet and cell.

Reading turns cells into values and places each row under its parent; it reports what it cannot
read: a file that is not a workbook, a missing sheet or column, a cell that is not a number or
yes/no, a parent ref that names nothing. What a readable record says is for the one checker,
cyp/framework/checks.py, shared with the framework files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

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
    SHEETS,
    SheetSpec,
)
from cyp.framework.model import (
    MAPPING_KINDS,
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
from cyp.framework.names import Lookup, name_key
from cyp.problems import Code, Problem
from cyp.status import POLARITIES

POLARITY_ALIASES = {"higher is better": "higher", "lower is better": "lower", "high": "higher", "low": "lower"}
KIND_ALIASES = {"objectives": "objective", "indicators": "indicator"}
# Where a person adds a record of each kind the checker may find unknown.
PLACES = {
    "partner": "the Partners sheet",
    "body": "the Monitoring bodies sheet",
    "driver": "the Drivers sheet",
    "domain": "the Index domains sheet",
    "objective": "the Objectives sheet",
    "indicator": "the Indicators sheet",
}


class NotAWorkbook(Exception):
    """The stream is not a workbook this importer can read."""


@dataclass
class Row:
    """One non-blank data row of a sheet: its values by header, where each column lives, what failed to read."""

    spec: SheetSpec
    number: int
    values: dict[str, Any]
    letters: dict[str, str]
    problems: list[Problem]
    unreadable: set[str] = field(default_factory=set)

    def problem(self, header: str, code: str, message: str, value: Any = None) -> None:
        """Report the cell under ``header`` as unreadable."""
        self.unreadable.add(_field(self.spec, header))
        cell = f"{self.letters[header]}{self.number}"
        text = None if value is None else str(value)
        self.problems.append(Problem(code, message, sheet=self.spec.name, cell=cell, value=text))

    def source(self) -> Source:
        """Where this row is, for the checker: the sheet, the row, each field's header and column."""
        labels = {_field(self.spec, header): header for header in self.letters}
        columns = {_field(self.spec, header): letter for header, letter in self.letters.items()}
        return Source(
            sheet=self.spec.name,
            row=self.number,
            labels=labels,
            columns=columns,
            unreadable=frozenset(self.unreadable),
        )

    def text(self, header: str) -> str | None:
        """The cell as text, trimmed; None when blank."""
        value = self.values.get(header)
        if value is None:
            text = ""
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        elif hasattr(value, "isoformat"):
            text = value.isoformat()
        else:
            text = str(value)
        return text.replace("\r\n", "\n").strip() or None

    def decimal(self, header: str) -> float | None:
        """The cell as a number (``1,200`` too); reported when it is text that is not one."""
        value = self.values.get(header)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        text = self.text(header)
        if text is None:
            return None
        try:
            return float(text.replace(",", ""))
        except ValueError:
            message = f"{header} '{text}' is not a number; type a plain number (no units or %)."
            self.problem(header, Code.BAD_NUMBER, message, text)
            return None

    def whole_number(self, header: str) -> int | None:
        """The cell as a whole number, or None (blank, or reported)."""
        number = self.decimal(header)
        if number is None:
            return None
        if not number.is_integer():
            self.problem(header, Code.BAD_NUMBER, f"{header} must be a whole number, not {number:g}.", number)
            return None
        return int(number)

    def yes_no(self, header: str) -> bool:
        """The cell as yes (True) or no (False, also when blank)."""
        value = self.values.get(header)
        if isinstance(value, bool):
            return value
        text = (self.text(header) or "").casefold()
        if text in ("", "no", "n", "false", "0"):
            return False
        if text in ("yes", "y", "true", "1"):
            return True
        self.problem(header, Code.BAD_YES_NO, f"{header} must be yes or no, not '{value}'.", value)
        return False

    def choice(self, header: str, choices: tuple[str, ...], aliases: dict[str, str]) -> str | None:
        """One of ``choices`` (any case, or an alias); anything else as typed, for the checker to refuse."""
        text = self.text(header)
        if text is None:
            return None
        key = name_key(text)
        if key in choices:
            return key
        return aliases.get(key, text)

    def names(self, header: str) -> tuple[str, ...]:
        """The names in a cell, separated by ``;`` or new lines, each once."""
        parts = (part.strip() for part in re.split(r"[;\n]", self.text(header) or ""))
        return tuple(dict.fromkeys(part for part in parts if part))

    def quirks(self) -> tuple[str, ...]:
        """The Quirks cell, one quirk per line."""
        text = self.text("Quirks")
        return tuple(text.split("\n")) if text else ()

    def parent(self, header: str, lookup: Lookup, label: str, sheet: SheetSpec) -> str | None:
        """The ref of this row's parent, named in column ``header``; reported when blank or unknown."""
        typed = self.text(header)
        if typed is None:
            self.problem(header, Code.BLANK, f"{header} is blank; give the ref of its {label} ({sheet.name} sheet).")
            return None
        found = lookup.find(typed)
        if found is None:
            self.problem(header, Code.UNKNOWN_PARENT, lookup.refusal(typed), typed)
        return found


def _field(spec: SheetSpec, header: str) -> str:
    return next(column.field for column in spec.columns if column.header == header)


def read_sheets(stream: BinaryIO, problems: list[Problem]) -> dict[SheetSpec, list[Row]]:
    """Every non-blank row of every framework sheet; a missing sheet or column is added to ``problems``.

    Raises :class:`NotAWorkbook` when the stream cannot be opened as an .xlsx workbook.
    """
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # any failure to open means "not a workbook" to the person
        raise NotAWorkbook(
            f"The file could not be read as an Excel workbook (.xlsx): {str(exc) or type(exc).__name__}. "
            "Save it from Excel as 'Excel Workbook (*.xlsx)' and try again."
        ) from exc
    try:
        sheets_by_key = {name_key(name): name for name in workbook.sheetnames}
        found: dict[SheetSpec, list[Row]] = {}
        for spec in SHEETS:
            name = sheets_by_key.get(name_key(spec.name))
            if name is None:
                message = f"The sheet '{spec.name}' is missing; export a fresh workbook to see the expected layout."
                problems.append(Problem(Code.MISSING_SHEET, message, sheet=spec.name))
                continue
            found[spec] = _read_sheet(spec, workbook[name], problems)
        return found
    except Exception as exc:  # a corrupt sheet is a file problem, not a crash
        raise NotAWorkbook(f"The workbook could not be read: {str(exc) or type(exc).__name__}.") from exc
    finally:
        workbook.close()


def _read_sheet(spec: SheetSpec, sheet: Any, problems: list[Problem]) -> list[Row]:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, ())
    positions = {name_key(str(value)): index for index, value in enumerate(header) if value is not None}
    letters: dict[str, str] = {}
    indexes: dict[str, int] = {}
    for column in spec.columns:
        if not column.imported:
            continue
        index = positions.get(name_key(column.header))
        if index is None:
            message = f"The column '{column.header}' is missing from the header row (row 1)."
            problems.append(Problem(Code.MISSING_COLUMN, message, sheet=spec.name))
            continue
        indexes[column.header] = index
        letters[column.header] = get_column_letter(index + 1)
    read: list[Row] = []
    for number, values in enumerate(rows, start=2):
        picked = {h: (values[i] if i < len(values) else None) for h, i in indexes.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in picked.values()):
            continue
        read.append(Row(spec, number, picked, letters, problems))
    return read


def _refs(records: list[Any], label: str, sheet: SheetSpec) -> Lookup:
    """Parents are named by ref, in any case and spacing."""
    lookup = Lookup(label, f"the {sheet.name} sheet", forgiving=True)
    lookup.add_refs([record.ref for record in records])
    return lookup


def _plan(row: Row) -> Plan:
    return Plan(
        ref=row.text("Ref"),
        title=row.text("Title"),
        first_year=row.whole_number("First year"),
        last_year=row.whole_number("Last year"),
        current=row.yes_no("Current"),
        vision=row.text("Vision"),
        document=row.text("Source"),
        at=row.source(),
    )


def _action(row: Row, objectives: Lookup, wording: dict[str, str | None]) -> Action:
    whole = row.yes_no("Whole objective")
    parent = row.parent("Objective", objectives, "objective", OBJECTIVES)
    text = row.text("Text")
    if whole and parent:
        # A whole-objective line carries its objective's wording.
        text = wording.get(parent)
    return Action(
        ref=row.text("Ref"),
        objective=parent,
        text=text,
        responsible=row.names("Responsible"),
        monitoring=row.names("Monitoring"),
        reporting=row.text("Reporting team"),
        drivers=row.names("Drivers"),
        whole_objective=whole,
        demo=row.yes_no("Demo"),
        quirks=row.quirks(),
        position=row.whole_number("Order"),
        at=row.source(),
    )


def _indicator(row: Row, outcomes: Lookup) -> Indicator:
    return Indicator(
        ref=row.text("Ref"),
        outcome=row.parent("Outcome", outcomes, "outcome", OUTCOMES),
        name=row.text("Name"),
        unit=row.text("Unit"),
        polarity=row.choice("Polarity", POLARITIES, POLARITY_ALIASES),
        baseline=row.decimal("Baseline value"),
        baseline_text=row.text("Baseline text"),
        period=row.text("Baseline period"),
        target=row.decimal("Target"),
        tolerance=row.decimal("Tolerance"),
        reporting=row.text("Reporting team"),
        quirks=row.quirks(),
        position=row.whole_number("Order"),
        at=row.source(),
    )


def to_framework(sheets: dict[SheetSpec, list[Row]]) -> Framework:
    """The model of a workbook whose sheets and columns are all there; unreadable cells are in the rows' problems."""
    plans = [_plan(row) for row in sheets[PLANS]]
    plan_refs = _refs(plans, "a plan", PLANS)
    drivers = [
        Driver(
            ref=row.text("Ref"),
            plan=row.parent("Plan", plan_refs, "plan", PLANS),
            name=row.text("Name"),
            description=row.text("Description"),
            position=row.whole_number("Order"),
            at=row.source(),
        )
        for row in sheets[DRIVERS]
    ]
    outcomes = [
        Outcome(
            ref=row.text("Ref"),
            plan=row.parent("Plan", plan_refs, "plan", PLANS),
            name=row.text("Name"),
            group=row.text("Group"),
            description=row.text("Description"),
            quirks=row.quirks(),
            position=row.whole_number("Order"),
            at=row.source(),
        )
        for row in sheets[OUTCOMES]
    ]
    outcome_refs = _refs(outcomes, "an outcome or theme", OUTCOMES)
    objectives = [
        Objective(
            ref=row.text("Ref"),
            outcome=row.parent("Outcome", outcome_refs, "outcome", OUTCOMES),
            text=row.text("Text"),
            quirks=row.quirks(),
            position=row.whole_number("Order"),
            at=row.source(),
        )
        for row in sheets[OBJECTIVES]
    ]
    wording: dict[str, str | None] = {}
    for objective in objectives:
        if objective.ref is not None:
            wording.setdefault(objective.ref, objective.text)
    objective_refs = _refs(objectives, "an objective", OBJECTIVES)
    return Framework(
        plans=tuple(plans),
        outcomes=tuple(outcomes),
        objectives=tuple(objectives),
        actions=tuple(_action(row, objective_refs, wording) for row in sheets[ACTIONS]),
        indicators=tuple(_indicator(row, outcome_refs) for row in sheets[INDICATORS]),
        partners=tuple(
            Partner(row.text("Ref"), row.text("Name"), row.names("Variants"), row.yes_no("Demo"), at=row.source())
            for row in sheets[PARTNERS]
        ),
        bodies=tuple(
            Body(row.text("Ref"), row.text("Name"), row.names("Variants"), at=row.source()) for row in sheets[BODIES]
        ),
        drivers=tuple(drivers),
        domains=tuple(
            Domain(row.text("Ref"), row.text("Name"), row.text("Short name"), row.whole_number("Order"), row.source())
            for row in sheets[DOMAINS]
        ),
        mappings=tuple(
            IndexMapping(
                kind=row.choice("Kind", MAPPING_KINDS, KIND_ALIASES),
                ref=row.text("Ref"),
                domain=row.text("Domain"),
                reason=row.text("Reason"),
                at=row.source(),
            )
            for row in sheets[MAPPING]
        ),
        forgiving=True,
        places=PLACES,
    )


def read_workbook(stream: BinaryIO) -> tuple[Framework | None, list[Problem]]:
    """The framework in a workbook and every problem reading it; no framework when a sheet or column is missing."""
    problems: list[Problem] = []
    try:
        sheets = read_sheets(stream, problems)
    except NotAWorkbook as exc:
        return None, [Problem(Code.NOT_A_WORKBOOK, str(exc))]
    if problems:
        return None, problems
    return to_framework(sheets), problems
