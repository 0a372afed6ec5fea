"""Sign-off: an accepted return awaits an approver of its team, who signs it off or returns it with a reason.

A decision is final for that version (a returned return is fixed by uploading a new version, which awaits sign-off
in turn). These are the writes; which version counts and where each return stands is read in :mod:`cyp.read.signoff`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.cycle.recipients import team_leads
from cyp.quarters import parse_quarter
from cyp.read.signoff import RETURNED, SIGNED_OFF, STATE_WORDS
from cyp.returns.lines import require_team
from cyp.storage.models import MailSend, Return, Signoff, User, user_teams, utcnow


class SignoffError(ValueError):
    """A sign-off step that cannot be taken (no such return, already decided, no reason); the message says why."""


def approvers_of(session: Session, partner_id: int) -> list[User]:
    """The active approvers who belong to the team."""
    return list(
        session.scalars(
            select(User)
            .join(user_teams, user_teams.c.user_id == User.id)
            .where(user_teams.c.partner_id == partner_id, User.role == "approver", User.is_active)
            .order_by(User.username)
        )
    )


def _current(session: Session, team: str, quarter: str, version: int | None) -> Return:
    partner = require_team(session, team)
    label = parse_quarter(quarter).label
    ret = session.scalar(
        select(Return).where(Return.partner_id == partner.id, Return.quarter == label, Return.is_current)
    )
    if ret is None:
        raise SignoffError(f"{partner.name} has no return for {label} to sign off.")
    if version is not None and version != ret.version:
        raise SignoffError(
            f"{partner.name} {label} version {version} is not the current version (version {ret.version} is); "
            "only the current version can be signed off or returned."
        )
    return ret


def _decide(
    session: Session, principal: Principal, team: str, quarter: str, state: str, reason: str | None, version: int | None
) -> Signoff:
    partner = require_team(session, team)
    label = parse_quarter(quarter).label
    target = f"{partner.name} {label}"
    require(session, principal, "return.signoff", team_ref=partner.ref, target=target)
    ret = _current(session, partner.ref, label, version)
    earlier = session.get(Signoff, ret.id)
    if earlier is not None:
        raise SignoffError(
            f"{target} version {ret.version} was already {STATE_WORDS[earlier.state]} by {earlier.decided_by}; "
            "a new upload is needed for a new decision."
        )
    decision = Signoff(return_id=ret.id, state=state, decided_by=principal.username, decided_at=utcnow(), reason=reason)
    session.add(decision)
    action = "return.signoff" if state == SIGNED_OFF else "return.send_back"
    audit.record(session, principal.username, action, "ok", target=f"{target} v{ret.version}", detail=reason)
    return decision


def sign_off(session: Session, principal: Principal, team: str, quarter: str, *, version: int | None = None) -> Signoff:
    """An approver of the team (or an administrator) signs off its current return for the quarter; audited."""
    return _decide(session, principal, team, quarter, SIGNED_OFF, None, version)


def return_to_team(
    session: Session, principal: Principal, team: str, quarter: str, reason: str, *, version: int | None = None
) -> Signoff:
    """Send the team's current return back with a reason (the leads are emailed on the next reminder run); audited.

    Never commits: the notices to the team's leads are claimed in the caller's transaction and sent by the next
    reminder run (or at once by :func:`cyp.cycle.reminders.run_reminders`).
    """
    cleaned = " ".join((reason or "").split())
    if not cleaned:
        raise SignoffError("Say why the return is sent back, so the team knows what to change.")
    decision = _decide(session, principal, team, quarter, RETURNED, cleaned, version)
    session.flush()
    queue_returned_notices(session, decision)
    return decision


def returned_key(return_id: int, user_id: int) -> str:
    """The unique key of the notice that a return was sent back, to one lead."""
    return f"returned:{return_id}:{user_id}"


def queue_returned_notices(session: Session, decision: Signoff) -> int:
    """Claim, in the caller's transaction, the emails telling a team's leads their return was sent back."""
    ret = session.get(Return, decision.return_id)
    assert ret is not None
    added = 0
    for lead in team_leads(session, ret.partner_id):
        key = returned_key(ret.id, lead.id)
        if session.scalar(select(MailSend.id).where(MailSend.key == key)) is None:
            session.add(
                MailSend(key=key, kind="returned", user_id=lead.id, partner_id=ret.partner_id, quarter=ret.quarter)
            )
            added += 1
    return added
