"""The status report of a quarter, as a table or JSON."""

from __future__ import annotations

import json

import click

from cyp.quarters import QuarterError
from cyp.read.reports import UnknownPlan, format_report_table, status_report
from cyp.read.signoff import returns_counted, signoff_enabled
from cyp.storage.db import get_engine, read_session


@click.command()
@click.option("--quarter", required=True, help="Quarter in any usual form, e.g. '2025-26 Q3' or 'Oct-Dec 2025'.")
@click.option("--plan", "plan_ref", default=None, help="Plan ref, e.g. 2019-23 (default: the plan covering it).")
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True, help="Output form."
)
@click.option(
    "--include-awaiting",
    is_flag=True,
    help="With sign-off on (CYP_SIGNOFF=1), count returns awaiting sign-off too (default: signed-off returns only).",
)
def report(quarter: str, plan_ref: str | None, output: str, include_awaiting: bool) -> None:
    """Print the status of every line and outcome for a quarter (JSON format: docs/report-json.md).

    With sign-off on, only signed-off returns are counted unless --include-awaiting is given; the JSON says which
    (``returns_counted``), as the data API does.

    \b
    Example:
      python -m cyp report --quarter "2025-26 Q3" --format json
    """
    signed_off_only = signoff_enabled() and not include_awaiting
    try:
        with read_session(get_engine()) as session:
            result = status_report(session, quarter, plan_ref, signed_off_only=signed_off_only)
    except (QuarterError, UnknownPlan) as exc:
        raise click.ClickException(str(exc)) from exc
    if output == "json":
        click.echo(
            json.dumps({**result, "returns_counted": returns_counted(signed_off_only)}, indent=2, ensure_ascii=False)
        )
    else:
        if signed_off_only:
            click.echo(f"Counting {returns_counted(signed_off_only)} (--include-awaiting to count the rest).")
        click.echo(format_report_table(result))
