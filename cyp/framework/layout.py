"""The framework workbook's layout: its sheets, their columns (header, width, drop-down, the model field each
fills) and the Read me text. Export writes this layout and the import reads it; neither repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cyp.framework.model import MAPPING_KINDS
from cyp.status import POLARITIES

LIST_SEPARATOR = "; "
YES, NO = "yes", "no"
# Data validation and reference drop-downs reach this far down each sheet.
LAST_EDITABLE_ROW = 2000


# Headers whose model field is not the header in snake case.
FIELDS = {
    "Source": "document",
    "Order": "position",
    "Reporting team": "reporting",
    "Baseline value": "baseline",
    "Baseline period": "period",
}


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, width, fixed vocabulary (a drop-down) and what it holds."""

    header: str
    width: int
    about: str
    choices: tuple[str, ...] = ()
    imported: bool = True

    @property
    def field(self) -> str:
        """The model field (cyp/framework/model.py) this column fills."""
        return FIELDS.get(self.header, self.header.lower().replace(" ", "_"))


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
        Column(
            "Responsible",
            34,
            "Responsible partners or teams, by name (Partners sheet), separated by ; "
            "(at least one, unless Reporting team names one).",
        ),
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
        Column("Reason", 50, "Short reason for the mapping (required)."),
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


def readme_lines() -> list[str]:
    """The Read me sheet, one line per row: how an import works and what every column holds."""
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
        "existing refs: letters and digits joined by -, . or _, no spaces). Leave Order blank to put it last under its "
        "parent.",
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


def split_variants(variants: str | None) -> list[str]:
    """The variants of a partner or body as stored (``a|b``), as a list."""
    return [v.strip() for v in (variants or "").split("|") if v.strip()]
