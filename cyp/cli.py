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


@cli.group()
def framework() -> None:
    """Export and import the plan framework as a spreadsheet."""
