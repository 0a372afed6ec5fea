"""Accounts: add, list, change, their signed-in sessions and reminder emails."""

from __future__ import annotations

import sys

import click
from tabulate import tabulate

from cyp.access.accounts import (
    AccountError,
    create_user,
    disable_user,
    enable_user,
    list_users,
    set_password,
    set_role,
    set_teams,
)
from cyp.access.permissions import ROLES, PermissionDenied
from cyp.access.sessions import end_sessions, list_sessions
from cyp.cli.acting import command_line_system, run_as_system
from cyp.cli.output import minute, table
from cyp.cycle.recipients import NoSuchUser, set_opt_out
from cyp.storage.db import get_engine, read_session, write_session
from cyp.storage.models import utcnow


@click.group()
def user() -> None:
    """Manage accounts: roles, teams, passwords. Runs as the system (shell access is already full access)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _change_user(change, *args):
    """Run one account change as the system in its own transaction; account errors become clean messages."""
    try:
        with write_session(get_engine()) as session:
            changed = change(session, command_line_system(), *args)
            return changed.username, changed.role, sorted(team.ref for team in changed.teams)
    except (AccountError, PermissionDenied) as exc:
        raise click.ClickException(str(exc)) from exc


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--team", "teams", multiple=True, help="Team (partner name or ref) the user submits for; repeatable.")
@click.option("--email", default=None, help="Email address; OIDC sign-in matches users by it.")
@click.option("--display-name", default=None, help="Name shown in the app.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--no-password", is_flag=True, help="No local password: the user signs in only through OIDC.")
def user_add(
    username: str,
    role: str,
    teams: tuple[str, ...],
    email: str | None,
    display_name: str | None,
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Add an account; asks for its password twice (never give a password on the command line).

    \b
    Example:
      python -m cyp user add --role administrator j.smith
      python -m cyp user add --role lead --team family-services --email a.lee@barnet.gov.uk a.lee
    """
    password = None if no_password else _read_password(password_stdin)
    name, role, refs = _change_user(
        lambda session, actor: create_user(
            session, actor, username, role, password=password, email=email, display_name=display_name, teams=teams
        )
    )
    click.echo(f"Added {name} ({role}; teams {', '.join(refs) or 'none'}).")


@user.command("list")
def user_list() -> None:
    """List every account with its role, teams, email and state.

    \b
    Example:
      python -m cyp user list
    """
    now = utcnow()
    with read_session(get_engine()) as session:
        rows: list[tuple[str, ...]] = [
            (
                account.username,
                account.role,
                "disabled"
                if not account.is_active
                else "locked"
                if account.locked_until and account.locked_until.replace(tzinfo=now.tzinfo) > now
                else "active",
                ",".join(sorted(team.ref for team in account.teams)) or "-",
                account.email or "-",
                "demo" if account.is_demo else "",
            )
            for account in list_users(session)
        ]
    headers = ["username", "role", "state", "teams", "email", ""]
    if not any(row[-1] for row in rows):  # the demo marker's column only while demo accounts exist
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    click.echo(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Stop an account signing in or changing anything; its history stays.

    \b
    Example:
      python -m cyp user disable a.lee
    """
    click.echo(f"Disabled {_change_user(disable_user, username)[0]}.")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Let a disabled account sign in again (also lifts a sign-in lock).

    \b
    Example:
      python -m cyp user enable a.lee
    """
    click.echo(f"Enabled {_change_user(enable_user, username)[0]}.")


@user.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_set_password(username: str, password_stdin: bool) -> None:
    """Set a new password for an account (asks twice; also lifts a sign-in lock).

    \b
    Example:
      python -m cyp user set-password a.lee
    """
    password = _read_password(password_stdin)
    click.echo(f"Password set for {_change_user(set_password, username, password)[0]}.")


@user.command("set-teams")
@click.argument("username")
@click.argument("teams", nargs=-1)
@click.option("--none", "no_teams", is_flag=True, help="Remove the account from every team.")
def user_set_teams(username: str, teams: tuple[str, ...], no_teams: bool) -> None:
    """Replace the teams (partner names or refs) an account submits returns for.

    \b
    Example:
      python -m cyp user set-teams a.lee family-services "Public Health"
    """
    if not teams and not no_teams:
        raise click.UsageError("give one or more team refs, or --none to remove every team")
    name, _, refs = _change_user(set_teams, username, () if no_teams else teams)
    click.echo(f"{name} now belongs to {', '.join(refs) or 'no team'}.")


@user.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def user_set_role(username: str, role: str) -> None:
    """Change an account's role (the last administrator keeps theirs).

    \b
    Example:
      python -m cyp user set-role a.lee viewer
    """
    name, role, _ = _change_user(set_role, username, role)
    click.echo(f"{name} is now {'an' if role[0] in 'aeiou' else 'a'} {role}.")


@user.command("sessions")
@click.argument("username")
def user_sessions(username: str) -> None:
    """List an account's live signed-in sessions (times in UTC; never the cookie itself).

    \b
    Example:
      python -m cyp user sessions a.lee
    """
    found = run_as_system(list_sessions, username)
    if not found:
        click.echo(f"{username.strip().lower()} has no live sessions.")
        return
    rows = [
        (
            str(item.id),
            minute(item.created_at),
            minute(item.last_seen_at),
            minute(item.expires_at),
            item.method,
            item.client_address or "-",
            item.user_agent[:40] or "-",
        )
        for item in found
    ]
    table(("session", "signed in", "last seen", "ends by", "how", "from", "browser"), rows)


@user.command("end-sessions")
@click.argument("username")
@click.option("--session", "session_id", type=int, default=None, help="End only this session (from `user sessions`).")
def user_end_sessions(username: str, session_id: int | None) -> None:
    """Sign an account out everywhere (or end one session): its browsers show the sign-in form at their next click.

    \b
    Example:
      python -m cyp user end-sessions a.lee
    """
    ended = run_as_system(lambda session, actor: end_sessions(session, actor, username, session_id=session_id))
    click.echo(f"Ended {ended} session{'' if ended == 1 else 's'} of {username.strip().lower()}.")


@user.command("opt-out")
@click.argument("username")
@click.option("--undo", is_flag=True, help="Start sending them reminder emails again.")
def user_opt_out(username: str, undo: bool) -> None:
    """Stop (or with --undo restart) reminder and digest emails to one person.

    \b
    Example:
      python -m cyp user opt-out a.lee
    """
    try:
        with write_session(get_engine()) as session:
            changed = set_opt_out(session, command_line_system(), username, not undo)
    except NoSuchUser as exc:
        raise click.ClickException(str(exc)) from exc
    state = "receives reminder emails" if undo else "receives no reminder emails"
    click.echo(f"{username.strip().lower()} {'now ' if changed else 'already '}{state}.")
