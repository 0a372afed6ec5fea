"""Who receives the cycle's emails: a team's leads, the digest's readers, and who has opted out."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.storage.models import MailOptOut, User, user_teams, utcnow


class NoSuchUser(LookupError):
    """No account has that username."""


def opted_out_ids(session: Session) -> set[int]:
    """Ids of the users who asked for no reminder or digest emails."""
    return set(session.scalars(select(MailOptOut.user_id)))


def why_not_mailed(user: User | None, opted_out: set[int]) -> str | None:
    """Why this person gets no email now (no account, disabled, no address, opted out), or None when they do."""
    if user is None:
        return "the account no longer exists"
    if not user.is_active:
        return "the account is disabled"
    if not user.email:
        return "the account has no email address"
    if user.id in opted_out:
        return "the person opted out of reminder emails"
    return None


def team_leads(session: Session, partner_id: int) -> list[User]:
    """Every lead account of the team, active or not (the sender decides, so a disabled one is recorded as such)."""
    return list(
        session.scalars(
            select(User)
            .join(user_teams, user_teams.c.user_id == User.id)
            .where(user_teams.c.partner_id == partner_id, User.role == "lead")
            .order_by(User.username)
        )
    )


def users_with_roles(session: Session, roles: Iterable[str]) -> list[User]:
    """Every account with one of ``roles``, by username."""
    return list(session.scalars(select(User).where(User.role.in_(list(roles))).order_by(User.username)))


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NoSuchUser(f"There is no account named {username.strip()!r}; `python -m cyp user list` shows them.")
    return user


def set_opt_out(session: Session, actor: Principal, username: str, opted_out: bool = True) -> bool:
    """Stop (or, with ``opted_out=False``, restart) reminder and digest emails to a person; audited. Never commits.

    Anyone may opt themselves out; changing someone else needs ``mail.opt_out``. Returns whether anything changed.
    """
    user = _user(session, username)
    if actor.is_system or actor.username != user.username:
        require(session, actor, "mail.opt_out", target=f"user:{user.username}")
    existing = session.get(MailOptOut, user.id)
    if opted_out == (existing is not None):
        return False
    if opted_out:
        session.add(MailOptOut(user_id=user.id, at=utcnow()))
    else:
        session.delete(existing)
    action = "mail.opt_out" if opted_out else "mail.opt_in"
    audit.record(session, actor.username, action, "ok", target=f"user:{user.username}")
    return True
