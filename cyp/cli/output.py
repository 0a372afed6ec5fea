"""How commands print what they list: fixed-width columns, and times to the minute."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import click


def table(header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    """Print ``rows`` under ``header`` in left-aligned columns, with a rule of dashes under the header."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def minute(moment: datetime | None) -> str:
    """``moment`` as "YYYY-MM-DD HH:MM", or "-" when there is none."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
