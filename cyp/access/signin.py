"""Local sign-in: the password check, slow-down and lockout, the client address, and the principal of an
identity-provider account.

:func:`sign_in_with_password` is the one entry point for a password. It never holds a write transaction
while argon2 works: a short write checks the limits and counts the attempt as a failure in advance (so
parallel attempts cannot slip past the limits), the password is verified outside any transaction, and a
second short write records the result. The rules are in the ``sign_in`` section of ``data/access.yaml``.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from cyp.access import audit
from cyp.access.accounts import PASSWORD_HASHER, hash_password
from cyp.access.permissions import Principal, principal_for_user, sign_in_rules
from cyp.storage.db import write_session
from cyp.storage.models import SignInCounter, User, utcnow

FAILED_MESSAGE = "The username or password is not right. Check both and try again."


DISABLED_MESSAGE = "This account is disabled. Ask an administrator to enable it."


WHILE_LOCKED = "attempt while locked"


UNKNOWN_CLIENT = "unknown"


LOCALHOST = "localhost"


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


def rules() -> dict[str, int]:
    """The sign-in rules of ``data/access.yaml``, checked so that one address alone cannot lock an account."""
    found = sign_in_rules()
    if not found["client_lock_after"] < found["lock_after"]:
        raise ValueError("data/access.yaml: sign_in.client_lock_after must be below sign_in.lock_after")
    if not found["window_minutes"] <= found["client_lock_minutes"]:
        raise ValueError("data/access.yaml: sign_in.window_minutes must not exceed sign_in.client_lock_minutes")
    return found


def client_address(peer: str | None, forwarded_for: str | None = None, trusted_hops: int | None = None) -> str:
    """The address a sign-in is counted against: ``peer`` (the connection's), or with ``trusted_hops`` proxies
    in front of the app (``data/access.yaml``), the address in X-Forwarded-For that the outermost trusted
    proxy saw. Anything that is not an IP address counts as the peer.

    A peer of None or a loopback address is this machine (Streamlit reports a local connection as None): a
    proxy on the same host, so one hop of X-Forwarded-For is trusted from it even when none is configured.
    Without that header it is "localhost".
    """
    hops = rules()["trusted_proxy_hops"] if trusted_hops is None else trusted_hops
    local = peer is None or _is_loopback(peer)
    if local and hops == 0:
        hops = 1
    chain = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()] if hops > 0 else []
    # Each trusted proxy appended the address it saw: the client's is `hops` entries from the right.
    chosen = chain[-hops] if len(chain) >= hops > 0 else (chain[0] if chain else peer)
    for candidate in (chosen, peer):
        try:
            return str(ipaddress.ip_address((candidate or "").strip()))
        except ValueError:
            continue
    return LOCALHOST if local else UNKNOWN_CLIENT


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip()).is_loopback
    except ValueError:
        return False


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _delay_after(failures: int) -> int:
    """Seconds a name must wait after ``failures`` failed attempts in a row."""
    found = rules()
    if failures >= found["lock_after"]:
        return found["lock_minutes"] * 60
    return 2 ** (failures - found["slow_down_after"]) if failures > found["slow_down_after"] else 0


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


def _is_fresh(counter: Any, now: datetime, window: timedelta) -> Any:
    """SQL for "this counter starts afresh": quiet for the window, or its lock has run its course."""
    return or_(
        counter.last_failed_at <= now - window,
        and_(counter.locked_until.is_not(None), counter.locked_until <= now),
    )


def _wait(counter: SignInCounter | None, now: datetime, window: timedelta, lock_after: int, slow: bool) -> int:
    """Seconds before ``counter``'s key may try again (0: now)."""
    if counter is None:
        return 0
    last = _as_utc(counter.last_failed_at)
    locked_until = _as_utc(counter.locked_until) if counter.locked_until is not None else None
    if last <= now - window or (locked_until is not None and locked_until <= now):
        return 0
    if locked_until is not None:
        return math.ceil((locked_until - now).total_seconds())
    if slow and counter.failures < lock_after:
        ready = last + timedelta(seconds=_delay_after(counter.failures))
        return max(0, math.ceil((ready - now).total_seconds()))
    return 0


def _count_failure(
    session: Session, scope: str, key: str, now: datetime, *, limit: int, lock: timedelta, window: timedelta
) -> tuple[int, datetime | None]:
    """Add one failure to the counter of (``scope``, ``key``) in one atomic statement; its new count and lock.

    ``failures = failures + 1`` in the database, not in Python, so parallel attempts are all counted; the
    attempt that reaches ``limit`` sets the lock.
    """
    table = SignInCounter.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        scope=scope,
        key=key,
        failures=1,
        first_failed_at=now,
        last_failed_at=now,
        locked_until=now + lock if limit <= 1 else None,
    )
    fresh = _is_fresh(table.c, now, window)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.key],
        set_={
            "failures": case((fresh, 1), else_=table.c.failures + 1),
            "first_failed_at": case((fresh, now), else_=table.c.first_failed_at),
            "last_failed_at": now,
            "locked_until": case(
                (fresh, now + lock if limit <= 1 else None),
                (table.c.failures + 1 == limit, now + lock),
                else_=table.c.locked_until,
            ),
        },
    ).returning(table.c.failures, table.c.locked_until)
    failures, locked_until = session.execute(statement).one()
    return int(failures), locked_until


def _mirror_on_account(session: Session, name: str, failures: int, locked_until: datetime | None) -> None:
    """Copy the name's counter onto its account, if it has one, for ``python -m cyp user list``.

    Called right after the counter's update, while its row lock serialises the attempts on this name, so the
    copies are written in the order of the counts.
    """
    session.execute(
        update(User).where(User.username == name).values(failed_attempts=failures, locked_until=locked_until)
    )


def _forget_old_counters(session: Session, now: datetime) -> None:
    found = rules()
    longest = max(found["window_minutes"], found["lock_minutes"], found["client_lock_minutes"])
    session.execute(delete(SignInCounter).where(SignInCounter.last_failed_at < now - timedelta(minutes=2 * longest)))


@dataclass(frozen=True)
class _Reserved:
    """What the first short write learnt: the account's hash and id, or a refusal already decided."""

    refusal: AuthResult | None = None
    user_id: int | None = None
    password_hash: str | None = None


def _reserve(session: Session, name: str, client: str, now: datetime) -> _Reserved:
    """Refuse a name or client that must wait; otherwise count this attempt as a failure in advance."""
    found = rules()
    window = timedelta(minutes=found["window_minutes"])
    target, detail = f"user:{name}", f"{WHILE_LOCKED}; from {client}"
    client_counter = session.get(SignInCounter, ("client", client), populate_existing=True)
    name_counter = session.get(SignInCounter, ("name", name), populate_existing=True)
    wait = max(
        _wait(client_counter, now, window, found["client_lock_after"], slow=False),
        _wait(name_counter, now, window, found["lock_after"], slow=True),
    )
    if wait:
        audit.record(session, name, "auth.signin", "locked", target=target, detail=detail, at=now)
        return _Reserved(AuthResult("locked", _wait_message(wait), retry_after=wait))
    client_lock = timedelta(minutes=found["client_lock_minutes"])
    limit = found["client_lock_after"]
    if _count_failure(session, "client", client, now, limit=limit, lock=client_lock, window=window)[0] > limit:
        # A parallel attempt from this address reached the limit first: this one is not checked at all.
        audit.record(session, name, "auth.signin", "locked", target=target, detail=detail, at=now)
        wait = int(client_lock.total_seconds())
        return _Reserved(AuthResult("locked", _wait_message(wait), retry_after=wait))
    lock, limit = timedelta(minutes=found["lock_minutes"]), found["lock_after"]
    failures, locked_until = _count_failure(session, "name", name, now, limit=limit, lock=lock, window=window)
    _mirror_on_account(session, name, failures, locked_until)
    if failures > limit:
        audit.record(session, name, "auth.signin", "locked", target=target, detail=detail, at=now)
        wait = int(lock.total_seconds())
        return _Reserved(AuthResult("locked", _wait_message(wait), retry_after=wait))
    user = session.execute(select(User.id, User.password_hash).where(User.username == name)).one_or_none()
    return _Reserved(None, user.id if user else None, user.password_hash if user else None)


def _undo_client_failure(session: Session, client: str) -> None:
    """Take back the failure counted in advance for ``client`` (the password was right)."""
    limit = rules()["client_lock_after"]
    counter = SignInCounter.__table__.c
    session.execute(
        update(SignInCounter)
        .where(SignInCounter.scope == "client", SignInCounter.key == client, SignInCounter.failures > 0)
        .values(
            failures=counter.failures - 1,
            locked_until=case((counter.failures - 1 < limit, None), else_=counter.locked_until),
        )
    )
    session.execute(
        delete(SignInCounter).where(
            SignInCounter.scope == "client", SignInCounter.key == client, SignInCounter.failures <= 0
        )
    )


def _record_failure(session: Session, name: str, client: str, now: datetime) -> AuthResult:
    counter = session.get(SignInCounter, ("name", name), populate_existing=True)
    client_counter = session.get(SignInCounter, ("client", client), populate_existing=True)
    failures = counter.failures if counter is not None else 1
    found = rules()
    wait = _delay_after(failures)
    locked = failures >= found["lock_after"]
    if client_counter is not None and client_counter.failures >= found["client_lock_after"]:
        locked, wait = True, max(wait, found["client_lock_minutes"] * 60)
    status: SignInStatus = "locked" if locked else "failed"
    detail = f"{failures} failed in a row; from {client}"
    audit.record(session, name, "auth.signin", status, target=f"user:{name}", detail=detail, at=now)
    return AuthResult(status, _wait_message(wait) if locked else FAILED_MESSAGE, retry_after=wait)


def sign_in_with_password(
    engine: Engine, username: str, password: str, *, client: str, now: datetime | None = None
) -> AuthResult:
    """Check a local sign-in from ``client`` (see :func:`client_address`); counts and audits it in two short
    transactions of its own, with the password verified between them, outside any transaction.

    Messages never say whether the username exists: a name with no account
    slows down and locks like a real one. Failures slow down, then lock the
    name, and a client address with too many failures is refused for a while
    (``data/access.yaml``); an attempt that must wait is not checked at all.
    A success forgets the name's failures and re-hashes the password if the
    hash parameters have changed.
    """
    now = _as_utc(now or utcnow())
    name = typed_name(username) or "(blank)"
    client = (client or UNKNOWN_CLIENT)[:200]
    with write_session(engine) as session:
        reserved = _reserve(session, name, client, now)
    if reserved.refusal is not None:
        return reserved.refusal
    verified = _verify(reserved.password_hash, password)
    rehashed = (
        hash_password(password)
        if verified and reserved.password_hash and PASSWORD_HASHER.check_needs_rehash(reserved.password_hash)
        else None
    )
    with write_session(engine) as session:
        _forget_old_counters(session, now)
        if not verified:
            return _record_failure(session, name, client, now)
        _undo_client_failure(session, client)
        session.execute(delete(SignInCounter).where(SignInCounter.scope == "name", SignInCounter.key == name))
        user = session.scalar(select(User).options(selectinload(User.teams)).where(User.id == reserved.user_id))
        target = f"user:{name}"
        if user is None:  # removed between the two transactions
            audit.record(session, name, "auth.signin", "failed", target=target, detail=f"from {client}", at=now)
            return AuthResult("failed", FAILED_MESSAGE)
        user.failed_attempts, user.locked_until = 0, None
        if not user.is_active:
            audit.record(session, name, "auth.signin", "disabled", target=target, detail=f"from {client}", at=now)
            return AuthResult("disabled", DISABLED_MESSAGE)
        if rehashed is not None and user.password_hash == reserved.password_hash:
            user.password_hash = rehashed
        audit.record(session, name, "auth.signin", "ok", target=target, detail=f"from {client}", at=now)
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
