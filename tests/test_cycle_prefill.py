"""Pre-fill from the right answers: a re-downloaded template carries the version it replaces, never last quarter's."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from cyp.returns.ingest import IngestResult, ingest_return
from cyp.returns.template import write_template
from cyp.storage.db import read_session, write_session
from cyp.storage.models import LineUpdate, Return
from tests.returns_factory import build_framework, build_return, clean_lines, fill_template, with_line

pytestmark = pytest.mark.both_databases


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
    return engine


def ingest(engine: Engine, data: bytes, tmp_path: Path, who: str = "a.lee") -> IngestResult:
    result = ingest_return(data, "return.xlsx", who, engine=engine, uploads_dir=tmp_path / "uploads")
    assert result.status == "accepted", result.problems
    return result


def template(engine: Engine, quarter: str = "2025-26 Q3") -> bytes:
    with read_session(engine) as session:
        return write_template(session, "Family Services", quarter)


def answers(data: bytes) -> dict[str, tuple]:
    sheet = load_workbook(io.BytesIO(data))["Return"]
    return {row[0].value: tuple(c.value for c in row[4:8]) for row in sheet.iter_rows(min_row=9) if row[0].value}


def test_a_quarter_with_a_current_version_is_pre_filled_from_it_and_says_so(framework: Engine, tmp_path: Path) -> None:
    ingest(framework, build_return(quarter="2025-26 Q2", lines=with_line(0, Progress_update="Q2 words")), tmp_path)
    ingest(framework, build_return(lines=with_line(0, Progress_update="Q3 version 1 words")), tmp_path)
    second = ingest(
        framework, build_return(lines=with_line(0, Progress_update="Q3 version 2 words")), tmp_path, "b.khan"
    )
    data = template(framework)
    sheet = load_workbook(io.BytesIO(data))["Return"]
    with read_session(framework) as session:
        uploaded = session.get(Return, second.return_id).uploaded_at
    assert sheet["A2"].value == (
        f"Pre-filled from version 2 of 2025-26 Q3, uploaded {uploaded.day} {uploaded:%b %Y} by b.khan."
    )
    assert answers(data)["T23-1.1"] == ("Green", "Q3 version 2 words", "Extend to Saturdays.", None)
    assert answers(data)["T23-1.2"] == ("Amber", "Second hub delayed by building works.", None, "Contractor capacity.")


def test_a_new_quarter_is_pre_filled_from_the_last_answers_before_it(framework: Engine, tmp_path: Path) -> None:
    ingest(framework, build_return(quarter="2025-26 Q1", lines=with_line(0, Progress_update="Q1 words")), tmp_path)
    # Nothing for Q2: the Q3 template reaches back to Q1, the last answers there are.
    data = template(framework, "2025-26 Q3")
    note = load_workbook(io.BytesIO(data))["Return"]["A2"].value
    assert note.startswith("Pre-filled from version 1 of 2025-26 Q1, uploaded ") and note.endswith(
        "by a.lee. Change what has changed since then."
    )
    assert answers(data)["T23-1.1"][1] == "Q1 words"


def test_no_earlier_return_says_there_is_nothing_to_pre_fill(framework: Engine) -> None:
    data = template(framework)
    assert (
        load_workbook(io.BytesIO(data))["Return"]["A2"].value == "Nothing to pre-fill: this team has no earlier return."
    )
    assert answers(data)["T23-1.1"] == (None, None, None, None)


def test_re_download_change_two_lines_upload_keeps_every_other_answer(framework: Engine, tmp_path: Path) -> None:
    # The bug of issue 16: the re-downloaded template carried last quarter's words, silently reverting the rest.
    ingest(framework, build_return(quarter="2025-26 Q2", lines=with_line(1, Progress_update="old Q2 words")), tmp_path)
    ingest(framework, build_return(lines=with_line(1, Progress_update="Q3 words for 1.2")), tmp_path)
    filled = fill_template(template(framework), {"T23-1.1": ("Red", "Hubs closed by flooding.")})
    result = ingest(framework, filled, tmp_path)
    assert result.version == 2
    assert result.changes == ["T23-1.1: Green → Red (was Green in version 1); progress update changed"]
    with read_session(framework) as session:
        stored = {
            u.action.ref: (u.status, u.progress, u.next_steps, u.risks)
            for u in session.scalars(select(LineUpdate).where(LineUpdate.return_id == result.return_id))
        }
    assert stored["T23-1.2"] == ("Amber", "Q3 words for 1.2", None, "Contractor capacity.")
    # fill_template writes only the cells it is given: next steps carried from version 1 stay.
    assert stored["T23-1.1"] == ("Red", "Hubs closed by flooding.", "Extend to Saturdays.", None)


def test_what_changed_lists_text_edits_against_the_current_version(framework: Engine, tmp_path: Path) -> None:
    ingest(framework, build_return(), tmp_path)
    lines = clean_lines()
    lines[0]["Next steps"] = "Extend to Sundays."
    lines[1]["Risks and issues"] = "  Contractor capacity.  "  # only spacing: not a change
    lines[1]["RAG status"] = "Red"
    result = ingest(framework, build_return(lines=lines), tmp_path)
    assert result.changes == [
        "T23-1.1: next steps changed since version 1 (still Green)",
        "T23-1.2: Amber → Red (was Amber in version 1)",
    ]
    assert result.summary.endswith("; 2 changes")


def test_against_last_quarter_only_statuses_count(framework: Engine, tmp_path: Path) -> None:
    ingest(framework, build_return(quarter="2025-26 Q2"), tmp_path)
    result = ingest(framework, build_return(lines=with_line(0, Progress_update="All new words")), tmp_path)
    assert result.changes == []
