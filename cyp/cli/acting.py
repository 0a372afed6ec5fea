"""Who a command acts as: the account ``--user`` names, or the system acting for the login running the command."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

import click

from cyp.access.accounts import AccountError, principal_for_account
from cyp.access.permissions import SYSTEM, PermissionDenied, Principal, system_acting_for
from cyp.access.sessions import SessionError
from cyp.storage.db import get_engine, read_session, write_session

USER_OPTION = click.option(
    "--user", default=None, help="Account to act as, with its permissions (it must exist and be enabled)."
)
AS_SYSTEM_OPTION = click.option(
    "--as-system", is_flag=True, help="Act as the system (no permission check); named in the audit trail."
)


def os_user() -> str:
    """The login running the command, or "unknown" when the system cannot say."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def command_line_system() -> Principal:
    """The system, acting for whoever runs this command: named so in the audit trail."""
    return system_acting_for(f"command line, login {os_user()}")


def acting_principal(user: str | None, as_system: bool) -> Principal:
    """Who a command acts as: the account ``--user`` names, with its permissions, or the system (``--as-system``)."""
    if (user is None) == (not as_system):
        raise click.UsageError("give --user NAME (act as that account) or --as-system, but not both")
    if as_system:
        return command_line_system()
    assert user is not None
    try:
        with read_session(get_engine()) as session:
            return principal_for_account(session, user)
    except AccountError as exc:
        raise click.ClickException(f"{exc} Give an existing account with --user, or use --as-system.") from exc


def run_as_system(change: Callable[..., Any], *args: Any) -> Any:
    """Run one session or display-link change as the system in its own transaction; errors become clean messages."""
    try:
        with write_session(get_engine()) as session:
            return change(session, SYSTEM, *args)
    except (AccountError, PermissionDenied, SessionError) as exc:
        raise click.ClickException(str(exc)) from exc
