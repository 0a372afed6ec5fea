"""Reminders to team leads, the weekly digest and sign-off notices: planned, claimed once, sent, retried.

A run (``python -m cyp remind``, or :func:`start_timer` in the app) works in three steps:

1. **Plan** what is due today from ``data/reminders.yaml``: for each quarter whose deadline is near, the one
   schedule step that has come, for every lead of every team whose return has not arrived; and the weekly
   digest for the performance team and directors.
2. **Claim** each email by inserting its unique key in a transaction of its own. A key already there was
   claimed by an earlier run (or another instance): it is never planned twice.
3. **Send** every claimed email not yet sent. Just before sending, the reasons not to are checked again (the
   return arrived, the account was disabled, the person opted out): then the email is dropped, with the reason.
   An attempt is taken with a conditional update, so two instances never send the same row; ``sent_at`` is set
   only after the mail server accepted the message, and a failure is recorded and tried again on a later run
   for ``retry_days``.

One run at a time holds the ``reminders`` lease (a row with an expiry), so instances sharing a database take
turns; a crashed run's lease expires after ``lease_minutes``. The emails carry facts (what is due, what is
missing, statuses, board questions), never a team's commentary. Reminders and digests end by saying why the
person gets them and where to stop them: the "Your account" page (:data:`ACCOUNT_PATH`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cyp.cycle.mail import (
    Attachment,
    Footer,
    MailFailed,
    MailServer,
    Outgoing,
    Section,
    build_message,
    check_mail_settings,
)
from cyp.cycle.recipients import opted_out_ids, team_leads, users_with_roles, why_not_mailed
from cyp.quarters import Quarter, current_quarter, parse_quarter, today
from cyp.read.changes import changes_since_last_quarter
from cyp.read.prefill import prefill_source
from cyp.read.queries import plan_action_ids
from cyp.read.questions import list_questions
from cyp.read.signoff import awaiting_signoff, signoff_enabled
from cyp.read.tracker import submission_tracker
from cyp.returns.lines import deadline_for, plan_for_quarter, team_indicators, team_lines
from cyp.returns.template import write_template
from cyp.storage.config import PROJECT_ROOT, get_settings
from cyp.storage.datafiles import load_data_file
from cyp.storage.db import get_engine, read_session, write_session
from cyp.storage.models import (
    Action,
    Indicator,
    Lease,
    MailSend,
    Outcome,
    Partner,
    Plan,
    Return,
    Signoff,
    User,
    utcnow,
)

logger = logging.getLogger(__name__)

REMINDERS_FILE = PROJECT_ROOT / "data" / "reminders.yaml"
LEASE_NAME = "reminders"
# The "Your account" page (app_pages/account.py; its URL path is its file name), where a person stops these emails.
ACCOUNT_PATH = "account"
# Why each role gets the weekly digest (which roles do is data/reminders.yaml's `digest: roles:`).
DIGEST_READERS = {
    "administrator": "you are on the performance team (an administrator of CYP Plan Monitor)",
    "viewer": "you are a director or a board member (a viewer in CYP Plan Monitor)",
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ScheduleError(ValueError):
    """``data/reminders.yaml`` says something that cannot be a schedule; the message names the entry."""


@dataclass(frozen=True)
class Step:
    """One reminder of the schedule: days from the deadline (negative: before) and its subject line."""

    days: int
    subject: str


@dataclass(frozen=True)
class Schedule:
    """The reminder schedule of ``data/reminders.yaml``."""

    steps: tuple[Step, ...]
    catch_up_days: int
    digest_weekday: int
    digest_roles: tuple[str, ...]
    digest_subject: str
    retry_days: int
    lease_minutes: int

    def step(self, days: int) -> Step:
        """The step ``days`` from the deadline."""
        return next(step for step in self.steps if step.days == days)


@cache
def load_schedule(path: Path = REMINDERS_FILE) -> Schedule:
    """Read and check the schedule file."""
    data: dict[str, Any] = load_data_file(path) or {}
    try:
        steps = tuple(sorted((Step(int(s["days"]), str(s["subject"])) for s in data["steps"]), key=lambda s: s.days))
        weekday = str(data["digest"]["weekday"]).strip().lower()
        if weekday not in WEEKDAYS:
            raise ScheduleError(f"{path.name}: digest weekday {weekday!r} is not a day of the week")
        if len({step.days for step in steps}) != len(steps):
            raise ScheduleError(f"{path.name}: two steps have the same number of days")
        # A subject naming a field that does not exist would fail at send time: refuse it now.
        for subject in [step.subject for step in steps] + [str(data["digest"]["subject"])]:
            try:
                subject.format(team="T", quarter="Q", deadline="D", week="W", iso_week="I")
            except (KeyError, IndexError, ValueError) as error:
                raise ScheduleError(
                    f"{path.name}: the subject {subject!r} uses {error}; use {{team}}, {{quarter}}, {{deadline}} "
                    "in steps and {week}, {quarter} in the digest"
                ) from None
        return Schedule(
            steps=steps,
            catch_up_days=int(data.get("catch_up_days", 3)),
            digest_weekday=WEEKDAYS.index(weekday),
            digest_roles=tuple(data["digest"]["roles"]),
            digest_subject=str(data["digest"]["subject"]),
            retry_days=int(data.get("retry_days", 7)),
            lease_minutes=int(data.get("lease_minutes", 15)),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ScheduleError):
            raise
        raise ScheduleError(f"{path.name} is not a reminder schedule ({type(error).__name__}: {error})") from None


def due_step(schedule: Schedule, deadline: date, day: date) -> Step | None:
    """The step whose time has come on ``day`` and whose successor's has not (the last lasts ``catch_up_days``)."""
    for index, step in enumerate(schedule.steps):
        start = deadline + timedelta(days=step.days)
        if index + 1 < len(schedule.steps):
            end = deadline + timedelta(days=schedule.steps[index + 1].days)
        else:
            end = start + timedelta(days=schedule.catch_up_days + 1)
        if start <= day < end:
            return step
    return None


@dataclass(frozen=True)
class Planned:
    """An email a run means to send, by its unique key."""

    key: str
    kind: str
    user_id: int
    partner_id: int | None = None
    quarter: str | None = None


def reminder_key(quarter: str, partner_id: int, days: int, user_id: int) -> str:
    """The unique key of one reminder: quarter, team, schedule step and person."""
    return f"reminder:{quarter}:{partner_id}:{days}:{user_id}"


def digest_key(day: date, user_id: int) -> str:
    """The unique key of one person's digest for the ISO week of ``day``."""
    year, week, _ = day.isocalendar()
    return f"digest:{year}-W{week:02d}:{user_id}"


def _reporting_teams(session: Session, plan: Plan) -> list[Partner]:
    """The teams that report a line or an indicator of the plan, by name."""
    plan_actions = plan_action_ids(plan.ref)
    plan_indicators = (
        select(Indicator.id).join(Outcome, Outcome.id == Indicator.outcome_id).where(Outcome.plan_id == plan.id)
    )
    reporting = or_(
        Partner.id.in_(select(Action.reporting_partner_id).where(Action.id.in_(plan_actions))),
        Partner.id.in_(select(Indicator.reporting_partner_id).where(Indicator.id.in_(plan_indicators))),
    )
    return list(session.scalars(select(Partner).where(reporting).order_by(Partner.name)))


def _has_return(session: Session, partner_id: int, quarter: str) -> bool:
    return (
        session.scalar(select(Return.id).where(Return.partner_id == partner_id, Return.quarter == quarter).limit(1))
        is not None
    )


def candidate_quarters(day: date) -> list[Quarter]:
    """The quarters whose deadline can fall near ``day``: this one and the two before it."""
    this = current_quarter(day)
    return [this.previous().previous(), this.previous(), this]


def plan_emails(session: Session, day: date, schedule: Schedule | None = None) -> list[Planned]:
    """Every email due on ``day``: reminders for returns not yet arrived, and this week's digest once its day came."""
    schedule = schedule or load_schedule()
    opted_out = opted_out_ids(session)
    planned: list[Planned] = []
    for quarter in candidate_quarters(day):
        step = due_step(schedule, deadline_for(session, quarter), day)
        plan = plan_for_quarter(session, quarter) if step else None
        if step is None or plan is None:
            continue
        for team in _reporting_teams(session, plan):
            if _has_return(session, team.id, quarter.label):
                continue
            for lead in team_leads(session, team.id):
                if why_not_mailed(lead, opted_out) is None:
                    planned.append(
                        Planned(
                            reminder_key(quarter.label, team.id, step.days, lead.id),
                            "reminder",
                            lead.id,
                            team.id,
                            quarter.label,
                        )
                    )
    if day.weekday() >= schedule.digest_weekday:
        for reader in users_with_roles(session, schedule.digest_roles):
            if why_not_mailed(reader, opted_out) is None:
                planned.append(
                    Planned(digest_key(day, reader.id), "digest", reader.id, None, digest_quarter(day).label)
                )
    return planned


def digest_quarter(day: date) -> Quarter:
    """The quarter a digest on ``day`` is about: the last one that has ended."""
    return current_quarter(day).previous()


def _fmt(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _missing_elsewhere(session: Session, partner: Partner, quarter: Quarter, day: date) -> list[str]:
    """The team's other returns past their deadline and not arrived, in the last year."""
    missing = []
    for earlier in (quarter.previous().previous().previous(), quarter.previous().previous(), quarter.previous()):
        plan = plan_for_quarter(session, earlier)
        if plan is None or not (team_lines(session, partner, plan) or team_indicators(session, partner, plan)):
            continue
        deadline = deadline_for(session, earlier)
        if deadline < day and not _has_return(session, partner.id, earlier.label):
            missing.append(f"{earlier.label} (was due {_fmt(deadline)})")
    return missing


def _template_attachment(session: Session, partner: Partner, quarter: Quarter) -> tuple[Attachment, str]:
    data = write_template(session, partner.ref, quarter)
    note = prefill_source(session, partner, quarter).note
    name = f"CYP return {partner.ref} {quarter.label}.xlsx".replace(" ", "-")
    return Attachment(name, data), note


def _greeting(user: User) -> str:
    return f"Dear {user.display_name or user.username},"


def account_url() -> str:
    """The address of the "Your account" page, where a person stops (or restarts) the reminders and digests."""
    return f"{get_settings().public_url}/{ACCOUNT_PATH}"


def reminder_footer(partner: Partner) -> Footer:
    """Why a lead gets a reminder, and where to stop them."""
    return Footer(f"You get this email because you are a lead of {partner.name} in CYP Plan Monitor.", account_url())


def digest_footer(user: User) -> Footer:
    """Why this person gets the weekly digest (their role), and where to stop it."""
    why = DIGEST_READERS.get(user.role, f"your role in CYP Plan Monitor ({user.role}) is one the digest goes to")
    return Footer(f"You get this weekly digest because {why}.", account_url())


def compose_reminder(
    session: Session, user: User, partner: Partner, quarter: Quarter, step: Step, day: date
) -> Outgoing:
    """A lead's reminder: what is due, the pre-filled template, the link to upload, and what else is missing."""
    plan = plan_for_quarter(session, quarter)
    assert plan is not None
    deadline = deadline_for(session, quarter)
    lines, indicators = team_lines(session, partner, plan), team_indicators(session, partner, plan)
    attachment, note = _template_attachment(session, partner, quarter)
    if day < deadline:
        when = f"is due by {_fmt(deadline)}"
    elif day == deadline:
        when = f"is due today, {_fmt(deadline)}"
    else:
        when = f"was due on {_fmt(deadline)} and has not arrived"
    due = [f"{len(lines)} line{'s' if len(lines) != 1 else ''} of {plan.title} to give a status and update for"]
    if indicators:
        due.append(f"{len(indicators)} indicator{'s' if len(indicators) != 1 else ''} to give the latest figure for")
    due.append(f"Deadline: {_fmt(deadline)}")
    missing = _missing_elsewhere(session, partner, quarter, day)
    sections = [
        Section("What is due", (f"The {partner.name} return for {quarter.label} {when}.",), due),
        Section("Your template", (f"The return workbook for {partner.name}, {quarter.label} is attached. {note}",)),
        Section(
            "Still missing",
            (f"Also not yet received from {partner.name}:",)
            if missing
            else (f"Nothing else is missing from {partner.name}.",),
            missing,
        ),
    ]
    subject = step.subject.format(team=partner.name, quarter=quarter.label, deadline=_fmt(deadline))
    link = ("Upload your return", f"{get_settings().public_url}/upload")
    return Outgoing(
        [user.email or ""], subject, _greeting(user), sections, link, (attachment,), reminder_footer(partner)
    )


def compose_digest(session: Session, user: User, day: date, schedule: Schedule) -> Outgoing:
    """The weekly digest: returns received, late and missing, new Reds, open board questions (and sign-off)."""
    quarter = digest_quarter(day)
    rows = submission_tracker(session, quarter)
    received = [f"{row.team} ({row.state.lower()}, version {row.version})" for row in rows if row.version is not None]
    late = [f"{row.team}: arrived after the deadline of {_fmt(row.deadline)}" for row in rows if row.state == "Late"]
    missing = [
        f"{row.team}: {'overdue since' if day > row.deadline else 'due by'} {_fmt(row.deadline)}"
        for row in rows
        if row.version is None
    ]
    plan = plan_for_quarter(session, quarter)
    reds: list[str] = []
    questions: list[str] = []
    if plan is not None:
        changes = changes_since_last_quarter(session, plan.ref, quarter, signed_off_only=signoff_enabled())
        reds = [f"{c.ref} ({c.team or 'no team'}): {c.before} → Red" for c in changes.new_reds]
        for question in list_questions(session, plan_ref=plan.ref):
            due = f", due by {_fmt(question.due_by)}" if question.due_by else ""
            questions.append(
                f"{question.line_ref} ({question.team or 'no team'}), asked {question.quarter}{due}: {question.text}"
            )
    none = ("None.",)
    sections = [
        Section(f"Received ({len(received)})", () if received else none, received),
        Section(f"Late ({len(late)})", () if late else none, late),
        Section(f"Missing ({len(missing)})", () if missing else none, missing),
        Section(f"New Reds ({len(reds)})", () if reds else none, reds),
        Section(f"Open board questions ({len(questions)})", () if questions else none, questions),
    ]
    if signoff_enabled():
        waiting = [f"{row.team} {row.quarter} version {row.version}" for row in awaiting_signoff(session)]
        sections.append(Section(f"Awaiting sign-off ({len(waiting)})", () if waiting else none, waiting))
    year, week, _ = day.isocalendar()
    monday = day - timedelta(days=day.weekday())
    subject = schedule.digest_subject.format(week=_fmt(monday), quarter=quarter.label, iso_week=f"{year}-W{week:02d}")
    opening = f"{_greeting(user)} here is where the {quarter.label} returns stand on {_fmt(day)}."
    return Outgoing(
        [user.email or ""],
        subject,
        opening,
        sections,
        ("Open the submission tracker", f"{get_settings().public_url}/tracker"),
        footer=digest_footer(user),
    )


def compose_returned(session: Session, user: User, ret: Return, decision: Signoff) -> Outgoing:
    """The notice to a lead that an approver sent their return back, with the reason and a fresh template."""
    partner = ret.partner
    quarter = parse_quarter(ret.quarter)
    attachment, note = _template_attachment(session, partner, quarter)
    sections = [
        Section(
            "What the approver said",
            (
                f"{decision.decided_by} sent back version {ret.version} of the {partner.name} return for "
                f"{ret.quarter} on {_fmt(decision.decided_at.date())}. The reason given:",
                decision.reason or "",
            ),
        ),
        Section(
            "What to do",
            (f"Correct the return and upload it again. The attached template is {note[0].lower()}{note[1:]}",),
        ),
    ]
    subject = f"{partner.name}: your {ret.quarter} return was sent back by {decision.decided_by}"
    link = ("Upload a corrected return", f"{get_settings().public_url}/upload")
    return Outgoing([user.email or ""], subject, _greeting(user), sections, link, (attachment,))


def as_aware(moment: datetime) -> datetime:
    """A stored time as aware UTC (SQLite returns naive UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _why_dropped(session: Session, row: MailSend, user: User | None, opted_out: set[int]) -> str | None:
    reason = why_not_mailed(user, opted_out)
    if reason is not None:
        return reason
    if (
        row.kind == "reminder"
        and row.partner_id is not None
        and row.quarter
        and _has_return(session, row.partner_id, row.quarter)
    ):
        return "the return arrived"
    if row.kind == "returned":
        return_id = int(row.key.split(":")[1])
        current = session.scalar(
            select(Return.id).where(
                Return.partner_id == row.partner_id, Return.quarter == row.quarter, Return.is_current
            )
        )
        if current != return_id:
            return "a new version was uploaded"
    return None


def compose(session: Session, row: MailSend, user: User, day: date, schedule: Schedule) -> Outgoing:
    """The email of a claimed row, built from what the database says now."""
    if row.kind == "reminder":
        _, quarter, partner_id, days, _user = row.key.split(":")
        partner = session.get(Partner, int(partner_id))
        assert partner is not None
        return compose_reminder(session, user, partner, parse_quarter(quarter), schedule.step(int(days)), day)
    if row.kind == "digest":
        return compose_digest(session, user, day, schedule)
    if row.kind == "returned":
        ret = session.get(Return, int(row.key.split(":")[1]))
        decision = session.get(Signoff, ret.id) if ret else None
        assert ret is not None and decision is not None
        return compose_returned(session, user, ret, decision)
    raise ValueError(f"unknown kind of email {row.kind!r}")


@dataclass
class RunReport:
    """What one run did; ``lines`` say it in words, one per email."""

    dry_run: bool = False
    ran: bool = True
    planned: int = 0
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line and the log."""
        if not self.ran:
            return "Another instance is sending reminders now; nothing done."
        if self.dry_run:
            return f"Dry run: {self.planned} email(s) due, {self.claimed} not yet claimed; nothing sent."
        return (
            f"{self.claimed} new email(s) claimed; {self.sent} sent, {self.failed} failed (tried again next run), "
            f"{self.dropped} dropped."
        )


def _rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE changed (``Session.execute`` returns a CursorResult for it, typed as any Result)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"expected the CursorResult of an UPDATE, got {type(result).__name__}")
    return result.rowcount


def acquire_lease(engine: Engine, name: str, holder: str, minutes: int) -> bool:
    """Take the named lease for ``minutes`` if it is free or expired; each attempt is its own transaction."""
    now = utcnow()
    expires = now + timedelta(minutes=minutes)
    with write_session(engine) as session:
        taken = _rows_changed(
            session.execute(
                update(Lease)
                .where(Lease.name == name, or_(Lease.expires_at < now, Lease.holder == holder))
                .values(holder=holder, expires_at=expires)
            )
        )
    if taken:
        return True
    try:
        with write_session(engine) as session:
            session.execute(insert(Lease).values(name=name, holder=holder, expires_at=expires))
        return True
    except IntegrityError:
        return False


def release_lease(engine: Engine, name: str, holder: str) -> None:
    """Give the lease back (only if still ours)."""
    with write_session(engine) as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def _claim(engine: Engine, planned: Planned) -> bool:
    """Insert the key in a transaction of its own; False when it was already there (claimed before)."""
    try:
        with write_session(engine) as session:
            session.execute(
                insert(MailSend).values(
                    key=planned.key,
                    kind=planned.kind,
                    user_id=planned.user_id,
                    partner_id=planned.partner_id,
                    quarter=planned.quarter,
                    created_at=utcnow(),
                    attempts=0,
                )
            )
        return True
    except IntegrityError:
        return False


def _take_attempt(engine: Engine, row_id: int, attempts: int) -> bool:
    """Count one attempt on the row, only if nobody else did since we read it (so one sender per attempt)."""
    with write_session(engine) as session:
        return bool(
            _rows_changed(
                session.execute(
                    update(MailSend)
                    .where(
                        MailSend.id == row_id,
                        MailSend.sent_at.is_(None),
                        MailSend.dropped.is_(None),
                        MailSend.attempts == attempts,
                    )
                    .values(attempts=attempts + 1, last_attempt_at=utcnow())
                )
            )
        )


def _set(engine: Engine, row_id: int, **values: Any) -> None:
    with write_session(engine) as session:
        session.execute(update(MailSend).where(MailSend.id == row_id).values(**values))


def _deliver(
    engine: Engine, day: date, schedule: Schedule, report: RunReport, server_factory: Callable[[], MailServer]
) -> None:
    with read_session(engine) as session:
        pending = list(
            session.execute(
                select(MailSend.id, MailSend.attempts)
                .where(MailSend.sent_at.is_(None), MailSend.dropped.is_(None))
                .order_by(MailSend.id)
            )
        )
    if not pending:
        return
    give_up_before = utcnow() - timedelta(days=schedule.retry_days)
    with server_factory() as server:
        for row_id, attempts in pending:
            with read_session(engine) as session:
                row = session.get(MailSend, row_id)
                assert row is not None
                user = session.get(User, row.user_id) if row.user_id is not None else None
                reason = _why_dropped(session, row, user, opted_out_ids(session))
                created = (
                    row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=give_up_before.tzinfo)
                )
                if reason is None and created < give_up_before:
                    reason = f"given up after {row.attempts} attempts: {row.last_error or 'not sent'}"
                if reason is not None:
                    _set(engine, row_id, dropped=reason[:200])
                    report.dropped += 1
                    report.lines.append(f"dropped {row.key}: {reason}")
                    continue
                assert user is not None
                message = build_message(compose(session, row, user, day, schedule))
            if not _take_attempt(engine, row_id, attempts):
                continue  # another instance is on it
            try:
                server.send(message)
            except MailFailed as error:
                _set(engine, row_id, last_error=str(error)[:2000])
                report.failed += 1
                report.lines.append(f"failed {row.key}: {error}")
                continue
            _set(engine, row_id, sent_at=utcnow(), last_error=None)
            report.sent += 1
            report.lines.append(f"sent {row.key} to {message['To']}: {message['Subject']}")


def run_reminders(
    *,
    engine: Engine | None = None,
    day: date | None = None,
    dry_run: bool = False,
    schedule: Schedule | None = None,
    server_factory: Callable[[], MailServer] = MailServer,
) -> RunReport:
    """Plan, claim and send what is due (see the module docstring); ``dry_run`` only says what would be sent.

    Raises :class:`~cyp.cycle.mail.MailNotConfigured` when no mail server is set (a dry run needs none).
    """
    engine = engine or get_engine()
    day = day or today()
    schedule = schedule or load_schedule()
    report = RunReport(dry_run=dry_run)
    if dry_run:
        with read_session(engine) as session:
            planned = plan_emails(session, day, schedule)
            existing = set(session.scalars(select(MailSend.key).where(MailSend.key.in_([p.key for p in planned]))))
            for item in planned:
                user = session.get(User, item.user_id)
                state = "already claimed" if item.key in existing else "would send"
                report.lines.append(
                    f"{state}: {item.kind} {item.quarter or ''} to {user.email if user else '?'} ({item.key})"
                )
        report.planned, report.claimed = len(planned), len([p for p in planned if p.key not in existing])
        return report
    check_mail_settings()
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not acquire_lease(engine, LEASE_NAME, holder, schedule.lease_minutes):
        report.ran = False
        return report
    try:
        with read_session(engine) as session:
            planned = plan_emails(session, day, schedule)
        report.planned = len(planned)
        report.claimed = sum(_claim(engine, item) for item in planned)
        _deliver(engine, day, schedule, report, server_factory)
    finally:
        release_lease(engine, LEASE_NAME, holder)
    return report


_timer_lock = threading.Lock()
_timer: threading.Thread | None = None
# Set to end the timer's loop; a new event for each thread started.
_timer_stop: threading.Event | None = None


def start_timer(every_minutes: float | None = None, *, engine: Engine | None = None) -> threading.Thread | None:
    """Run the reminders in this process every ``every_minutes`` (default ``CYP_REMIND_EVERY_MINUTES``; 0: never).

    ``CYP_REMIND_EVERY_SECONDS``, when above 0, gives the default period in seconds instead (tests, demonstrations).

    Safe to call on every page load: one daemon thread per process, and the lease lets one instance send at a time.
    """
    global _timer, _timer_stop
    settings = get_settings()
    if every_minutes is not None:
        minutes = every_minutes
    elif settings.remind_every_seconds > 0:
        minutes = settings.remind_every_seconds / 60
    else:
        minutes = settings.remind_every_minutes
    if minutes <= 0:
        return None
    with _timer_lock:
        if _timer is not None and _timer.is_alive():
            return _timer
        stop = threading.Event()

        def loop() -> None:
            delay = 0.0  # the first run at once, then every `minutes`
            while not stop.wait(delay):
                delay = minutes * 60.0
                try:
                    report = run_reminders(engine=engine)
                    logger.info("reminders: %s", report.summary())
                except Exception:  # noqa: BLE001 - a failed run is logged and tried again on the next tick
                    logger.exception("reminder run failed")

        _timer = threading.Thread(target=loop, name="cyp-reminders", daemon=True)
        _timer_stop = stop
        _timer.start()
        return _timer


def stop_timer() -> None:
    """Stop the in-process timer (tests, shutdown)."""
    global _timer, _timer_stop
    with _timer_lock:
        if _timer is not None:
            if _timer_stop is not None:
                _timer_stop.set()
            _timer.join(timeout=5)
            _timer = _timer_stop = None
