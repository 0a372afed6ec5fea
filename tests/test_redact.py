"""Redacting a stored update: database text, every later export, the kept file and its hash, the audit trail."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, PermissionDenied, Principal, system_acting_for
from cyp.board.excel import board_pack_xlsx
from cyp.cli import cli
from cyp.returns.filecheck import sha256_hex
from cyp.returns.ingest import ingest_return
from cyp.returns.redact import RedactionError, redact_update, remove_replaced_files
from cyp.returns.template import write_template
from cyp.storage.db import read_session, write_session
from cyp.storage.maintenance import check_uploads
from cyp.storage.models import AuditEvent, LineUpdate, Return
from tests.returns_factory import build_framework, build_return, with_line

SECRET = "Seen with her mother at 14 Acacia Avenue"
OTHER = "Second hub delayed by building works."
# The tests upload as the system, as the command line does with --as-system.
UPLOADER = system_acting_for("tests")

pytestmark = pytest.mark.both_databases


@pytest.fixture
def stored(engine: Engine, tmp_path: Path) -> Engine:
    """Family Services' 2025-26 Q3 return stored twice (versions 1 and 2), line T23-1.1's progress holding SECRET."""
    with write_session(engine) as session:
        build_framework(session)
        create_user(session, SYSTEM, "j.smith", "administrator")
        create_user(session, SYSTEM, "a.lee", "lead", teams=["Family Services"])
    uploads = tmp_path / "uploads"
    for version, steps in enumerate(["Extend to Saturdays.", "Extend to Sundays."], start=1):
        data = build_return(lines=with_line(0, Progress_update=SECRET, Next_steps=steps))
        result = ingest_return(data, f"v{version}.xlsx", UPLOADER, engine=engine, uploads_dir=uploads)
        assert (result.status, result.version) == ("accepted", version), result.problems
    return engine


def _kept_texts(path: Path) -> list[str]:
    workbook = load_workbook(path)
    cells = (cell for sheet in workbook for row in sheet.iter_rows() for cell in row)
    return [cell.value for cell in cells if isinstance(cell.value, str)]


def test_redaction_replaces_the_text_everywhere_and_is_audited(stored: Engine, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    admin = Principal("j.smith", "administrator")
    with read_session(stored) as session:
        old_files = {uploads / r.stored_path for r in session.scalars(select(Return))}
    with write_session(stored) as session:
        done = redact_update(
            session,
            admin,
            line_ref="T23-1.1",
            quarter="Q3 25/26",
            reason="a family's address",
            uploads_dir=uploads,
            on=date(2026, 12, 1),
        )
    notice = "[redacted by j.smith on 1 December 2026: a family's address]"
    assert done.notice == notice and done.versions == [1, 2] and done.fields == ["progress", "next_steps"]
    with read_session(stored) as session:
        removed = remove_replaced_files(session, done)
        updates = session.scalars(select(LineUpdate).order_by(LineUpdate.id)).all()
        by_line = {(u.return_id, u.action.ref): u for u in updates}
        for (_return_id, ref), update in by_line.items():
            if ref == "T23-1.1":
                assert (update.progress, update.next_steps, update.risks) == (notice, notice, None)
            else:
                assert update.progress == OTHER  # the other line is untouched
        returns = session.scalars(select(Return).order_by(Return.version)).all()
        for stored_return in returns:
            kept = uploads / stored_return.stored_path
            assert sha256_hex(kept.read_bytes()) == stored_return.sha256  # the new hash is recorded
            texts = _kept_texts(kept)
            assert notice in texts and OTHER in texts
            assert not any(SECRET in text for text in texts)
        assert check_uploads(session, uploads).mismatched == [] and check_uploads(session, uploads).stray == []
        # Every later export: board data and next quarter's template carry the notice, never the text.
        board = board_pack_xlsx(session, "2025-26 Q3")
        template = write_template(session, "Family Services", "2025-26 Q4")
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "return.redact")).one()
    assert sorted(removed) == sorted(old_files) and not any(path.exists() for path in old_files)
    for data in (board, template):
        texts = [c.value for s in load_workbook(io.BytesIO(data)) for r in s.iter_rows() for c in r]
        assert notice in texts and not any(SECRET in str(text) for text in texts)
    assert (event.actor, event.target, event.outcome) == ("j.smith", "T23-1.1 2025-26 Q3", "ok")
    detail = json.loads(event.detail)
    assert detail["reason"] == "a family's address" and detail["versions"] == [1, 2]
    assert SECRET not in event.detail


def test_only_administrators_may_redact_and_the_refusal_is_audited(stored: Engine, tmp_path: Path) -> None:
    lead = Principal("a.lee", "lead", frozenset({"family-services"}))
    with pytest.raises(PermissionDenied), write_session(stored) as session:
        redact_update(
            session, lead, line_ref="T23-1.1", quarter="2025-26 Q3", reason="x", uploads_dir=tmp_path / "uploads"
        )
    with read_session(stored) as session:
        assert session.scalars(select(LineUpdate.progress).where(LineUpdate.progress == SECRET)).all() == [SECRET] * 2
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "return.redact")).one()
        assert refused.outcome != "ok" and refused.actor == "a.lee"


@pytest.mark.parametrize(
    ("line", "quarter", "reason", "words"),
    [
        ("T23-9.9", "2025-26 Q3", "x", "there is no line 'T23-9.9'"),
        ("T23-1.1", "2025-26 Q1", "x", "no stored update in 2025-26 Q1"),
        ("T23-1.1", "2025-26 Q3", "  ", "say why"),
    ],
)
def test_a_redaction_that_cannot_be_done_says_why_and_changes_nothing(
    stored: Engine, tmp_path: Path, line: str, quarter: str, reason: str, words: str
) -> None:
    with pytest.raises(RedactionError, match=words), write_session(stored) as session:
        redact_update(session, SYSTEM, line_ref=line, quarter=quarter, reason=reason, uploads_dir=tmp_path / "uploads")
    with read_session(stored) as session:
        assert len(session.scalars(select(LineUpdate.id).where(LineUpdate.progress == SECRET)).all()) == 2


def test_redact_command(stored: Engine) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "redact",
            "--line",
            "T23-1.1",
            "--quarter",
            "2025-26 Q3",
            "--reason",
            "a family's address",
            "--user",
            "j.smith",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Redacted T23-1.1 2025-26 Q3 (Family Services, versions 1, 2): progress, ")
    assert "2 kept files replaced." in result.output
    command = ["redact", "--line", "T23-9", "--quarter", "2025-26 Q3", "--reason", "x", "--as-system"]
    again = CliRunner().invoke(cli, command)
    assert again.exit_code == 1 and "Error: there is no line 'T23-9'" in again.output
    assert "Traceback" not in again.output
