"""Export the plan framework from the database as the administrator's workbook (layout: cyp/framework/layout.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.cells import append_row
from cyp.framework.layout import (
    ACTIONS,
    BODIES,
    CELL_ALIGNMENT,
    DOMAINS,
    DRIVERS,
    HEADER_FILL,
    HEADER_FONT,
    INDICATORS,
    LAST_EDITABLE_ROW,
    LIST_SEPARATOR,
    MAPPING,
    NO,
    OBJECTIVES,
    OUTCOMES,
    PARTNERS,
    PLANS,
    README_SHEET,
    SHEETS,
    YES,
    SheetSpec,
    readme_lines,
    split_variants,
)
from cyp.storage.models import (
    Action,
    Driver,
    IndexDomain,
    Indicator,
    IndicatorDomain,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Partner,
    Plan,
    action_bodies,
    action_partners,
)


def _write_sheet(workbook: Workbook, spec: SheetSpec, rows: list[list[Any]], lookups: dict[str, str]) -> None:
    sheet = workbook.create_sheet(spec.name)
    append_row(sheet, [column.header for column in spec.columns])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = CELL_ALIGNMENT
    for row in rows:
        append_row(sheet, row)  # text stays text: a wording starting "=" is not a formula
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            cell.alignment = CELL_ALIGNMENT
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


def _yes_no(value: bool | None) -> str:
    return YES if value else NO


def _join(names: Iterable[str]) -> str | None:
    return LIST_SEPARATOR.join(names) or None


def _sheet_rows(session: Session) -> dict[SheetSpec, list[list[Any]]]:
    """Every sheet's rows, in framework order (plan, outcome, objective, position)."""
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
        PARTNERS: [[p.ref, p.name, _join(split_variants(p.variants)), _yes_no(p.is_demo)] for p in partners],
        BODIES: [[b.ref, b.name, _join(split_variants(b.variants))] for b in bodies],
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
    return tree_rows


def export_framework(session: Session) -> bytes:
    """The whole framework and its index mapping as an .xlsx workbook (one readable sheet per kind).

    Rows are in framework order (plan, outcome, objective, position) so two exports of the same
    database list the same rows in the same order.
    """
    tree_rows = _sheet_rows(session)
    workbook = Workbook()
    readme = workbook.active
    assert isinstance(readme, Worksheet)  # a new workbook's one sheet
    readme.title = README_SHEET
    for line in readme_lines():
        append_row(readme, [line])
    readme.column_dimensions["A"].width = 120
    for (cell,) in readme.iter_rows():
        cell.alignment = CELL_ALIGNMENT
    readme["A1"].font = Font(bold=True, size=14)
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
