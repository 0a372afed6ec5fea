"""The command line: thin click commands over the same ``cyp`` functions the pages call.

Every command opens the database, calls one library function and prints its
result; none holds logic of its own.
"""

from __future__ import annotations

import click

from cyp.bootstrap import initialise_database
from cyp.db import get_engine


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

    from cyp.db import read_session
    from cyp.quarters import QuarterError
    from cyp.returns.lines import NothingToReport, UnknownTeam
    from cyp.returns.template import write_template

    try:
        with read_session(get_engine()) as session:
            data = write_template(session, team, quarter)
    except (UnknownTeam, QuarterError, NothingToReport) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    Path(out_path).write_bytes(data)
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
    click.echo(result.summary, err=not result.accepted)
    sys.exit(0 if result.accepted else 1)


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@cli.group()
def framework() -> None:
    """Export and import the plan framework as a spreadsheet."""
