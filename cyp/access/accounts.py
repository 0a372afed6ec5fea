"""Accounts: create, change, disable; password rules and hashing; the demo accounts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, selectinload

from cyp.access import audit
from cyp.access.permissions import ROLES, SYSTEM, Principal, principal_for_user, require, sign_in_rules
from cyp.framework.teams import find_team, suggest_team
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.models import Action, Partner, SignInCounter, User

FIRST_ADMIN_COMMAND = "python -m cyp user add --role administrator YOUR-NAME"


DEMO_USERNAMES = {
    "administrator": "demo-admin",
    "lead": "demo-lead",
    "viewer": "demo-viewer",
    "display": "demo-display",
}


USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")


PASSWORD_HASHER = PasswordHasher()


COMMON_PASSWORDS_FILE = PROJECT_ROOT / "data" / "common-passwords.txt"


# Stripped from both ends before the common-password check: "Password2026!" is "password" with extras.
_PADDING = re.compile(r"^[\W\d_]+|[\W\d_]+$")


class AccountError(ValueError):
    """An account change that cannot be made as asked (unknown user or team, weak password, ...)."""


@cache
def common_passwords(path: Path = COMMON_PASSWORDS_FILE) -> frozenset[str]:
    """The refused common passwords of ``data/common-passwords.txt``, in lower case."""
    lines = (line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password(password: str, username: str | None = None) -> None:
    """Raise AccountError, saying why, if ``password`` is too weak to set.

    Refused: shorter than the minimum (``data/access.yaml``), only spaces, one character repeated, containing
    the username, or a common password (``data/common-passwords.txt``), also with digits or symbols around it.
    """
    minimum = sign_in_rules()["min_password_length"]
    if len(password) < minimum:
        raise AccountError(f"A password needs at least {minimum} characters; this one has {len(password)}.")
    if not password.strip():
        raise AccountError("A password cannot be only spaces.")
    folded = password.strip().lower()
    if len(set(folded)) == 1:
        raise AccountError("A password cannot be one character repeated; use a few words you will remember.")
    if username and username.strip() and username.strip().lower() in folded:
        raise AccountError("A password cannot contain the username.")
    common = common_passwords()
    core = _PADDING.sub("", folded)
    if folded in common or (len(core) >= 4 and core in common):
        raise AccountError(
            "That password is one of the most common ones, which are tried first; use a few words you will remember."
        )


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; the password cannot be read back from it)."""
    return PASSWORD_HASHER.hash(password)


def list_users(session: Session) -> list[User]:
    """Every account, by username, with its teams loaded."""
    return list(session.scalars(select(User).options(selectinload(User.teams)).order_by(User.username)))


def has_active_administrator(session: Session, *, count_demo: bool = True) -> bool:
    """Whether at least one enabled administrator account exists (a demo one only with ``count_demo``)."""
    query = select(User.id).where(User.role == "administrator", User.is_active.is_(True))
    if not count_demo:
        query = query.where(User.is_demo.is_(False))
    return session.scalar(query.limit(1)) is not None


def first_admin_instruction(session: Session) -> str | None:
    """What to do while no real administrator exists (for the sign-in page), or None once one does.

    There is no default password: the first administrator is created on the
    server with the command line, which asks for a password of their own. A
    demo administrator does not count: it goes with the demo data.
    """
    if has_active_administrator(session, count_demo=False):
        return None
    if has_active_administrator(session):
        return (
            "Only the demo administrator exists, and it goes with the demo data. Someone with access to the server "
            f"creates a real administrator with `{FIRST_ADMIN_COMMAND}` (it asks for a password)."
        )
    return (
        "No administrator account exists yet. Someone with access to the server creates the first one with "
        f"`{FIRST_ADMIN_COMMAND}` (it asks for a password), then signs in here."
    )


# Built once: every upload asks it.
_IS_DEMO = select(User.is_demo).where(User.username == bindparam("name"))


def is_demo_account(session: Session, username: str) -> bool:
    """Whether ``username`` is a demo account: what it creates is demo data, removed with the demo data."""
    # On the session's connection, not through the ORM's execute path, which costs an upload several times the
    # query; flushed first, as session.scalar's autoflush would, so an account added in this session is seen.
    if session.autoflush:
        session.flush()
    return bool(session.connection().scalar(_IS_DEMO, {"name": username.strip().lower()}))


def lift_sign_in_lock(session: Session, username: str) -> None:
    """Forget the failed sign-ins of ``username`` (its lock and slow-down); the caller audits why."""
    name = username.strip().lower()
    session.execute(delete(SignInCounter).where(SignInCounter.scope == "name", SignInCounter.key == name))
    user = session.scalar(select(User).where(User.username == name))
    if user is not None:
        user.failed_attempts = 0
        user.locked_until = None


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


def principal_for_account(session: Session, username: str) -> Principal:
    """The principal of the enabled account ``username``, to act as it (``ingest --user``); AccountError otherwise."""
    user = _get_user(session, username)
    if not user.is_active:
        raise AccountError(f"The account {user.username!r} is disabled; an administrator can enable it.")
    return principal_for_user(user)


def _teams(session: Session, names: Iterable[str]) -> list[Partner]:
    """The teams named (by name, ref or a recorded variant), or AccountError naming every unknown one."""
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
    """Add an account (``teams`` are partner names or refs); without a password it can sign in only through OIDC.

    An account made by a demo account is demo data too (it goes with ``python -m cyp demo --clear``).
    """
    require(session, actor, "user.manage", target=f"user:{username.strip().lower()}")
    is_demo = is_demo or (not actor.is_system and is_demo_account(session, actor.username))
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
    lift_sign_in_lock(session, user.username)
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
    lift_sign_in_lock(session, user.username)
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
        lift_sign_in_lock(session, user.username)
        session.delete(user)
        audit.record(session, actor.username, "user.remove", "ok", target=f"user:{user.username}", detail="demo")
        removed += 1
    return removed
