"""Team lookup: a team (partner) by its name, ref or a recorded variant, and the did-you-mean for a near miss.

Checking a return, writing a template, managing accounts and the admin pages all name teams the same way, so the
rule lives here, below both ``cyp.returns`` and ``cyp.access``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from cyp.spelling import closest
from cyp.storage.models import Partner


class UnknownTeam(LookupError):
    """No team matches the name or ref given; the message suggests the closest."""


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("&", "and"))


def team_names(partner: Partner) -> list[str]:
    """Every way a team may be written: name, ref and recorded variants."""
    variants = [v for v in (partner.variants or "").split("|") if v.strip()]
    return [partner.name, partner.ref, *variants]


class TeamRow(NamedTuple):
    """A team as one plain row: what checking and storing a return need of it."""

    id: int
    ref: str
    name: str


# Built once: every upload looks its team up.
_TEAM_NAMED_EXACTLY = (
    select(Partner.id, Partner.ref, Partner.name)
    .where(or_(Partner.ref == bindparam("text"), Partner.name == bindparam("text")))
    .order_by(Partner.id)
    .limit(1)
)


def find_team_row(session: Session, text: str) -> TeamRow | None:
    """Like :func:`find_team`, as a plain row (no ORM record is built when the name is written exactly)."""
    if not _squash(text):
        return None
    # The template writes the team's exact name (and its ref): looked up directly before comparing every spelling.
    exact = session.connection().execute(_TEAM_NAMED_EXACTLY, {"text": text.strip()}).first()
    if exact is not None:
        return TeamRow(*exact)
    wanted = _squash(text)
    for partner in session.scalars(select(Partner).order_by(Partner.id)):
        if any(_squash(name) == wanted for name in team_names(partner)):
            return TeamRow(partner.id, partner.ref, partner.name)
    return None


def find_team(session: Session, text: str) -> Partner | None:
    """The team named, by name, ref or a recorded variant, ignoring case, spacing and punctuation."""
    row = find_team_row(session, text)
    return session.get(Partner, row.id) if row is not None else None


def suggest_team(session: Session, text: str) -> str | None:
    """The name of the team closest to ``text``, for a did-you-mean."""
    names = {
        _squash(name): partner.name for partner in session.scalars(select(Partner)) for name in team_names(partner)
    }
    close = closest(_squash(text), names)
    return names[close] if close else None


def require_team(session: Session, text: str) -> Partner:
    """Like :func:`find_team` but raising :class:`UnknownTeam` with a did-you-mean."""
    partner = find_team(session, text)
    if partner is None:
        suggestion = suggest_team(session, text)
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        raise UnknownTeam(f"'{text}' is not a known team{hint}")
    return partner
