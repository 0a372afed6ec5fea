"""The command line: thin click commands over the same ``cyp`` functions the pages call.

Every command opens the database, calls one library function and prints its
result; none holds logic of its own.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from sqlalchemy import select

from cyp.bootstrap import initialise_database
from cyp.framework.workbook import export_framework
from cyp.storage.db import get_engine, read_session, write_session
from cyp.storage.models import ROLES


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    from pathlib import Path

    from cyp.quarters import QuarterError
    from cyp.returns.lines import NothingToReport, UnknownTeam
    from cyp.returns.template import write_template
    from cyp.storage.db import read_session

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
@click.option("--user", default=None, help="Who is uploading (default: your login name).")
@click.option("--acknowledge-queries", is_flag=True, help="Accept queries (e.g. Amber with no update); store anyway.")
def ingest(file: str, user: str | None, acknowledge_queries: bool) -> None:
    """Validate a filled-in return and store it as the team's new version for its quarter.

    Exit status 0 when stored (or already stored), 1 when not stored; every problem is
    printed on its own line with its sheet and cell.

    \b
    Example:
      python -m cyp ingest family-services.xlsx --user j.smith
    """
    import sys
    from pathlib import Path

    from cyp.returns.ingest import ingest_return

    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from exc
    result = ingest_return(
        data, path.name, user or _login_name(), acknowledge_queries=acknowledge_queries, engine=get_engine()
    )
    for problem in [] if result.status == "duplicate" else result.problems:
        marker = "query" if problem.severity == "query" else "error"
        click.echo(f"{marker}: {problem}", err=not result.accepted)
    for change in result.changes:
        click.echo(f"  {change}")
    if result.status == "needs-acknowledgement":
        click.echo(f"{result.summary}. Re-run with --acknowledge-queries to store it.", err=True)
        sys.exit(1)
    if result.reinstatable_version is not None:
        click.echo(f"{result.summary} (python -m cyp make-current {file}).")
        sys.exit(0)
    click.echo(result.summary, err=not result.accepted)
    sys.exit(0 if result.accepted else 1)


@cli.command("make-current")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", default=None, help="Who is uploading (default: your login name).")
def make_current(file: str, user: str | None) -> None:
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
    result = make_current_again(data, path.name, user or _login_name(), engine=get_engine())
    for problem in [] if result.accepted else result.problems:
        click.echo(f"{problem.severity}: {problem}", err=True)
    click.echo(result.summary, err=not result.accepted)
    sys.exit(0 if result.accepted else 1)


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
    import json

    from cyp.quarters import QuarterError
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
    """Write the board pack for a quarter: PDF (with charts) or Excel, chosen by the file's extension.

    \b
    Example:
      python -m cyp export --quarter "2022-23 Q4" --out pack.pdf
      python -m cyp export --quarter "2022-23 Q4" --out data.xlsx --plan 2019-23
    """
    from cyp.board.excel import board_pack_xlsx
    from cyp.board.pdf import board_pack_pdf
    from cyp.quarters import QuarterError
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
    from cyp.access.permissions import SYSTEM
    from cyp.admin import clear_demo_data, load_demo
    from cyp.storage.models import Return

    accounts: list[tuple[str, str, str]] = []
    with write_session(get_engine()) as session:
        if if_empty and not clear and session.scalar(select(Return.id).limit(1)) is not None:
            click.echo("The database already holds returns; no demo data generated.")
            return
        if clear:
            counts = clear_demo_data(session, SYSTEM)
        else:
            counts, accounts = load_demo(session, SYSTEM, seed=seed)
    detail = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    click.echo(f"{'Removed' if clear else 'Generated'} demo data: {detail or 'nothing to do'}.")
    if accounts:
        click.echo("Demo accounts (also shown on the sign-in page while demo data is loaded):")
        for username, password, role in accounts:
            click.echo(f"  {role:<13}  {username:<12}  {password}")


@cli.group()
def framework() -> None:
    """Export and import the plan framework as a spreadsheet."""


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
    from dataclasses import replace

    from cyp.access.permissions import SYSTEM
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


def _user_engine():  # type: ignore[no-untyped-def]
    from cyp.storage.config import get_settings

    return get_engine(get_settings().database_url)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        import sys

        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _change_user(change, *args):  # type: ignore[no-untyped-def]
    """Run one account change as the system in its own transaction; account errors become clean messages."""
    from cyp.access.accounts import AccountError
    from cyp.access.permissions import SYSTEM, PermissionDenied

    try:
        with write_session(_user_engine()) as session:
            changed = change(session, SYSTEM, *args)
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
    from cyp.access.accounts import create_user

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
    from cyp.access.accounts import list_users
    from cyp.storage.models import utcnow

    now = utcnow()
    with read_session(_user_engine()) as session:
        rows = [
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
    header = ("username", "role", "state", "teams", "email", "")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Stop an account signing in or changing anything; its history stays.

    \b
    Example:
      python -m cyp user disable a.lee
    """
    from cyp.access.accounts import disable_user

    click.echo(f"Disabled {_change_user(disable_user, username)[0]}.")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Let a disabled account sign in again (also lifts a sign-in lock).

    \b
    Example:
      python -m cyp user enable a.lee
    """
    from cyp.access.accounts import enable_user

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
    from cyp.access.accounts import set_password

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
    from cyp.access.accounts import set_teams

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
    from cyp.access.accounts import set_role

    name, role, _ = _change_user(set_role, username, role)
    click.echo(f"{name} is now {'an' if role[0] in 'aeiou' else 'a'} {role}.")


@cli.command()
@click.option("--line", "line_ref", required=True, help="The line's ref, e.g. 19-FB-1.2.")
@click.option("--quarter", required=True, help="The quarter of the update, e.g. '2025-26 Q3'.")
@click.option("--reason", required=True, help="Why, for the notice and the audit trail (never the text itself).")
@click.option("--user", default=_os_user, show_default="your login name", help="Who is redacting, for the notice.")
def redact(line_ref: str, quarter: str, reason: str, user: str) -> None:
    """Redact a stored update's text (every version of the quarter) and the kept files that hold it.

    The text becomes "[redacted by USER on DATE: REASON]" in the database and every later export; each kept
    file is replaced by a copy with those cells redacted. Audited.

    \b
    Example:
      python -m cyp redact --line 19-FB-1.2 --quarter "2025-26 Q3" --reason "child's NHS number"
    """
    from dataclasses import replace

    from cyp.access.permissions import SYSTEM, PermissionDenied
    from cyp.quarters import QuarterError
    from cyp.returns.redact import RedactionError, redact_update, remove_replaced_files
    from cyp.storage.config import get_settings

    engine = get_engine()
    try:
        with write_session(engine) as session:
            done = redact_update(
                session,
                replace(SYSTEM, username=user),
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
    import sys

    from cyp.storage.config import get_settings
    from cyp.storage.maintenance import check_database, check_uploads, remove_stray

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
    from cyp.storage.maintenance import BackupError, backup_database

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
    from cyp.storage.maintenance import BackupError, restore_database

    try:
        click.echo(restore_database(get_engine(), file, force=force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
