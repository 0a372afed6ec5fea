"""Bringing a database to use: the schema and the plan framework (`init`)."""

from __future__ import annotations

import click

from cyp.bootstrap import initialise_database
from cyp.storage.db import get_engine


@click.command()
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
