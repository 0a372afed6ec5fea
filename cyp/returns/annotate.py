"""A copy of an uploaded workbook with each problem marked on its cell, for the lead to download and fix.

Only called on files that passed :func:`cyp.returns.filecheck.check_upload`; openpyxl
parses through defusedxml, which is installed. Problems without a cell are listed on a
``Problems`` sheet placed first, which also lists every located problem.
"""

from __future__ import annotations

import io

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from cyp.problems import Problem

ERROR_FILL = PatternFill("solid", fgColor="F4B6B6")
QUERY_FILL = PatternFill("solid", fgColor="FFE08A")
PROBLEMS_SHEET = "Problems"


def annotate_workbook(data: bytes, problems: list[Problem]) -> bytes:
    """The workbook with bad cells filled (errors pink, queries yellow) and commented, plus a Problems sheet.

    Sheet protection is lifted on the copy so the lead can fix cells directly. Raises whatever openpyxl raises
    for a workbook it cannot open; callers show the problem list instead.
    """
    workbook = load_workbook(io.BytesIO(data), keep_vba=False)
    for problem in problems:
        if not (problem.sheet and problem.cell) or problem.sheet not in workbook.sheetnames:
            continue
        sheet = workbook[problem.sheet]
        cell = sheet[problem.cell]
        cell.fill = ERROR_FILL if problem.severity == "error" else QUERY_FILL
        label = "Error" if problem.severity == "error" else "Query"
        text = f"{label}: {problem.message}"
        if cell.comment is not None and cell.comment.author == "CYP Plan Monitor":
            text = f"{cell.comment.text}\n{text}"
        cell.comment = Comment(text, "CYP Plan Monitor", width=320, height=140)
    for sheet in workbook.worksheets:
        sheet.protection.sheet = False
    if PROBLEMS_SHEET in workbook.sheetnames:
        del workbook[PROBLEMS_SHEET]
    listing = workbook.create_sheet(PROBLEMS_SHEET, 0)
    listing.append(["Where", "Kind", "Problem"])
    for cell in listing[1]:
        cell.font = Font(bold=True)
    for problem in problems:
        listing.append([problem.location or "whole file", problem.severity, problem.message])
    listing.column_dimensions["A"].width = 18
    listing.column_dimensions["B"].width = 8
    listing.column_dimensions["C"].width = 110
    workbook.active = 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
