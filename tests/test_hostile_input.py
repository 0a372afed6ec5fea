"""Random and hostile uploads (hypothesis): ingest never raises, always answers with messages, and a rejection
changes nothing in the database but its one audit event."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, select

from cyp.access.permissions import system_acting_for
from cyp.returns.ingest import IngestResult, ingest_return
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent
from tests import hostile_files
from tests.readside_factory import table_counts
from tests.returns_factory import INDICATOR_HEADERS, RETURN_HEADERS, build_framework

WORKBOOK_EXAMPLES = 300
BYTES_EXAMPLES = 150
STATUSES = {"accepted", "rejected", "needs-acknowledgement", "duplicate"}
SHEET_NAMES = ["Return", "Indicators", "About", "Sheet1", "return ", "INDICATORS"]
LABELS = ["Team", "Team:", "Quarter", "Quarter:", "Ref", "RAG status"]
KNOWN_VALUES = [
    "Family Services",
    "Public Health",
    "Housing",
    "2025-26 Q3",
    "Q3 25/26",
    "T23-1.1",
    "T23-1.2",
    "T23-I1",
    "Green",
    "Amber",
    "Red",
    "Complete",
    "Not started",
    "n/a",
    "=1+1",
    '=HYPERLINK("x")',
]

# Text openpyxl can write: no control characters (it refuses them), surrogates or NUL.
text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
cell_values = st.one_of(
    st.none(),
    text,
    st.sampled_from(KNOWN_VALUES + RETURN_HEADERS + INDICATOR_HEADERS),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
)
headers = st.lists(st.one_of(st.sampled_from(RETURN_HEADERS + INDICATOR_HEADERS), text), max_size=10)


@st.composite
def sheets(draw: st.DrawFn) -> dict[str, Any]:
    """One sheet: a name, optional Team/Quarter labels, a header row somewhere, rows of random cells, merges."""
    width = draw(st.integers(1, 10))
    return {
        "name": draw(st.one_of(st.sampled_from(SHEET_NAMES), text.filter(lambda s: 0 < len(s.strip()) <= 31))),
        "labels": draw(st.lists(st.tuples(st.sampled_from(LABELS), cell_values), max_size=3)),
        "header_row": draw(st.integers(1, 12)),
        "headers": draw(headers),
        "rows": draw(st.lists(st.lists(cell_values, min_size=width, max_size=width), max_size=8)),
        "merges": draw(
            st.lists(
                st.tuples(st.integers(1, 15), st.integers(1, 10), st.integers(0, 3), st.integers(0, 3)), max_size=3
            )
        ),
    }


def write_workbook(spec: list[dict[str, Any]]) -> bytes:
    """Save sheets as described (in the order given) to xlsx bytes; names made unique as Excel needs."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for number, sheet_spec in enumerate(spec):
        name = "".join(c for c in sheet_spec["name"] if c not in "[]:*?/\\")[:28].strip("'") or "S"
        if name.lower() in used:
            name = f"{name[:25]}{number}"
        used.add(name.lower())
        sheet = workbook.create_sheet(name)
        for row, (label, value) in enumerate(sheet_spec["labels"], start=2):
            sheet.cell(row=row, column=1, value=label)
            sheet.cell(row=row, column=2, value=value)
        for column, heading in enumerate(sheet_spec["headers"], start=1):
            sheet.cell(row=sheet_spec["header_row"], column=column, value=heading)
        for offset, values in enumerate(sheet_spec["rows"], start=1):
            for column, value in enumerate(values, start=1):
                sheet.cell(row=sheet_spec["header_row"] + offset, column=column, value=value)
        for row, column, down, across in sheet_spec["merges"]:
            if down or across:
                try:
                    sheet.merge_cells(
                        start_row=row, start_column=column, end_row=row + down, end_column=column + across
                    )
                except ValueError:
                    continue
    if not workbook.sheetnames:
        workbook.create_sheet("Return")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@st.composite
def return_sheets(draw: st.DrawFn) -> dict[str, Any]:
    """A sheet shaped like a real return (known team, quarter, headers in any order, known refs) with random cells."""
    columns = draw(
        st.permutations(RETURN_HEADERS).flatmap(
            lambda h: st.lists(st.sampled_from(h), min_size=1, max_size=len(h), unique=True)
        )
    )
    refs = st.sampled_from(["T23-1.1", "T23-1.2", "T23-2.1", "T19-1.1", "T23-9.9", ""])
    statuses = st.one_of(st.sampled_from(["Green", "Amber", "Red", "Complete", "green ", "Not started"]), cell_values)
    by_header = {"Ref": refs, "RAG status": statuses}
    rows = draw(st.lists(st.tuples(*[by_header.get(column, cell_values) for column in columns]).map(list), max_size=4))
    return {
        "name": draw(st.sampled_from(["Return", "return", "Sheet1"])),
        "labels": [
            ("Team", draw(st.sampled_from(KNOWN_VALUES[:3]))),
            ("Quarter:", draw(st.sampled_from(["2025-26 Q3", "2025-26 Q2", "Q3 25/26", "2031-32 Q1", "next quarter"]))),
        ],
        "header_row": draw(st.sampled_from([6, 6, 6, 5, 8])),
        "headers": columns,
        "rows": rows,
        "merges": draw(
            st.lists(st.tuples(st.integers(1, 12), st.integers(1, 8), st.integers(0, 2), st.integers(0, 2)), max_size=2)
        ),
    }


workbooks = st.lists(st.one_of(sheets(), return_sheets()), min_size=0, max_size=3).map(write_workbook)


class Uploads:
    """Ingests uploads into one database and checks each answer against the database before and after."""

    def __init__(self, engine: Engine, uploads_dir: Path) -> None:
        self.engine = engine
        self.uploads_dir = uploads_dir
        self.examples = 0
        self.statuses: dict[str, int] = {}

    def check(self, data: bytes, filename: str = "return.xlsx") -> IngestResult:
        with read_session(self.engine) as session:
            before = table_counts(session)
        result = ingest_return(
            data,
            filename,
            system_acting_for("fuzzer"),
            engine=self.engine,
            uploads_dir=self.uploads_dir,
            acknowledge_queries=False,
        )
        self.examples += 1
        self.statuses[result.status] = self.statuses.get(result.status, 0) + 1
        assert result.status in STATUSES
        assert result.summary
        with read_session(self.engine) as session:
            after = table_counts(session)
            newest = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
        if result.status == "accepted":
            assert after["returns"] == before["returns"] + 1
            return result
        if result.status == "rejected":
            assert result.problems and all(str(problem) for problem in result.problems)
            # A rejection is audited, and that one event is all it writes.
            assert newest is not None and newest.outcome == "rejected"
            before["audit_events"] += 1
        assert after == before
        return result


@pytest.fixture
def uploads(engine: Engine, tmp_path: Path) -> Uploads:
    with write_session(engine) as session:
        build_framework(session)
    return Uploads(engine, tmp_path / "uploads")


def test_random_workbooks_are_answered_never_raised(uploads: Uploads) -> None:
    @settings(max_examples=WORKBOOK_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(workbooks)
    def upload(data: bytes) -> None:
        uploads.check(data)

    upload()
    print(f"\n{uploads.examples} random workbooks: {uploads.statuses}")
    assert uploads.examples >= WORKBOOK_EXAMPLES // 2


def test_truncated_and_random_byte_files_are_rejected(uploads: Uploads) -> None:
    valid = write_workbook(
        [
            {
                "name": "Return",
                "labels": [("Team", "Family Services"), ("Quarter", "2025-26 Q3")],
                "header_row": 6,
                "headers": RETURN_HEADERS,
                "rows": [["T23-1.1", None, None, None, "Green", "ok", None, None]],
                "merges": [],
            }
        ]
    )
    hostile = st.one_of(
        st.integers(0, len(valid) - 1).map(lambda cut: valid[:cut]),
        st.binary(max_size=4096),
        st.binary(max_size=2048).map(lambda tail: b"PK\x03\x04" + tail),
        st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=64)).map(
            lambda edit: valid[: edit[0]] + edit[1] + valid[edit[0] + len(edit[1]) :]
        ),
    )

    @settings(max_examples=BYTES_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(hostile, st.sampled_from(["return.xlsx", "return.xlsm", "return.xls", "return", "../../etc/passwd.xlsx"]))
    def upload(data: bytes, filename: str) -> None:
        result = uploads.check(data, filename)
        if data != valid:
            # A truncated file is always refused; an edit that keeps its length (or, near the end, adds bytes past
            # the zip's end record, which zip readers tolerate) may leave a readable workbook.
            assert result.status == "rejected" or len(data) >= len(valid)

    upload()
    print(f"\n{uploads.examples} truncated or random-byte files: {uploads.statuses}")
    assert uploads.statuses.get("rejected", 0) >= BYTES_EXAMPLES // 2


# The classes of hostile file found since: cells placed by order beyond the grid, a declared range that understates
# the cells, more cells than any return, a merge over the whole grid; and what must be accepted: LibreOffice's
# declared whole height and a used range declared far beyond the cells (Gnumeric), as part of a whole return.
def _whole_return_declaring(dimension: str, extra_rows: str = "") -> bytes:
    return hostile_files.fuzzed_sheet_xlsx_bytes(extra_rows, dimension, whole_return=True)


NEW_CLASSES = {
    "unaddressed-cells-after-the-last-row": (hostile_files.unaddressed_cells_after_last_row_xlsx_bytes, "rejected"),
    "understated-dimension": (hostile_files.understated_dimension_xlsx_bytes, "rejected"),
    "too-many-cells": (hostile_files.too_many_cells_xlsx_bytes, "rejected"),
    "merge-bomb": (hostile_files.merge_bomb_xlsx_bytes, "rejected"),
    "libreoffice-whole-height": (
        lambda: _whole_return_declaring("A1:H1048576", '<row r="1048576" s="1"><c r="A1048576" s="1"/></row>'),
        "accepted",
    ),
    "declared-whole-grid": (lambda: _whole_return_declaring("A1:XFD1048576"), "accepted"),
    "declared-nonsense": (lambda: _whole_return_declaring("nonsense"), "accepted"),
}


@pytest.mark.parametrize("name", sorted(NEW_CLASSES))
def test_new_hostile_classes_are_answered_and_refusals_store_nothing(uploads: Uploads, name: str) -> None:
    build, expected = NEW_CLASSES[name]
    result = uploads.check(build())
    assert result.status == expected, result.problems


def test_a_whole_return_with_backslash_part_names_is_stored_and_marked(uploads: Uploads) -> None:
    from cyp.problems import Problem
    from cyp.returns.annotate import annotate_workbook

    data = hostile_files.with_backslash_part_names(_whole_return_declaring("A1:C5"))
    assert uploads.check(data).status == "accepted"
    marked = annotate_workbook(data, [Problem("x", "marked", sheet="Return", cell="B4")])
    assert load_workbook(io.BytesIO(marked))["Return"]["B4"].comment.text == "Error: marked"
