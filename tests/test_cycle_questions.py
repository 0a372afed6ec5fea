"""Board questions: recorded against a line, carried into the next template, answered by the return, or closed."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, PermissionDenied, Principal
from cyp.cli import cli
from cyp.cycle.questions import QuestionError, ask_question, close_question
from cyp.read.questions import list_questions
from cyp.returns.ingest import ingest_return
from cyp.returns.template import write_template
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent, BoardQuestion
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases

CHAIR = Principal("chair", "viewer")


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
        create_user(session, SYSTEM, "chair", "viewer")
        create_user(session, SYSTEM, "a.lee", "lead", teams=["family-services"])
    return engine


def ask(engine: Engine, text: str = "Why is the second hub late?", line: str = "T23-1.2", **kw) -> int:  # type: ignore[no-untyped-def]
    with write_session(engine) as session:
        return ask_question(session, CHAIR, line, kw.pop("quarter", "2025-26 Q3"), text, **kw).id


def template(engine: Engine, quarter: str) -> bytes:
    with read_session(engine) as session:
        return write_template(session, "Family Services", quarter)


def test_the_next_template_shows_the_question_read_only_beside_an_answer_input(framework: Engine) -> None:
    ask(framework, due_by=date(2026, 3, 1))
    ask(framework, "Fund a Saturday opening", kind="action")
    sheet = load_workbook(io.BytesIO(template(framework, "2025-26 Q4")))["Return"]
    assert [c.value for c in sheet[8]][8:] == ["Board asked", "Answer to the board"]
    assert sheet["A10"].value == "T23-1.2"
    assert sheet["I10"].value == (
        "Question (2025-26 Q3, due by 1 Mar 2026): Why is the second hub late?\n"
        "Action (2025-26 Q3): Fund a Saturday opening"
    )
    assert sheet["I10"].protection.locked and not sheet["J10"].protection.locked
    assert sheet["I9"].value is None and sheet["J9"].protection.locked  # no question on T23-1.1: no input
    # The quarter the board reviewed does not carry its own question; nor does another team's template.
    assert load_workbook(io.BytesIO(template(framework, "2025-26 Q3")))["Return"].max_column == 8
    with read_session(framework) as session:
        health = load_workbook(io.BytesIO(write_template(session, "Public Health", "2025-26 Q4")))["Return"]
    assert health.max_column == 8


def test_the_answer_in_the_return_is_stored_and_closes_the_question(framework: Engine, tmp_path: Path) -> None:
    asked = ask(framework)
    other = ask(framework, "And the first hub?", line="T23-1.1")
    workbook = load_workbook(io.BytesIO(template(framework, "2025-26 Q4")))
    sheet = workbook["Return"]
    for row in (9, 10):
        sheet.cell(row, 5).value, sheet.cell(row, 6).value = "Green", "On track."
    sheet["J10"] = "The builder went bust; a new one starts in April."
    buffer = io.BytesIO()
    workbook.save(buffer)
    lead = Principal("a.lee", "lead", frozenset({"family-services"}))
    result = ingest_return(buffer.getvalue(), "q4.xlsx", lead, engine=framework, uploads_dir=tmp_path)
    assert result.status == "accepted", result.problems
    with read_session(framework) as session:
        question = session.get(BoardQuestion, asked)
        assert question.answer == "The builder went bust; a new one starts in April."
        assert (question.answer_return_id, question.closed_by) == (result.return_id, "a.lee")
        assert question.closed_at is not None
        assert session.get(BoardQuestion, other).closed_at is None  # left blank: still open
        assert [q.id for q in list_questions(session)] == [other]
        assert session.scalar(select(AuditEvent.target).where(AuditEvent.action == "question.answer")) == (
            f"question:{asked}"
        )


def test_an_administrator_closes_a_question_with_a_reason_and_others_may_not(framework: Engine) -> None:
    asked = ask(framework)
    lead = Principal("a.lee", "lead", frozenset({"family-services"}))
    with pytest.raises(PermissionDenied, match="You may not close a board question"), write_session(framework) as s:
        close_question(s, lead, asked, "not needed")
    with pytest.raises(QuestionError, match="reason is empty"), write_session(framework) as s:
        close_question(s, SYSTEM, asked, "  ")
    with write_session(framework) as session:
        close_question(session, SYSTEM, asked, "Answered at the meeting")
    with read_session(framework) as session:
        [row] = list_questions(session, open_only=False)
        assert (row.is_open, row.close_reason, row.closed_by) == (False, "Answered at the meeting", "system")
        refused = session.scalar(select(AuditEvent).where(AuditEvent.outcome == "refused"))
        assert (refused.actor, refused.action) == ("a.lee", "question.close")


def test_a_lead_may_not_record_a_question_and_bad_input_is_named(framework: Engine) -> None:
    lead = Principal("a.lee", "lead", frozenset({"family-services"}))
    with pytest.raises(PermissionDenied, match="record a board question"), write_session(framework) as s:
        ask_question(s, lead, "T23-1.2", "2025-26 Q3", "Anything?")
    with pytest.raises(QuestionError, match="There is no line 'T23-9.9'"), write_session(framework) as s:
        ask_question(s, CHAIR, "T23-9.9", "2025-26 Q3", "Anything?")
    with pytest.raises(QuestionError, match="Q7"), write_session(framework) as s:
        ask_question(s, CHAIR, "T23-1.2", "2025-26 Q7", "Anything?")


def test_questions_are_listed_for_a_line_a_team_an_outcome_and_a_quarter(framework: Engine) -> None:
    first = ask(framework)
    ask(framework, "Healthy weight trend?", line="T23-2.1", quarter="2025-26 Q2")
    with read_session(framework) as session:
        assert [q.line_ref for q in list_questions(session)] == ["T23-1.2", "T23-2.1"]
        assert [q.id for q in list_questions(session, line_ref="T23-1.2")] == [first]
        assert [q.team for q in list_questions(session, team_ref="public-health")] == ["Public Health"]
        assert [q.quarter for q in list_questions(session, quarter="Q2 2025/26")] == ["2025-26 Q2"]
        assert len(list_questions(session, outcome_ref="T23-O1", plan_ref="T2023")) == 2


def test_question_commands(framework: Engine) -> None:
    # The commands act as the account --user names: the chair (a viewer) asks, an administrator closes.
    with write_session(framework) as session:
        create_user(session, SYSTEM, "j.smith", "administrator")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["question", "add", "--line", "T23-1.2", "--quarter", "2025-26 Q3", "--text", "Why late?", "--due",
         "2026-03-01", "--user", "chair"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output.startswith("Recorded board question ") and added.output.endswith(
        " on T23-1.2 for 2025-26 Q3.\n"
    )
    number = added.output.split()[3]
    listed = runner.invoke(cli, ["question", "list"])
    assert listed.exit_code == 0
    assert (
        f"#{number} T23-1.2 (Family Services) 2025-26 Q3, due by 2026-03-01, question by chair: Why late? [open]"
        in (listed.output)
    )
    assert listed.output.endswith("1 question(s).\n")
    closed = runner.invoke(
        cli, ["question", "close", number, "--reason", "Answered at the meeting", "--user", "j.smith"]
    )
    assert (closed.exit_code, closed.output) == (0, f"Closed board question {number}.\n")
    assert runner.invoke(cli, ["question", "list"]).output == "0 question(s).\n"
    assert "[closed: Answered at the meeting]" in runner.invoke(cli, ["question", "list", "--all"]).output
    again = runner.invoke(cli, ["question", "close", number, "--reason", "twice", "--as-system"])
    assert again.exit_code == 1 and "already closed" in again.output
    unknown = runner.invoke(
        cli, ["question", "add", "--line", "NOPE", "--quarter", "2025-26 Q3", "--text", "x", "--as-system"]
    )
    assert unknown.exit_code == 1 and "There is no line 'NOPE'" in unknown.output
