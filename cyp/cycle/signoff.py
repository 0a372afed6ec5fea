"""Sign-off: an accepted return awaits an approver of its team, who signs it off or returns it with a reason.

Sign-off is switched on per deployment (``CYP_SIGNOFF=1``); off, nothing here changes what is shown. A return
version with no decision is awaiting sign-off; a decision is final for that version (a returned return is fixed
by uploading a new version, which awaits sign-off in turn). With sign-off on, views count for each team and
quarter the latest version signed off (:func:`signed_off_return_ids`), so a newer version awaiting sign-off
never hides the one the board already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnExpressionArgument, Select, func, select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.cycle.recipients import team_leads
from cyp.quarters import parse_quarter
from cyp.returns.lines import require_team
from cyp.storage.config import get_settings
from cyp.storage.models import MailSend, Partner, Return, Signoff, User, user_teams, utcnow

SIGNED_OFF = "signed-off"
RETURNED = "returned"
AWAITING = "awaiting sign-off"
STATE_WORDS = {SIGNED_OFF: "signed off", RETURNED: "returned to the team", AWAITING: AWAITING}


class SignoffError(ValueError):
    """A sign-off step that cannot be taken (no such return, already decided, no reason); the message says why."""


def signoff_enabled() -> bool:
    """Whether this deployment asks for sign-off (``CYP_SIGNOFF=1``)."""
    return get_settings().signoff


def signed_off_return_ids() -> Select:
    """The id of the latest signed-off version per team and quarter, as a subquery for ``IN``."""
    return (
        select(func.max(Return.id))
        .join(Signoff, Signoff.return_id == Return.id)
        .where(Signoff.state == SIGNED_OFF)
        .group_by(Return.partner_id, Return.quarter)
    )


def counted_return(signed_off_only: bool) -> ColumnExpressionArgument[bool]:
    """The WHERE clause on :class:`Return` for the versions a view counts: the current one, or the signed-off one."""
    return Return.id.in_(signed_off_return_ids()) if signed_off_only else Return.is_current


@dataclass(frozen=True)
class SignoffRow:
    """One team's current return for a quarter and where it stands."""

    return_id: int
    team_ref: str
    team: str
    quarter: str
    version: int
    uploaded_by: str
    uploaded_at: datetime
    state: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    # The latest version of this team and quarter that is signed off (may be older than the current one).
    signed_off_version: int | None


def signoff_rows(session: Session, quarter: str | None = None, *, state: str | None = None) -> list[SignoffRow]:
    """Every current return (of one quarter, if given) with its sign-off state, by quarter then team name."""
    query = (
        select(Return, Partner.ref, Partner.name, Signoff)
        .join(Partner, Partner.id == Return.partner_id)
        .outerjoin(Signoff, Signoff.return_id == Return.id)
        .where(Return.is_current)
        .order_by(Return.quarter, Partner.name)
    )
    if quarter:
        query = query.where(Return.quarter == parse_quarter(quarter).label)
    signed_versions = dict(
        ((partner_id, label), version)
        for partner_id, label, version in session.execute(
            select(Return.partner_id, Return.quarter, func.max(Return.version))
            .join(Signoff, Signoff.return_id == Return.id)
            .where(Signoff.state == SIGNED_OFF)
            .group_by(Return.partner_id, Return.quarter)
        )
    )
    rows = []
    for ret, ref, name, decision in session.execute(query):
        row = SignoffRow(
            return_id=ret.id,
            team_ref=ref,
            team=name,
            quarter=ret.quarter,
            version=ret.version,
            uploaded_by=ret.uploaded_by,
            uploaded_at=ret.uploaded_at,
            state=decision.state if decision else AWAITING,
            decided_by=decision.decided_by if decision else None,
            decided_at=decision.decided_at if decision else None,
            reason=decision.reason if decision else None,
            signed_off_version=signed_versions.get((ret.partner_id, ret.quarter)),
        )
        if state is None or row.state == state:
            rows.append(row)
    return rows


def awaiting_signoff(session: Session, quarter: str | None = None) -> list[SignoffRow]:
    """Current returns no approver has decided on yet (for the board pack's list of what is awaiting)."""
    return signoff_rows(session, quarter, state=AWAITING)


def signoff_states(session: Session, quarter: str) -> dict[str, str]:
    """{team ref: state} of the quarter's current returns, for the tracker (empty when sign-off is off)."""
    if not signoff_enabled():
        return {}
    return {row.team_ref: row.state for row in signoff_rows(session, quarter)}


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
