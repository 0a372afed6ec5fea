"""Accounts, roles and the permission check every write calls.

Who may do what is data: ``data/access.yaml``. Every function in ``cyp`` that
writes calls :func:`require` first, so the pages, the command line and any
future API are covered alike; hiding a page is presentation, not security.

:func:`require` judges the principal as the database knows it *now* (role,
teams, whether the account is still active), not as it was at sign-in, so
disabling an account or removing a team takes effect at the next write.

Refusals survive the caller's rollback: the refusal event is added to the
caller's session (so a caller that goes on and commits stores it once), and a
listener on that session writes it again in its own short transaction if the
caller's transaction ends without committing it. The second transaction
starts only after the first has released its connection, so it does not wait
on SQLite's write lock held by the caller.

The command line runs as :data:`SYSTEM`: whoever can run ``python -m cyp`` on
the server can already read and replace the database file, so asking them to
sign in would add no protection. The app never builds a system principal.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from cyp import audit
from cyp.config import PROJECT_ROOT
from cyp.db import write_session
from cyp.models import ROLES, Action, AuditEvent, Partner, User, utcnow

logger = logging.getLogger(__name__)
ACCESS_FILE = PROJECT_ROOT / "data" / "access.yaml"
FAILED_MESSAGE = "The username or password is not right. Check both and try again."
DISABLED_MESSAGE = "This account is disabled. Ask an administrator to enable it."
FIRST_ADMIN_COMMAND = "python -m cyp user add --role administrator YOUR-NAME"
DEMO_USERNAMES = {
    "administrator": "demo-admin",
    "lead": "demo-lead",
    "viewer": "demo-viewer",
    "display": "demo-display",
}
WHILE_LOCKED = "attempt while locked"
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")

_PENDING = "cyp.auth.pending_refusals"
_COMMITTED = "cyp.auth.committed"
_HASHER = PasswordHasher()
# Verified against when the username is unknown, so an unknown name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class PermissionDenied(Exception):
    """A principal tried something its role or teams do not allow; the message can be shown to them."""

    def __init__(self, message: str, *, permission: str, username: str, target: str | None = None) -> None:
        super().__init__(message)
        self.permission = permission
        self.username = username
        self.target = target


class AccountError(ValueError):
    """An account change that cannot be made as asked (unknown user or team, weak password, ...)."""


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user (role and team refs from the user table) or the system."""

    username: str
    role: str
    teams: frozenset[str] = frozenset()
    is_system: bool = False

    def is_admin(self) -> bool:
        """Whether this principal is an administrator."""
        return self.role == "administrator"

    def can_view(self) -> bool:
        """Whether this principal may read anything at all (any known role)."""
        return _refusal_reason(self, "view", None) is None

    def can_submit_for(self, team_ref: str) -> bool:
        """Whether this principal may submit a return for the team ``team_ref``."""
        return _refusal_reason(self, "return.submit", team_ref) is None


SYSTEM = Principal("system", "administrator", frozenset(), True)


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a local sign-in: ``status`` is "ok", "failed", "locked" or "disabled"."""

    status: str
    message: str
    principal: Principal | None = None
    # Seconds before another attempt is worth making (the UI may wait this long, briefly).
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        """Whether the user is signed in."""
        return self.status == "ok"


@cache
def load_access_rules(path: Path = ACCESS_FILE) -> dict[str, Any]:
    """The permissions, page access and sign-in limits of ``data/access.yaml``."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _sign_in_rules() -> dict[str, int]:
    return load_access_rules()["sign_in"]


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored by cyp is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _refusal_reason(principal: Principal, permission: str, team_ref: str | None) -> str | None:
    """Why ``principal`` may not do ``permission`` (for ``team_ref``), or None when it may."""
    rules = load_access_rules()["permissions"]
    if permission not in rules:
        raise ValueError(f"unknown permission {permission!r}; the permissions are listed in {ACCESS_FILE.name}")
    if principal.is_system:
        return None
    rule = rules[permission]
    if principal.role in rule.get("roles", []):
        return None
    if principal.role in rule.get("team_roles", []):
        if team_ref is None:
            return f"a {principal.role} may do this only for a named team"
        if team_ref in principal.teams:
            return None
        return f"{principal.username} is not a member of team {team_ref}"
    return f"the {principal.role} role does not allow it"


def can_view_page(principal: Principal, page_key: str) -> bool:
    """Whether the page ``page_key`` (its file name in pages/ without .py) is shown to ``principal``."""
    if principal.is_system:
        return True
    pages = load_access_rules()["pages"]
    return principal.role in pages.get(page_key, pages["default"])


def _current_principal(session: Session, principal: Principal) -> tuple[Principal | None, str | None]:
    # No autoflush: the caller's pending writes must not be flushed (or fail) before they are allowed.
    with session.no_autoflush:
        user = session.scalar(select(User).options(selectinload(User.teams)).where(User.username == principal.username))
    if user is None:
        return None, f"there is no account named {principal.username}"
    if not user.is_active:
        return None, f"the account {principal.username} is disabled"
    return principal_for_user(user), None


def require(
    session: Session,
    principal: Principal,
    permission: str,
    *,
    team_ref: str | None = None,
    target: str | None = None,
) -> None:
    """Return if ``principal`` may do ``permission``; otherwise audit the refusal and raise PermissionDenied.

    Call it before the write, inside the write's session. The refusal event is
    kept even when the caller's transaction then rolls back (see the module
    docstring). ``target`` names the record in the audit trail (default: the team).
    """
    if principal.is_system:
        _refusal_reason(principal, permission, team_ref)  # still rejects an unknown permission
        return
    current, reason = _current_principal(session, principal)
    if current is not None:
        reason = _refusal_reason(current, permission, team_ref)
    if reason is None:
        return
    what = load_access_rules()["permissions"][permission].get("label", permission)
    message = f"You may not {what}{f' for team {team_ref}' if team_ref else ''}: {reason}."
    target = target or (f"team:{team_ref}" if team_ref else None)
    record_refusal(session, principal.username, permission, target, message)
    raise PermissionDenied(message, permission=permission, username=principal.username, target=target)


def record_refusal(session: Session, actor: str, action: str, target: str | None, detail: str) -> AuditEvent:
    """Audit a refusal in ``session``, and again in a transaction of its own if ``session`` does not commit it."""
    refusal = audit.record(session, actor, action, "refused", target=target, detail=detail)
    if _PENDING not in session.info:
        session.info[_PENDING] = []
        event.listen(session, "after_commit", _note_commit)
        event.listen(session, "after_transaction_end", _keep_lost_refusals)
    session.info[_PENDING].append(refusal)
    return refusal


def _note_commit(session: Session) -> None:
    session.info[_COMMITTED] = True


def _keep_lost_refusals(session: Session, transaction: Any) -> None:
    if transaction.parent is not None:
        return
    pending: list[AuditEvent] = session.info.get(_PENDING, [])
    committed = session.info.pop(_COMMITTED, False)
    # A refusal added inside a savepoint that was rolled back is transient even after the outer commit.
    lost = [item for item in pending if not (committed and inspect(item).persistent)]
    pending.clear()
    if not lost:
        return
    # The caller's transaction has ended and released its connection: this one does not wait on it.
    try:
        with write_session(session.get_bind()) as own:
            for item in lost:
                audit.record(own, item.actor, item.action, item.outcome, item.target, item.detail, at=item.at)
    except SQLAlchemyError:
        # Raising here would hide the PermissionDenied on its way to the user; the log keeps the refusal.
        for item in lost:
            logger.exception("could not store refusal: %s %s %s: %s", item.actor, item.action, item.target, item.detail)


def check_password(password: str, username: str | None = None) -> None:
    """Raise AccountError, saying why, if ``password`` is too weak to set."""
    minimum = _sign_in_rules()["min_password_length"]
    if len(password) < minimum:
        raise AccountError(f"A password needs at least {minimum} characters; this one has {len(password)}.")
    if not password.strip():
        raise AccountError("A password cannot be only spaces.")
    if username and password.strip().lower() == username.lower():
        raise AccountError("A password cannot be the same as the username.")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; the password cannot be read back from it)."""
    return _HASHER.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _delay_after(failures: int) -> int:
    """Seconds an account stays locked after ``failures`` failed attempts in a row."""
    rules = _sign_in_rules()
    if failures >= rules["lock_after"]:
        return rules["lock_minutes"] * 60
    return 2 ** (failures - rules["slow_down_after"]) if failures > rules["slow_down_after"] else 0


def _unknown_name_state(session: Session, name: str, now: datetime) -> tuple[int, datetime | None]:
    """Failures in a row and lock end for a name with no account, read from the trail (so it locks like one)."""
    window_start = now - timedelta(minutes=_sign_in_rules()["lock_minutes"])
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
    name = username.strip().lower() or "(blank)"
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
    if failures >= _sign_in_rules()["lock_after"]:
        failures = 0  # the full lock has run its course: a fresh set of attempts
    if user is None or not _verify(user.password_hash, password):
        if user is None:
            _verify(None, password)  # same work as a wrong password
        failures += 1
        wait = _delay_after(failures)
        if user is not None:
            user.failed_attempts = failures
            user.locked_until = now + timedelta(seconds=wait) if wait else None
        status = "locked" if failures >= _sign_in_rules()["lock_after"] else "failed"
        audit.record(session, name, "auth.signin", status, target=target, detail=f"{failures} failed in a row", at=now)
        return AuthResult(status, _wait_message(wait) if status == "locked" else FAILED_MESSAGE, retry_after=wait)
    if not user.is_active:
        audit.record(session, name, "auth.signin", "disabled", target=target, at=now)
        return AuthResult("disabled", DISABLED_MESSAGE)
    user.failed_attempts = 0
    user.locked_until = None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, name, "auth.signin", "ok", target=target, at=now)
    return AuthResult("ok", f"Signed in as {user.display_name or name}.", principal_for_user(user))


def principal_for_user(user: User) -> Principal:
    """The principal of an account: its username, role and team refs."""
    return Principal(user.username, user.role, frozenset(team.ref for team in user.teams))


def principal_for_oidc(session: Session, email: str | None) -> Principal | None:
    """The principal of the active account with this email (any case), or None: no access."""
    if not email or not email.strip():
        return None
    user = session.scalar(
        select(User).options(selectinload(User.teams)).where(func.lower(User.email) == email.strip().lower())
    )
    if user is None or not user.is_active:
        return None
    return principal_for_user(user)


def list_users(session: Session) -> list[User]:
    """Every account, by username, with its teams loaded."""
    return list(session.scalars(select(User).options(selectinload(User.teams)).order_by(User.username)))


def has_active_administrator(session: Session) -> bool:
    """Whether at least one enabled administrator account exists."""
    query = select(User.id).where(User.role == "administrator", User.is_active.is_(True)).limit(1)
    return session.scalar(query) is not None


def first_admin_instruction(session: Session) -> str | None:
    """What to do on a fresh install with no administrator (for the sign-in page), or None once one exists.

    There is no default password: the first administrator is created on the
    server with the command line, which asks for a password of their own.
    """
    if has_active_administrator(session):
        return None
    return (
        "No administrator account exists yet. Someone with access to the server creates the first one with "
        f"`{FIRST_ADMIN_COMMAND}` (it asks for a password), then signs in here."
    )


def _clean_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            f"{username!r} is not a valid username: use 2 to 100 letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit."
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; the roles are {', '.join(ROLES)}.")
    return role


def _get_user(session: Session, username: str) -> User:
    name = username.strip().lower()
    user = session.scalar(select(User).options(selectinload(User.teams)).where(User.username == name))
    if user is None:
        raise AccountError(f"There is no account named {name!r}.")
    return user


def _teams(session: Session, names: Iterable[str]) -> list[Partner]:
    """The teams named (by name, ref or a recorded variant), or AccountError naming every unknown one."""
    from cyp.returns.lines import find_team, suggest_team  # here, so cyp.returns may import cyp.auth

    found: dict[int, Partner] = {}
    unknown = []
    for name in (name.strip() for name in names):
        partner = find_team(session, name) if name else None
        if partner is not None:
            found[partner.id] = partner
        elif name:
            suggestion = suggest_team(session, name)
            unknown.append(f"{name!r}" + (f" (did you mean {suggestion}?)" if suggestion else ""))
    if unknown:
        raise AccountError(
            f"Unknown team {', '.join(unknown)}. Give a team by its name or ref; the Partners sheet of "
            "`python -m cyp framework export` lists them."
        )
    return list(found.values())


def _describe_teams(user: User) -> str:
    return ", ".join(sorted(team.ref for team in user.teams)) or "none"


def _keep_an_administrator(session: Session, user: User) -> None:
    if user.role != "administrator" or not user.is_active:
        return
    others = select(User.id).where(User.role == "administrator", User.is_active.is_(True), User.id != user.id)
    if session.scalar(others.limit(1)) is None:
        raise AccountError(
            f"{user.username} is the only active administrator; make another administrator first, "
            "so that someone can still manage the app."
        )


def create_user(
    session: Session,
    actor: Principal,
    username: str,
    role: str,
    *,
    password: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
    teams: Iterable[str] = (),
    is_demo: bool = False,
) -> User:
    """Add an account (``teams`` are partner names or refs); without a password it can sign in only through OIDC."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    name = _clean_username(username)
    _check_role(role)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise AccountError(f"An account named {name!r} already exists.")
    clean_email = email.strip().lower() if email and email.strip() else None
    if clean_email:
        if "@" not in clean_email:
            raise AccountError(f"{email!r} is not an email address.")
        if session.scalar(select(User.id).where(func.lower(User.email) == clean_email)) is not None:
            raise AccountError(f"Another account already has the email {clean_email}.")
    if password is not None:
        check_password(password, name)
    user = User(
        username=name,
        email=clean_email,
        display_name=display_name.strip() if display_name and display_name.strip() else None,
        password_hash=hash_password(password) if password is not None else None,
        role=role,
        is_active=True,
        failed_attempts=0,
        is_demo=is_demo,
        teams=_teams(session, teams),
    )
    session.add(user)
    detail = f"role {role}; teams {_describe_teams(user)}" + ("; demo account" if is_demo else "")
    audit.record(session, actor.username, "user.add", "ok", target=f"user:{name}", detail=detail)
    return user


def set_password(session: Session, actor: Principal, username: str, password: str) -> User:
    """Set a new password (and lift any sign-in lock)."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    user = _get_user(session, username)
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    user.failed_attempts = 0
    user.locked_until = None
    audit.record(session, actor.username, "user.set_password", "ok", target=f"user:{user.username}")
    return user


def disable_user(session: Session, actor: Principal, username: str) -> User:
    """Stop an account signing in or writing (its history stays); the last administrator cannot be disabled."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    user = _get_user(session, username)
    _keep_an_administrator(session, user)
    user.is_active = False
    audit.record(session, actor.username, "user.disable", "ok", target=f"user:{user.username}")
    return user


def enable_user(session: Session, actor: Principal, username: str) -> User:
    """Let a disabled account sign in again (and lift any sign-in lock)."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    user = _get_user(session, username)
    user.is_active = True
    user.failed_attempts = 0
    user.locked_until = None
    audit.record(session, actor.username, "user.enable", "ok", target=f"user:{user.username}")
    return user


def set_teams(session: Session, actor: Principal, username: str, teams: Iterable[str]) -> User:
    """Replace the teams (partner names or refs) an account belongs to; an empty list removes all."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    user = _get_user(session, username)
    before = _describe_teams(user)
    user.teams = _teams(session, teams)
    detail = f"teams {before} -> {_describe_teams(user)}"
    audit.record(session, actor.username, "user.set_teams", "ok", target=f"user:{user.username}", detail=detail)
    return user


def set_role(session: Session, actor: Principal, username: str, role: str) -> User:
    """Change an account's role; the last active administrator keeps theirs."""
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    user = _get_user(session, username)
    _check_role(role)
    if role != user.role:
        _keep_an_administrator(session, user)
    detail = f"role {user.role} -> {role}"
    user.role = role
    audit.record(session, actor.username, "user.set_role", "ok", target=f"user:{user.username}", detail=detail)
    return user


def _demo_lead_teams(session: Session) -> list[str]:
    reporting = select(Partner.ref).join(Action, Action.reporting_partner_id == Partner.id).distinct()
    refs = sorted(session.scalars(reporting))[:2]
    return refs or list(session.scalars(select(Partner.ref).order_by(Partner.ref).limit(2)))


def create_demo_accounts(session: Session, actor: Principal = SYSTEM) -> list[tuple[str, str, str]]:
    """One demo account per role with a fresh random password; returns (username, password, role) to show.

    Any earlier demo accounts are replaced. The lead belongs to two teams that
    report lines. Only the hashes are stored: show the passwords now or never.
    """
    require(session, actor, "demo.manage", target="demo accounts")
    remove_demo_accounts(session, actor)
    session.flush()
    teams = _demo_lead_teams(session)
    accounts = []
    for role, username in DEMO_USERNAMES.items():
        password = secrets.token_urlsafe(12)
        create_user(
            session,
            actor,
            username,
            role,
            password=password,
            display_name=f"Demo {role}",
            teams=teams if role == "lead" else (),
            is_demo=True,
        )
        accounts.append((username, password, role))
    return accounts


def remove_demo_accounts(session: Session, actor: Principal = SYSTEM) -> int:
    """Delete every demo account (their audit events stay); returns how many were removed."""
    require(session, actor, "demo.manage", target="demo accounts")
    removed = 0
    for user in session.scalars(select(User).where(User.is_demo.is_(True))):
        session.delete(user)
        audit.record(session, actor.username, "user.remove", "ok", target=f"user:{user.username}", detail="demo")
        removed += 1
    return removed
