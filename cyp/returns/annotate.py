"""A copy of an uploaded workbook with each problem marked on its cell, for the lead to download and fix.

Only called on files that passed :func:`cyp.returns.filecheck.check_upload`; openpyxl
parses through defusedxml, which is installed. Problems without a cell are listed on a
``Problems`` sheet placed first, which also lists every located problem. A workbook openpyxl
cannot open (a malformed style such as an invalid tab colour, parts named with backslashes)
still gets its marked copy: the values are read with the upload's own reader and written into
a plain workbook, so the lead never loses the marked copy to an exception.
"""

from __future__ import annotations

import io

import python_calamine
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from cyp.cells import append_row, write_cell
from cyp.problems import Problem

ERROR_FILL = PatternFill("solid", fgColor="F4B6B6")
QUERY_FILL = PatternFill("solid", fgColor="FFE08A")
PROBLEMS_SHEET = "Problems"
AUTHOR = "CYP Plan Monitor"
VALUES_ONLY_NOTE = (
    "This copy holds your workbook's values only: its formatting could not be read. Fix the marked cells in your "
    "own workbook and upload that again."
)


def annotate_workbook(data: bytes, problems: list[Problem]) -> bytes:
    """The workbook with bad cells filled (errors pink, queries yellow) and commented, plus a Problems sheet.

    Sheet protection is lifted on the copy so the lead can fix cells directly. Never raises: a workbook openpyxl
    cannot open or save is rebuilt from its values (see the module docstring), and one nothing can read gets a
    workbook with the Problems sheet alone.
    """
    try:
        workbook = load_workbook(io.BytesIO(data), keep_vba=False)
        return _marked(workbook, problems, note=None)
    except Exception:  # noqa: BLE001 - whatever openpyxl cannot read or write, the values copy below still can
        pass
    try:
        workbook = values_copy(data)
    except Exception:  # noqa: BLE001 - an unreadable file still gets its list of problems
        workbook = Workbook()
        workbook.remove(workbook.worksheets[0])  # a new workbook's only sheet
    return _marked(workbook, problems, note=VALUES_ONLY_NOTE)


def values_copy(data: bytes) -> Workbook:
    """A plain workbook holding every sheet's values as the upload's reader sees them, text as text."""
    source = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # a new workbook's only sheet
    for name in source.sheet_names:
        sheet = workbook.create_sheet(name[:31])
        for row in source.get_sheet_by_name(name).iter_rows():
            append_row(sheet, [None if value == "" else value for value in row])
    return workbook


def _marked(workbook: Workbook, problems: list[Problem], note: str | None) -> bytes:
    for problem in problems:
        if not (problem.sheet and problem.cell) or problem.sheet not in workbook.sheetnames:
            continue
        try:
            cell = workbook[problem.sheet][problem.cell]
        except (ValueError, KeyError, IndexError):
            continue  # an address the copy cannot hold is still listed on the Problems sheet
        cell.fill = ERROR_FILL if problem.severity == "error" else QUERY_FILL
        label = "Error" if problem.severity == "error" else "Query"
        text = f"{label}: {problem.message}"
        if cell.comment is not None and cell.comment.author == AUTHOR:
            text = f"{cell.comment.text}\n{text}"
        cell.comment = Comment(text, AUTHOR, width=320, height=140)
    for sheet in workbook.worksheets:
        sheet.protection.sheet = False
    if PROBLEMS_SHEET in workbook.sheetnames:
        del workbook[PROBLEMS_SHEET]
    listing = workbook.create_sheet(PROBLEMS_SHEET, 0)
    append_row(listing, ["Where", "Kind", "Problem"])
    for cell in listing[1]:
        cell.font = Font(bold=True)
    for problem in problems:
        append_row(listing, [problem.location or "whole file", problem.severity, problem.message])
    if note:
        append_row(listing, [])
        write_cell(listing.cell(row=listing.max_row + 1, column=1), note).font = Font(italic=True)
    listing.column_dimensions["A"].width = 18
    listing.column_dimensions["B"].width = 8
    listing.column_dimensions["C"].width = 110
    workbook.active = 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
