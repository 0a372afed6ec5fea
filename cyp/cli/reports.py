"""The status report of a quarter, as a table or JSON."""

from __future__ import annotations

import json

import click

from cyp.quarters import QuarterError
from cyp.read.reports import UnknownPlan, format_report_table, status_report
from cyp.storage.db import get_engine, read_session


@click.command()
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
    try:
        with read_session(get_engine()) as session:
            result = status_report(session, quarter, plan_ref)
    except (QuarterError, UnknownPlan) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2, ensure_ascii=False) if output == "json" else format_report_table(result))
