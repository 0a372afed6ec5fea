"""Cells of the workbooks the app writes (template, marked copy, board data, framework export): text stays text.

openpyxl turns any string starting with ``=`` into a formula, so a progress update typed as
``=WEBSERVICE("http://…")`` would come back as a live formula in next quarter's template. Every workbook the app
writes puts its values through :func:`write_cell` or :func:`append_row`, which store text as a string cell (Excel
shows it exactly as typed, with no apostrophe, and never evaluates it) and drop the control characters a workbook
cannot hold. The app's own formulas, if it ever writes any, must be assigned separately and on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

STRING = "s"


def cell_text(value: str) -> str:
    """``value`` without the control characters (NUL and the like) that an xlsx cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def write_cell(cell: Cell, value: Any) -> Cell:
    """Put ``value`` in ``cell``: text as a string cell, never a formula; other values as they are. Returns ``cell``."""
    if isinstance(value, str):
        cell.value = cell_text(value)
        cell.data_type = STRING  # after assigning: openpyxl decides "formula" from a leading "="
    else:
        cell.value = value
    return cell


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Add ``values`` as the next row of ``sheet``, as :func:`write_cell` writes them."""
    values = list(values)
    sheet.append([cell_text(value) if isinstance(value, str) else value for value in values])
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            sheet.cell(row=row, column=column).data_type = STRING
