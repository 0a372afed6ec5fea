"""The board pack of a quarter, as PDF or Excel."""

from __future__ import annotations

from pathlib import Path

import click

from cyp.board.data import BoardPackError
from cyp.board.excel import board_pack_xlsx
from cyp.board.pdf import board_pack_pdf
from cyp.quarters import QuarterError
from cyp.read.reports import UnknownPlan
from cyp.storage.db import get_engine, read_session


@click.command()
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
