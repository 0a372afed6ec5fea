"""Server-side sign-in sessions, the one-time tickets that start them, and display links for meeting-room screens.

A session is a row in ``web_sessions`` named by a random 256-bit token that lives only in the browser's HttpOnly
cookie; the database keeps its SHA-256, so a copy of the database cannot be replayed as a cookie. Streamlit scripts
cannot set cookies, so a sign-in made in a script run creates a :class:`~cyp.storage.models.SignInTicket` (one use,
a minute, bound to the browser that signed in) and sends the browser to ``/session/claim``, which exchanges it for
the cookie (``cyp/web/routes.py``).

Every script run checks the session against the account as the database knows it now (:func:`check_session`): a
disabled or deleted account, a new password, a revoked display link, the idle timeout or the absolute lifetime ends
it, and a new role or new teams apply at once. Ending a session deletes its row, so every tab and every instance on
the same database sees it at its next interaction. Session events are in the audit trail (``session.*``,
``display_link.*``).

Functions take a ``Session`` and never commit (the caller owns the transaction). :func:`check_session` only reads,
so a page view never takes SQLite's write lock; it says what to write (:func:`apply_check`) when the session has
ended or its last-seen time is worth refreshing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from cyp.access import audit
from cyp.access.permissions import Principal, Role, principal_for_user, require
from cyp.storage.config import get_settings
from cyp.storage.models import DisplayLink, SignInTicket, User, WebSession, utcnow

SESSION_COOKIE = "cyp_session"
# Set on every page load; a sign-in ticket can be claimed only by the browser whose cookie it carries.
BROWSER_COOKIE = "cyp_browser"
TICKET_SECONDS = 60
# Last-seen is written at most this often per session: an interaction is a read, not a write.
TOUCH_EVERY = timedelta(seconds=60)
DISPLAY_ROLE: Role = "display"
PASSWORD = "password"
IDENTITY_PROVIDER = "identity provider"
DISPLAY_LINK = "display link"


class SessionError(ValueError):
    """A session or display-link request that cannot be done as asked (unknown link, blank label, ...)."""


def new_token() -> str:
    """A fresh random token of 256 bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def password_stamp(user: User) -> str:
    """A digest of the account's password hash: it changes whenever the password does."""
    return hashlib.sha256((user.password_hash or "").encode("utf-8")).hexdigest()


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored by cyp is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _clip(text: str | None, length: int) -> str | None:
    return text[:length] if text else None


def display_principal(link: DisplayLink) -> Principal:
    """Who a screen signed in with ``link`` is: the display role, named after the link (no account)."""
    return Principal(f"display:{link.label}", DISPLAY_ROLE)


@dataclass(frozen=True)
class NewSession:
    """A session just made: the cookie value (shown to the browser once) and when the cookie should expire."""

    token: str
    expires_at: datetime
    username: str


def _start(
    session: Session,
    *,
    user: User | None,
    link: DisplayLink | None,
    method: str,
    stamp: str | None,
    client_address: str | None,
    user_agent: str | None,
    now: datetime,
) -> NewSession:
    settings = get_settings()
    if link is not None:
        lifetime = timedelta(days=settings.display_session_days)
        username = display_principal(link).username
    else:
        lifetime = timedelta(hours=settings.session_lifetime_hours)
        username = user.username if user is not None else "?"
    token = new_token()
    row = WebSession(
        token_hash=token_digest(token),
        user_id=user.id if user is not None else None,
        display_link_id=link.id if link is not None else None,
        method=method,
        password_stamp=stamp,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        client_address=_clip(client_address, 100),
        user_agent=_clip(user_agent, 300),
    )
    session.add(row)
    session.flush()
    detail = f"session {row.id}; {method}; from {client_address or 'unknown address'}"
    audit.record(session, username, "session.start", "ok", target=f"user:{username}", detail=detail, at=now)
    return NewSession(token, row.expires_at, username)


def issue_ticket(
    session: Session, principal: Principal, method: str, browser: str, *, now: datetime | None = None
) -> str:
    """A one-time ticket for the signed-in ``principal``, claimable within a minute by the browser ``browser``.

    Call it in the transaction that checked the sign-in. Raises SessionError if the account no longer exists or
    the browser sent no browser cookie (cookies switched off).
    """
    now = _as_utc(now or utcnow())
    if not browser:
        raise SessionError("This browser does not keep cookies for this site; allow them to sign in.")
    user = session.scalar(select(User).where(User.username == principal.username))
    if user is None or not user.is_active:
        raise SessionError(f"There is no active account named {principal.username}.")
    token = new_token()
    session.add(
        SignInTicket(
            token_hash=token_digest(token),
            user_id=user.id,
            method=method,
            password_stamp=password_stamp(user),
            browser_hash=token_digest(browser),
            created_at=now,
            expires_at=now + timedelta(seconds=TICKET_SECONDS),
        )
    )
    return token


def claim_ticket(
    session: Session,
    ticket: str,
    browser: str | None,
    *,
    client_address: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> NewSession | None:
    """Exchange a ticket for a new session, once; None (and a refusal in the trail) if it is not valid here and now.

    A ticket is used up by the first claim, right or wrong browser, so a leaked ticket is worth one try at most.
    """
    now = _as_utc(now or utcnow())
    found = session.scalar(select(SignInTicket).where(SignInTicket.token_hash == token_digest(ticket or "")))
    if found is None:
        audit.record(session, "anonymous", "session.claim", "refused", detail="unknown or used ticket", at=now)
        return None
    session.delete(found)
    user = session.get(User, found.user_id)
    reason = None
    if _as_utc(found.expires_at) <= now:
        reason = "ticket expired"
    elif not browser or token_digest(browser) != found.browser_hash:
        reason = "ticket presented by another browser"
    elif user is None or not user.is_active:
        reason = "account disabled"
    elif password_stamp(user) != found.password_stamp:
        reason = "password changed since the sign-in"
    if reason is not None:
        who = user.username if user is not None else "anonymous"
        audit.record(session, who, "session.claim", "refused", target=f"user:{who}", detail=reason, at=now)
        return None
    return _start(
        session,
        user=user,
        link=None,
        method=found.method,
        stamp=found.password_stamp,
        client_address=client_address,
        user_agent=user_agent,
        now=now,
    )


@dataclass(frozen=True)
class SessionCheck:
    """What :func:`check_session` found: the principal (None when signed out) and what should be written."""

    principal: Principal | None
    session_id: int | None = None
    # Why the session ended (the row should go), or None while it lasts.
    ended: str | None = None
    # Whether last-seen is old enough to be worth writing.
    touch: bool = False
    username: str | None = None


SIGNED_OUT = SessionCheck(None)


def check_session(session: Session, token: str | None, *, now: datetime | None = None) -> SessionCheck:
    """The principal behind the cookie value ``token`` as the database knows it now; reads only.

    The session has ended when it is unknown, past its lifetime or idle timeout, its account is disabled or has a
    new password, or its display link is revoked; the role and teams are read from the account every time.
    """
    if not token:
        return SIGNED_OUT
    now = _as_utc(now or utcnow())
    row = session.scalar(
        select(WebSession)
        .options(selectinload(WebSession.user).selectinload(User.teams), selectinload(WebSession.display_link))
        .where(WebSession.token_hash == token_digest(token))
    )
    if row is None:
        return SIGNED_OUT
    user, link = row.user, row.display_link
    username = display_principal(link).username if link is not None else user.username if user else "?"
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    reason = None
    if _as_utc(row.expires_at) <= now:
        reason = "lifetime over"
    elif link is not None:
        if link.revoked_at is not None:
            reason = "display link revoked"
    elif user is None:
        reason = "account removed"
    elif not user.is_active:
        reason = "account disabled"
    elif row.password_stamp != password_stamp(user):
        reason = "password changed"
    elif _as_utc(row.last_seen_at) + idle <= now:
        reason = "idle timeout"
    if reason is not None:
        return SessionCheck(None, row.id, ended=reason, username=username)
    principal = display_principal(link) if link is not None else principal_for_user(user)  # type: ignore[arg-type]
    touch = _as_utc(row.last_seen_at) + TOUCH_EVERY <= now
    return SessionCheck(principal, row.id, touch=touch, username=username)


def apply_check(session: Session, check: SessionCheck, *, now: datetime | None = None) -> None:
    """Write what :func:`check_session` found: delete an ended session (audited), or refresh last-seen."""
    now = _as_utc(now or utcnow())
    if check.session_id is None:
        return
    if check.ended is not None:
        _end(session, [check.session_id], "system", check.ended, now)
    elif check.touch:
        session.execute(update(WebSession).where(WebSession.id == check.session_id).values(last_seen_at=now))


def _end(session: Session, session_ids: list[int], actor: str, reason: str, now: datetime) -> int:
    """Delete these sessions, one audit event each; returns how many existed."""
    rows = session.execute(
        select(WebSession.id, User.username, DisplayLink.label)
        .outerjoin(User, User.id == WebSession.user_id)
        .outerjoin(DisplayLink, DisplayLink.id == WebSession.display_link_id)
        .where(WebSession.id.in_(session_ids))
    ).all()
    for session_id, username, label in rows:
        who = f"display:{label}" if label is not None else username or "?"
        detail = f"session {session_id}; {reason}"
        audit.record(session, actor, "session.end", "ok", target=f"user:{who}", detail=detail, at=now)
    if rows:
        session.execute(delete(WebSession).where(WebSession.id.in_([row[0] for row in rows])))
    return len(rows)


def sign_out(session: Session, token: str | None, *, now: datetime | None = None) -> bool:
    """End the session behind the cookie value ``token`` (its own user signing out); False if there was none."""
    now = _as_utc(now or utcnow())
    if not token:
        return False
    found = session.execute(
        select(WebSession.id, User.username, DisplayLink.label)
        .outerjoin(User, User.id == WebSession.user_id)
        .outerjoin(DisplayLink, DisplayLink.id == WebSession.display_link_id)
        .where(WebSession.token_hash == token_digest(token))
    ).first()
    if found is None:
        return False
    session_id, username, label = found
    actor = f"display:{label}" if label is not None else username or "?"
    return _end(session, [session_id], actor, "signed out", now) == 1


@dataclass(frozen=True)
class SessionInfo:
    """One live session as an administrator sees it (never its token)."""

    id: int
    username: str
    method: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_address: str
    user_agent: str


def _info(row: WebSession, username: str) -> SessionInfo:
    return SessionInfo(
        row.id,
        username,
        row.method,
        _as_utc(row.created_at),
        _as_utc(row.last_seen_at),
        _as_utc(row.expires_at),
        row.client_address or "",
        row.user_agent or "",
    )


def _account(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise SessionError(f"There is no account named {username.strip().lower()!r}.")
    return user


def list_sessions(
    session: Session, actor: Principal, username: str, *, now: datetime | None = None
) -> list[SessionInfo]:
    """The live sessions of the account ``username``, newest first (administrators only)."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    now = _as_utc(now or utcnow())
    user = _account(session, username)
    rows = session.scalars(
        select(WebSession).where(WebSession.user_id == user.id).order_by(WebSession.created_at.desc())
    )
    return [_info(row, user.username) for row in rows if check_session_row_lasts(row, user, now)]


def check_session_row_lasts(row: WebSession, user: User, now: datetime) -> bool:
    """Whether a stored session of ``user`` still lets its browser in (the rules of :func:`check_session`)."""
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    return (
        user.is_active
        and row.password_stamp == password_stamp(user)
        and _as_utc(row.expires_at) > now
        and _as_utc(row.last_seen_at) + idle > now
    )


def end_sessions(
    session: Session, actor: Principal, username: str, *, session_id: int | None = None, now: datetime | None = None
) -> int:
    """End every session of ``username`` (or only ``session_id``); returns how many ended (administrators only)."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    now = _as_utc(now or utcnow())
    user = _account(session, username)
    query = select(WebSession.id).where(WebSession.user_id == user.id)
    if session_id is not None:
        query = query.where(WebSession.id == session_id)
    ids = list(session.scalars(query))
    if session_id is not None and not ids:
        raise SessionError(f"{user.username} has no session {session_id}.")
    return _end(session, ids, actor.username, f"ended by {actor.username}", now)


@dataclass(frozen=True)
class DisplayLinkInfo:
    """A display link as listed to administrators (never its token), with how many screens it has signed in."""

    id: int
    label: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    live_sessions: int

    @property
    def state(self) -> str:
        """ "active" or "revoked"."""
        return "revoked" if self.revoked_at is not None else "active"


def issue_display_link(session: Session, actor: Principal, label: str, *, now: datetime | None = None) -> str:
    """A new display link named ``label`` (e.g. the room); returns its token, shown once and stored only hashed."""
    clean = " ".join((label or "").split())
    require(session, actor, "user.manage", target=f"display link:{clean}")
    if not clean:
        raise SessionError("A display link needs a label saying where the screen is, e.g. 'Committee room 2'.")
    if len(clean) > 100:
        raise SessionError(f"A display link's label has at most 100 characters; this one has {len(clean)}.")
    now = _as_utc(now or utcnow())
    token = new_token()
    link = DisplayLink(token_hash=token_digest(token), label=clean, created_by=actor.username, created_at=now)
    session.add(link)
    session.flush()
    audit.record(session, actor.username, "display_link.issue", "ok", target=f"display link:{link.id}", detail=clean)
    return token


def list_display_links(session: Session, *, now: datetime | None = None) -> list[DisplayLinkInfo]:
    """Every display link, newest first, with its number of live screens."""
    now = _as_utc(now or utcnow())
    links = list(session.scalars(select(DisplayLink).order_by(DisplayLink.created_at.desc(), DisplayLink.id.desc())))
    live: dict[int, int] = {}
    for link_id, expires_at in session.execute(
        select(WebSession.display_link_id, WebSession.expires_at).where(WebSession.display_link_id.is_not(None))
    ):
        # link_id is never None here (the query excludes it); the check narrows the type.
        if link_id is not None and _as_utc(expires_at) > now:
            live[link_id] = live.get(link_id, 0) + 1
    return [
        DisplayLinkInfo(
            link.id,
            link.label,
            link.created_by,
            _as_utc(link.created_at),
            _as_utc(link.last_used_at) if link.last_used_at else None,
            _as_utc(link.revoked_at) if link.revoked_at else None,
            live.get(link.id, 0) if link.revoked_at is None else 0,
        )
        for link in links
    ]


def revoke_display_link(session: Session, actor: Principal, link_id: int, *, now: datetime | None = None) -> int:
    """Revoke a display link and end every screen it signed in; returns how many screens were signed out."""
    require(session, actor, "user.manage", target=f"display link:{link_id}")
    now = _as_utc(now or utcnow())
    link = session.get(DisplayLink, link_id)
    if link is None:
        raise SessionError(f"There is no display link {link_id}; `python -m cyp display-link list` lists them.")
    if link.revoked_at is None:
        link.revoked_at = now
        audit.record(
            session,
            actor.username,
            "display_link.revoke",
            "ok",
            target=f"display link:{link.id}",
            detail=link.label,
            at=now,
        )
    ids = list(session.scalars(select(WebSession.id).where(WebSession.display_link_id == link.id)))
    return _end(session, ids, actor.username, "display link revoked", now)


def open_display_link(
    session: Session,
    token: str,
    *,
    client_address: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> NewSession | None:
    """Sign a screen in with a display link: a new long-lived display session, or None if the link is not valid."""
    now = _as_utc(now or utcnow())
    link = session.scalar(select(DisplayLink).where(DisplayLink.token_hash == token_digest(token or "")))
    if link is None or link.revoked_at is not None:
        detail = "unknown display link" if link is None else f"revoked display link {link.id}"
        audit.record(session, "anonymous", "session.claim", "refused", detail=detail, at=now)
        return None
    link.last_used_at = now
    return _start(
        session,
        user=None,
        link=link,
        method=DISPLAY_LINK,
        stamp=None,
        client_address=client_address,
        user_agent=user_agent,
        now=now,
    )


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete sessions past their lifetime or idle timeout and tickets past their minute; returns sessions removed.

    Not needed for correctness (every check applies the same rules); it keeps the tables small.
    """
    now = _as_utc(now or utcnow())
    session.execute(delete(SignInTicket).where(SignInTicket.expires_at <= now))
    idle_since = now - timedelta(minutes=get_settings().session_idle_minutes)
    expired = select(WebSession.id).where(
        (WebSession.expires_at <= now)
        | ((WebSession.display_link_id.is_(None)) & (WebSession.last_seen_at <= idle_since))
    )
    return _end(session, list(session.scalars(expired)), "system", "expired", now)
