"""The plan framework as a spreadsheet: export and import."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from cyp.access.permissions import SYSTEM
from cyp.admin import import_framework_as
from cyp.cli.acting import os_user
from cyp.framework.workbook import export_framework
from cyp.storage.db import read_session, write_session


@click.group()
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
    with read_session() as session:
        data = export_framework(session)
    out.write_bytes(data)
    click.echo(f"Wrote the framework to {out}.")


@framework.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", default=os_user, show_default="your login name", help="Who is importing, for the audit trail.")
def framework_import(path: Path, user: str) -> None:
    """Load an edited framework workbook: checked first, applied all-or-nothing.

    Prints a one-line summary, or every problem (sheet and cell) and exits 1
    without changing anything.

    \b
    Example:
      python -m cyp framework import framework.xlsx
    """
    with write_session() as session, path.open("rb") as stream:
        # The command line acts as the system; --user names the person in the audit trail.
        result = import_framework_as(session, replace(SYSTEM, username=user), stream, path.name)
    if not result.ok:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        click.echo(result.summary(), err=True)
        raise SystemExit(1)
    click.echo(result.summary())
