"""What happens around the upload: reminders, sign-off, board questions."""

from __future__ import annotations

import click

from cyp.access.permissions import PermissionDenied
from cyp.cli.acting import AS_SYSTEM_OPTION, USER_OPTION, acting_principal
from cyp.cycle.mail import MailNotConfigured
from cyp.cycle.questions import QuestionError, ask_question, close_question
from cyp.cycle.reminders import run_reminders
from cyp.cycle.signoff import SignoffError, return_to_team, sign_off
from cyp.quarters import QuarterError
from cyp.read.questions import list_questions
from cyp.read.signoff import AWAITING, signoff_enabled, signoff_rows
from cyp.returns.lines import UnknownTeam
from cyp.storage.db import read_session, write_session


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be sent; claim and send nothing.")
def remind(dry_run: bool) -> None:
    """Send the reminders, digests and sent-back notices that are due (for cron or a systemd timer).

    Each email goes once only, even when several instances or runs overlap; one the mail server refused is
    tried again on the next run. The schedule is data/reminders.yaml; the mail server is CYP_SMTP_HOST.

    \b
    Example:
      python -m cyp remind --dry-run
    """
    try:
        report = run_reminders(dry_run=dry_run)
    except MailNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines:
        click.echo(line)
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


@click.group()
def signoff() -> None:
    """Sign off returns, or send them back with a reason (when CYP_SIGNOFF=1)."""


@signoff.command("list")
@click.option("--quarter", default=None, help="Only this quarter, e.g. '2025-26 Q3'.")
@click.option("--awaiting", is_flag=True, help="Only returns awaiting sign-off.")
def signoff_list(quarter: str | None, awaiting: bool) -> None:
    """List current returns and where each stands: awaiting sign-off, signed off, or returned.

    \b
    Example:
      python -m cyp signoff list --quarter "2025-26 Q3"
    """
    if not signoff_enabled():
        click.echo("Sign-off is switched off (CYP_SIGNOFF=0): every accepted return counts as it arrives.")
    try:
        with read_session() as session:
            rows = signoff_rows(session, quarter, state=AWAITING if awaiting else None)
    except QuarterError as exc:
        raise click.ClickException(str(exc)) from exc
    for row in rows:
        decided = f" by {row.decided_by}" + (f": {row.reason}" if row.reason else "") if row.decided_by else ""
        click.echo(f"{row.quarter}  {row.team} v{row.version} (uploaded by {row.uploaded_by}): {row.state}{decided}")
    click.echo(f"{len(rows)} return(s).")


def _decide(decision, *args, **kwargs):
    try:
        with write_session() as session:
            return decision(session, *args, **kwargs)
    except (SignoffError, PermissionDenied, QuarterError, UnknownTeam) as exc:
        raise click.ClickException(str(exc)) from exc


@signoff.command("approve")
@click.option("--team", required=True, help="Team name or ref.")
@click.option("--quarter", required=True, help="Quarter, e.g. '2025-26 Q3'.")
@click.option("--version", type=int, default=None, help="Refuse unless this is the current version.")
@USER_OPTION
@AS_SYSTEM_OPTION
def signoff_approve(team: str, quarter: str, version: int | None, user: str | None, as_system: bool) -> None:
    """Sign off a team's current return for a quarter.

    \b
    Example:
      python -m cyp signoff approve --team "Family Services" --quarter "2025-26 Q3" --user d.okafor
    """
    decision = _decide(sign_off, acting_principal(user, as_system), team, quarter, version=version)
    click.echo(f"Signed off return {decision.return_id} ({team}, {quarter}).")


@signoff.command("return")
@click.option("--team", required=True, help="Team name or ref.")
@click.option("--quarter", required=True, help="Quarter, e.g. '2025-26 Q3'.")
@click.option("--reason", required=True, help="What the team should change; emailed to its leads.")
@click.option("--version", type=int, default=None, help="Refuse unless this is the current version.")
@USER_OPTION
@AS_SYSTEM_OPTION
def signoff_return(
    team: str, quarter: str, reason: str, version: int | None, user: str | None, as_system: bool
) -> None:
    """Send a team's current return back with a reason; its leads are emailed by the next `remind` run.

    \b
    Example:
      python -m cyp signoff return --team "Family Services" --quarter "2025-26 Q3" --reason "Line 1.2 needs an update" \
        --user d.okafor
    """
    decision = _decide(return_to_team, acting_principal(user, as_system), team, quarter, reason, version=version)
    click.echo(f"Sent back return {decision.return_id} ({team}, {quarter}): {decision.reason}")


@click.group()
def question() -> None:
    """Board questions and actions on a line, carried into the team's next template until answered."""


def _question_step(step, *args, **kwargs):
    try:
        with write_session() as session:
            return step(session, *args, **kwargs)
    except (QuestionError, PermissionDenied) as exc:
        raise click.ClickException(str(exc)) from exc


@question.command("add")
@click.option("--line", "line_ref", required=True, help="The line's ref, e.g. 23-FB-1.1.")
@click.option("--quarter", required=True, help="The quarter the board was reviewing, e.g. '2025-26 Q3'.")
@click.option("--text", required=True, help="What the board asks (or the action it sets).")
@click.option("--action", "is_action", is_flag=True, help="An action for the team rather than a question.")
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Due by (YYYY-MM-DD).")
@USER_OPTION
@AS_SYSTEM_OPTION
def question_add(
    line_ref: str, quarter: str, text: str, is_action: bool, due, user: str | None, as_system: bool
) -> None:
    """Record a board question or action against a line for a quarter.

    \b
    Example:
      python -m cyp question add --line 23-FB-1.1 --quarter "2025-26 Q3" --text "Why is the hub late?" --user chair
    """
    kind = "action" if is_action else "question"
    asked = _question_step(
        ask_question,
        acting_principal(user, as_system),
        line_ref,
        quarter,
        text,
        kind=kind,
        due_by=due.date() if due else None,
    )
    click.echo(f"Recorded board {kind} {asked.id} on {line_ref} for {asked.quarter}.")


@question.command("list")
@click.option("--quarter", default=None, help="Only questions asked about this quarter.")
@click.option("--line", "line_ref", default=None, help="Only this line.")
@click.option("--team", "team_ref", default=None, help="Only lines this team (ref) reports.")
@click.option("--all", "show_all", is_flag=True, help="Closed questions too.")
def question_list(quarter: str | None, line_ref: str | None, team_ref: str | None, show_all: bool) -> None:
    """List board questions (open ones, unless --all), in plan order.

    \b
    Example:
      python -m cyp question list --quarter "2025-26 Q3"
    """
    try:
        with read_session() as session:
            rows = list_questions(
                session, open_only=not show_all, quarter=quarter, line_ref=line_ref, team_ref=team_ref
            )
    except QuarterError as exc:
        raise click.ClickException(str(exc)) from exc
    for row in rows:
        due = f", due by {row.due_by.isoformat()}" if row.due_by else ""
        state = "open" if row.is_open else f"closed: {row.answer or row.close_reason}"
        who = f"{row.line_ref} ({row.team or 'no team'}) {row.quarter}{due}, {row.kind} by {row.asked_by}"
        click.echo(f"#{row.id} {who}: {row.text} [{state}]")
    click.echo(f"{len(rows)} question(s).")


@question.command("close")
@click.argument("question_id", type=int)
@click.option("--reason", required=True, help="Why it is closed without an answer in a return.")
@USER_OPTION
@AS_SYSTEM_OPTION
def question_close(question_id: int, reason: str, user: str | None, as_system: bool) -> None:
    """Close an open board question with a reason (an answer in the team's return closes it by itself).

    \b
    Example:
      python -m cyp question close 3 --reason "Answered at the meeting" --user j.smith
    """
    _question_step(close_question, acting_principal(user, as_system), question_id, reason)
    click.echo(f"Closed board question {question_id}.")
