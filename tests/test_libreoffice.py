"""Returns written by LibreOffice Calc (tests/data/libreoffice/, made by tests/data/make_libreoffice_fixtures.py).

LibreOffice declares the whole sheet height after a row is deleted; the upload judges the cells, so these files are
accepted through the library, the command line and (in test_page_upload) the upload page.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cyp.access.permissions import system_acting_for
from cyp.cli import cli
from cyp.returns.filecheck import check_upload
from cyp.returns.ingest import ingest_return
from cyp.returns.reader import read_return
from cyp.storage.db import read_session, write_session
from cyp.storage.models import LineUpdate, Return
from tests.data import make_libreoffice_fixtures as fixtures
from tests.returns_factory import build_framework

FIXTURES = Path(__file__).parent / "data" / "libreoffice"
XLSX = sorted(FIXTURES.glob("*.xlsx"))
# The tests upload as the system, as the command line does with --as-system.
UPLOADER = system_acting_for("tests")

pytestmark = pytest.mark.both_databases


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
    return engine


def _declared_range(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    start = sheet.index('<dimension ref="') + len('<dimension ref="')
    return sheet[start : sheet.index('"', start)]


def test_the_fixtures_are_there_and_one_declares_the_whole_height() -> None:
    assert [path.name for path in XLSX] == ["deleted-row.xlsx", "resaved.xlsx"]
    deleted = (FIXTURES / "deleted-row.xlsx").read_bytes()
    assert b"LibreOffice" in zipfile.ZipFile(io.BytesIO(deleted)).read("docProps/app.xml")
    assert _declared_range(deleted) == "A1:H1048576"
    assert b'<row r="1048576"' in zipfile.ZipFile(io.BytesIO(deleted)).read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("path", XLSX, ids=[path.stem for path in XLSX])
def test_libreoffice_returns_are_accepted(framework: Engine, path: Path, tmp_path: Path) -> None:
    data = path.read_bytes()
    assert check_upload(data, path.name) == []
    parsed = read_return(io.BytesIO(data))
    assert parsed.problems == []
    assert [line.ref.text for line in parsed.lines] == ["T23-1.1", "T23-1.2"]
    result = ingest_return(data, path.name, UPLOADER, engine=framework, uploads_dir=tmp_path / "uploads")
    assert result.status == "accepted", result.problems
    with read_session(framework) as session:
        stored = session.scalars(select(LineUpdate).order_by(LineUpdate.id)).all()
        assert [(u.status, u.progress) for u in stored] == [
            ("Green", "Hubs open five days a week."),
            ("Amber", "Second hub delayed by building works."),
        ]
        assert session.scalar(select(Return.original_filename)) == path.name


@pytest.mark.parametrize("path", XLSX, ids=[path.stem for path in XLSX])
def test_libreoffice_returns_are_accepted_by_the_command_line(framework: Engine, path: Path) -> None:
    result = CliRunner().invoke(cli, ["ingest", str(path), "--as-system"])
    assert result.exit_code == 0, result.output
    assert "Accepted Family Services 2025-26 Q3 version 1: 2 lines (1 Green, 1 Amber)" in result.output


def test_an_ods_file_is_refused_with_libreoffices_menu() -> None:
    data = (FIXTURES / "saved-as.ods").read_bytes()
    (problem,) = check_upload(data, "saved-as.ods")
    assert problem.code == "zip-not-a-workbook"
    assert "OpenDocument" in problem.message
    assert "LibreOffice" in problem.message and "Excel 2007-365 (.xlsx)" in problem.message


@pytest.mark.skipif(fixtures.soffice() is None, reason="LibreOffice (libreoffice-calc-nogui) is not installed")
def test_the_script_makes_the_deleted_row_fixture_again(framework: Engine, tmp_path: Path) -> None:
    target = tmp_path / "deleted-row.xlsx"
    fixtures.save_with_libreoffice(fixtures.filled_template(), target, fixtures.XLSX_FILTER, delete_row=1)
    data = target.read_bytes()
    assert _declared_range(data) == "A1:H1048576"
    assert check_upload(data, target.name) == []
    result = ingest_return(data, target.name, UPLOADER, engine=framework, uploads_dir=tmp_path / "uploads")
    assert result.status == "accepted", result.problems
