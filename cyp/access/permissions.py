"""Who may do what: principals, the permission check every write calls, and refusals that are always audited.

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

The command line's account commands run as the system: whoever can run
``python -m cyp`` on the server can already read and replace the database
file, so asking them to sign in would add no protection. Acting as the system
is always explicit and named (:func:`system_acting_for`, e.g. ``ingest
--as-system``); ``ingest --user NAME`` acts as that account with its
permissions. The app never builds a system principal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from sqlalchemy import Engine, event, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from cyp.access import audit
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import SCHEMA_DIR, load_data_file
from cyp.storage.db import with_write_retries, write_session
from cyp.storage.models import AuditEvent, User

logger = logging.getLogger(__name__)


ACCESS_FILE = PROJECT_ROOT / "data" / "access.yaml"
# The roles of data/access.yaml (its schema, data/schemas/access.schema.json, allows exactly these).
Role = Literal["administrator", "lead", "viewer", "display", "approver"]
ROLES: tuple[Role, ...] = get_args(Role)


_PENDING = "cyp.auth.pending_refusals"


_COMMITTED = "cyp.auth.committed"


class PermissionDenied(Exception):
    """A principal tried something its role or teams do not allow; the message can be shown to them."""

    def __init__(self, message: str, *, permission: str, username: str, target: str | None = None) -> None:
        super().__init__(message)
        self.permission = permission
        self.username = username
        self.target = target


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user (role and team refs from the user table) or the system."""

    username: str
    role: Role
    teams: frozenset[str] = frozenset()
    is_system: bool = False

    def can_submit_for(self, team_ref: str) -> bool:
        """Whether this principal may submit a return for the team ``team_ref``."""
        return _refusal_reason(self, "return.submit", team_ref) is None


SYSTEM = Principal("system", "administrator", frozenset(), True)


def system_acting_for(on_behalf_of: str) -> Principal:
    """The system principal, named in the audit trail for whom it acts, e.g. "system (command line, login root)"."""
    return Principal(f"system ({on_behalf_of})", "administrator", frozenset(), True)


def load_access_rules(path: Path | None = None) -> dict[str, Any]:
    """The permissions, page access and sign-in limits of ``data/access.yaml`` (checked against its schema)."""
    return load_data_file(path or ACCESS_FILE, SCHEMA_DIR / "access.schema.json")


def sign_in_rules() -> dict[str, int]:
    """The sign-in limits of ``data/access.yaml`` (slow-down, lockout, password length)."""
    return load_access_rules()["sign_in"]


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


def viewable_pages(principal: Principal, page_keys: Iterable[str]) -> frozenset[str]:
    """Which of ``page_keys`` (file names in app_pages/ without .py) are shown to ``principal``: one read of the
    rules for a whole menu."""
    if principal.is_system:
        return frozenset(page_keys)
    pages = load_access_rules()["pages"]
    return frozenset(key for key in page_keys if principal.role in pages.get(key, pages["default"]))


def can_view_page(principal: Principal, page_key: str) -> bool:
    """Whether the page ``page_key`` (its file name in app_pages/ without .py) is shown to ``principal``."""
    return page_key in viewable_pages(principal, (page_key,))


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

    # The caller's transaction has ended and released its connection: this one does not wait on it. (cyp binds every
    # session to an engine; were one bound to a connection, the refusal would still go through a connection of its own.)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine

    def write() -> None:
        with write_session(engine) as own:
            for item in lost:
                audit.record(own, item.actor, item.action, item.outcome, item.target, item.detail, at=item.at)

    try:
        with_write_retries(write)
    except SQLAlchemyError:
        # Raising here would hide the PermissionDenied on its way to the user; the log keeps the refusal.
        for item in lost:
            logger.exception("could not store refusal: %s %s %s: %s", item.actor, item.action, item.target, item.detail)


def principal_for_user(user: User) -> Principal:
    """The principal of an account: its username, role and team refs."""
    # The column is a plain string; cyp.access.accounts stores only ROLES in it, and a role that is not one (edited
    # by hand) is refused every permission by _refusal_reason, as before: it is not an error to sign in with.
    return Principal(user.username, cast(Role, user.role), frozenset(team.ref for team in user.teams))
