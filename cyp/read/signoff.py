"""Sign-off state as the read side counts it: which version of a team's return counts, and where each stands.

Sign-off is switched on per deployment (``CYP_SIGNOFF=1``); off, nothing here changes what is shown. A return
version with no decision is awaiting sign-off; a decision is final for that version (a returned return is fixed
by uploading a new version, which awaits sign-off in turn). With sign-off on, views count for each team and
quarter the latest version signed off (:func:`signed_off_return_ids`), so a newer version awaiting sign-off
never hides the one the board already has. The decisions themselves are written by :mod:`cyp.cycle.signoff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnExpressionArgument, Select, func, select
from sqlalchemy.orm import Session

from cyp.quarters import parse_quarter
from cyp.storage.config import get_settings
from cyp.storage.models import Partner, Return, Signoff

SIGNED_OFF = "signed-off"
RETURNED = "returned"
AWAITING = "awaiting sign-off"
STATE_WORDS = {SIGNED_OFF: "signed off", RETURNED: "returned to the team", AWAITING: AWAITING}


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
