"""Which answers a template carries, and what a new version changes against the one it replaces.

A template for a quarter that already has a current version is pre-filled from that version, so a lead who
re-downloads, changes two lines and uploads never reverts the other lines to last quarter's words; otherwise it
is pre-filled from the team's last accepted answers before the quarter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from cyp.quarters import Quarter
from cyp.storage.models import Action, LineUpdate, Partner, Return

# The parts of a line a lead writes; a change to any of them is a change to the line.
TEXT_FIELDS = (("progress", "progress update"), ("next_steps", "next steps"), ("risks", "risks and issues"))


@dataclass(frozen=True)
class PrefillSource:
    """The return a template is pre-filled from (None: nothing to carry) and the sentence that says so."""

    return_: Return | None
    note: str


def _short_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def prefill_source(session: Session, partner: Partner, quarter: Quarter) -> PrefillSource:
    """The team's current version for ``quarter`` if there is one, else its latest current return before it."""
    options = (selectinload(Return.line_updates), selectinload(Return.indicator_values))
    same = session.scalar(
        select(Return)
        .where(Return.partner_id == partner.id, Return.quarter == quarter.label, Return.is_current)
        .options(*options)
    )
    source = same or session.scalar(
        select(Return)
        .where(Return.partner_id == partner.id, Return.quarter < quarter.label, Return.is_current)
        .order_by(Return.quarter.desc())
        .limit(1)
        .options(*options)
    )
    if source is None:
        return PrefillSource(None, "Nothing to pre-fill: this team has no earlier return.")
    note = (
        f"Pre-filled from version {source.version} of {source.quarter}, uploaded {_short_date(source.uploaded_at)} "
        f"by {source.uploaded_by}."
    )
    if same is None:
        note += " Change what has changed since then."
    return PrefillSource(source, note)


class NewLine(Protocol):
    """What :func:`line_changes` needs of a checked line (``cyp.returns.validate.CheckedLine``)."""

    status: str
    progress: str | None
    next_steps: str | None
    risks: str | None


_LINES_BEFORE = (
    select(LineUpdate.action_id, Action.ref, LineUpdate.status, LineUpdate.progress, LineUpdate.next_steps)
    .add_columns(LineUpdate.risks)
    .join(Action, Action.id == LineUpdate.action_id)
    .where(LineUpdate.return_id == bindparam("return_id"))
    .order_by(LineUpdate.id)
)


def _same_text(old: str | None, new: str | None) -> bool:
    # A cell emptied and a cell never filled are the same; spacing around the words is not a change.
    return (old or "").strip() == (new or "").strip()


def line_changes(
    session: Session,
    before_return_id: int,
    against: str,
    lines: Sequence[tuple[int, str, NewLine]],
    *,
    compare_text: bool = True,
) -> list[str]:
    """Every line whose status or text differs from return ``before_return_id``, and lines new or removed.

    ``lines`` are (action id, ref, checked line) of the new return; ``against`` names the earlier one in the
    messages ("version 2", "2025-26 Q2"). ``compare_text=False`` compares statuses only: against last quarter
    every line's words are expected to change.
    """
    # .all(): one fetchall, where iterating the result fetches row by row.
    old = {row[0]: row for row in session.connection().execute(_LINES_BEFORE, {"return_id": before_return_id}).all()}
    changes: list[str] = []
    present: set[int] = set()
    for action_id, ref, line in lines:
        present.add(action_id)
        previous = old.get(action_id)
        if previous is None:
            changes.append(f"{ref}: new line ({line.status})")
            continue
        _, _, status, *texts = previous
        edited = [
            label
            for (name, label), text in zip(TEXT_FIELDS, texts, strict=True)
            if compare_text and not _same_text(text, getattr(line, name))
        ]
        if status != line.status:
            what = f"{ref}: {status} → {line.status} (was {status} in {against})"
            changes.append(what + (f"; {', '.join(edited)} changed" if edited else ""))
        elif edited:
            changes.append(f"{ref}: {', '.join(edited)} changed since {against} (still {status})")
    changes += [
        f"{ref}: not in this return (was {status} in {against})"
        for action_id, ref, status, *_ in old.values()
        if action_id not in present
    ]
    return changes


def changed_refs(changes: Iterable[str]) -> list[str]:
    """The line refs named by :func:`line_changes` messages, in order (for tests and summaries)."""
    return [change.split(":", 1)[0] for change in changes]
