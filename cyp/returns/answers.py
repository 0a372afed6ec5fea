"""Answers to the board stored with a return: they close the questions they answer, inside the ingest's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.storage.models import BoardQuestion, utcnow


def record_answers(
    session: Session, return_id: int, quarter_label: str, answers: Iterable[tuple[int, str | None]], answered_by: str
) -> int:
    """Close the open questions on each line a return answers (asked before its quarter); audited. Never commits.

    ``answers`` are (action id, answer text); blank answers leave the questions open. Returns how many closed.
    """
    given = {action_id: " ".join(text.split()) for action_id, text in answers if text and text.strip()}
    if not given:
        return 0
    open_questions = session.scalars(
        select(BoardQuestion).where(
            BoardQuestion.action_id.in_(list(given)),
            BoardQuestion.closed_at.is_(None),
            BoardQuestion.quarter < quarter_label,
        )
    )
    closed = 0
    now = utcnow()
    for question in open_questions:
        question.answer = given[question.action_id]
        question.answer_return_id = return_id
        question.closed_by = answered_by[:200]
        question.closed_at = now
        audit.record(
            session, answered_by, "question.answer", "ok", target=f"question:{question.id}", detail=question.answer
        )
        closed += 1
    return closed
