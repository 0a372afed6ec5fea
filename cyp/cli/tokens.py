"""Data API tokens: issue, list, revoke."""

from __future__ import annotations

import click

from cyp.access.tokens import TokenError, issue_token, list_tokens, revoke_token, token_state
from cyp.cli.acting import command_line_system
from cyp.storage.db import get_engine, read_session, write_session


@click.group()
def token() -> None:
    """Issue, list and revoke data API tokens (Power BI, Excel Power Query, R). Runs as the system."""


def _token_change(change, *args, **kwargs):
    """Run one token change as the system in its own transaction; token errors become clean messages."""
    try:
        with write_session(get_engine()) as session:
            return change(session, command_line_system(), *args, **kwargs)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc


@token.command("issue")
@click.argument("name")
@click.option("--plan", "plans", multiple=True, help="Plan ref the token may read (repeatable; default: every plan).")
@click.option("--commentary/--no-commentary", default=False, show_default=True, help="Include teams' commentary.")
@click.option("--days", default=90, show_default=True, help="Days until the token expires (at most 366).")
def token_issue(name: str, plans: tuple[str, ...], commentary: bool, days: int) -> None:
    """Issue a token; its secret is printed once and never stored (only its SHA-256 is).

    \b
    Example:
      python -m cyp token issue "Power BI performance team" --plan 2023-27 --days 180
      python -m cyp token issue "R analysis" --commentary
    """
    issued, secret = _token_change(issue_token, name, plans=plans, include_commentary=commentary, days=days)
    click.echo(
        f"Issued token {issued.id} ({issued.name}): plans {issued.plans.replace(',', ', ') or 'all'}; commentary "
        f"{'included' if issued.include_commentary else 'left out'}; expires {issued.expires_at:%Y-%m-%d}."
    )
    click.echo(f"Secret (shown only now; send it as 'Authorization: Bearer ...'):\n  {secret}")


@token.command("list")
def token_list() -> None:
    """List every token with its scope, expiry, state and last use (never the secrets).

    \b
    Example:
      python -m cyp token list
    """
    with read_session(get_engine()) as session:
        rows = [
            (
                str(item.id),
                item.prefix + "...",
                item.name,
                item.plans.replace(",", " ") or "all",
                "yes" if item.include_commentary else "no",
                f"{item.expires_at:%Y-%m-%d}",
                token_state(item),
                f"{item.last_used_at:%Y-%m-%d %H:%M}" if item.last_used_at else "-",
            )
            for item in list_tokens(session)
        ]
    header = ("id", "token", "name", "plans", "commentary", "expires", "state", "last used")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token (by the id or prefix `token list` shows); it is refused from its next request.

    \b
    Example:
      python -m cyp token revoke 3
    """
    revoked = _token_change(revoke_token, token_id)
    click.echo(f"Revoked token {revoked.id} ({revoked.name}).")
