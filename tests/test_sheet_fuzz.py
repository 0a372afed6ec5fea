"""Property-based fuzzing of worksheet XML: rows and cells with and without addresses, declared ranges that lie.

Whatever the sheet, the file check and the reader never raise and stay within time and memory; a sheet the check
passes is one the reader (calamine) places within the limits, so it can never allocate a huge grid; and a refused
file stores nothing.
"""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import time
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import python_calamine
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from cyp.access.permissions import system_acting_for
from cyp.returns import filecheck
from cyp.returns.filecheck import check_upload, upload_limits
from cyp.returns.ingest import ingest_return
from cyp.returns.reader import _without_declared_ranges, read_return
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import AuditEvent, LineUpdate, Return
from cyp.storage.schema import upgrade_schema
from tests import hostile_files as hostile
from tests.returns_factory import build_framework

ROOT = Path(__file__).resolve().parent.parent
LIMITS = upload_limits()
# CPU seconds (thread or process time), so that a busy shared machine does not count against the file.
SECONDS = 2.0
PYTHON_MB = 100

# Row numbers around every edge that matters: the start, the limit, and the end of Excel's grid.
row_numbers = st.one_of(
    st.integers(1, 30),
    st.integers(LIMITS.max_rows - 3, LIMITS.max_rows + 3),
    st.integers(1_048_570, 1_048_576),
)
column_numbers = st.one_of(
    st.integers(1, 12), st.integers(LIMITS.max_columns - 2, LIMITS.max_columns + 2), st.just(16_384)
)
values = st.sampled_from(
    [
        "",  # an empty, self-closing cell (what LibreOffice writes for a styled blank)
        "<v>1</v>",
        "<is><t>Green</t></is>",
        "<f>1+1</f><v>2</v>",
        '<is><t xml:space="preserve"> x </t></is>',
    ]
)
# The tests upload as the system, as the command line does with --as-system.
UPLOADER = system_acting_for("tests")


@st.composite
def cells(draw: st.DrawFn, row_number: int | None) -> str:
    content = draw(values)
    kind = ' t="inlineStr"' if content.startswith("<is>") else ""
    address = ""
    if draw(st.booleans()):
        row = row_number if row_number is not None and draw(st.booleans()) else draw(row_numbers)
        address = f' r="{get_column_letter(draw(column_numbers))}{row}"'
    return f"<c{address}{kind}/>" if not content else f"<c{address}{kind}>{content}</c>"


@st.composite
def sheet_rows(draw: st.DrawFn) -> str:
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        number = draw(st.one_of(st.none(), row_numbers))
        attribute = f' r="{number}"' if number is not None else ""
        row_cells = "".join(draw(st.lists(cells(number), max_size=6)))
        # Now and then many unaddressed cells in a row, to push the implied columns across the limit.
        if draw(st.integers(0, 9)) == 0:
            row_cells += "<c><v>1</v></c>" * draw(st.integers(1, LIMITS.max_columns + 5))
        rows.append(f"<row{attribute}/>" if not row_cells else f"<row{attribute}>{row_cells}</row>")
    return "".join(rows)


# Declared ranges that lie in both directions: far smaller than the cells, far larger, absent, or nonsense.
dimensions = st.sampled_from(["A1", "A1:C3", "A1:H1048576", "A1:XFD1048576", "B2:A1", "nonsense", ""])


workbook = hostile.fuzzed_sheet_xlsx_bytes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sheet_rows(), dimensions)
def test_check_and_reader_never_raise_and_stay_bounded(rows: str, dimension: str) -> None:
    data = workbook(rows, dimension)
    # This thread's CPU only, with the collector held off: other threads of a test worker must not count against
    # the file, nor a full collection of the heap that earlier tests left (up to 2 s in a worker, seen in CI).
    gc.disable()
    try:
        started = time.thread_time()
        problems = check_upload(data, "return.xlsx")
        parsed = read_return(io.BytesIO(data)) if not problems else None
        seconds = time.thread_time() - started
    finally:
        gc.enable()
    assert seconds < SECONDS
    # The check's own memory, traced: it reads every sheet of any file, before any limit is known to hold. (The
    # reader's, much of it calamine's outside Python, is measured by the child process test below.)
    tracemalloc.start()
    try:
        assert check_upload(data, "return.xlsx") == problems
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PYTHON_MB * 1024 * 1024
    assert all(p.code != "check-failed" for p in problems), problems  # the check itself never failed
    event("refused" if problems else "accepted")
    if problems:
        assert [p.code for p in problems] == ["huge-dimensions"]
        return
    assert parsed is not None and all(p.code != "unreadable" for p in parsed.problems), parsed.problems
    # What the check let through, the reader places within the limits: no huge grid is ever allocated.
    try:
        sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Return")
    except python_calamine.CalamineError:  # a declared range calamine cannot parse: read without it, as the reader
        without = _without_declared_ranges(data)
        sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(without)).get_sheet_by_name("Return")
    assert sheet.height <= LIMITS.max_rows and sheet.width <= LIMITS.max_columns


# The memory a reader uses outside Python (calamine's grid is Rust's) is measured in a child process, whose peak
# resident size says everything it allocated.
CHILD = """
import io, resource, sys, time
from cyp.returns.filecheck import check_upload
from cyp.returns.reader import _without_declared_ranges, read_return
data = sys.stdin.buffer.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.process_time()
problems = check_upload(data, "return.xlsx")
if not problems:
    read_return(io.BytesIO(data))
seconds = time.process_time() - started
print(len(problems), seconds, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def _far_corner_xlsx() -> bytes:
    """The largest grid the check allows: a value at the last allowed row and column, on two sheets."""
    corner = f"{get_column_letter(LIMITS.max_columns)}{LIMITS.max_rows}"
    xml = hostile.sheet_xml(f'<row r="{LIMITS.max_rows}"><c r="{corner}"><v>1</v></c></row>').encode("utf-8")
    return hostile._rebuild(
        hostile.valid_xlsx_bytes(), replace={"xl/worksheets/sheet1.xml": xml, "xl/worksheets/sheet2.xml": xml}
    )


@pytest.mark.parametrize(
    ("build", "refused"),
    [
        (lambda: hostile.unaddressed_cells_after_last_row_xlsx_bytes(40), True),
        (hostile.libreoffice_like_xlsx_bytes, False),
        (hostile.huge_dimension_xlsx_bytes, False),
        (_far_corner_xlsx, False),
        (hostile.too_many_cells_xlsx_bytes, True),
    ],
    ids=["attack-40-columns", "libreoffice", "declared-whole-grid", "largest-allowed-grid", "too-many-cells"],
)
def test_a_small_file_never_takes_more_than_100_mb_or_2_seconds(build: Any, refused: bool) -> None:
    data = build()
    assert len(data) < 200 * 1024  # small files, every one
    child = subprocess.run(
        [sys.executable, "-c", CHILD], input=data, capture_output=True, cwd=ROOT, check=True, timeout=60
    )
    problems, seconds, megabytes = child.stdout.decode().split()
    assert (int(problems) > 0) == refused
    assert float(seconds) < SECONDS
    assert int(megabytes) < 100


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("fuzz")
    engine = make_engine(f"sqlite:///{folder / 'fuzz.db'}")
    upgrade_schema(engine)
    with write_session(engine) as session:
        build_framework(session)
    yield engine, folder / "uploads"
    engine.dispose()


def _stored(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with read_session(engine) as session:
        return session.scalar(select(func.count(Return.id))), session.scalar(select(func.count(LineUpdate.id)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sheet_rows(), dimensions)
def test_a_refused_sheet_stores_nothing(fuzz_engine, rows: str, dimension: str) -> None:  # type: ignore[no-untyped-def]
    engine, uploads = fuzz_engine
    before = _stored(engine)
    with read_session(engine) as session:
        events = session.scalar(select(func.count(AuditEvent.id)))
    data = workbook(rows, dimension, whole_return=True)
    result = ingest_return(data, "fuzz.xlsx", UPLOADER, engine=engine, uploads_dir=uploads)
    event(result.status)
    assert result.status in ("rejected", "needs-acknowledgement", "accepted", "duplicate")
    if result.status != "accepted":
        assert _stored(engine) == before
        with read_session(engine) as session:
            added = session.scalar(select(func.count(AuditEvent.id))) - events
        assert added == (1 if result.status == "rejected" else 0)
        kept = [p for p in uploads.iterdir() if p.is_file()] if uploads.exists() else []
        assert len(kept) == before[0]  # one kept file per stored return, none for a refusal


# The quick bound of the file check (filecheck._sheet_surely_within) against the exact scan it may skip: cells written
# every way the scan reads them (prefixed, addressed after another attribute, spaced or quoted oddly, or not at all),
# merges and links, under the real limits and under small ones that the fuzzed addresses cross often.
MAIN_NAMESPACE = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SMALL_LIMITS = replace(LIMITS, max_rows=25, max_columns=6, max_cells=15)
prefixes = st.sampled_from(["", "x:"])
ADDRESSED = ['{a}r="{c}{r}"', "{a}r = '{c}{r}'", '{a}r="${c}${r}"']
NOT_FIRST_OR_NONE = [' s="1"{a}r="{c}{r}"', ""]


@st.composite
def odd_cells(draw: st.DrawFn, tidy: bool) -> str:
    prefix = draw(prefixes)
    form = draw(st.sampled_from(ADDRESSED if tidy else ADDRESSED + NOT_FIRST_OR_NONE))
    # Mostly near the small limits, so that many sheets are within them and many cross them by little.
    row = draw(st.one_of(st.integers(1, 30), st.integers(20, 30), row_numbers))
    column = get_column_letter(draw(st.one_of(st.integers(1, 8), st.integers(4, 8), column_numbers)))
    address = form.format(a=draw(st.sampled_from([" ", "  ", "\n"])), c=column, r=row) if form else ""
    content = draw(values)
    if not content:
        return f"<{prefix}c{address}/>"
    # The value's tags carry the cell's prefix too ("<x:v>1</x:v>").
    content = content.replace("<", f"<{prefix}").replace(f"<{prefix}/", f"</{prefix}")
    return f"<{prefix}c{address}>{content}</{prefix}c>"


@st.composite
def odd_rows(draw: st.DrawFn) -> str:
    # Half the sheets are tidy (every cell addressed first, as the template writes them): the quick bound's case.
    tidy = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        number = draw(st.one_of(st.none(), st.integers(1, 30), row_numbers))
        attribute = f' r="{number}"' if number is not None else ""
        rows.append(f"<row{attribute}>{''.join(draw(st.lists(odd_cells(tidy), max_size=4)))}</row>")
    if tidy:
        return "".join(rows) + "</sheetData>"
    after = draw(
        st.sampled_from(
            [
                "",
                '<mergeCells><mergeCell ref="A1:B2"/></mergeCells>',
                '<hyperlinks><hyperlink ref="Z99999"/></hyperlinks>',
                "<extLst><f>1</f></extLst>",
            ]
        )
    )
    return "".join(rows) + "</sheetData>" + after


def _exact_problem(xml: bytes, limits: Any) -> str:
    scan = filecheck._SheetScan(limits)
    carry = scan.feed(xml)
    if not scan.problem:
        scan.finish(carry)
    return scan.problem


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_rows(), st.sampled_from([LIMITS, SMALL_LIMITS]))
def test_the_quick_bound_passes_only_sheets_the_exact_scan_passes(rows: str, limits: Any) -> None:
    data = f'<worksheet xmlns="{MAIN_NAMESPACE}"><sheetData>{rows}</worksheet>'.encode()
    quick = filecheck._sheet_surely_within(data, limits)
    event("quick" if quick else "exact")
    if quick:
        assert _exact_problem(data, limits) == ""


@pytest.mark.parametrize(
    ("cells", "quick"),
    [
        ('<c r="F25"><v>1</v></c>', True),  # the far corner of the small limits
        ('<c r="F26"><v>1</v></c>', False),
        ('<c r="G1"><v>1</v></c>', False),
        ('<c r="A1"/>' * 5, True),
        # 15 elements with the row, the most allowed, but more "<" than that: the bound is the tags, so it cannot say.
        ('<c r="A1"/>' * 14, False),
        ('<c r="A1"/>' * 15, False),
        ('<c s="1" r="A1"><v>1</v></c>', False),  # addressed, but not first: the exact scan decides
        # Only the plain form (unprefixed, r="..." first, upper case, no "$") is judged quickly; the others go exact.
        ("<c r='A1'><v>1</v></c>", False),
        ('<c r="$A$1"><v>1</v></c>', False),
        ('<c  r="A1"><v>1</v></c>', False),
        (f'<x:c r="A1" xmlns:x="{MAIN_NAMESPACE}"><x:v>1</x:v></x:c>', False),
        ('<c r="A00025"><v>1</v></c>', True),  # as many digits as the limit, or more: read as a number
        ('<c r="A100"><v>1</v></c>', False),
        ('<c r="A9"><v>1</v></c><c r="B10"><v>1</v></c>', True),
        ("<c><v>1</v></c>", False),
        ('<c r="A1"><v>1</v></c></row></sheetData><mergeCells><mergeCell ref="A1:B2"/></mergeCells><row>', False),
    ],
)
def test_the_quick_bound_at_its_edges(cells: str, quick: bool) -> None:
    data = f'<worksheet xmlns="{MAIN_NAMESPACE}"><sheetData><row r="1">{cells}</row></sheetData></worksheet>'.encode()
    assert filecheck._sheet_surely_within(data, SMALL_LIMITS) is quick
    if quick:
        assert _exact_problem(data, SMALL_LIMITS) == ""


def test_a_template_sheet_is_passed_by_the_quick_bound() -> None:
    # The usual upload never needs the exact scan: what the template writes is addressed cell by cell.
    data = hostile.valid_xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and all(filecheck._sheet_surely_within(sheet, LIMITS) for sheet in sheets)
    assert check_upload(data, "return.xlsx") == []
