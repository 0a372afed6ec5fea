"""Reading return workbooks: forgiving layout, exact cell addresses, structural problems."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from cyp.returns.reader import normalise_heading, read_return
from tests.returns_factory import HEADER_ROW, RETURN_HEADERS, build_return, clean_lines


def read(data: bytes):
    return read_return(io.BytesIO(data))


def test_clean_return_reads_every_value_with_its_cell() -> None:
    parsed = read(build_return())
    assert parsed.problems == []
    assert (parsed.team.text, parsed.team.address) == ("Family Services", "B2")
    assert (parsed.quarter.text, parsed.quarter.address) == ("2025-26 Q3", "B3")
    assert [(line.ref.text, line.ref.address) for line in parsed.lines] == [("T23-1.1", "A7"), ("T23-1.2", "A8")]
    second = parsed.lines[1]
    assert (second.status.text, second.status.address) == ("Amber", "E8")
    assert second.progress.text == "Second hub delayed by building works."
    assert second.next_steps.text is None
    assert second.risks.text == "Contractor capacity."
    assert [(i.ref.text, i.value.raw, i.value.address) for i in parsed.indicators] == [("T23-I1", 161, "D2")]


def test_header_moved_to_row_9_extra_columns_and_merged_title() -> None:
    headers = ["Notes", *RETURN_HEADERS[:4], "Owner", *RETURN_HEADERS[4:]]
    parsed = read(build_return(headers=headers, header_row=9, merge_title=True))
    assert parsed.problems == []
    assert [line.status.address for line in parsed.lines] == ["G10", "G11"]


@pytest.mark.parametrize(
    ("headings", "sheet_name"),
    [
        (["REF", "rag", "Update"], "return"),
        (["Ref.", "R/A/G", "Commentary"], "Return "),
        (["  ref ", "Status", "progress  update", "Risks & issues"], "RETURN"),
    ],
)
def test_header_synonyms_and_sheet_name_forgiven(headings: list[str], sheet_name: str) -> None:
    lines = [{headings[0]: "T23-1.1", headings[1]: "G", headings[2]: "Fine"}]
    parsed = read(build_return(headers=headings, lines=lines, sheet_name=sheet_name))
    assert parsed.problems == []
    assert parsed.return_sheet == sheet_name
    assert [(x.ref.text, x.status.text, x.progress.text) for x in parsed.lines] == [("T23-1.1", "G", "Fine")]


def test_blank_rows_between_and_after_are_skipped() -> None:
    parsed = read(build_return(blank_rows_between=2, trailing_blank_rows=5))
    assert [line.row for line in parsed.lines] == [HEADER_ROW + 1, HEADER_ROW + 4]


def test_no_return_sheet() -> None:
    parsed = read(build_return(sheet_name="Sheet1"))
    assert [str(p) for p in parsed.problems] == [
        "the workbook has no sheet named 'Return' (its sheets are 'Sheet1', 'Indicators'); "
        "use the template downloaded for your team"
    ]


def test_no_header_row() -> None:
    parsed = read(build_return(headers=["A", "B", "C"], lines=[{"A": "x"}]))
    assert [str(p) for p in parsed.problems] == [
        "Return: no header row found in rows 1–7; the table needs a row of headings including Ref, RAG status, "
        "Progress update"
    ]


def test_header_beyond_row_20_is_not_found() -> None:
    parsed = read(build_return(header_row=21))
    assert [p.code for p in parsed.problems] == ["no-header-row"]


def test_missing_required_column_names_it_and_the_row() -> None:
    headers = [h for h in RETURN_HEADERS if h != "RAG status"]
    parsed = read(build_return(headers=headers))
    assert [str(p) for p in parsed.problems] == [
        "Return: no 'RAG status' column in the header row (row 6); add a column headed one of 'RAG status', 'RAG', "
        "'Status', 'RAG rating', 'BRAG', 'BRAG status', 'Rating'"
    ]


def test_two_columns_for_one_field_is_ambiguous() -> None:
    headers = [*RETURN_HEADERS, "Status"]
    parsed = read(build_return(headers=headers))
    assert [str(p) for p in parsed.problems] == [
        "Return!I6: columns E and I of the header row (row 6) could both be 'RAG status'; rename or delete one of them"
    ]


def test_not_a_workbook_is_a_problem_not_an_exception() -> None:
    parsed = read(b"PK\x03\x04 definitely not a zip")
    assert [p.code for p in parsed.problems] == ["unreadable"]


def test_numbers_and_dates_read_as_text() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Return"
    sheet.append(["Quarter", 3.0])
    sheet.append(RETURN_HEADERS)
    sheet.append([12.0, None, None, None, "Green", 1.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = read(buffer.getvalue())
    assert parsed.quarter.text == "3"
    assert (parsed.lines[0].ref.text, parsed.lines[0].progress.text) == ("12", "1.5")


def test_lines_default_to_clean_lines() -> None:
    assert len(read(build_return()).lines) == len(clean_lines())


@pytest.mark.parametrize(("text", "expected"), [("R/A/G", "rag"), ("Risks & issues", "risksandissues")])
def test_normalise_heading(text: str, expected: str) -> None:
    assert normalise_heading(text) == expected


def test_an_exact_return_sheet_wins_over_a_synonym_placed_before_it() -> None:
    workbook = Workbook()
    decoy = workbook.active
    decoy.title = "Quarterly return"
    decoy.append(["Ref", "RAG status", "Progress update"])
    decoy.append(["T23-9.9", "Red", "Not the return"])
    real = workbook.create_sheet("Return")
    real.append(["Ref", "RAG status", "Progress update"])
    real.append(["T23-1.1", "Green", "The return"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = read(buffer.getvalue())
    assert parsed.return_sheet == "Return"
    assert [(line.ref.text, line.progress.text) for line in parsed.lines] == [("T23-1.1", "The return")]


def _return_sheet_rows(*rows: list[str]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Return"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_the_row_naming_most_columns_is_the_header_and_a_tie_keeps_the_first() -> None:
    # Rows no longer than the best header so far are passed over: they cannot name more columns than it.
    data = _return_sheet_rows(
        ["Ref", "RAG status"],  # two known headings
        ["T23-1.1", "Green", "Progress update"],  # as long as the best plus one: read, but names only one
        ["Ref", "RAG status", "Progress update"],  # three: the header
        ["Ref", "Status", "Progress"],  # three again: a tie keeps the first
        ["T23-1.1", "Green", "Hubs open."],
    )
    parsed = read(data)
    assert [(line.ref.address, line.progress.text) for line in parsed.lines] == [
        ("A4", "Progress"),
        ("A5", "Hubs open."),
    ]


def test_a_synonym_sheet_is_still_read_when_there_is_no_return_sheet() -> None:
    parsed = read(build_return(sheet_name="Quarterly return"))
    assert parsed.return_sheet == "Quarterly return" and len(parsed.lines) == 2


def test_a_header_below_row_20_is_reported_where_it_was_seen() -> None:
    (problem,) = read(build_return(header_row=27)).problems
    assert problem.code == "no-header-row"
    assert "a row of headings was seen at row 27" in problem.message
    assert "in row 20 or above" in problem.message


def test_numbers_typed_in_text_fields_keep_what_the_sheet_shows() -> None:
    # Typed into General cells, "50%" and "1,234" are stored by Excel as 0.5 (format 0%) and 1234 (format #,##0).
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Return"
    sheet.append(RETURN_HEADERS)
    sheet.append(["T23-1.1", None, None, None, "Green", 0.5, 1234, 0.125])
    sheet["F2"].number_format = "0%"
    sheet["G2"].number_format = "#,##0"
    sheet["H2"].number_format = "0.0%"
    sheet.append(["T23-1.2", None, None, None, "Green", 7, "50%", "1,234"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    first, second = read(buffer.getvalue()).lines
    assert (first.progress.text, first.next_steps.text, first.risks.text) == ("50%", "1,234", "12.5%")
    assert (second.progress.text, second.next_steps.text, second.risks.text) == ("7", "50%", "1,234")


HEADING_LIKE = st.text(alphabet="Ab &_-:.İKﬁ9\u00a0", max_size=20)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | HEADING_LIKE)
def test_normalise_heading_drops_all_but_ascii_letters_and_digits(text: str) -> None:
    # The ASCII fast path (bytes.translate) and the regex give the same heading for any text.
    assert normalise_heading(text) == re.sub("[^a-z0-9]", "", text.lower().replace("&", "and"))
