"""The command line: thin click commands over the same ``cyp`` functions the pages call.

Every command opens the database, calls one library function and prints its
result; none holds logic of its own.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy import select
from tabulate import tabulate

from cyp.access.accounts import (
    AccountError,
    create_user,
    disable_user,
    enable_user,
    list_users,
    principal_for_account,
    set_password,
    set_role,
    set_teams,
)
from cyp.access.permissions import ROLES, SYSTEM, PermissionDenied, Principal, system_acting_for
from cyp.quarters import QuarterError
from cyp.returns.lines import NothingToReport, UnknownTeam
from cyp.storage.config import get_settings
from cyp.storage.datafiles import DataFileError
from cyp.storage.db import get_engine, read_session, write_session
from cyp.storage.maintenance import (
    BackupError,
    backup_database,
    check_database,
    check_uploads,
    remove_stray,
    restore_database,
)
from cyp.storage.models import Return, utcnow

# Imported inside the commands that use them, because each would slow every start-up, `--help` included (measured
# with `python -X importtime -m cyp --help` on the development machine): cyp.bootstrap brings alembic (+55 ms);
# cyp.returns.ingest, cyp.returns.template and cyp.framework.workbook bring openpyxl (+80 to 120 ms); cyp.admin,
# cyp.read.reports and cyp.board bring pandas (+150 ms, and the board pack fpdf2 and altair, +300 ms).


class _Commands(click.Group):
    """The command group; a data file edited into a wrong shape is a clear message naming it, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DataFileError as exc:
            raise click.ClickException(f"a data file needs fixing:\n{exc}") from exc


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _command_line_system() -> Principal:
    """The system, acting for whoever runs this command: named so in the audit trail."""
    return system_acting_for(f"command line, login {_os_user()}")


def _acting_principal(user: str | None, as_system: bool) -> Principal:
    """Who a command acts as: the account ``--user`` names, with its permissions, or the system (``--as-system``)."""
    if (user is None) == (not as_system):
        raise click.UsageError("give --user NAME (act as that account) or --as-system, but not both")
    if as_system:
        return _command_line_system()
    assert user is not None
    try:
        with read_session(get_engine()) as session:
            return principal_for_account(session, user)
    except AccountError as exc:
        raise click.ClickException(f"{exc} Give an existing account with --user, or use --as-system.") from exc


_USER_OPTION = click.option(
    "--user", default=None, help="Account to act as, with its permissions (it must exist and be enabled)."
)
_AS_SYSTEM_OPTION = click.option(
    "--as-system", is_flag=True, help="Act as the system (no permission check); named in the audit trail."
)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """CYP Plan Monitor: Barnet's Children and Young People's Plan, quarter by quarter.

    \b
    Example:
      python -m cyp init
    """


@cli.command()
def init() -> None:
    """Create or upgrade the database schema and load the plan framework.

    Running it again changes nothing: records already in the database are kept
    as they are (edit the framework with `framework import`).

    \b
    Example:
      python -m cyp init
    """
    from cyp.bootstrap import initialise_database

    engine = get_engine()
    inserted = initialise_database(engine)
    added = sum(inserted.values())
    detail = ", ".join(f"{count} {kind}" for kind, count in inserted.items() if count)
    click.echo(
        f"Database ready at {engine.url.render_as_string(hide_password=True)}; "
        + (f"loaded {detail}." if added else "framework already loaded, nothing changed.")
    )


@cli.command()
@click.option("--team", required=True, help="Team name, ref or a known variant, e.g. 'Family Services'.")
@click.option("--quarter", required=True, help="Quarter in any usual form, e.g. '2025-26 Q3' or 'Q3 25/26'.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write the .xlsx.")
def template(team: str, quarter: str, out_path: str) -> None:
    """Write the return workbook for one team and quarter, with last quarter's answers filled in.

    \b
    Example:
      python -m cyp template --team "Family Services" --quarter "2025-26 Q3" --out family-services.xlsx
    """
    from cyp.returns.template import write_template

    try:
        with read_session(get_engine()) as session:
            data = write_template(session, team, quarter)
    except (UnknownTeam, QuarterError, NothingToReport) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    try:
        Path(out_path).write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"Could not write {out_path}: {exc.strerror}. Choose a folder that exists.") from exc
    click.echo(f"Wrote {out_path} ({len(data):,} bytes).")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", default=None, help="Account to act as, with its permissions (it must exist and be enabled).")
@click.option("--as-system", is_flag=True, help="Act as the system (no permission check); named in the audit trail.")
@click.option("--acknowledge-queries", is_flag=True, help="Accept queries (e.g. Amber with no update); store anyway.")
def ingest(file: str, user: str | None, as_system: bool, acknowledge_queries: bool) -> None:
    """Validate a filled-in return and store it as the team's new version for its quarter.

    Give --user (an account: a lead may file only their own teams' returns) or --as-system
    (recorded as "system (command line, login NAME)"). Exit status 0 when stored (or already
    stored), 1 when not stored or refused; every problem is printed on its own line with its
    sheet and cell.

    \b
    Example:
      python -m cyp ingest family-services.xlsx --user j.smith
      python -m cyp ingest family-services.xlsx --as-system
    """
    from cyp.returns.ingest import ingest_return

    principal = _acting_principal(user, as_system)
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from exc
    result = ingest_return(data, path.name, principal, acknowledge_queries=acknowledge_queries, engine=get_engine())
    # A duplicate's problems were accepted once already; a refusal's one problem is its summary.
    for problem in [] if result.status in ("duplicate", "refused") else result.problems:
        marker = "query" if problem.severity == "query" else "error"
        click.echo(f"{marker}: {problem}", err=not result.accepted)
    for change in result.changes:
        click.echo(f"  {change}")
    if result.status == "needs-acknowledgement":
        click.echo(f"{result.summary}. Re-run with --acknowledge-queries to store it.", err=True)
        sys.exit(1)
    if result.reinstatable_version is not None:
        who = f"--user {user}" if user else "--as-system"
        click.echo(f"{result.summary} (python -m cyp make-current {file} {who}).")
        sys.exit(0)
    click.echo(result.summary, err=not result.accepted)
    sys.exit(0 if result.accepted else 1)


@cli.command("make-current")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_USER_OPTION
@_AS_SYSTEM_OPTION
def make_current(file: str, user: str | None, as_system: bool) -> None:
    """Make an earlier version current again: store its file (already stored, not current) as a new version.

    What `ingest` offers when the file is an earlier version of the team's return. The file is checked
    again; exit status 0 when stored, 1 when not.

    \b
    Example:
      python -m cyp make-current ph-version-1.xlsx --user a.lee
    """
    import sys

    from cyp.returns.ingest import make_current_again

    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from exc
    result = make_current_again(data, path.name, _acting_principal(user, as_system), engine=get_engine())
    for problem in [] if result.accepted else result.problems:
        click.echo(f"{problem.severity}: {problem}", err=True)
    click.echo(result.summary, err=not result.accepted)
    sys.exit(0 if result.accepted else 1)


@cli.command()
@click.option("--quarter", required=True, help="Quarter in any usual form, e.g. '2025-26 Q3' or 'Oct-Dec 2025'.")
@click.option("--plan", "plan_ref", default=None, help="Plan ref, e.g. 2019-23 (default: the plan covering it).")
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True, help="Output form."
)
def report(quarter: str, plan_ref: str | None, output: str) -> None:
    """Print the status of every line and outcome for a quarter (JSON format: docs/report-json.md).

    \b
    Example:
      python -m cyp report --quarter "2025-26 Q3" --format json
    """
    from cyp.read.reports import UnknownPlan, format_report_table, status_report

    try:
        with read_session(get_engine()) as session:
            result = status_report(session, quarter, plan_ref)
    except (QuarterError, UnknownPlan) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2, ensure_ascii=False) if output == "json" else format_report_table(result))


@cli.command()
@click.option("--quarter", required=True, help="Quarter in any usual form, e.g. '2022-23 Q4' or 'Jan-Mar 2023'.")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the pack: a .pdf (board pack) or .xlsx (every line update and indicator value).",
)
@click.option("--plan", "plan_ref", default=None, help="Plan ref, e.g. 2019-23 (default: the plan covering it).")
def export(quarter: str, out_path: Path, plan_ref: str | None) -> None:
    """Write the board pack for a quarter: tagged PDF (PDF/UA-1, with charts) or Excel, chosen by the file's extension.

    \b
    Example:
      python -m cyp export --quarter "2022-23 Q4" --out pack.pdf
      python -m cyp export --quarter "2022-23 Q4" --out data.xlsx --plan 2019-23
    """
    from cyp.board.data import BoardPackError
    from cyp.board.excel import board_pack_xlsx
    from cyp.board.pdf import board_pack_pdf
    from cyp.read.reports import UnknownPlan

    builders = {".pdf": board_pack_pdf, ".xlsx": board_pack_xlsx}
    build = builders.get(out_path.suffix.lower())
    if build is None:
        raise click.BadParameter("the file name must end in .pdf or .xlsx", param_hint="--out")
    try:
        with read_session(get_engine()) as session:
            content = build(session, quarter, plan_ref)
    except (QuarterError, UnknownPlan) as exc:
        raise click.ClickException(str(exc)) from exc
    except BoardPackError as exc:
        raise click.ClickException(f"The board pack could not be built: {exc}") from exc
    out_path.write_bytes(content)
    click.echo(f"Wrote {out_path} ({len(content):,} bytes).")


@cli.command()
@click.option("--clear", is_flag=True, help="Remove the demo data (and nothing else) instead of generating it.")
@click.option("--seed", default=20261123, show_default=True, help="Random seed; the same seed gives the same data.")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no returns at all (for first start-up).")
def demo(clear: bool, seed: int, if_empty: bool) -> None:
    """Generate plausible demonstration returns for every team across past quarters, labelled as demo data.

    Generating again replaces the previous demo data. Real returns are never touched.

    \b
    Example:
      python -m cyp demo
      python -m cyp demo --clear
      python -m cyp demo --if-empty
    """
    from cyp.admin import clear_demo_data, load_demo

    accounts: list[tuple[str, str, str]] = []
    with write_session(get_engine()) as session:
        if if_empty and not clear and session.scalar(select(Return.id).limit(1)) is not None:
            click.echo("The database already holds returns; no demo data generated.")
            return
        if clear:
            counts = clear_demo_data(session, _command_line_system())
        else:
            counts, accounts = load_demo(session, _command_line_system(), seed=seed)
    detail = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    click.echo(f"{'Removed' if clear else 'Generated'} demo data: {detail or 'nothing to do'}.")
    if accounts:
        click.echo(
            "Demo accounts (all but the administrator also shown on the sign-in page while demo data is loaded; "
            "the administrator's password is shown only here, now):"
        )
        click.echo(tabulate([(role, username, password) for username, password, role in accounts], tablefmt="plain"))


@cli.group()
def framework() -> None:
    """Export and import the plan framework as a spreadsheet."""


@framework.command("export")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Workbook to write (.xlsx).",
)
def framework_export(out: Path) -> None:
    """Write the whole plan framework and index mapping to a readable workbook.

    Edit it in Excel and load it back with `framework import`.

    \b
    Example:
      python -m cyp framework export --out framework.xlsx
    """
    from cyp.framework.workbook import export_framework

    with read_session() as session:
        data = export_framework(session)
    out.write_bytes(data)
    click.echo(f"Wrote the framework to {out}.")


@framework.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", default=_os_user, show_default="your login name", help="Who is importing, for the audit trail.")
def framework_import(path: Path, user: str) -> None:
    """Load an edited framework workbook: checked first, applied all-or-nothing.

    Prints a one-line summary, or every problem (sheet and cell) and exits 1
    without changing anything.

    \b
    Example:
      python -m cyp framework import framework.xlsx
    """
    from cyp.admin import import_framework_as

    with write_session() as session, path.open("rb") as stream:
        # The command line acts as the system; --user names the person in the audit trail.
        result = import_framework_as(session, replace(SYSTEM, username=user), stream, path.name)
    if not result.ok:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        click.echo(result.summary(), err=True)
        raise SystemExit(1)
    click.echo(result.summary())


@cli.group()
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
            changed = change(session, _command_line_system(), *args)
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


def _table(header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _minute(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _as_system(change, *args):
    """Run one session or display-link change as the system in its own transaction; errors become clean messages."""
    from cyp.access.accounts import AccountError
    from cyp.access.permissions import SYSTEM, PermissionDenied
    from cyp.access.sessions import SessionError

    try:
        with write_session(get_engine()) as session:
            return change(session, SYSTEM, *args)
    except (AccountError, PermissionDenied, SessionError) as exc:
        raise click.ClickException(str(exc)) from exc


@user.command("sessions")
@click.argument("username")
def user_sessions(username: str) -> None:
    """List an account's live signed-in sessions (times in UTC; never the cookie itself).

    \b
    Example:
      python -m cyp user sessions a.lee
    """
    from cyp.access.sessions import list_sessions

    found = _as_system(list_sessions, username)
    if not found:
        click.echo(f"{username.strip().lower()} has no live sessions.")
        return
    rows = [
        (
            str(item.id),
            _minute(item.created_at),
            _minute(item.last_seen_at),
            _minute(item.expires_at),
            item.method,
            item.client_address or "-",
            item.user_agent[:40] or "-",
        )
        for item in found
    ]
    _table(("session", "signed in", "last seen", "ends by", "how", "from", "browser"), rows)


@user.command("end-sessions")
@click.argument("username")
@click.option("--session", "session_id", type=int, default=None, help="End only this session (from `user sessions`).")
def user_end_sessions(username: str, session_id: int | None) -> None:
    """Sign an account out everywhere (or end one session): its browsers show the sign-in form at their next click.

    \b
    Example:
      python -m cyp user end-sessions a.lee
    """
    from cyp.access.sessions import end_sessions

    ended = _as_system(lambda session, actor: end_sessions(session, actor, username, session_id=session_id))
    click.echo(f"Ended {ended} session{'' if ended == 1 else 's'} of {username.strip().lower()}.")


@cli.group("display-link")
def display_link() -> None:
    """Links that sign a meeting-room screen in with the display role, until revoked."""


@display_link.command("issue")
@click.argument("label")
@click.option("--base-url", default=None, help="The app's address as the screen reaches it (default: CYP_PUBLIC_URL).")
def display_link_issue(label: str, base_url: str | None) -> None:
    """Issue a display link for a screen; the address is printed once (only its hash is stored).

    \b
    Example:
      python -m cyp display-link issue "Committee room 2" --base-url https://cyp.barnet.gov.uk
    """
    from cyp.access.sessions import issue_display_link
    from cyp.storage.config import get_settings
    from cyp.web.routes import DISPLAY_LINK_PATH

    token = _as_system(issue_display_link, label)
    base_url = base_url or get_settings().public_url
    click.echo(f"Display link for {' '.join(label.split())} (open it once on the screen; it is not shown again):")
    click.echo(f"{base_url.rstrip('/')}{DISPLAY_LINK_PATH}{token}")


@display_link.command("list")
def display_link_list() -> None:
    """List the display links: screen, state, screens signed in, who issued it and when (UTC).

    \b
    Example:
      python -m cyp display-link list
    """
    from cyp.access.sessions import list_display_links

    with read_session(get_engine()) as session:
        links = list_display_links(session)
    if not links:
        click.echo("No display links.")
        return
    rows = [
        (
            str(link.id),
            link.label,
            link.state,
            str(link.live_sessions),
            link.created_by,
            _minute(link.created_at),
            _minute(link.last_used_at),
        )
        for link in links
    ]
    _table(("link", "screen", "state", "screens", "issued by", "issued", "last used"), rows)


@display_link.command("revoke")
@click.argument("link_id", type=int)
def display_link_revoke(link_id: int) -> None:
    """Revoke a display link: every screen it signed in shows the sign-in form at its next refresh.

    \b
    Example:
      python -m cyp display-link revoke 3
    """
    from cyp.access.sessions import revoke_display_link

    ended = _as_system(revoke_display_link, link_id)
    click.echo(f"Revoked display link {link_id}; {ended} screen{'' if ended == 1 else 's'} signed out.")


@cli.group()
def token() -> None:
    """Issue, list and revoke data API tokens (Power BI, Excel Power Query, R). Runs as the system."""


def _token_change(change, *args, **kwargs):
    """Run one token change as the system in its own transaction; token errors become clean messages."""
    from cyp.access.tokens import TokenError

    try:
        with write_session(get_engine()) as session:
            return change(session, _command_line_system(), *args, **kwargs)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc


@token.command("issue")
@click.argument("name")
@click.option("--plan", "plans", multiple=True, help="Plan ref the token may read (repeatable; default: every plan).")
@click.option("--commentary/--no-commentary", default=False, show_default=True, help="Include teams' commentary.")
@click.option("--days", default=90, show_default=True, help="Days until the token expires (at most 366).")
def token_issue(name: str, plans: tuple[str, ...], commentary: bool, days: int) -> None:
    """Issue a token; its secret is printed once and never stored (only its SHA-256 is).

    \b
    Example:
      python -m cyp token issue "Power BI performance team" --plan 2023-27 --days 180
      python -m cyp token issue "R analysis" --commentary
    """
    from cyp.access.tokens import issue_token

    issued, secret = _token_change(issue_token, name, plans=plans, include_commentary=commentary, days=days)
    click.echo(
        f"Issued token {issued.id} ({issued.name}): plans {issued.plans.replace(',', ', ') or 'all'}; commentary "
        f"{'included' if issued.include_commentary else 'left out'}; expires {issued.expires_at:%Y-%m-%d}."
    )
    click.echo(f"Secret (shown only now; send it as 'Authorization: Bearer ...'):\n  {secret}")


@token.command("list")
def token_list() -> None:
    """List every token with its scope, expiry, state and last use (never the secrets).

    \b
    Example:
      python -m cyp token list
    """
    from cyp.access.tokens import list_tokens, token_state

    with read_session(get_engine()) as session:
        rows = [
            (
                str(item.id),
                item.prefix + "...",
                item.name,
                item.plans.replace(",", " ") or "all",
                "yes" if item.include_commentary else "no",
                f"{item.expires_at:%Y-%m-%d}",
                token_state(item),
                f"{item.last_used_at:%Y-%m-%d %H:%M}" if item.last_used_at else "-",
            )
            for item in list_tokens(session)
        ]
    header = ("id", "token", "name", "plans", "commentary", "expires", "state", "last used")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token (by the id or prefix `token list` shows); it is refused from its next request.

    \b
    Example:
      python -m cyp token revoke 3
    """
    from cyp.access.tokens import revoke_token

    revoked = _token_change(revoke_token, token_id)
    click.echo(f"Revoked token {revoked.id} ({revoked.name}).")


@cli.command()
@click.option("--line", "line_ref", required=True, help="The line's ref, e.g. 19-FB-1.2.")
@click.option("--quarter", required=True, help="The quarter of the update, e.g. '2025-26 Q3'.")
@click.option("--reason", required=True, help="Why, for the notice and the audit trail (never the text itself).")
@_USER_OPTION
@_AS_SYSTEM_OPTION
def redact(line_ref: str, quarter: str, reason: str, user: str | None, as_system: bool) -> None:
    """Redact a stored update's text (every version of the quarter) and the kept files that hold it.

    The text becomes "[redacted by USER on DATE: REASON]" in the database and every later export; each kept
    file is replaced by a copy with those cells redacted. Audited.

    \b
    Example:
      python -m cyp redact --line 19-FB-1.2 --quarter "2025-26 Q3" --reason "child's NHS number"
    """
    from cyp.access.permissions import PermissionDenied
    from cyp.quarters import QuarterError
    from cyp.returns.redact import RedactionError, redact_update, remove_replaced_files
    from cyp.storage.config import get_settings

    engine = get_engine()
    try:
        with write_session(engine) as session:
            done = redact_update(
                session,
                _acting_principal(user, as_system),
                line_ref=line_ref,
                quarter=quarter,
                reason=reason,
                uploads_dir=get_settings().uploads_dir,
            )
    except (RedactionError, QuarterError, PermissionDenied) as exc:
        raise click.ClickException(str(exc)) from exc
    with read_session(engine) as session:
        remove_replaced_files(session, done)
    click.echo(done.summary)


@cli.command()
@click.option("--clean", is_flag=True, help="Delete the stray files found in the uploads folder.")
def check(clean: bool) -> None:
    """Check the database and reconcile the uploads folder with it.

    Every stored return must have its file with a matching SHA-256 (demo returns have none); files
    no return names, such as one half-written when a process was killed, are stray. Exit status 1 when
    anything is wrong (stray files removed by --clean no longer count). Use --clean only while no upload
    is in progress: an upload's file is written just before its transaction commits.

    \b
    Example:
      python -m cyp check --clean
    """
    uploads_dir = get_settings().uploads_dir
    with read_session(get_engine()) as session:
        problems = check_database(session)
        files = check_uploads(session, uploads_dir)
    for problem in problems:
        click.echo(f"database: {problem}", err=True)
    for label in files.missing:
        click.echo(f"missing file: {label}", err=True)
    for label in files.mismatched:
        click.echo(f"SHA-256 mismatch: {label}", err=True)
    removed = remove_stray(files) if clean else []
    for path in files.stray:
        click.echo(f"{'removed' if clean else 'stray'}: {path}", err=not clean)
    demo = f" ({files.skipped_demo} demo returns have no file)" if files.skipped_demo else ""
    click.echo(
        f"Checked the database and {files.checked} stored files in {uploads_dir}{demo}: "
        f"{len(problems)} database problems, {len(files.missing)} missing, {len(files.mismatched)} mismatched, "
        f"{len(files.stray)} stray" + (f" ({len(removed)} removed)." if clean else ".")
    )
    sys.exit(1 if problems or files.missing or files.mismatched or (files.stray and not clean) else 0)


@cli.command()
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Backup file.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def backup(out_path: Path, force: bool) -> None:
    """Write a consistent copy of the database while the app keeps running.

    SQLite: the online backup API, giving a SQLite file. PostgreSQL: pg_dump's custom format when
    pg_dump is installed, otherwise instructions for running it. The uploads folder is plain files:
    copy it as well (e.g. rsync) after the database.

    \b
    Example:
      python -m cyp backup --out backups/cyp-2026-11-23.db
    """
    try:
        click.echo(backup_database(get_engine(), out_path, force=force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing database.")
def restore(file: Path, force: bool) -> None:
    """Replace the database (CYP_DATABASE_URL) with a backup made by `backup`.

    Refuses when the database already exists unless --force. Stop the app first.

    \b
    Example:
      python -m cyp restore backups/cyp-2026-11-23.db --force
    """
    try:
        click.echo(restore_database(get_engine(), file, force=force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--dry-run", is_flag=True, help="Say what would be sent; claim and send nothing.")
def remind(dry_run: bool) -> None:
    """Send the reminders, digests and sent-back notices that are due (for cron or a systemd timer).

    Each email goes once only, even when several instances or runs overlap; one the mail server refused is
    tried again on the next run. The schedule is data/reminders.yaml; the mail server is CYP_SMTP_HOST.

    \b
    Example:
      python -m cyp remind --dry-run
    """
    from cyp.cycle.mail import MailNotConfigured
    from cyp.cycle.reminders import run_reminders

    try:
        report = run_reminders(dry_run=dry_run)
    except MailNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines:
        click.echo(line)
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


@user.command("opt-out")
@click.argument("username")
@click.option("--undo", is_flag=True, help="Start sending them reminder emails again.")
def user_opt_out(username: str, undo: bool) -> None:
    """Stop (or with --undo restart) reminder and digest emails to one person.

    \b
    Example:
      python -m cyp user opt-out a.lee
    """
    from cyp.cycle.recipients import NoSuchUser, set_opt_out

    try:
        with write_session(get_engine()) as session:
            changed = set_opt_out(session, _command_line_system(), username, not undo)
    except NoSuchUser as exc:
        raise click.ClickException(str(exc)) from exc
    state = "receives reminder emails" if undo else "receives no reminder emails"
    click.echo(f"{username.strip().lower()} {'now ' if changed else 'already '}{state}.")


@cli.group()
def signoff() -> None:
    """Sign off returns, or send them back with a reason (when CYP_SIGNOFF=1)."""


@signoff.command("list")
@click.option("--quarter", default=None, help="Only this quarter, e.g. '2025-26 Q3'.")
@click.option("--awaiting", is_flag=True, help="Only returns awaiting sign-off.")
def signoff_list(quarter: str | None, awaiting: bool) -> None:
    """List current returns and where each stands: awaiting sign-off, signed off, or returned.

    \b
    Example:
      python -m cyp signoff list --quarter "2025-26 Q3"
    """
    from cyp.quarters import QuarterError
    from cyp.read.signoff import AWAITING, signoff_enabled, signoff_rows

    if not signoff_enabled():
        click.echo("Sign-off is switched off (CYP_SIGNOFF=0): every accepted return counts as it arrives.")
    try:
        with read_session() as session:
            rows = signoff_rows(session, quarter, state=AWAITING if awaiting else None)
    except QuarterError as exc:
        raise click.ClickException(str(exc)) from exc
    for row in rows:
        decided = f" by {row.decided_by}" + (f": {row.reason}" if row.reason else "") if row.decided_by else ""
        click.echo(f"{row.quarter}  {row.team} v{row.version} (uploaded by {row.uploaded_by}): {row.state}{decided}")
    click.echo(f"{len(rows)} return(s).")


def _decide(decision, *args, **kwargs):
    from cyp.access.permissions import PermissionDenied
    from cyp.cycle.signoff import SignoffError
    from cyp.quarters import QuarterError
    from cyp.returns.lines import UnknownTeam

    try:
        with write_session() as session:
            return decision(session, *args, **kwargs)
    except (SignoffError, PermissionDenied, QuarterError, UnknownTeam) as exc:
        raise click.ClickException(str(exc)) from exc


@signoff.command("approve")
@click.option("--team", required=True, help="Team name or ref.")
@click.option("--quarter", required=True, help="Quarter, e.g. '2025-26 Q3'.")
@click.option("--version", type=int, default=None, help="Refuse unless this is the current version.")
@_USER_OPTION
@_AS_SYSTEM_OPTION
def signoff_approve(team: str, quarter: str, version: int | None, user: str | None, as_system: bool) -> None:
    """Sign off a team's current return for a quarter.

    \b
    Example:
      python -m cyp signoff approve --team "Family Services" --quarter "2025-26 Q3" --user d.okafor
    """
    from cyp.cycle.signoff import sign_off

    decision = _decide(sign_off, _acting_principal(user, as_system), team, quarter, version=version)
    click.echo(f"Signed off return {decision.return_id} ({team}, {quarter}).")


@signoff.command("return")
@click.option("--team", required=True, help="Team name or ref.")
@click.option("--quarter", required=True, help="Quarter, e.g. '2025-26 Q3'.")
@click.option("--reason", required=True, help="What the team should change; emailed to its leads.")
@click.option("--version", type=int, default=None, help="Refuse unless this is the current version.")
@_USER_OPTION
@_AS_SYSTEM_OPTION
def signoff_return(
    team: str, quarter: str, reason: str, version: int | None, user: str | None, as_system: bool
) -> None:
    """Send a team's current return back with a reason; its leads are emailed by the next `remind` run.

    \b
    Example:
      python -m cyp signoff return --team "Family Services" --quarter "2025-26 Q3" --reason "Line 1.2 needs an update" \
        --user d.okafor
    """
    from cyp.cycle.signoff import return_to_team

    decision = _decide(return_to_team, _acting_principal(user, as_system), team, quarter, reason, version=version)
    click.echo(f"Sent back return {decision.return_id} ({team}, {quarter}): {decision.reason}")


@cli.group()
def question() -> None:
    """Board questions and actions on a line, carried into the team's next template until answered."""


def _question_step(step, *args, **kwargs):
    from cyp.access.permissions import PermissionDenied
    from cyp.cycle.questions import QuestionError

    try:
        with write_session() as session:
            return step(session, *args, **kwargs)
    except (QuestionError, PermissionDenied) as exc:
        raise click.ClickException(str(exc)) from exc


@question.command("add")
@click.option("--line", "line_ref", required=True, help="The line's ref, e.g. 23-FB-1.1.")
@click.option("--quarter", required=True, help="The quarter the board was reviewing, e.g. '2025-26 Q3'.")
@click.option("--text", required=True, help="What the board asks (or the action it sets).")
@click.option("--action", "is_action", is_flag=True, help="An action for the team rather than a question.")
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Due by (YYYY-MM-DD).")
@_USER_OPTION
@_AS_SYSTEM_OPTION
def question_add(
    line_ref: str, quarter: str, text: str, is_action: bool, due, user: str | None, as_system: bool
) -> None:
    """Record a board question or action against a line for a quarter.

    \b
    Example:
      python -m cyp question add --line 23-FB-1.1 --quarter "2025-26 Q3" --text "Why is the hub late?" --user chair
    """
    from cyp.cycle.questions import ask_question

    kind = "action" if is_action else "question"
    asked = _question_step(
        ask_question,
        _acting_principal(user, as_system),
        line_ref,
        quarter,
        text,
        kind=kind,
        due_by=due.date() if due else None,
    )
    click.echo(f"Recorded board {kind} {asked.id} on {line_ref} for {asked.quarter}.")


@question.command("list")
@click.option("--quarter", default=None, help="Only questions asked about this quarter.")
@click.option("--line", "line_ref", default=None, help="Only this line.")
@click.option("--team", "team_ref", default=None, help="Only lines this team (ref) reports.")
@click.option("--all", "show_all", is_flag=True, help="Closed questions too.")
def question_list(quarter: str | None, line_ref: str | None, team_ref: str | None, show_all: bool) -> None:
    """List board questions (open ones, unless --all), in plan order.

    \b
    Example:
      python -m cyp question list --quarter "2025-26 Q3"
    """
    from cyp.quarters import QuarterError
    from cyp.read.questions import list_questions

    try:
        with read_session() as session:
            rows = list_questions(
                session, open_only=not show_all, quarter=quarter, line_ref=line_ref, team_ref=team_ref
            )
    except QuarterError as exc:
        raise click.ClickException(str(exc)) from exc
    for row in rows:
        due = f", due by {row.due_by.isoformat()}" if row.due_by else ""
        state = "open" if row.is_open else f"closed: {row.answer or row.close_reason}"
        who = f"{row.line_ref} ({row.team or 'no team'}) {row.quarter}{due}, {row.kind} by {row.asked_by}"
        click.echo(f"#{row.id} {who}: {row.text} [{state}]")
    click.echo(f"{len(rows)} question(s).")


@question.command("close")
@click.argument("question_id", type=int)
@click.option("--reason", required=True, help="Why it is closed without an answer in a return.")
@_USER_OPTION
@_AS_SYSTEM_OPTION
def question_close(question_id: int, reason: str, user: str | None, as_system: bool) -> None:
    """Close an open board question with a reason (an answer in the team's return closes it by itself).

    \b
    Example:
      python -m cyp question close 3 --reason "Answered at the meeting" --user j.smith
    """
    from cyp.cycle.questions import close_question

    _question_step(close_question, _acting_principal(user, as_system), question_id, reason)
    click.echo(f"Closed board question {question_id}.")
