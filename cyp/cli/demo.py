"""Demonstration data: generated returns for every team, labelled as demo data, and removing them (`demo`)."""

from __future__ import annotations

import click
from sqlalchemy import select
from tabulate import tabulate

from cyp.admin import clear_demo_data, load_demo
from cyp.cli.acting import command_line_system
from cyp.storage.db import get_engine, write_session
from cyp.storage.models import Return


@click.command()
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
    accounts: list[tuple[str, str, str]] = []
    with write_session(get_engine()) as session:
        if if_empty and not clear and session.scalar(select(Return.id).limit(1)) is not None:
            click.echo("The database already holds returns; no demo data generated.")
            return
        if clear:
            counts = clear_demo_data(session, command_line_system())
        else:
            counts, accounts = load_demo(session, command_line_system(), seed=seed)
    detail = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    click.echo(f"{'Removed' if clear else 'Generated'} demo data: {detail or 'nothing to do'}.")
    if accounts:
        click.echo(
            "Demo accounts (all but the administrator also shown on the sign-in page while demo data is loaded; "
            "the administrator's password is shown only here, now):"
        )
        click.echo(tabulate([(role, username, password) for username, password, role in accounts], tablefmt="plain"))
