"""The upload page in the real app (AppTest): template download, a good upload, a bad one."""

import io
import zipfile
from pathlib import Path

import pytest
import streamlit as st
from openpyxl import load_workbook
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal, system_acting_for
from cyp.bootstrap import initialise_database
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent, LineUpdate, Return
from cyp.ui import PRINCIPAL_KEY

ROOT = Path(__file__).resolve().parent.parent
QUARTER = "2022-23 Q2"  # inside the 2019–23 plan, whose actions come from the source
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

pytestmark = pytest.mark.both_databases


def open_upload_page(engine, principal: Principal, quarter: str = QUARTER) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = principal
    at.run()  # through app.py's navigation first, as a visit to the site does
    at.query_params["quarter"] = quarter
    at.switch_page("app_pages/upload.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def upload_page(engine):
    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, "lead.ph", "lead", password="a long enough password", teams=["public-health"])
    return open_upload_page(engine, Principal("lead.ph", "lead", frozenset({"public-health"})))


def filled(template: bytes, status: str = "Green") -> bytes:
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook["Return"]
    refs = [row[0] for row in sheet.iter_rows() if isinstance(row[0].value, str) and row[0].value.startswith("19-")]
    for ref_cell in refs:
        sheet.cell(row=ref_cell.row, column=5, value=status)
        sheet.cell(row=ref_cell.row, column=6, value="Delivered as planned this quarter.")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def stored_returns(engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count(Return.id)))


def test_lead_sees_only_their_team_and_gets_a_template(upload_page):
    at = upload_page
    assert at.selectbox(key="upload_team").options == ["Public Health"]
    text = "\n".join(m.value for m in at.markdown)
    assert "Public Health" in text and QUARTER in text


def test_good_upload_is_stored_and_reported(upload_page, engine):
    from cyp.returns.template import write_template

    with read_session(engine) as session:
        template = write_template(session, "public-health", QUARTER)
    at = upload_page
    at.file_uploader(key="return_file").set_value(("ph.xlsx", filled(template), XLSX))
    at.run()
    at.button[0].click()
    at.run()
    assert not at.exception
    assert any("Accepted" in s.value for s in at.success), [e.value for e in at.error]
    assert stored_returns(engine) == 1
    with read_session(engine) as session:
        assert session.scalar(select(func.count(LineUpdate.id))) > 0


def test_bad_upload_lists_cell_problems_and_stores_nothing(upload_page, engine):
    from cyp.returns.template import write_template

    with read_session(engine) as session:
        template = write_template(session, "public-health", QUARTER)
    at = upload_page
    at.file_uploader(key="return_file").set_value(("ph.xlsx", filled(template, status="Ambr"), XLSX))
    at.run()
    at.button[0].click()
    at.run()
    assert not at.exception
    assert at.error and "Not stored" in at.error[0].value
    problems = "\n".join(m.value for m in at.markdown)
    assert "`Return!E" in problems and "'Ambr' is not a RAG status; did you mean Amber?" in problems
    assert stored_returns(engine) == 0


def test_lead_of_another_team_is_refused_and_nothing_is_stored(engine):
    from cyp.returns.template import write_template

    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, "lead.h", "lead", password="a long enough password", teams=["housing"])
    with read_session(engine) as session:
        template = write_template(session, "public-health", QUARTER)
    # The page offers Housing only; the workbook says Public Health: the check in ingest refuses it.
    at = open_upload_page(engine, Principal("lead.h", "lead", frozenset({"housing"})))
    at.file_uploader(key="return_file").set_value(("ph.xlsx", filled(template), XLSX))
    at.run()
    at.button[0].click()
    at.run()
    assert at.error and "You may not submit a return for team public-health" in at.error[0].value
    assert stored_returns(engine) == 0
    with read_session(engine) as session:
        refusal = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused")).one()
    assert (refusal.actor, refusal.action) == ("lead.h", "return.submit")


def test_a_return_stored_by_another_process_is_read_fresh_without_clearing_caches(engine):
    # Another app instance or the command line stores a return: this process's cached reads must not hide it.
    from cyp import ui
    from cyp.returns.ingest import ingest_return
    from cyp.returns.template import write_template

    initialise_database(engine)
    st.cache_data.clear()
    before = ui.load_status_report(QUARTER, "2019-23")
    with read_session(engine) as session:
        template = write_template(session, "public-health", QUARTER)
    assert (
        ingest_return(filled(template), "ph.xlsx", system_acting_for("another process"), engine=engine).status
        == "accepted"
    )
    after = ui.load_status_report(QUARTER, "2019-23")
    returned = {line["ref"] for line in after["lines"] if line["status"] != "No return"}
    assert not {line["ref"] for line in before["lines"] if line["status"] != "No return"}
    assert returned and all(ref.startswith("19-HW") for ref in returned)


FIXTURES = ROOT / "tests" / "data" / "libreoffice"


@pytest.fixture
def family_page(engine):
    """The upload page for a Family Services lead, over the test framework (tests/returns_factory.py), 2025-26 Q3."""
    from tests.returns_factory import build_framework

    with write_session(engine) as session:
        build_framework(session)
        create_user(session, SYSTEM, "lead.fs", "lead", password="a long enough password", teams=["family-services"])
    return open_upload_page(engine, Principal("lead.fs", "lead", frozenset({"family-services"})), "2025-26 Q3")


def submit(at: AppTest, name: str, data: bytes, acknowledge: bool = False) -> AppTest:
    at.file_uploader(key="return_file").set_value((name, data, XLSX))
    at.checkbox(key="acknowledge").set_value(acknowledge)
    at.run()
    next(button for button in at.button if button.label == "Check and submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_libreoffice_return_after_a_deleted_row_is_accepted_on_the_page(family_page, engine):
    at = submit(family_page, "deleted-row.xlsx", (FIXTURES / "deleted-row.xlsx").read_bytes())
    assert any("Accepted Family Services 2025-26 Q3 version 1" in s.value for s in at.success), [
        e.value for e in at.error
    ]
    assert stored_returns(engine) == 1


def test_an_nhs_number_blocks_the_return_on_the_page_even_when_queries_are_acknowledged(family_page, engine):
    from tests.returns_factory import build_return, with_line

    data = build_return(lines=with_line(0, Progress_update="Referred, NHS no 943 4765919", RAG_status="Green on track"))
    at = submit(family_page, "r.xlsx", data, acknowledge=True)
    assert at.error and "Not stored: 1 problem" in at.error[0].value
    problems = "\n".join(m.value for m in at.markdown)
    assert "`Return!F7`" in problems and "NHS number '943 •••••••'" in problems
    assert "4765919" not in problems  # the number is never echoed back
    assert stored_returns(engine) == 0
    labels = [button.label for button in at.get("download_button")]
    assert "Download your workbook with the problems marked" in labels


def test_a_huge_unaddressed_sheet_is_refused_on_the_page_before_it_is_read(family_page, engine, monkeypatch):
    from cyp.returns import ingest
    from tests import hostile_files as hostile

    # The reader once took 13 s on this file alone: the file check must refuse it before the reader ever runs.
    # (What the check itself costs is measured on a quiet process in tests/test_sheet_fuzz.py and bench/run.py.)
    def never_read(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the reader ran on a file the check should have refused")

    monkeypatch.setattr(ingest, "read_return", never_read)
    at = submit(family_page, "r.xlsx", hostile.unaddressed_cells_after_last_row_xlsx_bytes(40))
    problems = "\n".join(m.value for m in at.markdown)
    assert "has a cell as far out as row 1,048,577" in problems
    assert stored_returns(engine) == 0


def test_an_earlier_version_is_made_current_again_after_confirmation(family_page, engine):
    from tests.returns_factory import build_return, clean_lines

    changed = clean_lines()
    changed[1]["RAG status"] = "Red"
    first, second = build_return(), build_return(lines=changed)
    at = submit(family_page, "v1.xlsx", first)
    at = submit(at, "v2.xlsx", second)
    at = submit(at, "v1.xlsx", first)
    assert any("make version 1 current again" in i.value for i in at.info)
    assert stored_returns(engine) == 2  # offered, not done
    next(button for button in at.button if button.label == "Make version 1 current again").click()
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    assert any("Accepted Family Services 2025-26 Q3 version 3" in s.value for s in at.success)
    with read_session(engine) as session:
        assert session.scalar(select(Return.version).where(Return.is_current)) == 3


def test_a_workbook_with_a_malformed_style_still_gets_its_marked_copy(family_page, engine):
    from tests.hostile_files import _rebuild
    from tests.returns_factory import build_return, with_line

    data = build_return(lines=with_line(0, RAG_status="Gren on track"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    sheet = sheet.replace("<sheetPr>", '<sheetPr><tabColor rgb="not-a-colour"/>', 1)
    bad = _rebuild(data, replace={"xl/worksheets/sheet1.xml": sheet.encode("utf-8")})
    with pytest.raises(ValueError):
        load_workbook(io.BytesIO(bad))  # what once lost the marked copy to an exception
    at = submit(family_page, "r.xlsx", bad)
    problems = "\n".join(m.value for m in at.markdown)
    assert "'Gren on track' is not a RAG status; did you mean Green?" in problems
    labels = [button.label for button in at.get("download_button")]
    assert "Download your workbook with the problems marked" in labels
    assert stored_returns(engine) == 0
