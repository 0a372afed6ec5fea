"""Board questions: what the board asks about a line, carried into the team's next template until answered.

A viewer or the chair records a question (or an action) against a line for the quarter the board was reviewing;
an administrator may close one with a reason. These are the writes: the questions are read in
:mod:`cyp.read.questions`, carried into a template by :mod:`cyp.returns.board_columns` and answered by an upload
(:mod:`cyp.returns.answers`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.quarters import QuarterError, parse_quarter
from cyp.storage.models import Action, BoardQuestion, utcnow

KINDS = ("question", "action")
MAX_TEXT = 2000


class QuestionError(ValueError):
    """A question that cannot be recorded or closed as asked; the message says what to change."""


def _clean_text(text: str, what: str) -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise QuestionError(f"The {what} is empty; write what the board wants to know.")
    if len(cleaned) > MAX_TEXT:
        raise QuestionError(f"The {what} is {len(cleaned)} characters long; keep it under {MAX_TEXT}.")
    return cleaned


def ask_question(
    session: Session,
    principal: Principal,
    line_ref: str,
    quarter: str,
    text: str,
    *,
    kind: str = "question",
    due_by: date | None = None,
) -> BoardQuestion:
    """Record a board question or action against a line for a quarter; audited. Never commits."""
    require(session, principal, "question.ask", target=f"line:{line_ref}")
    if kind not in KINDS:
        raise QuestionError(f"{kind!r} is not a kind of board item; choose question or action.")
    try:
        label = parse_quarter(quarter).label
    except QuarterError as error:
        raise QuestionError(str(error)) from None
    action = session.scalar(select(Action).where(Action.ref == line_ref.strip()))
    if action is None:
        raise QuestionError(f"There is no line {line_ref.strip()!r}; give a line ref such as 23-FB-1.1.")
    question = BoardQuestion(
        action_id=action.id,
        quarter=label,
        kind=kind,
        text=_clean_text(text, kind),
        asked_by=principal.username,
        asked_at=utcnow(),
        due_by=due_by,
    )
    session.add(question)
    session.flush()
    detail = f"{kind} for {label}" + (f", due by {due_by.isoformat()}" if due_by else "") + f": {question.text}"
    audit.record(
        session, principal.username, "question.ask", "ok", target=f"question:{question.id} {action.ref}", detail=detail
    )
    return question


def close_question(session: Session, principal: Principal, question_id: int, reason: str) -> BoardQuestion:
    """An administrator closes an open question with a reason (e.g. answered at the meeting); audited."""
    require(session, principal, "question.close", target=f"question:{question_id}")
    question = session.get(BoardQuestion, question_id)
    if question is None:
        raise QuestionError(f"There is no board question {question_id}; `python -m cyp question list` shows them.")
    if question.closed_at is not None:
        raise QuestionError(f"Board question {question_id} is already closed ({question.close_reason or 'answered'}).")
    question.close_reason = _clean_text(reason, "reason")
    question.closed_by = principal.username
    question.closed_at = utcnow()
    audit.record(
        session,
        principal.username,
        "question.close",
        "ok",
        target=f"question:{question_id}",
        detail=question.close_reason,
    )
    return question
