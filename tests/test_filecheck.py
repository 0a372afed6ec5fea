"""File checks before parsing: every hostile or wrong-format file is refused with its own code and a way forward."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import openpyxl.xml
import pytest
import python_calamine
from defusedxml import EntitiesForbidden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cyp.returns.filecheck import MB, check_upload, compound_file_stream_names, sha256_hex, upload_limits
from tests import hostile_files as hostile

SAVE_AS = "Excel Workbook (.xlsx)"

# Each hostile file, the one problem code it must get, and words its message must contain (what to do).
REFUSED: list[tuple[Callable[[], bytes], str, str]] = [
    (lambda: b"", "empty-file", "upload it again"),
    (hostile.xls_bytes, "old-excel-format", SAVE_AS),
    (hostile.encrypted_xlsx_bytes, "encrypted-workbook", "remove the password"),
    (hostile.csv_bytes, "csv-file", SAVE_AS),
    (hostile.pdf_bytes, "not-a-workbook", "upload the return workbook itself"),
    (hostile.html_bytes, "not-a-workbook", SAVE_AS),
    (
        lambda: b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
        "not-a-workbook",
        SAVE_AS,
    ),
    (hostile.docx_like_zip_bytes, "zip-not-a-workbook", SAVE_AS),
    (hostile.plain_zip_bytes, "zip-not-a-workbook", "unpack it"),
    (hostile.zip_bomb_bytes, "zip-bomb", SAVE_AS),
    (hostile.overdeclared_zip_bytes, "zip-bomb", SAVE_AS),
    (hostile.many_parts_xlsx_bytes, "too-many-parts", SAVE_AS),
    (hostile.nested_zip_xlsx_bytes, "nested-archive", "delete embedded files"),
    (hostile.path_traversal_xlsx_bytes, "unsafe-zip", SAVE_AS),
    (hostile.far_cell_xlsx_bytes, "huge-dimensions", "delete them"),
    (hostile.unaddressed_cells_after_last_row_xlsx_bytes, "huge-dimensions", "delete them"),
    (hostile.understated_dimension_xlsx_bytes, "huge-dimensions", "delete them"),
    (hostile.too_many_cells_xlsx_bytes, "huge-dimensions", "delete them"),
    (hostile.merge_bomb_xlsx_bytes, "huge-dimensions", "delete them"),
    (hostile.hyperlink_bomb_xlsx_bytes, "huge-dimensions", "delete them"),
    (hostile.xxe_xlsx_bytes, "xml-entities", SAVE_AS),
    (hostile.billion_laughs_xlsx_bytes, "xml-entities", SAVE_AS),
    (hostile.utf16_doctype_xlsx_bytes, "xml-entities", SAVE_AS),
    (hostile.truncated_xlsx_bytes, "damaged-file", SAVE_AS),
    (hostile.corrupted_part_xlsx_bytes, "damaged-file", SAVE_AS),
    (lambda: hostile.random_bytes(1), "not-a-workbook", SAVE_AS),
    (lambda: hostile.random_bytes(2, size=50), "not-a-workbook", SAVE_AS),
]


@pytest.mark.parametrize(("build", "code", "advice"), REFUSED, ids=[case[1] + str(i) for i, case in enumerate(REFUSED)])
def test_hostile_file_is_refused_with_its_code_and_what_to_do(
    build: Callable[[], bytes], code: str, advice: str
) -> None:
    problems = check_upload(build(), "return.xlsx")
    assert [problem.code for problem in problems] == [code]
    problem = problems[0]
    assert problem.severity == "error"
    assert advice in problem.message
    assert "upload" in problem.message


@pytest.mark.parametrize("build", [hostile.valid_xlsx_bytes, hostile.xlsm_bytes], ids=["xlsx", "xlsm"])
def test_workbooks_are_accepted_and_readable(build: Callable[[], bytes]) -> None:
    data = build()
    assert check_upload(data, "return.xlsm") == []
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert workbook.get_sheet_by_name("Return").to_python()[0] == ["Ref", "RAG status", "Progress update"]


def test_a_workbook_with_an_empty_sheet_is_accepted() -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Return"
    workbook.active.append(["Ref", "RAG status", "Progress update"])
    workbook.create_sheet("Notes")  # no cells at all: the size scan finds no cell references in it
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert check_upload(buffer.getvalue(), "return.xlsx") == []


def test_xlsm_really_carries_a_macro_project() -> None:
    with zipfile.ZipFile(io.BytesIO(hostile.xlsm_bytes())) as archive:
        assert "xl/vbaProject.bin" in archive.namelist()
        assert b"macroEnabled" in archive.read("[Content_Types].xml")


def test_size_limit_comes_from_settings_and_is_named_in_megabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYP_MAX_UPLOAD_MB", "2")
    problems = check_upload(hostile.random_bytes(3, size=3 * MB), "return.xlsx")
    assert [p.code for p in problems] == ["file-too-large"]
    assert "3.0 MB, over the 2 MB limit" in problems[0].message
    assert check_upload(hostile.valid_xlsx_bytes(), "return.xlsx") == []


def test_explicit_size_limit_wins() -> None:
    assert [p.code for p in check_upload(hostile.valid_xlsx_bytes(), "r.xlsx", max_bytes=1000)] == ["file-too-large"]


def test_a_bomb_within_the_file_limit_is_refused_from_declared_sizes_without_unpacking() -> None:
    data = hostile.zip_bomb_bytes(megabytes=120)  # unpacks past the 100 MB total; packed it is about 120 KB
    assert len(data) < MB
    problems = check_upload(data, "return.xlsx")
    assert [p.code for p in problems] == ["zip-bomb"]
    assert "over the 100 MB limit" in problems[0].message


def test_name_does_not_decide_the_format() -> None:
    assert check_upload(hostile.valid_xlsx_bytes(), "return.csv") == []
    message = check_upload(hostile.csv_bytes(), "return.xlsx")[0].message
    assert "a name ending '.xlsx' does not change what is inside" in message
    assert "does not change" not in check_upload(hostile.csv_bytes(), "return.csv")[0].message


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("/etc/cron.d/job", "points outside"),
        ("C:/Windows/evil.dll", "points outside"),
        ("xl\\..\\..\\evil.bat", "points outside"),
        ("xl/worksheets/sheet1.xml", "appears twice"),
    ],
)
def test_unsafe_part_names(name: str, why: str) -> None:
    (problem,) = check_upload(hostile.extra_part_xlsx_bytes(name), "return.xlsx")
    assert problem.code == "unsafe-zip"
    assert why in problem.message


@pytest.mark.parametrize(
    ("parts", "kind"),
    [
        ({"[Content_Types].xml": "<Types/>", "ppt/presentation.xml": "<p/>"}, "a PowerPoint presentation (.pptx)"),
        ({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": "x"}, "an Excel Binary Workbook (.xlsb)"),
        ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<c/>"}, "an OpenDocument"),
        ({}, "a zip archive"),
    ],
)
def test_other_zip_packages_are_named(parts: dict[str, str], kind: str) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    (problem,) = check_upload(out.getvalue(), "return.xlsx")
    assert problem.code == "zip-not-a-workbook"
    assert problem.message.startswith(f"this is {kind}")


def test_damaged_compound_files_are_still_told_apart() -> None:
    # Cut inside the directory sector: the directory cannot be followed, so the stream name is searched for.
    assert [p.code for p in check_upload(hostile.encrypted_xlsx_bytes()[:1500], "r.xlsx")] == ["encrypted-workbook"]
    assert [p.code for p in check_upload(hostile.xls_bytes()[:600], "r.xls")] == ["old-excel-format"]


def test_utf16_text_export_is_recognised_as_text() -> None:
    data = "Ref\tRAG status\r\n1.1\tGreen\r\n".encode("utf-16")  # Excel's "Unicode Text" export
    assert [p.code for p in check_upload(data, "return.txt")] == ["csv-file"]


def test_size_problem_names_the_sheet_and_where_the_cell_is() -> None:
    (problem,) = check_upload(hostile.unaddressed_cells_after_last_row_xlsx_bytes(), "return.xlsx")
    assert problem.sheet == "Return"
    # The row written without an address after row 1,048,576 is row 1,048,577, as the readers place it.
    assert str(problem).startswith("Return: this sheet has a cell as far out as row 1,048,577, column")


@pytest.mark.parametrize(
    "build",
    [hostile.huge_dimension_xlsx_bytes, hostile.libreoffice_like_xlsx_bytes],
    ids=["declares-the-whole-grid", "libreoffice-after-a-deleted-row"],
)
def test_a_declared_range_is_not_a_reason_to_refuse(build: Callable[[], bytes]) -> None:
    data = build()
    assert check_upload(data, "return.xlsx") == []
    rows = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Return").to_python()
    assert len(rows) == 3  # the empty styled row 1,048,576 holds nothing, and readers skip it


def test_cells_within_the_limits_pass_however_they_are_addressed() -> None:
    # Rows without r after row 9,998 fall at 9,999 and 10,000: inside the limit, so accepted.
    rows = '<row r="9998"/><row><c t="inlineStr"><is><t>x</t></is></c></row><row><c><v>2</v></c></row>'
    assert check_upload(hostile.with_return_sheet(hostile.sheet_xml(rows)), "r.xlsx") == []
    rows += "<row><c><v>3</v></c></row>"  # one row more, row 10,001
    (problem,) = check_upload(hostile.with_return_sheet(hostile.sheet_xml(rows)), "r.xlsx")
    assert "row 10,001" in problem.message


def test_compound_file_directory_is_read_not_guessed() -> None:
    assert compound_file_stream_names(hostile.xls_bytes()) == {"Root Entry", "Workbook"}
    assert compound_file_stream_names(hostile.encrypted_xlsx_bytes()) == {
        "Root Entry",
        "EncryptionInfo",
        "EncryptedPackage",
    }


def test_limits_file_is_read() -> None:
    limits = upload_limits()
    assert limits.max_unpacked_bytes == 100 * MB
    assert limits.max_rows == 10_000 and limits.max_columns == 200 and limits.max_cells == 100_000


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_readers_are_the_safe_ones() -> None:
    # openpyxl parses through defusedxml only when it is installed; without it a DOCTYPE would be honoured.
    assert openpyxl.xml.DEFUSEDXML is True
    assert hasattr(python_calamine, "CalamineWorkbook")


def test_openpyxl_refuses_entities_even_without_the_check() -> None:
    with pytest.raises(ValueError) as raised:
        openpyxl.load_workbook(io.BytesIO(hostile.billion_laughs_xlsx_bytes()))
    assert isinstance(raised.value.__cause__, EntitiesForbidden)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(data: bytes) -> None:
    problems = check_upload(data, "random.xlsx")
    assert problems
    assert all(p.code and p.message and p.severity == "error" for p in problems)


VALID = hostile.valid_xlsx_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(1, len(VALID)),
)
def test_damaged_workbooks_never_raise(flips: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(VALID)
    for position, value in flips:
        data[position] = value
    problems = check_upload(bytes(data[:keep]), "return.xlsx")
    assert all(p.code and p.message for p in problems)


def test_a_workbook_with_backslash_part_names_is_read_not_called_a_zip_archive() -> None:
    data = hostile.with_backslash_part_names(hostile.valid_xlsx_bytes())
    assert "xl\\workbook.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert check_upload(data, "return.xlsx") == []
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert workbook.get_sheet_by_name("Return").to_python()[1] == ["1.1", "Green", "On track"]


def test_backslash_part_names_are_still_scanned() -> None:
    # The unusual names only change how the workbook is recognised; every part is scanned as before.
    data = hostile.with_backslash_part_names(hostile.unaddressed_cells_after_last_row_xlsx_bytes())
    assert [p.code for p in check_upload(data, "return.xlsx")] == ["huge-dimensions"]


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (hostile.xls_bytes, "return.xls"),
        (hostile.csv_bytes, "return.csv"),
        (lambda: (Path(__file__).parent / "data" / "libreoffice" / "saved-as.ods").read_bytes(), "return.ods"),
    ],
    ids=["xls", "csv", "ods"],
)
def test_advice_for_other_formats_names_libreoffices_menu_too(build: Callable[[], bytes], name: str) -> None:
    (problem,) = check_upload(build(), name)
    assert "File > Save As > Excel Workbook (.xlsx)" in problem.message
    assert "in LibreOffice choose File > Save As > Excel 2007-365 (.xlsx)" in problem.message


def test_a_formula_after_the_cells_belongs_to_no_cell() -> None:
    # An empty, unclosed cell far down, then a formula in an extension after sheetData (as x14 data validations
    # write <xm:f>): the formula is not that cell's value, so the sheet holds nothing far out.
    rows = '<row r="1048576"><c r="H1048576" s="1"></c></row>'
    after = '<extLst><ext uri="x"><x14:dataValidations><xm:f>L!$A$1</xm:f></x14:dataValidations></ext></extLst>'
    assert check_upload(hostile.with_return_sheet(hostile.sheet_xml(rows, after=after)), "r.xlsx") == []
    # The same cell with a value is far out.
    rows = '<row r="1048576"><c r="H1048576"><v>1</v></c></row>'
    assert [p.code for p in check_upload(hostile.with_return_sheet(hostile.sheet_xml(rows)), "r.xlsx")] == [
        "huge-dimensions"
    ]
