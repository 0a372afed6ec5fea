"""Read a filled-in return workbook into plain values, each with the cell it came from.

Reading forgives what is unambiguous (header row anywhere in the first rows,
headings in any case, spacing or punctuation and their synonyms from
``data/return-headers.yaml``, extra columns, blank rows, sheet names with stray
spaces) and records the address of every value so validation can name the cell.
Reading never judges the values themselves; that is :mod:`cyp.returns.validate`.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import python_calamine
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from cyp.problems import Code, Problem
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import SCHEMA_DIR, load_data_file

HEADERS_FILE = PROJECT_ROOT / "data" / "return-headers.yaml"
HEADER_SEARCH_ROWS = 20
# How far down a header-like row is looked for, only to say where it is, when none is in the first 20 rows.
HEADER_SEEN_ROWS = 500
# A worksheet's <dimension> element, which comes before its cells: where to look for it and how to match it.
DIMENSION_SEARCH_BYTES = 64 * 1024
DECLARED_RANGE = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*>(?:\s*</(?:[\w.-]+:)?dimension>)?")
WELL_FORMED_RANGE = re.compile(rb"\sref\s*=\s*[\"']\$?[A-Za-z]{1,3}\$?\d{1,7}(?::\$?[A-Za-z]{1,3}\$?\d{1,7})?[\"']")


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
    # Only in a template that carried a board question (cyp.returns.board_columns).
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


_NOT_HEADING_CHARACTER = re.compile(r"[^a-z0-9]")
# The bytes that are not [a-z0-9]: deleting them from ASCII text is what the pattern above does, several times faster.
_NOT_HEADING_BYTES = bytes(b for b in range(128) if not (48 <= b <= 57 or 97 <= b <= 122))


@lru_cache(maxsize=4096)  # headings and labels repeat in every upload
def normalise_heading(text: str) -> str:
    """Lower case, ``&`` read as "and", everything but letters and digits dropped."""
    lowered = text.lower().replace("&", "and")
    # The header search meets every cell of the first rows, long commentary included: most of them ASCII.
    if lowered.isascii():
        return lowered.encode("ascii").translate(None, _NOT_HEADING_BYTES).decode("ascii")
    return _NOT_HEADING_CHARACTER.sub("", lowered)


# Characters that show nothing (zero-width spaces and joiners, soft hyphens, direction marks, the byte-order mark):
# text hiding an NHS number between them must be seen as the number it is.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
# Control characters other than tab and line breaks: a NUL (or Excel's escaped "_x0000_") cannot be stored in
# PostgreSQL text, and none of them means anything in a progress update.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalise_text(text: str) -> str:
    """``text`` in Unicode NFKC form without invisible or control characters (tab and line breaks kept).

    Every text read from a workbook goes through this, so the personal-data checks and the database see the
    same characters a reader sees on screen.
    """
    if text.isascii():  # most text: only control characters can need removing
        return text if text.isprintable() or not _CONTROL.search(text) else _CONTROL.sub("", text)
    return _CONTROL.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)))


def cell_text(value: Any) -> str | None:
    """A cell's value as stripped, normalised text (:func:`normalise_text`); None when blank. Whole floats lose
    their ``.0``; dates are ISO."""
    if type(value) is str:  # most cells: skip the other checks
        if value.isascii() and value.isprintable():  # most text: nothing to normalise, no no-break space
            return value.strip() or None
        return normalise_text(value).replace("\u00a0", " ").strip() or None
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
    text = normalise_text(str(value)).replace("\u00a0", " ").strip()
    return text or None


@cache
def _synonyms(section: str) -> dict[str, str]:
    """Normalised wording -> canonical field for one section of the vocabulary."""
    return {normalise_heading(word): key for key, words in header_vocabulary()[section].items() for word in words}


def display_name(section: str, key: str) -> str:
    """The wording the template uses for a field (first synonym)."""
    return header_vocabulary()[section][key][0]


def _find_sheet(names: list[str], kind: str) -> str | None:
    """The sheet named as the template names it ("Return"), wherever it is; otherwise the first named a synonym."""
    canonical = normalise_heading(display_name("sheets", kind))
    exact = next((name for name in names if normalise_heading(name) == canonical), None)
    if exact is not None:
        return exact
    wanted = _sheet_words(kind)
    return next((name for name in names if normalise_heading(name) in wanted), None)


@cache
def _sheet_words(kind: str) -> frozenset[str]:
    return frozenset(normalise_heading(word) for word in header_vocabulary()["sheets"][kind])


def _is_blank(value: Any) -> bool:
    """What :func:`cell_text` reads as None, without building the text."""
    return value is None or (isinstance(value, str) and not value.replace("\u00a0", " ").strip())


def _without_blank_end(row: list[Any]) -> list[Any]:
    end = len(row)
    while end and _is_blank(row[end - 1]):
        end -= 1
    return row[:end] if end < len(row) else row


class _Table:
    """A sheet as rows of raw values, with addresses counted from A1."""

    def __init__(self, sheet: python_calamine.CalamineSheet) -> None:
        self.name = sheet.name
        # Row by row, each without its blank end: what is kept in Python is what the sheet holds, not its grid.
        self.rows: list[list[Any]] = [_without_blank_end(row) for row in sheet.iter_rows()]
        while self.rows and not self.rows[-1]:
            self.rows.pop()

    def cell(self, row: int, column: int | None) -> Cell:
        """The cell at 0-based ``row``/``column``; a blank cell when the column is absent."""
        if column is None:
            return Cell(None, "")
        values = self.rows[row] if row < len(self.rows) else []
        raw = values[column] if column < len(values) else None
        raw = None if raw == "" else raw
        return Cell(cell_text(raw), f"{_column_letter(column)}{row + 1}", raw)

    def cells(self, row: int, columns: tuple[tuple[int | None, str], ...]) -> list[Cell]:
        """:meth:`cell` for each of ``columns`` in one row, given as (0-based column, its letters) (a table's lines
        are read this way: the letters are worked out once per table, not once per cell)."""
        values = self.rows[row] if row < len(self.rows) else []
        width = len(values)
        number = str(row + 1)
        out = []
        for column, letters in columns:
            if column is None:
                out.append(_NO_CELL)
                continue
            raw = values[column] if column < width else None
            if raw == "":
                raw = None
            # tuple.__new__ builds the Cell without the named tuple's Python-level __new__ (hundreds per return).
            out.append(_new_tuple(Cell, (cell_text(raw), letters + number, raw)))
        return out


_new_tuple = tuple.__new__
_NO_CELL = Cell(None, "")


@lru_cache(maxsize=256)
def _column_letter(column: int) -> str:
    """The letters of 0-based ``column``."""
    return get_column_letter(1 + column)


def _find_header(
    table: _Table, section: str, required: list[str], problems: list[Problem]
) -> tuple[int, dict[str, int]] | None:
    """The header row (0-based) and field -> column; None (with a problem) when there is no usable header."""
    best = _best_header_row(table, section, 0, HEADER_SEARCH_ROWS)
    last_row = min(len(table.rows), HEADER_SEARCH_ROWS)
    expected = ", ".join(display_name(section, key) for key in required)
    if best is None:
        # Only to say where a header was seen; a few hundred rows, so a sheet without any header costs little.
        lower = _best_header_row(table, section, HEADER_SEARCH_ROWS, HEADER_SEEN_ROWS)
        seen = (
            f"; a row of headings was seen at row {lower[0] + 1}: delete the rows above the table so its headings "
            f"are in row {HEADER_SEARCH_ROWS} or above"
            if lower
            else ""
        )
        problems.append(
            Problem(
                Code.NO_HEADER_ROW,
                f"no header row found in rows 1–{max(last_row, 1)}; the table needs a row of headings including "
                f"{expected}{seen}",
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
                    Code.AMBIGUOUS_COLUMN,
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
                    Code.MISSING_COLUMN,
                    f"no '{display_name(section, key)}' column in the header row (row {row_index + 1}); "
                    f"add a column headed one of {wordings}",
                    sheet=table.name,
                )
            )
    return row_index, columns


def _best_header_row(table: _Table, section: str, start: int, stop: int) -> tuple[int, dict[str, list[int]]] | None:
    """The row in ``start``..``stop`` (0-based) naming the most known columns (at least two); a tie keeps the first."""
    synonyms = _synonyms(section)
    best: tuple[int, dict[str, list[int]]] | None = None
    for row_index in range(start, min(stop, len(table.rows))):
        row = table.rows[row_index]
        # Each cell names one field at most: a row no longer than the best so far cannot beat it (a tie keeps the
        # first), so the lines below a header are not read as headings.
        if best is not None and len(row) <= len(best[1]):
            continue
        found: dict[str, list[int]] = {}
        for column, value in enumerate(row):
            text = cell_text(value)
            key = synonyms.get(normalise_heading(text)) if text else None
            if key:
                found.setdefault(key, []).append(column)
        if len(found) >= 2 and (best is None or len(found) > len(best[1])):
            best = (row_index, found)
    return best


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
    a problem, never an exception. A sheet's declared used range (``<dimension>``) never decides: when the reader
    cannot read a workbook whose declared range is malformed, it is read again without it.
    """
    parsed = _read(stream)
    if any(p.code == "unreadable" for p in parsed.problems):
        stream.seek(0)
        without = _without_declared_ranges(stream.read())
        if without is not None:
            again = _read(io.BytesIO(without))
            if not any(p.code == "unreadable" for p in again.problems):
                return again
    return parsed


def _without_declared_ranges(data: bytes) -> bytes | None:
    """``data`` with each worksheet's malformed ``<dimension>`` removed; None when none is malformed (or no zip)."""
    try:
        out = io.BytesIO()
        changed = False
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for info in source.infolist():
                part = source.read(info)
                declared = DECLARED_RANGE.search(part, 0, DIMENSION_SEARCH_BYTES)
                if declared and not WELL_FORMED_RANGE.search(declared.group(0)):
                    part = part[: declared.start()] + part[declared.end() :]
                    changed = True
                copy.writestr(info.filename, part)
        return out.getvalue() if changed else None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def _read(stream: BinaryIO) -> ParsedReturn:
    parsed = ParsedReturn()
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(stream)
        names = list(workbook.sheet_names)
        return_name = _find_sheet(names, "return")
        if return_name is None:
            shown = ", ".join(f"'{n}'" for n in names)
            parsed.problems.append(
                Problem(
                    Code.NO_RETURN_SHEET,
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
        _keep_numbers_as_shown(stream, parsed)
    except Exception as exc:  # noqa: BLE001 - any parser failure on an uploaded file is the file's problem
        parsed.problems.append(
            Problem(
                Code.UNREADABLE,
                f"the workbook could not be read ({type(exc).__name__}); open it in Excel or LibreOffice, save it "
                "as an Excel workbook (.xlsx) and upload it again",
            )
        )
    return parsed


def _keep_numbers_as_shown(stream: BinaryIO, parsed: ParsedReturn) -> None:
    """Numbers in text fields (progress, next steps, risks, commentary) as the sheet shows them.

    Typed into a cell formatted General, "50%" and "1,234" become the numbers 0.5 and 1234 with a number format;
    the text that was typed is what the sheet shows, so that is what is kept. Number formats are read (with
    openpyxl, read-only) only when a text field holds a number, which a return rarely does.
    """
    wanted: list[tuple[str, ParsedLine | ParsedIndicator, str]] = []
    for line in parsed.lines:
        for name, text_cell in (("progress", line.progress), ("next_steps", line.next_steps), ("risks", line.risks)):
            if _is_number(text_cell.raw):
                wanted.append((parsed.return_sheet, line, name))
    for indicator in parsed.indicators:
        if _is_number(indicator.commentary.raw):
            wanted.append((parsed.indicators_sheet, indicator, "commentary"))
    if not wanted:
        return
    try:
        stream.seek(0)
        workbook = load_workbook(stream, read_only=True, data_only=True)
        for sheet_name, row, name in wanted:
            cell: Cell = getattr(row, name)
            shown = _as_shown(cell.raw, workbook[sheet_name][cell.address].number_format)
            if shown is not None:
                setattr(row, name, cell._replace(text=shown))
        workbook.close()
    except Exception:  # noqa: BLE001 - the number as stored is still a faithful reading when formats cannot be read
        return


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_shown(value: float, number_format: str | None) -> str | None:
    """``value`` as a percentage or thousands format displays it ("0%", "#,##0.00"); None for other formats."""
    shape = (number_format or "General").split(";")[0]
    decimals = len(match.group(1)) if (match := re.search(r"\.(0+)", shape)) else 0
    grouping = "," if "#,#" in shape else ""
    if "%" in shape:
        return f"{value * 100:{grouping}.{decimals}f}%"
    if grouping or re.fullmatch(r"0(\.0+)?", shape):
        return f"{value:{grouping}.{decimals}f}"
    return None


def _read_return_sheet(table: _Table, parsed: ParsedReturn) -> None:
    found = _find_header(table, "return_columns", header_vocabulary()["return_required"], parsed.problems)
    labels = _read_labels(table, found[0] if found else HEADER_SEARCH_ROWS)
    parsed.team = labels.get("team")
    parsed.quarter = labels.get("quarter")
    if found is None:
        return
    header_row, columns = found
    wanted = tuple(_with_letters(columns.get(key)) for key in _LINE_FIELDS)
    for row_index in _data_rows(table, header_row, columns):
        parsed.lines.append(ParsedLine(row_index + 1, *table.cells(row_index, wanted)))


def _with_letters(column: int | None) -> tuple[int | None, str]:
    return (column, "" if column is None else _column_letter(column))


# ParsedLine's cells, in the order it declares them.
_LINE_FIELDS = ("ref", "status", "progress", "next_steps", "risks", "board_answer")


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
