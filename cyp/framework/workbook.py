"""The plan framework as a spreadsheet: export a readable workbook, import an edited one back.

The workbook has one sheet per kind of record, each row keyed by its stable ref.
Import reads and checks the whole workbook before touching the database: if
anything is wrong it returns every problem (sheet and cell) and changes
nothing. Otherwise it upserts by ref and removes records missing from the
workbook, but only where no history (returns, line updates, indicator values,
accounts) depends on them. Exporting and importing unchanged changes nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cyp.problems import Problem, errors
from cyp.spelling import closest
from cyp.storage.models import (
    Action,
    AuditEvent,
    Driver,
    IndexDomain,
    Indicator,
    IndicatorDomain,
    IndicatorValue,
    LineUpdate,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Partner,
    Plan,
    Return,
    action_bodies,
    action_partners,
    user_teams,
)

LIST_SEPARATOR = "; "
YES, NO = "yes", "no"
POLARITIES = ("higher", "lower")
MAPPING_KINDS = ("objective", "indicator")
# Data validation and reference drop-downs reach this far down each sheet.
LAST_EDITABLE_ROW = 2000


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, width, fixed vocabulary (a drop-down) and what it holds."""

    header: str
    width: int
    about: str
    choices: tuple[str, ...] = ()
    imported: bool = True


@dataclass(frozen=True)
class SheetSpec:
    """One sheet of the framework workbook."""

    name: str
    about: str
    columns: tuple[Column, ...]

    def letter(self, header: str) -> str:
        """The column letter of ``header`` in an exported sheet."""
        return get_column_letter([c.header for c in self.columns].index(header) + 1)


def _ref(about: str) -> Column:
    return Column("Ref", 14, about)


YES_NO = (YES, NO)
PLANS = SheetSpec(
    "Plans",
    "Each edition of the Children and Young People's Plan.",
    (
        _ref("Short stable reference, e.g. 2023-27."),
        Column("Title", 40, "Title of the plan."),
        Column("First year", 11, "Financial year the plan starts, e.g. 2023 for 2023-24."),
        Column("Last year", 11, "Financial year the plan ends, e.g. 2026 for 2026-27."),
        Column("Current", 10, "yes for the plan teams report against now (one plan only).", YES_NO),
        Column("Vision", 60, "The plan's vision statement."),
        Column("Source", 40, "The document the plan was transcribed from."),
    ),
)
OUTCOMES = SheetSpec(
    "Outcomes",
    "Outcomes (2019-23) and themes (2023-27), each under a plan.",
    (
        _ref("Stable reference of the outcome or theme."),
        Column("Plan", 12, "Ref of the plan it belongs to (Plans sheet)."),
        Column("Order", 8, "Position under its plan (1, 2, ...). Leave blank on a new row to put it last."),
        Column("Name", 36, "Name of the outcome or theme."),
        Column("Group", 24, "Group of outcomes, e.g. core CFC outcomes."),
        Column("Description", 60, "What the outcome means."),
        Column("Quirks", 40, "Notes on oddities of the source document."),
    ),
)
OBJECTIVES = SheetSpec(
    "Objectives",
    "Objectives under each outcome or theme.",
    (
        _ref("Stable reference of the objective."),
        Column("Outcome", 12, "Ref of the outcome or theme it belongs to (Outcomes sheet)."),
        Column("Order", 8, "Position under its outcome. Leave blank on a new row to put it last."),
        Column("Text", 70, "Wording of the objective."),
        Column("Quirks", 40, "Notes on oddities of the source document."),
    ),
)
ACTIONS = SheetSpec(
    "Actions",
    "The lines teams report on each quarter: actions, or a whole objective assigned to a team.",
    (
        _ref("Stable reference of the action (line)."),
        Column("Objective", 14, "Ref of the objective it belongs to (Objectives sheet)."),
        Column("Order", 8, "Position under its objective. Leave blank on a new row to put it last."),
        Column(
            "Text", 60, "Wording of the action. Ignored when Whole objective is yes (the objective's text is used)."
        ),
        Column("Whole objective", 11, "yes when a team reports on the whole objective rather than an action.", YES_NO),
        Column("Responsible", 34, "Responsible partners or teams, by name (Partners sheet), separated by ; "),
        Column("Monitoring", 34, "Boards or plans that monitor it, by name (Monitoring bodies sheet), separated by ; "),
        Column("Reporting team", 26, "The one partner or team that reports this line. Blank: the first responsible."),
        Column("Drivers", 30, "Cross-cutting drivers of its plan, by name (Drivers sheet), separated by ; "),
        Column("Quirks", 40, "Notes on oddities of the source document."),
        Column("Demo", 8, "yes for made-up demonstration lines.", YES_NO),
    ),
)
INDICATORS = SheetSpec(
    "Indicators",
    "Measures with a baseline ('What we know'), optionally a target and tolerance.",
    (
        _ref("Stable reference of the indicator."),
        Column("Outcome", 12, "Ref of the outcome or theme it belongs to (Outcomes sheet)."),
        Column("Order", 8, "Position under its outcome. Leave blank on a new row to put it last."),
        Column("Name", 50, "What is measured."),
        Column("Unit", 14, "Unit of the values, e.g. children, %, rate per 10,000."),
        Column("Polarity", 10, "higher or lower (which is better); blank for a context figure.", POLARITIES),
        Column("Baseline value", 12, "The baseline as a number."),
        Column("Baseline text", 18, "The baseline as the source words it."),
        Column("Baseline period", 18, "When the baseline was measured, e.g. March 2018."),
        Column("Target", 10, "Target value (a number), if any."),
        Column("Tolerance", 10, "How far from target still counts as on track (a number), if any."),
        Column("Reporting team", 26, "The partner or team that reports it (Partners sheet), if any."),
        Column("Quirks", 40, "Notes on oddities of the source document."),
    ),
)
PARTNERS = SheetSpec(
    "Partners",
    "Partner organisations and teams: responsible for actions, submit returns.",
    (
        _ref("Stable reference of the partner or team."),
        Column("Name", 36, "Canonical name, used in the other sheets."),
        Column("Variants", 50, "Other spellings accepted for it, separated by ; "),
        Column("Demo", 8, "yes for made-up demonstration teams.", YES_NO),
    ),
)
BODIES = SheetSpec(
    "Monitoring bodies",
    "Boards, plans and reports through which actions are monitored.",
    (
        _ref("Stable reference of the monitoring body."),
        Column("Name", 40, "Canonical name, used on the Actions sheet."),
        Column("Variants", 50, "Other spellings accepted for it, separated by ; "),
    ),
)
DRIVERS = SheetSpec(
    "Drivers",
    "Cross-cutting drivers of a plan (2023-27), which lines can be tagged with.",
    (
        _ref("Stable reference of the driver."),
        Column("Plan", 12, "Ref of the plan it belongs to (Plans sheet)."),
        Column("Order", 8, "Position under its plan. Leave blank on a new row to put it last."),
        Column("Name", 36, "Name of the driver, used on the Actions sheet."),
        Column("Description", 60, "What the driver means."),
    ),
)
DOMAINS = SheetSpec(
    "Index domains",
    "The Family Friendly Index domains ('How we monitor progress').",
    (
        _ref("Stable reference of the domain."),
        Column("Order", 8, "Position in the index. Leave blank on a new row to put it last."),
        Column("Short name", 24, "Short name for charts and tables."),
        Column("Name", 70, "Full wording of the domain."),
    ),
)
MAPPING = SheetSpec(
    "Index mapping",
    "Which objectives and indicators count towards which index domains (many-to-many), and why.",
    (
        Column("Kind", 11, "objective or indicator.", MAPPING_KINDS),
        Column("Ref", 14, "Ref of the objective (Objectives sheet) or indicator (Indicators sheet)."),
        Column("Domain", 10, "Ref of the index domain (Index domains sheet)."),
        Column("Reason", 50, "Short reason for the mapping."),
        Column("For reading", 60, "The objective's or indicator's wording, for reading only: not imported.", (), False),
    ),
)
SHEETS: tuple[SheetSpec, ...] = (
    PLANS,
    OUTCOMES,
    OBJECTIVES,
    ACTIONS,
    INDICATORS,
    PARTNERS,
    BODIES,
    DRIVERS,
    DOMAINS,
    MAPPING,
)
README_SHEET = "Read me"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
CELL_ALIGNMENT = Alignment(wrap_text=True, vertical="top")


def _readme_lines() -> list[str]:
    lines = [
        "CYP Plan Monitor: the plan framework",
        "",
        "This workbook holds the whole plan framework: plans, outcomes and themes, objectives, the lines teams "
        "report on (actions), indicators, partners and teams, monitoring bodies, drivers, the Family Friendly "
        "Index domains and the mapping of objectives and indicators to those domains.",
        "Edit it and load it back with: python -m cyp framework import FILE.xlsx",
        "",
        "How an import works",
        "- The whole workbook is checked first. If anything is wrong, nothing is changed and every problem is "
        "listed with its sheet and cell (e.g. Actions!F12).",
        "- Every row is matched to the database by its Ref. Refs are stable: never change the Ref of an existing "
        "row, even when you change its wording. Change the wording in the other columns instead.",
        "- To add a record, add a row at the bottom of its sheet with a new, unused Ref (keep the style of the "
        "existing refs). Leave Order blank to put it last under its parent.",
        "- A row you delete is removed from the framework, unless something depends on it: a line or indicator "
        "that already has quarterly returns, a team that has submitted returns or has user accounts, a plan with "
        "returns. Those are refused; put the row back.",
        "- Where a cell holds several names (Responsible, Monitoring, Drivers, Variants), separate them with a "
        "semicolon, e.g. 'Family Services; Education and Skills'.",
        "- Names are matched ignoring case and extra spaces; a partner's or body's variants are accepted too and "
        "replaced by the canonical name.",
        "- yes/no columns accept yes or no (blank means no). Numbers must be plain numbers (no units or %).",
        "- The 2023-27 plan lists no actions: add them on the Actions sheet under its objectives, or add one row "
        "with Whole objective = yes to assign a whole objective to a team.",
        "",
        "The sheets",
    ]
    for spec in SHEETS:
        lines.append("")
        lines.append(f"{spec.name}: {spec.about}")
        lines.extend(f"- {column.header}: {column.about}" for column in spec.columns)
    return lines


def _display(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _write_sheet(workbook: Workbook, spec: SheetSpec, rows: list[list[Any]], lookups: dict[str, str]) -> None:
    sheet = workbook.create_sheet(spec.name)
    sheet.append([column.header for column in spec.columns])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = CELL_ALIGNMENT
    for row in rows:
        sheet.append([_display(value) for value in row])
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            cell.alignment = CELL_ALIGNMENT
            # A wording that starts with "=" is text, not a formula.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    for index, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        cells = f"{letter}2:{letter}{LAST_EDITABLE_ROW}"
        if column.choices:
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(column.choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=column.header,
                error=f"Choose one of: {', '.join(column.choices)}.",
            )
        elif column.header in lookups:
            # Offers the names on another sheet but lets a person type (rows added there later count too).
            validation = DataValidation(type="list", formula1=lookups[column.header], allow_blank=True)
            validation.showErrorMessage = False
        else:
            continue
        sheet.add_data_validation(validation)
        validation.add(cells)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(spec.columns))}{max(sheet.max_row, 1)}"


def _names_range(spec: SheetSpec, header: str) -> str:
    letter = spec.letter(header)
    return f"='{spec.name}'!${letter}$2:${letter}${LAST_EDITABLE_ROW}"


def _joined_names(session: Session, table: Any, key: str, model: Any) -> dict[int, list[str]]:
    """Action id -> ordered canonical names through an ordered association table."""
    rows = session.execute(
        select(table.c.action_id, model.name)
        .join(model, model.id == table.c[key])
        .order_by(table.c.action_id, table.c.position, model.name)
    )
    names: dict[int, list[str]] = defaultdict(list)
    for action_id, name in rows:
        names[action_id].append(name)
    return names


def _joined_ids(session: Session, table: Any, key: str) -> dict[int, list[int]]:
    """Action id -> ordered target ids, in the same order :func:`_joined_names` reads them."""
    model = Partner if table is action_partners else MonitoringBody
    rows = session.execute(
        select(table.c.action_id, model.id)
        .join(model, model.id == table.c[key])
        .order_by(table.c.action_id, table.c.position, model.name)
    )
    ids: dict[int, list[int]] = defaultdict(list)
    for action_id, target_id in rows:
        ids[action_id].append(target_id)
    return ids


def _yes_no(value: bool | None) -> str:
    return YES if value else NO


def _join(names: Iterable[str]) -> str | None:
    return LIST_SEPARATOR.join(names) or None


def _split_variants(variants: str | None) -> list[str]:
    return [v.strip() for v in (variants or "").split("|") if v.strip()]


def export_framework(session: Session) -> bytes:
    """The whole framework and its index mapping as an .xlsx workbook (one readable sheet per kind).

    Rows are in framework order (plan, outcome, objective, position) so two exports of the same
    database list the same rows in the same order.
    """
    plans = sorted(session.scalars(select(Plan)), key=lambda p: (p.first_year, p.ref))
    plan_order = {p.id: i for i, p in enumerate(plans)}
    outcomes = sorted(session.scalars(select(Outcome)), key=lambda o: (plan_order[o.plan_id], o.position, o.ref))
    outcome_order = {o.id: i for i, o in enumerate(outcomes)}
    objectives = sorted(
        session.scalars(select(Objective)), key=lambda o: (outcome_order[o.outcome_id], o.position, o.ref)
    )
    objective_order = {o.id: i for i, o in enumerate(objectives)}
    actions = sorted(
        session.scalars(select(Action)), key=lambda a: (objective_order[a.objective_id], a.position, a.ref)
    )
    indicators = sorted(
        session.scalars(select(Indicator)), key=lambda i: (outcome_order[i.outcome_id], i.position, i.ref)
    )
    indicator_order = {i.id: n for n, i in enumerate(indicators)}
    partners = list(session.scalars(select(Partner).order_by(Partner.name)))
    bodies = list(session.scalars(select(MonitoringBody).order_by(MonitoringBody.name)))
    drivers = sorted(session.scalars(select(Driver)), key=lambda d: (plan_order[d.plan_id], d.position, d.ref))
    domains = list(session.scalars(select(IndexDomain).order_by(IndexDomain.position, IndexDomain.ref)))
    domain_order = {d.id: i for i, d in enumerate(domains)}
    partner_names = _joined_names(session, action_partners, "partner_id", Partner)
    body_names = _joined_names(session, action_bodies, "body_id", MonitoringBody)

    workbook = Workbook()
    readme = workbook.active
    readme.title = README_SHEET
    for line in _readme_lines():
        readme.append([line])
    readme.column_dimensions["A"].width = 120
    for (cell,) in readme.iter_rows():
        cell.alignment = CELL_ALIGNMENT
    readme["A1"].font = Font(bold=True, size=14)

    tree_rows: dict[SheetSpec, list[list[Any]]] = {
        PLANS: [[p.ref, p.title, p.first_year, p.last_year, _yes_no(p.is_current), p.vision, p.source] for p in plans],
        OUTCOMES: [[o.ref, o.plan.ref, o.position, o.name, o.group, o.description, o.quirks] for o in outcomes],
        OBJECTIVES: [[o.ref, o.outcome.ref, o.position, o.text, o.quirks] for o in objectives],
        ACTIONS: [
            [
                a.ref,
                a.objective.ref,
                a.position,
                a.text,
                _yes_no(a.whole_objective),
                _join(partner_names.get(a.id, [])),
                _join(body_names.get(a.id, [])),
                a.reporting_partner.name if a.reporting_partner else None,
                _join(d.name for d in sorted(a.drivers, key=lambda d: (d.position, d.ref))),
                a.quirks,
                _yes_no(a.is_demo),
            ]
            for a in actions
        ],
        INDICATORS: [
            [
                i.ref,
                i.outcome.ref,
                i.position,
                i.name,
                i.unit,
                i.polarity,
                i.baseline_value,
                i.baseline_text,
                i.baseline_period,
                i.target,
                i.tolerance,
                i.reporting_partner.name if i.reporting_partner else None,
                i.quirks,
            ]
            for i in indicators
        ],
        PARTNERS: [[p.ref, p.name, _join(_split_variants(p.variants)), _yes_no(p.is_demo)] for p in partners],
        BODIES: [[b.ref, b.name, _join(_split_variants(b.variants))] for b in bodies],
        DRIVERS: [[d.ref, d.plan.ref, d.position, d.name, d.description] for d in drivers],
        DOMAINS: [[d.ref, d.position, d.short_name, d.name] for d in domains],
    }
    objective_links = sorted(
        session.scalars(select(ObjectiveDomain)),
        key=lambda link: (objective_order[link.objective_id], domain_order[link.domain_id]),
    )
    indicator_links = sorted(
        session.scalars(select(IndicatorDomain)),
        key=lambda link: (indicator_order[link.indicator_id], domain_order[link.domain_id]),
    )
    tree_rows[MAPPING] = [
        ["objective", link.objective.ref, link.domain.ref, link.reason, link.objective.text] for link in objective_links
    ] + [
        ["indicator", link.indicator.ref, link.domain.ref, link.reason, link.indicator.name] for link in indicator_links
    ]

    lookups = {
        ACTIONS: {"Reporting team": _names_range(PARTNERS, "Name"), "Objective": _names_range(OBJECTIVES, "Ref")},
        INDICATORS: {"Reporting team": _names_range(PARTNERS, "Name"), "Outcome": _names_range(OUTCOMES, "Ref")},
        OBJECTIVES: {"Outcome": _names_range(OUTCOMES, "Ref")},
        OUTCOMES: {"Plan": _names_range(PLANS, "Ref")},
        DRIVERS: {"Plan": _names_range(PLANS, "Ref")},
        MAPPING: {"Domain": _names_range(DOMAINS, "Ref")},
    }
    for spec in SHEETS:
        _write_sheet(workbook, spec, tree_rows[spec], lookups.get(spec, {}))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass
class ImportResult:
    """What an import found and did: every problem, and per-sheet counts of rows added, updated, removed.

    ``changes`` holds only non-zero counts, keyed like ``"Actions added"``; it is empty when the
    workbook matches the database or when problems stopped the import.
    """

    problems: list[Problem] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no error blocked the import."""
        return not errors(self.problems)

    def summary(self) -> str:
        """One line for a person: what changed, or why nothing did."""
        if not self.ok:
            count = len(errors(self.problems))
            return f"Nothing imported: {count} problem{'s' if count != 1 else ''} in the workbook; fix and try again."
        if not self.changes:
            return "No changes: the workbook matches the framework in the database."
        parts = []
        for spec in SHEETS:
            counts = [
                f"{self.changes[key]} {verb}"
                for verb in ("added", "updated", "removed")
                if (key := f"{spec.name} {verb}") in self.changes
            ]
            if counts:
                parts.append(f"{spec.name} {', '.join(counts)}")
        return "Framework updated: " + "; ".join(parts) + "."

    def count(self, sheet: str, verb: str) -> None:
        """Record one row of ``sheet`` added, updated or removed."""
        key = f"{sheet} {verb}"
        self.changes[key] = self.changes.get(key, 0) + 1


def audit_import(session: Session, result: ImportResult, actor: str, filename: str) -> AuditEvent:
    """Add the audit event for an import (accepted or rejected) to ``session``; the caller commits."""
    event = AuditEvent(
        actor=actor,
        action="framework.import",
        target=filename[:200],
        outcome="ok" if result.ok else "rejected",
        detail=result.summary() + "".join(f"\n{problem}" for problem in result.problems),
    )
    session.add(event)
    return event


class _FileProblem(Exception):
    """The stream is not a workbook this importer can read."""


@dataclass
class _Row:
    """One non-blank data row of a sheet, with where each column lives."""

    spec: SheetSpec
    number: int
    values: dict[str, Any]
    letters: dict[str, str]

    def cell(self, header: str) -> str:
        return f"{self.letters[header]}{self.number}"


def _key(name: str) -> str:
    """Matching key for names typed by people: case and runs of spaces do not matter."""
    return " ".join(name.split()).casefold()


def _read_workbook(stream: BinaryIO, problems: list[Problem]) -> dict[SheetSpec, list[_Row]]:
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # any failure to open means "not a workbook" to the person
        raise _FileProblem(
            f"The file could not be read as an Excel workbook (.xlsx): {str(exc) or type(exc).__name__}. "
            "Save it from Excel as 'Excel Workbook (*.xlsx)' and try again."
        ) from exc
    try:
        sheets_by_key = {_key(name): name for name in workbook.sheetnames}
        found: dict[SheetSpec, list[_Row]] = {}
        for spec in SHEETS:
            name = sheets_by_key.get(_key(spec.name))
            if name is None:
                problems.append(
                    Problem(
                        "missing_sheet",
                        f"The sheet '{spec.name}' is missing; export a fresh workbook to see the expected layout.",
                        sheet=spec.name,
                    )
                )
                continue
            found[spec] = _read_sheet(spec, workbook[name], problems)
        return found
    except Exception as exc:  # a corrupt sheet is a file problem, not a crash
        raise _FileProblem(f"The workbook could not be read: {str(exc) or type(exc).__name__}.") from exc
    finally:
        workbook.close()


def _read_sheet(spec: SheetSpec, sheet: Any, problems: list[Problem]) -> list[_Row]:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, ())
    positions = {_key(str(value)): index for index, value in enumerate(header) if value is not None}
    letters: dict[str, str] = {}
    indexes: dict[str, int] = {}
    for column in spec.columns:
        if not column.imported:
            continue
        index = positions.get(_key(column.header))
        if index is None:
            problems.append(
                Problem(
                    "missing_column",
                    f"The column '{column.header}' is missing from the header row (row 1).",
                    sheet=spec.name,
                )
            )
            continue
        indexes[column.header] = index
        letters[column.header] = get_column_letter(index + 1)
    read: list[_Row] = []
    for number, values in enumerate(rows, start=2):
        picked = {h: (values[i] if i < len(values) else None) for h, i in indexes.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in picked.values()):
            continue
        read.append(_Row(spec, number, picked, letters))
    return read


def _suggest(name: str, candidates: dict[str, str]) -> str:
    """The "; did you mean X?" hint for the closest known name, or "" when nothing is close."""
    close = closest(_key(name), candidates)
    return f"; did you mean {candidates[close]}?" if close else ""


@dataclass
class _Planned:
    """A validated row: the model fields it sets and the refs it points at."""

    ref: str
    row: _Row
    fields: dict[str, Any]
    parent: str | None = None
    lists: dict[str, list[str]] = field(default_factory=dict)
    single: dict[str, str | None] = field(default_factory=dict)


class _Checker:
    """Turns raw rows into planned records, collecting a Problem for every bad cell."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, row: _Row, header: str, code: str, message: str, value: Any = None) -> None:
        self.problems.append(
            Problem(
                code,
                message,
                sheet=row.spec.name,
                cell=row.cell(header),
                value=None if value is None else str(value),
            )
        )

    def text(self, row: _Row, header: str, required: bool = False) -> str | None:
        value = row.values.get(header)
        if value is None:
            text = ""
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        elif hasattr(value, "isoformat"):
            text = value.isoformat()
        else:
            text = str(value)
        text = text.replace("\r\n", "\n").strip()
        if not text:
            if required:
                self.problem(row, header, "blank", f"{header} is blank; fill it in.")
            return None
        return text

    def ref(self, row: _Row, header: str, model: Any, label: str) -> str | None:
        ref = self.text(row, header)
        if ref is None:
            self.problem(
                row, header, "blank_ref", f"The {label} on this row has no {header}; give it a new, unused ref."
            )
            return None
        limit = model.__table__.c.ref.type.length
        if limit and len(ref) > limit:
            # Reported, but the row is kept so rows that point at it are not reported as well.
            self.problem(row, header, "long_ref", f"Ref '{ref}' is longer than {limit} characters.", ref)
        return ref

    def number(self, row: _Row, header: str) -> float | None:
        value = row.values.get(header)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        text = self.text(row, header)
        if text is None:
            return None
        try:
            return float(text.replace(",", ""))
        except ValueError:
            self.problem(
                row,
                header,
                "bad_number",
                f"{header} '{text}' is not a number; type a plain number (no units or %).",
                text,
            )
            return None

    def whole_number(self, row: _Row, header: str, required: bool = False) -> int | None:
        if self.text(row, header) is None:
            if required:
                self.problem(row, header, "blank", f"{header} is blank; fill it in.")
            return None
        number = self.number(row, header)
        if number is None:
            return None
        if not number.is_integer():
            self.problem(row, header, "bad_number", f"{header} must be a whole number, not {number:g}.", number)
            return None
        return int(number)

    def yes_no(self, row: _Row, header: str) -> bool:
        value = row.values.get(header)
        if isinstance(value, bool):
            return value
        text = (self.text(row, header) or "").casefold()
        if text in ("", "no", "n", "false", "0"):
            return False
        if text in ("yes", "y", "true", "1"):
            return True
        self.problem(row, header, "bad_yes_no", f"{header} must be yes or no, not '{value}'.", value)
        return False

    def choice(self, row: _Row, header: str, choices: tuple[str, ...], aliases: dict[str, str]) -> str | None:
        text = self.text(row, header)
        if text is None:
            return None
        key = _key(text)
        if key in choices:
            return key
        if key in aliases:
            return aliases[key]
        self.problem(
            row, header, f"bad_{_key(header)}", f"{header} must be one of {', '.join(choices)}, not '{text}'.", text
        )
        return None

    def names(self, row: _Row, header: str) -> list[str]:
        text = self.text(row, header) or ""
        seen: list[str] = []
        for part in re.split(r"[;\n]", text):
            if part.strip() and part.strip() not in seen:
                seen.append(part.strip())
        return seen


POLARITY_ALIASES = {"higher is better": "higher", "lower is better": "lower", "high": "higher", "low": "lower"}


def _plan_rows(
    checker: _Checker, rows: list[_Row], model: Any, label: str, build: Callable[[_Row], _Planned | None]
) -> dict[str, _Planned]:
    """Validate rows of one sheet into planned records by ref, reporting blank and duplicate refs."""
    planned: dict[str, _Planned] = {}
    for row in rows:
        ref = checker.ref(row, "Ref", model, label)
        record = build(row)
        if ref is None or record is None:
            continue
        if ref in planned:
            checker.problem(
                row, "Ref", "duplicate_ref", f"Ref '{ref}' is already used on row {planned[ref].row.number}.", ref
            )
            continue
        record.ref = ref
        planned[ref] = record
    return planned


class _Lookup:
    """Resolves what a person typed (a ref or a name, any case) to a canonical ref."""

    def __init__(self, label: str, sheet: str) -> None:
        self.label = label
        self.sheet = sheet
        self.keys: dict[str, str] = {}
        self.shown: dict[str, str] = {}

    def add(self, ref: str, *names: str | None, shown: str | None = None) -> None:
        for name in (ref, *names):
            if name and _key(name) not in self.keys:
                self.keys[_key(name)] = ref
                self.shown[_key(name)] = shown or ref

    def resolve(self, checker: _Checker, row: _Row, header: str, typed: str, code: str) -> str | None:
        found = self.keys.get(_key(typed))
        if found is None:
            hint = _suggest(typed, self.shown) or f"; add it to the {self.sheet} sheet first."
            checker.problem(
                row,
                header,
                code,
                f"'{typed}' is not {self.label}{hint}",
                typed,
            )
        return found


Mappings = dict[tuple[str, str, str], tuple[str, _Row]]


def _validate(
    sheets: dict[SheetSpec, list[_Row]], session: Session
) -> tuple[dict[str, dict[str, _Planned]], Mappings, list[Problem]]:
    """Check every row of every sheet; return the planned records by sheet and ref, and the index mapping."""
    c = _Checker()

    def plan(row: _Row) -> _Planned:
        first = c.whole_number(row, "First year", required=True)
        last = c.whole_number(row, "Last year", required=True)
        if first is not None and last is not None and last < first:
            c.problem(row, "Last year", "bad_years", f"Last year {last} is before first year {first}.", last)
        fields = {
            "title": c.text(row, "Title", required=True),
            "first_year": first,
            "last_year": last,
            "is_current": c.yes_no(row, "Current"),
            "vision": c.text(row, "Vision"),
            "source": c.text(row, "Source"),
        }
        return _Planned("", row, fields)

    plans = _plan_rows(c, sheets[PLANS], Plan, "plan", plan)
    current = [p for p in plans.values() if p.fields["is_current"]]
    for extra in current[1:]:
        c.problem(
            extra.row,
            "Current",
            "several_current",
            f"Only one plan can be current; {current[0].ref} is already marked yes.",
            YES,
        )
    plan_lookup = _Lookup("a plan", PLANS.name)
    for ref in plans:
        plan_lookup.add(ref)

    def partner(row: _Row) -> _Planned:
        name = c.text(row, "Name", required=True)
        return _Planned("", row, {"name": name, "variants": c.names(row, "Variants"), "is_demo": c.yes_no(row, "Demo")})

    def body(row: _Row) -> _Planned:
        return _Planned("", row, {"name": c.text(row, "Name", required=True), "variants": c.names(row, "Variants")})

    partners = _plan_rows(c, sheets[PARTNERS], Partner, "partner", partner)
    bodies = _plan_rows(c, sheets[BODIES], MonitoringBody, "monitoring body", body)
    partner_lookup = _Lookup("a partner", PARTNERS.name)
    body_lookup = _Lookup("a monitoring body", BODIES.name)
    for records, lookup in ((partners, partner_lookup), (bodies, body_lookup)):
        names: dict[str, _Planned] = {}
        for record in records.values():
            name = record.fields["name"]
            if name is None:
                continue
            if _key(name) in names:
                c.problem(
                    record.row,
                    "Name",
                    "duplicate_name",
                    f"'{name}' is already the name on row {names[_key(name)].row.number}; names must be unique.",
                    name,
                )
            names[_key(name)] = record
            lookup.add(record.ref, name, shown=name)
        # Variants second, so a canonical name always wins over another record's variant.
        for record in records.values():
            for variant in record.fields["variants"]:
                lookup.add(record.ref, variant, shown=record.fields["name"])
    # Last, the names in the database: renaming a team on its own sheet need not mean retyping every line.
    for model, records, lookup in ((Partner, partners, partner_lookup), (MonitoringBody, bodies, body_lookup)):
        for ref, old_name in session.execute(select(model.ref, model.name)):
            if ref in records and records[ref].fields["name"]:
                lookup.add(ref, old_name, shown=records[ref].fields["name"])

    def child_of(parent_sheet: SheetSpec, lookup: _Lookup, header: str, label: str) -> Callable[[_Row], str | None]:
        def parent(row: _Row) -> str | None:
            typed = c.text(row, header)
            if typed is None:
                c.problem(
                    row, header, "blank", f"{header} is blank; give the ref of its {label} ({parent_sheet.name} sheet)."
                )
                return None
            return lookup.resolve(c, row, header, typed, "unknown_parent")

        return parent

    plan_of = child_of(PLANS, plan_lookup, "Plan", "plan")

    def driver(row: _Row) -> _Planned:
        fields = {
            "position": c.whole_number(row, "Order"),
            "name": c.text(row, "Name", required=True),
            "description": c.text(row, "Description"),
        }
        return _Planned("", row, fields, parent=plan_of(row))

    def outcome(row: _Row) -> _Planned:
        fields = {
            "position": c.whole_number(row, "Order"),
            "name": c.text(row, "Name", required=True),
            "group": c.text(row, "Group"),
            "description": c.text(row, "Description"),
            "quirks": c.text(row, "Quirks"),
        }
        return _Planned("", row, fields, parent=plan_of(row))

    drivers = _plan_rows(c, sheets[DRIVERS], Driver, "driver", driver)
    outcomes = _plan_rows(c, sheets[OUTCOMES], Outcome, "outcome", outcome)
    outcome_lookup = _Lookup("an outcome or theme", OUTCOMES.name)
    for ref in outcomes:
        outcome_lookup.add(ref)
    outcome_of = child_of(OUTCOMES, outcome_lookup, "Outcome", "outcome")

    def objective(row: _Row) -> _Planned:
        fields = {
            "position": c.whole_number(row, "Order"),
            "text": c.text(row, "Text", required=True),
            "quirks": c.text(row, "Quirks"),
        }
        return _Planned("", row, fields, parent=outcome_of(row))

    objectives = _plan_rows(c, sheets[OBJECTIVES], Objective, "objective", objective)
    objective_lookup = _Lookup("an objective", OBJECTIVES.name)
    for ref in objectives:
        objective_lookup.add(ref)
    objective_of = child_of(OBJECTIVES, objective_lookup, "Objective", "objective")

    plan_drivers: dict[str, _Lookup] = defaultdict(lambda: _Lookup("a driver of this line's plan", DRIVERS.name))
    for record in drivers.values():
        if record.parent:
            plan_drivers[record.parent].add(record.ref, record.fields["name"], shown=record.fields["name"])

    def team(row: _Row) -> str | None:
        typed = c.text(row, "Reporting team")
        return partner_lookup.resolve(c, row, "Reporting team", typed, "unknown_partner") if typed else None

    def action(row: _Row) -> _Planned:
        whole = c.yes_no(row, "Whole objective")
        parent = objective_of(row)
        text = c.text(row, "Text", required=not whole)
        if whole and parent:
            text = objectives[parent].fields["text"]
        record = _Planned(
            "",
            row,
            {
                "position": c.whole_number(row, "Order"),
                "text": text,
                "whole_objective": whole,
                "quirks": c.text(row, "Quirks"),
                "is_demo": c.yes_no(row, "Demo"),
            },
            parent=parent,
        )
        record.lists["partners"] = [
            ref
            for typed in c.names(row, "Responsible")
            if (ref := partner_lookup.resolve(c, row, "Responsible", typed, "unknown_partner"))
        ]
        record.lists["bodies"] = [
            ref
            for typed in c.names(row, "Monitoring")
            if (ref := body_lookup.resolve(c, row, "Monitoring", typed, "unknown_body"))
        ]
        record.single["reporting_partner"] = team(row)
        plan_ref = outcomes[objectives[parent].parent].parent if parent and objectives[parent].parent else None
        typed_drivers = c.names(row, "Drivers")
        if typed_drivers and plan_ref:
            record.lists["drivers"] = [
                ref
                for typed in typed_drivers
                if (ref := plan_drivers[plan_ref].resolve(c, row, "Drivers", typed, "unknown_driver"))
            ]
        else:
            record.lists["drivers"] = []
        for name in ("partners", "bodies", "drivers"):
            record.lists[name] = list(dict.fromkeys(record.lists[name]))
        return record

    def indicator(row: _Row) -> _Planned:
        record = _Planned(
            "",
            row,
            {
                "position": c.whole_number(row, "Order"),
                "name": c.text(row, "Name", required=True),
                "unit": c.text(row, "Unit", required=True),
                "polarity": c.choice(row, "Polarity", POLARITIES, POLARITY_ALIASES),
                "baseline_value": c.number(row, "Baseline value"),
                "baseline_text": c.text(row, "Baseline text"),
                "baseline_period": c.text(row, "Baseline period"),
                "target": c.number(row, "Target"),
                "tolerance": c.number(row, "Tolerance"),
                "quirks": c.text(row, "Quirks"),
            },
            parent=outcome_of(row),
        )
        record.single["reporting_partner"] = team(row)
        return record

    def domain(row: _Row) -> _Planned:
        fields = {
            "position": c.whole_number(row, "Order"),
            "short_name": c.text(row, "Short name", required=True),
            "name": c.text(row, "Name", required=True),
        }
        return _Planned("", row, fields)

    actions = _plan_rows(c, sheets[ACTIONS], Action, "action", action)
    indicators = _plan_rows(c, sheets[INDICATORS], Indicator, "indicator", indicator)
    domains = _plan_rows(c, sheets[DOMAINS], IndexDomain, "index domain", domain)
    domain_lookup = _Lookup("an index domain", DOMAINS.name)
    for record in domains.values():
        domain_lookup.add(record.ref, record.fields["short_name"], shown=record.ref)
    indicator_lookup = _Lookup("an indicator", INDICATORS.name)
    for ref in indicators:
        indicator_lookup.add(ref)

    mappings: Mappings = {}
    for row in sheets[MAPPING]:
        kind = c.choice(row, "Kind", MAPPING_KINDS, {"objectives": "objective", "indicators": "indicator"})
        typed = c.text(row, "Ref")
        typed_domain = c.text(row, "Domain")
        ref = domain_ref = None
        if typed is None:
            c.problem(row, "Ref", "blank_ref", "Ref is blank; give the ref of the objective or indicator.")
        elif kind:
            lookup = objective_lookup if kind == "objective" else indicator_lookup
            ref = lookup.resolve(c, row, "Ref", typed, "unknown_ref")
        if typed_domain is None:
            c.problem(row, "Domain", "blank", "Domain is blank; give the ref of an index domain.")
        else:
            domain_ref = domain_lookup.resolve(c, row, "Domain", typed_domain, "unknown_domain")
        if kind and ref and domain_ref:
            key = (kind, ref, domain_ref)
            if key in mappings:
                c.problem(
                    row,
                    "Domain",
                    "duplicate_mapping",
                    f"{kind} {ref} is already mapped to {domain_ref} on row {mappings[key][1].number}.",
                    domain_ref,
                )
            else:
                mappings[key] = (c.text(row, "Reason") or "", row)

    planned = {
        PLANS.name: plans,
        PARTNERS.name: partners,
        BODIES.name: bodies,
        DOMAINS.name: domains,
        DRIVERS.name: drivers,
        OUTCOMES.name: outcomes,
        OBJECTIVES.name: objectives,
        ACTIONS.name: actions,
        INDICATORS.name: indicators,
    }
    c.problems.extend(_removal_problems(session, planned))
    return planned, mappings, c.problems


def _count_by(session: Session, column: Any, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
    return {key: count for key, count in rows}


def _removal_problems(session: Session, planned: dict[str, dict[str, _Planned]]) -> list[Problem]:
    """Refuse to remove what history depends on: reported lines and indicators, teams with returns or users."""
    found: list[Problem] = []

    def missing(model: Any, sheet: str) -> dict[int, str]:
        return {i: ref for i, ref in session.execute(select(model.id, model.ref)) if ref not in planned[sheet]}

    checks = (
        (Action, ACTIONS.name, LineUpdate.action_id, "line", "quarterly updates in returns"),
        (Indicator, INDICATORS.name, IndicatorValue.indicator_id, "indicator", "reported values in returns"),
        (Partner, PARTNERS.name, Return.partner_id, "partner", "returns submitted"),
        (Partner, PARTNERS.name, user_teams.c.partner_id, "partner", "user accounts in the team"),
        (Plan, PLANS.name, Return.plan_id, "plan", "returns against it"),
    )
    for model, sheet, column, label, what in checks:
        gone = missing(model, sheet)
        for model_id, count in sorted(_count_by(session, column, list(gone)).items(), key=lambda item: gone[item[0]]):
            found.append(
                Problem(
                    "removed_with_history",
                    f"The {label} {gone[model_id]} is missing from the sheet but has {count} {what}; "
                    "removing it would orphan that history. Put its row back.",
                    sheet=sheet,
                    value=gone[model_id],
                )
            )
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


def _positions(planned: dict[str, _Planned], existing: dict[str, Any]) -> None:
    """Fill blank Order cells: an existing row keeps its place, a new row goes last under its parent."""
    highest: dict[str | None, int] = defaultdict(lambda: 0)
    for ref, record in planned.items():
        position = record.fields["position"]
        if position is None and ref in existing:
            position = record.fields["position"] = existing[ref].position
        if position is not None:
            highest[record.parent] = max(highest[record.parent], position)
    for record in planned.values():
        if record.fields["position"] is None:
            highest[record.parent] += 1
            record.fields["position"] = highest[record.parent]


def _free_names(session: Session, model: Any, planned: dict[str, _Planned]) -> None:
    """Give renamed and departing rows a placeholder name first, so swapped or reused names do not collide."""
    moving = [
        record
        for record in session.scalars(select(model))
        if record.ref not in planned or not _same(record.name, planned[record.ref].fields["name"])
    ]
    for record in moving:
        record.name = f"(renaming {record.ref})"
    if moving:
        session.flush()


def _apply(session: Session, planned: dict[str, dict[str, _Planned]], mappings: Mappings, result: ImportResult) -> None:
    """Upsert every planned record by ref, set line partners, bodies and drivers, then remove what is gone."""

    def by_ref(model: Any) -> dict[str, Any]:
        return {record.ref: record for record in session.scalars(select(model))}

    stored: dict[str, dict[str, Any]] = {}
    touched: set[tuple[str, str]] = set()

    def upsert(
        sheet: str,
        model: Any,
        parent_attr: str | None = None,
        parents: dict[str, Any] | None = None,
        extra: Callable[[_Planned, Any], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        existing = stored[sheet] = by_ref(model)
        records = planned[sheet]
        if "position" in model.__table__.c:
            _positions(records, existing)
        for ref, record in records.items():
            values = dict(record.fields)
            if parent_attr and parents is not None:
                values[parent_attr] = parents[record.parent]
            if extra:
                values.update(extra(record, existing.get(ref)))
            if ref in existing:
                if _assign(existing[ref], values):
                    result.count(sheet, "updated")
                    touched.add((sheet, ref))
            else:
                existing[ref] = model(ref=ref, **values)
                session.add(existing[ref])
                result.count(sheet, "added")
                touched.add((sheet, ref))
        return existing

    def variants(record: _Planned, current: Any) -> dict[str, Any]:
        names = record.fields["variants"]
        # Stored "a|b" and typed "a; b" are the same list: only a different list is a change.
        if current is not None and _split_variants(current.variants) == names:
            return {"variants": current.variants}
        return {"variants": "|".join(names) or None}

    _free_names(session, Partner, planned[PARTNERS.name])
    _free_names(session, MonitoringBody, planned[BODIES.name])
    partners = upsert(PARTNERS.name, Partner, extra=variants)
    bodies = upsert(BODIES.name, MonitoringBody, extra=variants)
    domains = upsert(DOMAINS.name, IndexDomain)
    plans = upsert(PLANS.name, Plan)
    drivers = upsert(DRIVERS.name, Driver, "plan", plans)
    outcomes = upsert(OUTCOMES.name, Outcome, "plan", plans)
    objectives = upsert(OBJECTIVES.name, Objective, "outcome", outcomes)

    def reporting(record: _Planned, _current: Any) -> dict[str, Any]:
        ref = record.single.get("reporting_partner")
        return {"reporting_partner": partners[ref] if ref else None}

    actions = upsert(ACTIONS.name, Action, "objective", objectives, reporting)
    indicators = upsert(INDICATORS.name, Indicator, "outcome", outcomes, reporting)
    session.flush()

    partner_ids = _joined_ids(session, action_partners, "partner_id")
    body_ids = _joined_ids(session, action_bodies, "body_id")
    for ref, record in planned[ACTIONS.name].items():
        line = actions[ref]
        changed = False
        for table, key, targets, now in (
            (action_partners, "partner_id", partners, partner_ids),
            (action_bodies, "body_id", bodies, body_ids),
        ):
            wanted = [targets[r].id for r in record.lists["partners" if table is action_partners else "bodies"]]
            if wanted != now.get(line.id, []):
                session.execute(delete(table).where(table.c.action_id == line.id))
                if wanted:
                    session.execute(
                        insert(table),
                        [{"action_id": line.id, key: target, "position": i} for i, target in enumerate(wanted)],
                    )
                changed = True
        wanted_drivers = [drivers[r] for r in record.lists["drivers"]]
        if {d.id for d in line.drivers} != {d.id for d in wanted_drivers}:
            line.drivers = wanted_drivers
            changed = True
        if changed:
            session.expire(line, ["partners", "bodies"])
            # A line already counted as added or updated is one change, not two.
            if (ACTIONS.name, ref) not in touched:
                result.count(ACTIONS.name, "updated")

    links: dict[tuple[str, str, str], Any] = {}
    for link in session.scalars(select(ObjectiveDomain)):
        links[("objective", link.objective.ref, link.domain.ref)] = link
    for link in session.scalars(select(IndicatorDomain)):
        links[("indicator", link.indicator.ref, link.domain.ref)] = link
    for key, (reason, _row) in mappings.items():
        kind, ref, domain_ref = key
        if key in links:
            if _assign(links[key], {"reason": reason}):
                result.count(MAPPING.name, "updated")
        elif kind == "objective":
            session.add(ObjectiveDomain(objective=objectives[ref], domain=domains[domain_ref], reason=reason))
            result.count(MAPPING.name, "added")
        else:
            session.add(IndicatorDomain(indicator=indicators[ref], domain=domains[domain_ref], reason=reason))
            result.count(MAPPING.name, "added")
    for key, link in links.items():
        if key not in mappings:
            session.delete(link)
            result.count(MAPPING.name, "removed")
    session.flush()

    for sheet in (
        INDICATORS.name,
        ACTIONS.name,
        OBJECTIVES.name,
        OUTCOMES.name,
        DRIVERS.name,
        PLANS.name,
        DOMAINS.name,
        BODIES.name,
        PARTNERS.name,
    ):
        for ref, record in stored[sheet].items():
            if ref not in planned[sheet]:
                session.delete(record)
                result.count(sheet, "removed")
        session.flush()


def _workbook_order(problem: Problem) -> tuple[int, int, int, str]:
    """Sheet by sheet in workbook order, then row by row, then left to right; whole-sheet problems last."""
    sheet = next((i for i, spec in enumerate(SHEETS) if spec.name == problem.sheet), len(SHEETS))
    match = re.fullmatch(r"([A-Z]+)(\d+)", problem.cell or "")
    if not match:
        return (sheet, 1 << 30, 0, "")
    return (sheet, int(match[2]), len(match[1]), match[1])


def import_framework(session: Session, stream: BinaryIO) -> ImportResult:
    """Check a framework workbook and, only if it has no errors, apply it to the database in ``session``.

    Reads and validates the whole workbook first; on any problem the database is untouched and
    ``result.problems`` lists them all. The caller owns the transaction (this never commits).
    """
    result = ImportResult()
    try:
        sheets = _read_workbook(stream, result.problems)
    except _FileProblem as exc:
        result.problems.append(Problem("not_a_workbook", str(exc)))
        return result
    if result.problems:
        return result
    planned, mappings, problems = _validate(sheets, session)
    if problems:
        result.problems.extend(sorted(problems, key=_workbook_order))
        return result
    try:
        with session.begin_nested():
            _apply(session, planned, mappings, result)
    except IntegrityError as exc:
        result.changes.clear()
        result.problems.append(
            Problem("refused_by_database", f"The database refused the change, so nothing was imported: {exc.orig}")
        )
    return result
