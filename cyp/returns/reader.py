"""Read a filled-in return workbook into plain values, each with the cell it came from.

Reading forgives what is unambiguous (header row anywhere in the first rows,
headings in any case, spacing or punctuation and their synonyms from
``data/return-headers.yaml``, extra columns, blank rows, sheet names with stray
spaces) and records the address of every value so validation can name the cell.
Reading never judges the values themselves; that is :mod:`cyp.returns.validate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import python_calamine
from openpyxl.utils import get_column_letter

from cyp.problems import Problem
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import SCHEMA_DIR, load_data_file

HEADERS_FILE = PROJECT_ROOT / "data" / "return-headers.yaml"
HEADER_SEARCH_ROWS = 20


class Cell(NamedTuple):
    """A value read from the workbook: its text (stripped; None when blank), raw value and address."""

    text: str | None
    address: str
    raw: Any = None


@dataclass
class ParsedLine:
    """One row of the Return table."""

    row: int
    ref: Cell
    status: Cell
    progress: Cell
    next_steps: Cell
    risks: Cell
    # Only in a template that carried a board question (cyp.cycle.questions).
    board_answer: Cell = Cell(None, "")


@dataclass
class ParsedIndicator:
    """One row of the Indicators table."""

    row: int
    ref: Cell
    value: Cell
    target: Cell
    commentary: Cell


@dataclass
class ParsedReturn:
    """Everything read from a return workbook, plus the problems that stopped reading part of it."""

    return_sheet: str = "Return"
    indicators_sheet: str = "Indicators"
    team: Cell | None = None
    quarter: Cell | None = None
    # Values recorded by the template in the hidden About sheet, used when the visible labels are missing.
    about: dict[str, Cell] = field(default_factory=dict)
    lines: list[ParsedLine] = field(default_factory=list)
    indicators: list[ParsedIndicator] = field(default_factory=list)
    has_indicators_sheet: bool = False
    problems: list[Problem] = field(default_factory=list)


@cache
def header_vocabulary(path: Path = HEADERS_FILE) -> dict[str, Any]:
    """The sheet, column and label synonyms of ``data/return-headers.yaml``."""
    return load_data_file(path, SCHEMA_DIR / "return-headers.schema.json")


@lru_cache(maxsize=4096)  # headings and labels repeat in every upload
def normalise_heading(text: str) -> str:
    """Lower case, ``&`` read as "and", everything but letters and digits dropped."""
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("&", "and"))


def cell_text(value: Any) -> str | None:
    """A cell's value as stripped text; None when blank. Whole floats lose their ``.0``; dates are ISO."""
    if type(value) is str:  # most cells: skip the other checks
        return value.replace("\u00a0", " ").strip() or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


@cache
def _synonyms(section: str) -> dict[str, str]:
    """Normalised wording -> canonical field for one section of the vocabulary."""
    return {normalise_heading(word): key for key, words in header_vocabulary()[section].items() for word in words}


def display_name(section: str, key: str) -> str:
    """The wording the template uses for a field (first synonym)."""
    return header_vocabulary()[section][key][0]


def _find_sheet(names: list[str], kind: str) -> str | None:
    wanted = _sheet_words(kind)
    return next((name for name in names if normalise_heading(name) in wanted), None)


@cache
def _sheet_words(kind: str) -> frozenset[str]:
    return frozenset(normalise_heading(word) for word in header_vocabulary()["sheets"][kind])


def _is_blank(value: Any) -> bool:
    """What :func:`cell_text` reads as None, without building the text."""
    return value is None or (isinstance(value, str) and not value.replace("\u00a0", " ").strip())


class _Table:
    """A sheet as rows of raw values, with addresses counted from A1."""

    def __init__(self, sheet: python_calamine.CalamineSheet) -> None:
        self.name = sheet.name
        self.rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)

    def cell(self, row: int, column: int | None) -> Cell:
        """The cell at 0-based ``row``/``column``; a blank cell when the column is absent."""
        if column is None:
            return Cell(None, "")
        values = self.rows[row] if row < len(self.rows) else []
        raw = values[column] if column < len(values) else None
        raw = None if raw == "" else raw
        return Cell(cell_text(raw), f"{get_column_letter(1 + column)}{row + 1}", raw)


def _find_header(
    table: _Table, section: str, required: list[str], problems: list[Problem]
) -> tuple[int, dict[str, int]] | None:
    """The header row (0-based) and field -> column; None (with a problem) when there is no usable header."""
    synonyms = _synonyms(section)
    best: tuple[int, dict[str, list[int]]] | None = None
    for row_index, row in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        found: dict[str, list[int]] = {}
        for column, value in enumerate(row):
            text = cell_text(value)
            key = synonyms.get(normalise_heading(text)) if text else None
            if key:
                found.setdefault(key, []).append(column)
        # The header is the row naming the most known columns; a tie keeps the first.
        if len(found) >= 2 and (best is None or len(found) > len(best[1])):
            best = (row_index, found)
    last_row = min(len(table.rows), HEADER_SEARCH_ROWS)
    expected = ", ".join(display_name(section, key) for key in required)
    if best is None:
        problems.append(
            Problem(
                "no-header-row",
                f"no header row found in rows 1–{max(last_row, 1)}; the table needs a row of headings including "
                f"{expected}",
                sheet=table.name,
            )
        )
        return None
    row_index, found = best
    columns: dict[str, int] = {}
    for key, found_columns in found.items():
        if len(found_columns) > 1:
            letters = " and ".join(get_column_letter(1 + c) for c in found_columns)
            problems.append(
                Problem(
                    "ambiguous-column",
                    f"columns {letters} of the header row (row {row_index + 1}) could both be "
                    f"'{display_name(section, key)}'; rename or delete one of them",
                    sheet=table.name,
                    cell=f"{get_column_letter(1 + found_columns[1])}{row_index + 1}",
                )
            )
        else:
            columns[key] = found_columns[0]
    for key in required:
        if key not in found:
            wordings = ", ".join(f"'{w}'" for w in header_vocabulary()[section][key])
            problems.append(
                Problem(
                    "missing-column",
                    f"no '{display_name(section, key)}' column in the header row (row {row_index + 1}); "
                    f"add a column headed one of {wordings}",
                    sheet=table.name,
                )
            )
    return row_index, columns


def _read_labels(table: _Table, above_row: int) -> dict[str, Cell]:
    """Label cells above the header ("Team", "Quarter: ") and the next filled cell to their right."""
    synonyms = _synonyms("labels")
    labels: dict[str, Cell] = {}
    for row_index, row in enumerate(table.rows[:above_row]):
        for column, value in enumerate(row):
            text = cell_text(value)
            key = synonyms.get(normalise_heading(text)) if text else None
            if not key or key in labels:
                continue
            for value_column in range(column + 1, len(row)):
                cell = table.cell(row_index, value_column)
                if cell.text is not None:
                    labels[key] = cell
                    break
    return labels


def _read_about(table: _Table) -> dict[str, Cell]:
    """Key/value rows of the template's hidden About sheet."""
    synonyms = _synonyms("labels")
    about: dict[str, Cell] = {}
    for row_index, row in enumerate(table.rows):
        key_text = cell_text(row[0]) if row else None
        key = synonyms.get(normalise_heading(key_text)) if key_text else None
        if key and len(row) > 1:
            about[key] = table.cell(row_index, 1)
    return about


def _data_rows(table: _Table, header_row: int, columns: dict[str, int]) -> list[int]:
    """Rows below the header with anything in a recognised column (blank and trailing rows skipped)."""
    used = list(columns.values())
    rows = []
    for row_index in range(header_row + 1, len(table.rows)):
        values = table.rows[row_index]
        if any(column < len(values) and not _is_blank(values[column]) for column in used):
            rows.append(row_index)
    return rows


def read_return(stream: BinaryIO) -> ParsedReturn:
    """Read a return workbook; structural problems (no Return sheet, no header, missing column) are in ``.problems``.

    The stream must already have passed :func:`cyp.returns.filecheck.check_upload`. An unreadable workbook gives
    a problem, never an exception.
    """
    parsed = ParsedReturn()
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(stream)
        names = list(workbook.sheet_names)
        return_name = _find_sheet(names, "return")
        if return_name is None:
            shown = ", ".join(f"'{n}'" for n in names)
            parsed.problems.append(
                Problem(
                    "no-return-sheet",
                    f"the workbook has no sheet named 'Return' (its sheets are {shown}); "
                    "use the template downloaded for your team",
                )
            )
            return parsed
        parsed.return_sheet = return_name
        _read_return_sheet(_Table(workbook.get_sheet_by_name(return_name)), parsed)
        indicators_name = _find_sheet(names, "indicators")
        if indicators_name is not None:
            parsed.has_indicators_sheet = True
            parsed.indicators_sheet = indicators_name
            _read_indicators_sheet(_Table(workbook.get_sheet_by_name(indicators_name)), parsed)
        about_name = _find_sheet(names, "about")
        if about_name is not None:
            parsed.about = _read_about(_Table(workbook.get_sheet_by_name(about_name)))
    except Exception as exc:  # noqa: BLE001 - any parser failure on an uploaded file is the file's problem
        parsed.problems.append(
            Problem(
                "unreadable",
                f"the workbook could not be read ({type(exc).__name__}); open it in Excel, save it as an .xlsx "
                "workbook and upload it again",
            )
        )
    return parsed


def _read_return_sheet(table: _Table, parsed: ParsedReturn) -> None:
    found = _find_header(table, "return_columns", header_vocabulary()["return_required"], parsed.problems)
    labels = _read_labels(table, found[0] if found else HEADER_SEARCH_ROWS)
    parsed.team = labels.get("team")
    parsed.quarter = labels.get("quarter")
    if found is None:
        return
    header_row, columns = found
    for row_index in _data_rows(table, header_row, columns):
        parsed.lines.append(
            ParsedLine(
                row=row_index + 1,
                ref=table.cell(row_index, columns.get("ref")),
                status=table.cell(row_index, columns.get("status")),
                progress=table.cell(row_index, columns.get("progress")),
                next_steps=table.cell(row_index, columns.get("next_steps")),
                risks=table.cell(row_index, columns.get("risks")),
                board_answer=table.cell(row_index, columns.get("board_answer")),
            )
        )


def _read_indicators_sheet(table: _Table, parsed: ParsedReturn) -> None:
    if not any(cell_text(v) for row in table.rows for v in row):
        return  # an empty Indicators sheet means nothing to report
    found = _find_header(table, "indicator_columns", header_vocabulary()["indicator_required"], parsed.problems)
    if found is None:
        return
    header_row, columns = found
    used = {k: v for k, v in columns.items() if k in ("ref", "value", "target", "commentary")}
    for row_index in _data_rows(table, header_row, used):
        parsed.indicators.append(
            ParsedIndicator(
                row=row_index + 1,
                ref=table.cell(row_index, columns.get("ref")),
                value=table.cell(row_index, columns.get("value")),
                target=table.cell(row_index, columns.get("target")),
                commentary=table.cell(row_index, columns.get("commentary")),
            )
        )
