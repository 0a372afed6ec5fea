"""Local sign-in: the password check, slow-down and lockout, and the principal of an identity-provider account."""

from __future__ import annotations

import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cyp.access import audit
from cyp.access.accounts import PASSWORD_HASHER, hash_password
from cyp.access.permissions import Principal, principal_for_user, sign_in_rules
from cyp.storage.models import AuditEvent, User, utcnow

FAILED_MESSAGE = "The username or password is not right. Check both and try again."


DISABLED_MESSAGE = "This account is disabled. Ask an administrator to enable it."


WHILE_LOCKED = "attempt while locked"


# Verified against when the username is unknown, so an unknown name takes as long as a wrong password.
_DUMMY_HASH = PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


# The outcome of a sign-in attempt, also the outcome of its audit event.
SignInStatus = Literal["ok", "failed", "locked", "disabled"]


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a local sign-in (a :data:`SignInStatus`), its message, and the principal when signed in."""

    status: SignInStatus
    message: str
    principal: Principal | None = None
    # Seconds before another attempt is worth making (the UI may wait this long, briefly).
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        """Whether the user is signed in."""
        return self.status == "ok"


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored by cyp is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _delay_after(failures: int) -> int:
    """Seconds an account stays locked after ``failures`` failed attempts in a row."""
    rules = sign_in_rules()
    if failures >= rules["lock_after"]:
        return rules["lock_minutes"] * 60
    return 2 ** (failures - rules["slow_down_after"]) if failures > rules["slow_down_after"] else 0


def _unknown_name_state(session: Session, name: str, now: datetime) -> tuple[int, datetime | None]:
    """Failures in a row and lock end for a name with no account, read from the trail (so it locks like one)."""
    window_start = now - timedelta(minutes=sign_in_rules()["lock_minutes"])
    counted = select(func.count(), func.max(AuditEvent.at)).where(
        AuditEvent.action == "auth.signin",
        AuditEvent.target == f"user:{name}",
        AuditEvent.outcome.in_(("failed", "locked")),
        AuditEvent.detail != WHILE_LOCKED,
        AuditEvent.at > audit.as_utc(window_start),
    )
    failures, last_at = session.execute(counted).one()
    if not failures:
        return 0, None
    return failures, _as_utc(last_at) + timedelta(seconds=_delay_after(failures))


def typed_name(username: str) -> str:
    """The username as typed, trimmed and lower-cased, with control characters (NUL included) written as escapes.

    No account name holds a control character or a backslash, so an escaped name matches no account: the
    attempt fails like any unknown name and is audited as typed, readable, and storable in PostgreSQL (which
    refuses NUL in text).
    """
    name = username.strip().lower()
    if name.isprintable():
        return name
    return "".join(
        character if unicodedata.category(character)[0] != "C" else character.encode("unicode_escape").decode()
        for character in name
    )


def _wait_message(wait: int) -> str:
    unit = f"{math.ceil(wait / 60)} minutes" if wait > 90 else f"{wait} seconds"
    return f"Too many failed sign-ins. Try again in {unit}."


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> AuthResult:
    """Check a local sign-in; updates the failure counter and audits the attempt in ``session`` (caller commits).

    Messages never say whether the username exists: a name with no account
    slows down and locks like a real one. Failures slow down, then lock the
    account (``data/access.yaml``); an attempt while locked is not checked at
    all. A success resets the counter and re-hashes the password if the hash
    parameters have changed.
    """
    now = _as_utc(now or utcnow())
    name = typed_name(username) or "(blank)"
    target = f"user:{name}"
    user = session.scalar(select(User).options(selectinload(User.teams)).where(User.username == name))
    if user is None:
        failures, locked_until = _unknown_name_state(session, name, now)
    else:
        failures, locked_until = user.failed_attempts or 0, user.locked_until
    if locked_until is not None and _as_utc(locked_until) > now:
        wait = math.ceil((_as_utc(locked_until) - now).total_seconds())
        audit.record(session, name, "auth.signin", "locked", target=target, detail=WHILE_LOCKED, at=now)
        return AuthResult("locked", _wait_message(wait), retry_after=wait)
    if failures >= sign_in_rules()["lock_after"]:
        failures = 0  # the full lock has run its course: a fresh set of attempts
    if user is None or not _verify(user.password_hash, password):
        if user is None:
            _verify(None, password)  # same work as a wrong password
        failures += 1
        wait = _delay_after(failures)
        if user is not None:
            user.failed_attempts = failures
            user.locked_until = now + timedelta(seconds=wait) if wait else None
        status: SignInStatus = "locked" if failures >= sign_in_rules()["lock_after"] else "failed"
        audit.record(session, name, "auth.signin", status, target=target, detail=f"{failures} failed in a row", at=now)
        return AuthResult(status, _wait_message(wait) if status == "locked" else FAILED_MESSAGE, retry_after=wait)
    if not user.is_active:
        audit.record(session, name, "auth.signin", "disabled", target=target, at=now)
        return AuthResult("disabled", DISABLED_MESSAGE)
    user.failed_attempts = 0
    user.locked_until = None
    if PASSWORD_HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, name, "auth.signin", "ok", target=target, at=now)
    return AuthResult("ok", f"Signed in as {user.display_name or name}.", principal_for_user(user))


def principal_for_oidc(session: Session, email: str | None) -> Principal | None:
    """The principal of the active account with this email (any case), or None: no access."""
    if not email or not email.strip() or "\x00" in email:
        return None
    user = session.scalar(
        select(User).options(selectinload(User.teams)).where(func.lower(User.email) == email.strip().lower())
    )
    if user is None or not user.is_active:
        return None
    return principal_for_user(user)
