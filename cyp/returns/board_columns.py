"""The template's "Board asked" and "Answer to the board" columns, written with openpyxl when a question is open."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cyp.read.questions import asked_text
from cyp.returns.reader import display_name
from cyp.storage.models import Action, BoardQuestion

ASKED_WIDTH = 45
ANSWER_WIDTH = 50
ASKED_FILL = PatternFill("solid", fgColor="DDEBF7")


def write_board_columns(
    sheet: Worksheet,
    questions: dict[int, list[BoardQuestion]],
    lines: Sequence[Action],
    header_row: int,
    first_column: int,
    header_style: tuple[Font, PatternFill],
    input_cell: Callable[[Cell | MergedCell], None],
) -> bool:
    """Add "Board asked" (locked) and "Answer to the board" (input) columns when any line has an open question.

    ``input_cell(cell)`` styles an input the way the template does. Returns whether the columns were added.
    """
    if not any(action.id in questions for action in lines):
        return False
    asked_column, answer_column = first_column, first_column + 1
    for column, key, width in (
        (asked_column, "board_asked", ASKED_WIDTH),
        (answer_column, "board_answer", ANSWER_WIDTH),
    ):
        cell = sheet.cell(row=header_row, column=column, value=display_name("return_columns", key))
        cell.font, cell.fill = header_style
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, action in enumerate(lines, start=header_row + 1):
        asked = questions.get(action.id)
        if not asked:
            continue
        cell = sheet.cell(row=row, column=asked_column, value=asked_text(asked))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = ASKED_FILL
        input_cell(sheet.cell(row=row, column=answer_column))
    return True
