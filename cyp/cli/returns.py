"""Commands for a return: write its template, ingest it, make an earlier version current, redact an update."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cyp.access.permissions import PermissionDenied
from cyp.cli.acting import AS_SYSTEM_OPTION, USER_OPTION, acting_principal
from cyp.quarters import QuarterError
from cyp.returns.ingest import ingest_return, make_current_again
from cyp.returns.lines import NothingToReport, UnknownTeam
from cyp.returns.redact import RedactionError, redact_update, remove_replaced_files
from cyp.returns.template import write_template
from cyp.storage.config import get_settings
from cyp.storage.db import get_engine, read_session, write_session


@click.command()
@click.option("--team", required=True, help="Team name, ref or a known variant, e.g. 'Family Services'.")
@click.option("--quarter", required=True, help="Quarter in any usual form, e.g. '2025-26 Q3' or 'Q3 25/26'.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write the .xlsx.")
def template(team: str, quarter: str, out_path: str) -> None:
    """Write the return workbook for one team and quarter, with last quarter's answers filled in.

    \b
    Example:
      python -m cyp template --team "Family Services" --quarter "2025-26 Q3" --out family-services.xlsx
    """
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


@click.command()
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
    principal = acting_principal(user, as_system)
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


@click.command("make-current")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@USER_OPTION
@AS_SYSTEM_OPTION
def make_current(file: str, user: str | None, as_system: bool) -> None:
    """Make an earlier version current again: store its file (already stored, not current) as a new version.

    What `ingest` offers when the file is an earlier version of the team's return. The file is checked
    again; exit status 0 when stored, 1 when not.

    \b
    Example:
      python -m cyp make-current ph-version-1.xlsx --user a.lee
    """

    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from exc
    result = make_current_again(data, path.name, acting_principal(user, as_system), engine=get_engine())
    for problem in [] if result.accepted else result.problems:
        click.echo(f"{problem.severity}: {problem}", err=True)
    click.echo(result.summary, err=not result.accepted)
    sys.exit(0 if result.accepted else 1)


@click.command()
@click.option("--line", "line_ref", required=True, help="The line's ref, e.g. 19-FB-1.2.")
@click.option("--quarter", required=True, help="The quarter of the update, e.g. '2025-26 Q3'.")
@click.option("--reason", required=True, help="Why, for the notice and the audit trail (never the text itself).")
@USER_OPTION
@AS_SYSTEM_OPTION
def redact(line_ref: str, quarter: str, reason: str, user: str | None, as_system: bool) -> None:
    """Redact a stored update's text (every version of the quarter) and the kept files that hold it.

    The text becomes "[redacted by USER on DATE: REASON]" in the database and every later export; each kept
    file is replaced by a copy with those cells redacted. Audited.

    \b
    Example:
      python -m cyp redact --line 19-FB-1.2 --quarter "2025-26 Q3" --reason "child's NHS number"
    """
    engine = get_engine()
    try:
        with write_session(engine) as session:
            done = redact_update(
                session,
                acting_principal(user, as_system),
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
