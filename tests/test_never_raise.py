"""Never raise, on either database: control characters in text, malformed styles, earlier versions made current again,
and the command line without tracebacks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from cyp.access.permissions import system_acting_for
from cyp.cli import cli
from cyp.problems import Problem
from cyp.returns.annotate import VALUES_ONLY_NOTE, annotate_workbook
from cyp.returns.ingest import ingest_return, make_current_again
from cyp.returns.reader import read_return
from cyp.storage.db import read_session, write_session
from cyp.storage.maintenance import check_database
from cyp.storage.models import LineUpdate, Return
from tests import hostile_files as hostile
from tests.returns_factory import build_framework, build_return, clean_lines

# The tests upload as the system, as the command line does with --as-system.
UPLOADER = system_acting_for("tests")

pytestmark = pytest.mark.both_databases


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
    return engine


def _return_xml(progress: str, team: str = "Family Services") -> bytes:
    """A Family Services 2025-26 Q3 return written as raw sheet XML, so any characters can be put in its text."""

    def text(value: str) -> str:
        return f'<c t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'

    rows = [
        ["Team", team],
        ["Quarter", "2025-26 Q3"],
        ["Ref", "RAG status", "Progress update"],
        ["T23-1.1", "Green", progress],
        ["T23-1.2", "Amber", "Second hub delayed."],
    ]
    sheet_data = "".join("<row>" + "".join(text(v) for v in row) + "</row>" for row in rows)
    xml = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{sheet_data}</sheetData></worksheet>"
    )
    return hostile.with_return_sheet(xml)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("on_x0000_track", "ontrack"),  # Excel's escape for a NUL character
        ("on\x00track", "ontrack"),  # a raw NUL byte, which XML forbids but the reader takes
        ("bell_x0007_ and escape_x001B_", "bell and escape"),
        ("zero\u200bwidth\u2060joined", "zerowidthjoined"),
        ("ﬁne ＡＢＣ", "fine ABC"),  # NFKC: ligature and full-width letters
    ],
)
def test_control_and_invisible_characters_are_removed_before_storage(
    framework: Engine, tmp_path: Path, written: str, stored: str
) -> None:
    data = _return_xml(written)
    result = ingest_return(data, "r.xlsx", UPLOADER, engine=framework, uploads_dir=tmp_path / "uploads")
    assert result.status == "accepted", result.problems
    with read_session(framework) as session:
        progress = session.scalars(select(LineUpdate.progress).order_by(LineUpdate.id)).first()
    assert progress == stored


def test_a_nul_in_a_team_name_is_a_message_not_a_database_error(framework: Engine, tmp_path: Path) -> None:
    result = ingest_return(
        _return_xml("fine", team="Family_x0000_ Servics"), "r.xlsx", UPLOADER, engine=framework, uploads_dir=tmp_path
    )
    assert result.status == "rejected"
    assert [p.code for p in result.problems] == ["unknown-team"]
    assert "\x00" not in result.problems[0].message


def test_a_malformed_style_keeps_its_marked_copy() -> None:
    xml = hostile.sheet_xml("").replace("<dimension", '<sheetPr><tabColor rgb="not-a-colour"/></sheetPr><dimension')
    data = hostile.with_return_sheet(xml)
    with pytest.raises(ValueError):
        load_workbook(io.BytesIO(data))  # openpyxl cannot read it: the copy must not depend on it
    parsed = read_return(io.BytesIO(data))
    assert [line.status.text for line in parsed.lines] == ["Green", "Amber"]
    problem = Problem("bad-status", "'Amber' is wrong here", sheet="Return", cell="B3", value="Amber")
    marked = load_workbook(io.BytesIO(annotate_workbook(data, [problem])))
    assert marked.sheetnames[0] == "Problems"
    assert marked["Return"]["B3"].value == "Amber" and marked["Return"]["B3"].comment.text.startswith("Error:")
    assert VALUES_ONLY_NOTE in [c.value for row in marked["Problems"].iter_rows() for c in row]


def test_unreadable_bytes_still_get_a_problems_workbook() -> None:
    marked = load_workbook(io.BytesIO(annotate_workbook(b"PK\x03\x04 not a zip", [Problem("damaged-file", "x")])))
    assert marked.sheetnames == ["Problems"]


def _two_versions(framework: Engine, uploads: Path) -> tuple[bytes, bytes]:
    first, second = clean_lines(), clean_lines()
    second[1]["RAG status"] = "Red"
    one, two = build_return(lines=first), build_return(lines=second)
    for data in (one, two):
        assert ingest_return(data, "r.xlsx", UPLOADER, engine=framework, uploads_dir=uploads).status == "accepted"
    return one, two


def test_an_earlier_version_can_be_made_current_again(framework: Engine, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    one, _two = _two_versions(framework, uploads)
    offered = ingest_return(one, "r.xlsx", UPLOADER, engine=framework, uploads_dir=uploads)
    assert (offered.status, offered.version, offered.reinstatable_version) == ("duplicate", 1, 1)
    assert "make version 1 current again to store this file as version 3" in offered.summary
    again = make_current_again(one, "r.xlsx", UPLOADER, engine=framework, uploads_dir=uploads)
    assert (again.status, again.version) == ("accepted", 3), again.problems
    assert again.changes == ["T23-1.2: Red → Amber (was Red in version 2)"]
    with read_session(framework) as session:
        versions = session.execute(select(Return.version, Return.is_current).order_by(Return.version)).all()
        assert [tuple(v) for v in versions] == [(1, False), (2, False), (3, True)]
        current = session.scalars(select(Return).where(Return.is_current)).one()
        assert [u.status for u in current.line_updates] == ["Green", "Amber"]
        assert check_database(session) == []
    # Now current, the same file is an ordinary duplicate: nothing more to offer.
    latest = make_current_again(one, "r.xlsx", UPLOADER, engine=framework, uploads_dir=uploads)
    assert (latest.status, latest.reinstatable_version) == ("duplicate", None)


def test_the_current_version_is_not_offered(framework: Engine, tmp_path: Path) -> None:
    _one, two = _two_versions(framework, tmp_path / "uploads")
    result = ingest_return(two, "r.xlsx", UPLOADER, engine=framework, uploads_dir=tmp_path / "uploads")
    assert (result.status, result.reinstatable_version) == ("duplicate", None)


def test_the_command_line_offers_and_makes_an_earlier_version_current(
    framework: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("CYP_UPLOADS_DIR", str(uploads))
    one, _two = _two_versions(framework, uploads)
    path = tmp_path / "version-1.xlsx"
    path.write_bytes(one)
    offered = CliRunner().invoke(cli, ["ingest", str(path), "--as-system"])
    assert offered.exit_code == 0
    assert (
        f"make version 1 current again to store this file as version 3 (python -m cyp make-current {path} --as-system)"
        in (offered.output)
    )
    made = CliRunner().invoke(cli, ["make-current", str(path), "--as-system"])
    assert made.exit_code == 0, made.output
    assert "Accepted Family Services 2025-26 Q3 version 3" in made.output


@pytest.mark.parametrize(
    "build",
    [
        lambda: _return_xml("on_x0000_track"),
        hostile.unaddressed_cells_after_last_row_xlsx_bytes,
        hostile.merge_bomb_xlsx_bytes,
        lambda: hostile.with_return_sheet(hostile.sheet_xml("").replace("On track", "On\x00track")),
        lambda: b"\x00" * 100,
    ],
    ids=["x0000", "unaddressed-cells", "merge-bomb", "raw-nul", "nul-bytes"],
)
def test_the_command_line_shows_no_traceback(framework: Engine, tmp_path: Path, build) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "return.xlsx"
    path.write_bytes(build())
    for command in (["ingest", str(path), "--as-system"], ["make-current", str(path), "--as-system"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output


def test_a_nul_in_the_file_name_is_no_database_error(framework: Engine, tmp_path: Path) -> None:
    for data in (_return_xml("fine"), b"not a workbook"):
        result = ingest_return(data, "ret\x00urn\x07.xlsx", UPLOADER, engine=framework, uploads_dir=tmp_path / "u")
        assert result.status in ("accepted", "rejected")


def test_the_command_line_refuses_personal_data_and_reads_worded_statuses(framework: Engine, tmp_path: Path) -> None:
    from tests.returns_factory import with_line

    path = tmp_path / "return.xlsx"
    path.write_bytes(build_return(lines=with_line(0, Progress_update="NHS 943\u200b476\u200b5919 seen")))
    refused = CliRunner().invoke(cli, ["ingest", str(path), "--as-system", "--acknowledge-queries"])
    assert refused.exit_code == 1
    assert "error: Return!F7: holds personal data about a child (NHS number '943•••••••')" in refused.output
    assert "4765919" not in refused.output
    path.write_bytes(build_return(lines=with_line(0, RAG_status="Green & on track")))
    stored = CliRunner().invoke(cli, ["ingest", str(path), "--as-system"])
    assert stored.exit_code == 0, stored.output
    assert "2 lines (1 Green, 1 Amber)" in stored.output
