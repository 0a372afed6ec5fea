"""Display links that sign a meeting-room screen in."""

from __future__ import annotations

import click

from cyp.access.sessions import issue_display_link, list_display_links, revoke_display_link
from cyp.cli.acting import run_as_system
from cyp.cli.output import minute, table
from cyp.storage.config import get_settings
from cyp.storage.db import get_engine, read_session
from cyp.web.routes import DISPLAY_LINK_PATH


@click.group("display-link")
def display_link() -> None:
    """Links that sign a meeting-room screen in with the display role, until revoked."""


@display_link.command("issue")
@click.argument("label")
@click.option("--base-url", default=None, help="The app's address as the screen reaches it (default: CYP_PUBLIC_URL).")
def display_link_issue(label: str, base_url: str | None) -> None:
    """Issue a display link for a screen; the address is printed once (only its hash is stored).

    \b
    Example:
      python -m cyp display-link issue "Committee room 2" --base-url https://cyp.barnet.gov.uk
    """
    token = run_as_system(issue_display_link, label)
    base_url = base_url or get_settings().public_url
    click.echo(f"Display link for {' '.join(label.split())} (open it once on the screen; it is not shown again):")
    click.echo(f"{base_url.rstrip('/')}{DISPLAY_LINK_PATH}{token}")


@display_link.command("list")
def display_link_list() -> None:
    """List the display links: screen, state, screens signed in, who issued it and when (UTC).

    \b
    Example:
      python -m cyp display-link list
    """
    with read_session(get_engine()) as session:
        links = list_display_links(session)
    if not links:
        click.echo("No display links.")
        return
    rows = [
        (
            str(link.id),
            link.label,
            link.state,
            str(link.live_sessions),
            link.created_by,
            minute(link.created_at),
            minute(link.last_used_at),
        )
        for link in links
    ]
    table(("link", "screen", "state", "screens", "issued by", "issued", "last used"), rows)


@display_link.command("revoke")
@click.argument("link_id", type=int)
def display_link_revoke(link_id: int) -> None:
    """Revoke a display link: every screen it signed in shows the sign-in form at its next refresh.

    \b
    Example:
      python -m cyp display-link revoke 3
    """
    ended = run_as_system(revoke_display_link, link_id)
    click.echo(f"Revoked display link {link_id}; {ended} screen{'' if ended == 1 else 's'} signed out.")
