"""Reminders and digests over a real SMTP server on loopback: received once, with both parts and the template."""

from __future__ import annotations

import email
import io
import os
import socket
import threading
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, select, update

from cyp.access.accounts import create_user, disable_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.cli import cli
from cyp.cycle.mail import MailNotConfigured, Outgoing, Section, render_html
from cyp.cycle.questions import ask_question
from cyp.cycle.recipients import set_opt_out
from cyp.cycle.reminders import (
    LEASE_NAME,
    acquire_lease,
    due_step,
    load_schedule,
    release_lease,
    run_reminders,
)
from cyp.cycle.signoff import return_to_team
from cyp.storage.db import read_session, write_session
from cyp.storage.models import Lease, MailSend, Partner, User, utcnow
from tests.readside_factory import add_return
from tests.returns_factory import build_framework
from tests.test_pages_account import open_page as open_account_page

pytestmark = pytest.mark.both_databases

# 2025-26 Q3 is due on 31 January 2026 (quarter end plus 31 days); 28 January is the "3 days before" step.
THREE_DAYS_BEFORE = date(2026, 1, 28)  # a Wednesday


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """An SMTP handler that keeps every message, and refuses the first ``refuse`` with a temporary error."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.original_content, policy=default)
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if address in rcpt]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CYP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CYP_SMTP_PORT", str(port))
    monkeypatch.setenv("CYP_SMTP_SECURITY", "none")
    monkeypatch.setenv("CYP_MAIL_FROM", "cyp-plan@barnet.example")
    monkeypatch.setenv("CYP_MAIL_REPLY_TO", "performance@barnet.example")
    monkeypatch.setenv("CYP_PUBLIC_URL", "https://cyp.barnet.example/")
    yield recorder
    controller.stop()


@pytest.fixture
def cycle(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("CYP_TODAY", THREE_DAYS_BEFORE.isoformat())
    with write_session(engine) as session:
        build_framework(session)
        create_user(
            session,
            SYSTEM,
            "a.lee",
            "lead",
            email="a.lee@barnet.example",
            display_name="Ada Lee",
            teams=["family-services"],
        )
        create_user(session, SYSTEM, "b.khan", "lead", email="b.khan@barnet.example", teams=["family-services"])
        create_user(session, SYSTEM, "c.ode", "lead", email="c.ode@barnet.example", teams=["public-health"])
    return engine


def run(engine: Engine, day: date = THREE_DAYS_BEFORE, **kw):  # type: ignore[no-untyped-def]
    return run_reminders(engine=engine, day=day, **kw)


def sends(engine: Engine) -> list[tuple[str, bool, str | None]]:
    with read_session(engine) as session:
        rows = session.execute(select(MailSend.key, MailSend.sent_at, MailSend.dropped).order_by(MailSend.key))
        return [(key, sent is not None, dropped) for key, sent, dropped in rows]


def test_the_schedule_sends_the_latest_step_that_has_come() -> None:
    schedule = load_schedule()
    deadline = date(2026, 1, 31)
    assert [s.days for s in schedule.steps] == [-14, -3, 0, 3, 10]
    assert due_step(schedule, deadline, date(2026, 1, 16)) is None
    assert due_step(schedule, deadline, date(2026, 1, 17)).days == -14
    assert due_step(schedule, deadline, date(2026, 1, 29)).days == -3
    assert due_step(schedule, deadline, deadline).days == 0
    assert due_step(schedule, deadline, date(2026, 2, 12)).days == 10
    assert due_step(schedule, deadline, date(2026, 2, 13)).days == 10  # catch-up for a missed run
    assert due_step(schedule, deadline, date(2026, 2, 14)) is None


def test_each_lead_gets_one_reminder_with_both_parts_the_template_and_the_link(cycle: Engine, smtp: Recorder) -> None:
    report = run(cycle)
    assert (report.sent, report.failed) == (3, 0)
    [message] = smtp.to("a.lee@barnet.example")
    assert message["Subject"] == "Family Services: your 2025-26 Q3 return is due in 3 days"
    assert (message["From"], message["Reply-To"]) == ("cyp-plan@barnet.example", "performance@barnet.example")
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Dear Ada Lee,\n")
    assert "The Family Services return for 2025-26 Q3 is due by 31 January 2026." in text
    assert "  * 2 lines of Test plan 2023–2027 to give a status and update for" in text
    assert "Upload your return: https://cyp.barnet.example/upload" in text
    # What else the team owes: the plan's earlier quarters, never returned in this test.
    assert (
        "Still missing\n-------------\nAlso not yet received from Family Services:\n"
        "  * 2024-25 Q4 (was due 1 May 2025)\n  * 2025-26 Q1 (was due 31 July 2025)\n"
        "  * 2025-26 Q2 (was due 31 October 2025)\n"
    ) in text
    page = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert '<html lang="en-GB">' in page and "<h1" in page and '<h2 style="font-size: 18px;">What is due</h2>' in page
    assert '<a href="https://cyp.barnet.example/upload">Upload your return</a>' in page
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "CYP-return-family-services-2025-26-Q3.xlsx"
    workbook = load_workbook(io.BytesIO(attachment.get_content()))
    about = {row[0].value: row[1].value for row in workbook["About"].iter_rows()}
    assert (about["Team ref"], about["Quarter"]) == ("family-services", "2025-26 Q3")
    assert workbook["Return"]["A9"].value == "T23-1.1"
    assert [m["Subject"] for m in smtp.to("c.ode@barnet.example")] == [
        "Public Health: your 2025-26 Q3 return is due in 3 days"
    ]
    # The next run, and a run the next day (same step), send nothing again.
    assert run(cycle).claimed == 0 and run(cycle, date(2026, 1, 29)).sent == 0
    assert len(smtp.received) == 3


def test_never_to_a_disabled_account_an_opted_out_person_or_after_the_return_arrived(
    cycle: Engine, smtp: Recorder
) -> None:
    with write_session(cycle) as session:
        disable_user(session, SYSTEM, "b.khan")
        set_opt_out(session, Principal("c.ode", "lead", frozenset({"public-health"})), "c.ode")
    run(cycle)
    assert [rcpt for rcpt, _ in smtp.received] == [["a.lee@barnet.example"]]
    with write_session(cycle) as session:
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Green"})
    assert run(cycle, date(2026, 1, 31)).claimed == 0  # on the day: the return is in, nothing planned
    assert len(smtp.received) == 1


def test_a_reminder_claimed_before_the_return_arrived_is_dropped_not_sent(cycle: Engine, smtp: Recorder) -> None:
    smtp.refuse = 10
    first = run(cycle)
    assert (first.sent, first.failed) == (0, 3)
    with write_session(cycle) as session:
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Green"})
    smtp.refuse = 0
    second = run(cycle)
    assert (second.sent, second.dropped) == (1, 2)
    assert [rcpt for rcpt, _ in smtp.received] == [["c.ode@barnet.example"]]
    assert [dropped for _, _, dropped in sends(cycle)].count("the return arrived") == 2


def test_a_refusing_then_accepting_server_delivers_each_reminder_exactly_once(cycle: Engine, smtp: Recorder) -> None:
    smtp.refuse = 2  # the first two messages get "451 try again later"
    first = run(cycle)
    assert (first.claimed, first.sent, first.failed) == (3, 1, 2)
    with read_session(cycle) as session:
        failed = session.scalars(select(MailSend).where(MailSend.sent_at.is_(None))).all()
        assert len(failed) == 2 and all("451" in row.last_error and row.attempts == 1 for row in failed)
    second = run(cycle)
    assert (second.claimed, second.sent, second.failed) == (0, 2, 0)
    assert sorted(r[0] for r, _ in smtp.received) == [
        "a.lee@barnet.example",
        "b.khan@barnet.example",
        "c.ode@barnet.example",
    ]
    assert run(cycle).sent == 0 and len(smtp.received) == 3


def test_a_mail_server_that_is_down_loses_nothing(
    cycle: Engine, smtp: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_port = os.environ["CYP_SMTP_PORT"]
    monkeypatch.setenv("CYP_SMTP_PORT", str(free_port()))  # nothing listens there
    down = run(cycle)
    assert (down.claimed, down.sent, down.failed) == (3, 0, 3)
    assert all("Connection refused" in line or "said" in line for line in down.lines)
    monkeypatch.setenv("CYP_SMTP_PORT", real_port)
    up = run(cycle)
    assert (up.sent, len(smtp.received)) == (3, 3)


def test_overlapping_runs_send_each_email_once(cycle: Engine, smtp: Recorder) -> None:
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(run(cycle))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whichever runs got the lease, every email arrived once; a run that found the lease taken did nothing.
    run(cycle)
    assert sorted(r[0] for r, _ in smtp.received) == [
        "a.lee@barnet.example",
        "b.khan@barnet.example",
        "c.ode@barnet.example",
    ]
    assert sum(report.sent for report in reports) <= 3


def test_keys_are_unique_in_the_database(cycle: Engine, smtp: Recorder) -> None:
    run(cycle)
    with pytest.raises(Exception, match="(?i)unique|duplicate"), write_session(cycle) as session:
        key = session.scalar(select(MailSend.key).limit(1))
        session.add(MailSend(key=key, kind="reminder"))


def test_the_lease_lets_one_holder_run_until_it_is_released_or_expires(cycle: Engine) -> None:
    assert acquire_lease(cycle, LEASE_NAME, "one", 15)
    assert not acquire_lease(cycle, LEASE_NAME, "two", 15)
    assert acquire_lease(cycle, LEASE_NAME, "one", 15)  # the holder may renew
    release_lease(cycle, LEASE_NAME, "two")  # not its lease: nothing happens
    assert not acquire_lease(cycle, LEASE_NAME, "two", 15)
    with write_session(cycle) as session:
        session.execute(update(Lease).values(expires_at=utcnow() - timedelta(hours=1)))
    assert acquire_lease(cycle, LEASE_NAME, "two", 15)  # the crashed holder's lease expired
    release_lease(cycle, LEASE_NAME, "two")
    assert acquire_lease(cycle, LEASE_NAME, "three", 15)


def test_a_run_while_another_holds_the_lease_does_nothing(cycle: Engine, smtp: Recorder) -> None:
    assert acquire_lease(cycle, LEASE_NAME, "elsewhere", 15)
    report = run(cycle)
    assert not report.ran and report.summary() == "Another instance is sending reminders now; nothing done."
    assert smtp.received == [] and sends(cycle) == []


def test_the_weekly_digest_goes_to_the_performance_team_and_directors(cycle: Engine, smtp: Recorder) -> None:
    with write_session(cycle) as session:
        create_user(session, SYSTEM, "perf", "administrator", email="perf@barnet.example")
        create_user(session, SYSTEM, "director", "viewer", email="director@barnet.example")
        create_user(session, SYSTEM, "screen", "display", email="screen@barnet.example")
        add_return(session, "family-services", "2025-26 Q2", {"T23-1.1": "Green", "T23-1.2": "Green"})
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Red", "T23-1.2": "Green"})
        ask_question(session, SYSTEM, "T23-1.1", "2025-26 Q3", "What <b>happened</b>?")
    monday = date(2026, 2, 2)  # 2025-26 Q3 was due on 31 January
    run(cycle, monday)
    [digest] = smtp.to("director@barnet.example")
    assert digest["Subject"] == "CYP Plan returns, week of 2 February 2026: 2025-26 Q3"
    text = digest.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Received (1)\n------------\n  * Family Services (on time, version 1)" in text
    assert "Missing (1)\n-----------\n  * Public Health: overdue since 31 January 2026" in text
    assert "New Reds (1)\n------------\n  * T23-1.1 (Family Services): Green → Red" in text
    assert "T23-1.1 (Family Services), asked 2025-26 Q3: What <b>happened</b>?" in text
    page = digest.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert "What &lt;b&gt;happened&lt;/b&gt;?" in page and "<b>happened" not in page
    assert "update for 2025-26 Q3" not in text + page  # commentary never travels by email
    assert len(smtp.to("perf@barnet.example")) == 1 and smtp.to("screen@barnet.example") == []
    run(cycle, date(2026, 2, 5))  # later the same week: no second digest
    assert len(smtp.to("director@barnet.example")) == 1


def test_a_return_sent_back_tells_the_leads_with_the_reason(cycle: Engine, smtp: Recorder) -> None:
    with write_session(cycle) as session:
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Green", "T23-1.2": "Amber"})
        return_to_team(session, SYSTEM, "Family Services", "2025-26 Q3", "Give 1.2 a date & a plan")
    run(cycle)
    [notice] = smtp.to("b.khan@barnet.example")
    assert notice["Subject"] == "Family Services: your 2025-26 Q3 return was sent back by system"
    assert "Give 1.2 a date & a plan" in notice.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Give 1.2 a date &amp; a plan" in notice.get_body(("html",)).get_content().replace("\r\n", "\n")
    [attachment] = list(notice.iter_attachments())
    assert load_workbook(io.BytesIO(attachment.get_content()))["Return"]["A2"].value.startswith(
        "Pre-filled from version 1 of 2025-26 Q3"
    )


def test_html_escapes_everything_and_names_meaning_in_words() -> None:
    page = render_html(
        Outgoing(
            ["x@example.org"],
            'Team "<script>"',
            "Hello & welcome",
            [Section("Red <lines>", ("a<b",), ("c>d",))],
            ("Go", 'https://x/?a=1&b="2"'),
        )
    )
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert '<h2 style="font-size: 18px;">Red &lt;lines&gt;</h2>' in page and "<li>c&gt;d</li>" in page
    assert 'href="https://x/?a=1&amp;b=&quot;2&quot;"' in page


def test_remind_command_dry_run_then_send(cycle: Engine, smtp: Recorder) -> None:
    runner = CliRunner()
    dry = runner.invoke(cli, ["remind", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would send: reminder 2025-26 Q3 to a.lee@barnet.example" in dry.output
    assert dry.output.endswith("Dry run: 3 email(s) due, 3 not yet claimed; nothing sent.\n")
    assert smtp.received == [] and sends(cycle) == []
    sent = runner.invoke(cli, ["remind"])
    assert sent.exit_code == 0, sent.output
    assert sent.output.endswith("3 new email(s) claimed; 3 sent, 0 failed (tried again next run), 0 dropped.\n")
    assert "already claimed: reminder" in runner.invoke(cli, ["remind", "--dry-run"]).output


def test_remind_without_a_mail_server_says_what_to_set(cycle: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CYP_SMTP_HOST", raising=False)
    result = CliRunner().invoke(cli, ["remind"])
    assert result.exit_code == 1 and "No mail server is set: set CYP_SMTP_HOST" in result.output
    with pytest.raises(MailNotConfigured):
        run(cycle)


def test_opt_out_command(cycle: Engine, smtp: Recorder) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["user", "opt-out", "a.lee"]).output == "a.lee now receives no reminder emails.\n"
    assert runner.invoke(cli, ["user", "opt-out", "a.lee"]).output == "a.lee already receives no reminder emails.\n"
    run(cycle)
    assert smtp.to("a.lee@barnet.example") == [] and len(smtp.to("b.khan@barnet.example")) == 1
    assert runner.invoke(cli, ["user", "opt-out", "a.lee", "--undo"]).output == "a.lee now receives reminder emails.\n"
    missing = runner.invoke(cli, ["user", "opt-out", "nobody"])
    assert missing.exit_code == 1 and "There is no account named 'nobody'" in missing.output
    with read_session(cycle) as session:
        assert session.scalar(select(Partner.id).where(Partner.ref == "family-services")) is not None


def test_a_person_may_not_opt_someone_else_out(cycle: Engine) -> None:
    from cyp.access.permissions import PermissionDenied

    with pytest.raises(PermissionDenied), write_session(cycle) as session:
        set_opt_out(session, Principal("a.lee", "lead", frozenset({"family-services"})), "b.khan")


def test_starttls_with_a_certificate(cycle: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's own certificate
        monkeypatch.setenv("CYP_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CYP_SMTP_PORT", str(port))
        monkeypatch.setenv("CYP_SMTP_SECURITY", "starttls")
        report = run(cycle)
    finally:
        controller.stop()
    assert (report.sent, len(recorder.received)) == (3, 3)


def test_the_app_can_run_the_reminders_in_process_on_a_timer(cycle: Engine, smtp: Recorder) -> None:
    import time

    from cyp.cycle.reminders import start_timer, stop_timer

    assert start_timer(0, engine=cycle) is None  # 0: left to cron
    thread = start_timer(60, engine=cycle)
    try:
        assert thread is not None and start_timer(60, engine=cycle) is thread  # one timer per process
        deadline = time.monotonic() + 30
        while len(smtp.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_timer()
    assert sorted(r[0] for r, _ in smtp.received) == [
        "a.lee@barnet.example",
        "b.khan@barnet.example",
        "c.ode@barnet.example",
    ]
    assert not thread.is_alive()


# Loopback only: the test server asks for a password without TLS, which aiosmtpd rightly warns about.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_password_comes_from_the_secret_file(
    cycle: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiosmtpd.smtp import AuthResult

    tried: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
        tried.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.login == b"cyp" and data.password == b"s3cret from a file")

    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    secret = tmp_path / "smtp-password"
    try:
        for name, value in {
            "CYP_SMTP_HOST": "127.0.0.1",
            "CYP_SMTP_PORT": str(port),
            "CYP_SMTP_SECURITY": "none",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("CYP_SMTP_USER", "cyp")
        monkeypatch.setenv("CYP_SMTP_PASSWORD", "the wrong one")
        monkeypatch.setenv("CYP_SMTP_PASSWORD_FILE", str(secret))
        secret.write_text("s3cret from a file\n", encoding="utf-8")
        report = run(cycle)
    finally:
        controller.stop()
    assert (report.sent, len(recorder.received)) == (3, 3)
    assert set(tried) == {("cyp", "s3cret from a file")}


def test_a_schedule_with_a_bad_subject_is_refused_when_read(tmp_path: Path) -> None:
    from cyp.cycle.reminders import REMINDERS_FILE, ScheduleError

    bad = tmp_path / "reminders.yaml"
    bad.write_text(REMINDERS_FILE.read_text(encoding="utf-8").replace("{team}: your", "{teem}: your", 1), "utf-8")
    with pytest.raises(ScheduleError, match=r"reminders.yaml: the subject '\{teem\}: your \{quarter\} return is due"):
        load_schedule(bad)


def test_a_lead_who_stopped_the_emails_on_their_account_page_gets_none(cycle: Engine, smtp: Recorder) -> None:
    at = open_account_page(Principal("a.lee", "lead", frozenset({"family-services"})))
    next(b for b in at.button if b.label == "Stop reminder and digest emails").click()
    at.run()
    assert [s.value for s in at.success] == ["You will no longer get reminder or digest emails."]
    report = run(cycle)
    assert report.sent == 2 and smtp.to("a.lee@barnet.example") == []
    # The other lead of the same team, and the other team's lead, still get theirs.
    assert len(smtp.to("b.khan@barnet.example")) == 1 and len(smtp.to("c.ode@barnet.example")) == 1
    # The notice that a return was sent back stops too, as the page says.
    with write_session(cycle) as session:
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Green", "T23-1.2": "Amber"})
        return_to_team(session, SYSTEM, "Family Services", "2025-26 Q3", "Give 1.2 a date")
    run(cycle)
    assert smtp.to("a.lee@barnet.example") == [] and len(smtp.to("b.khan@barnet.example")) == 2
    with read_session(cycle) as session:
        lee = session.scalar(select(User.id).where(User.username == "a.lee"))
    assert [(key.split(":")[0], dropped) for key, _, dropped in sends(cycle) if key.endswith(f":{lee}")] == [
        ("returned", "the person opted out of reminder emails")
    ]


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, message.get_body(("html",)).get_content().replace("\r\n", "\n")


def test_every_reminder_ends_with_why_and_how_to_stop_it_in_both_parts(cycle: Engine, smtp: Recorder) -> None:
    with write_session(cycle) as session:
        partner = session.scalar(select(Partner).where(Partner.ref == "family-services"))
        partner.name = 'Family <Services> & "Co"'  # a name from the framework file is text, never markup
    run(cycle)
    [message] = smtp.to("a.lee@barnet.example")
    text, page = _parts(message)
    assert text.endswith(
        '\nYou get this email because you are a lead of Family <Services> & "Co" in CYP Plan Monitor.\n'
        "To stop these emails, open Your account in CYP Plan Monitor: https://cyp.barnet.example/account\n"
        "This is an automatic message from CYP Plan Monitor.\n"
    )
    footer = page[page.index("<footer") : page.index("</footer>")]
    assert "<p>You get this email because you are a lead of Family &lt;Services&gt; &amp; &quot;Co&quot; in " in footer
    assert (
        "<p>To stop these emails, open Your account in CYP Plan Monitor: "
        '<a href="https://cyp.barnet.example/account">https://cyp.barnet.example/account</a></p>'
    ) in footer
    assert "<Services>" not in page
    # The link is the app's own page: the path of the page registered in app.py for "Your account".
    app_source = (Path(__file__).resolve().parent.parent / "app.py").read_text(encoding="utf-8")
    assert 'ui.page("app_pages/account.py", title="Your account"' in app_source
    [c_ode] = smtp.to("c.ode@barnet.example")
    assert "because you are a lead of Public Health in CYP Plan Monitor." in _parts(c_ode)[0]


def test_every_digest_ends_with_why_the_reader_gets_it_and_how_to_stop_it(cycle: Engine, smtp: Recorder) -> None:
    with write_session(cycle) as session:
        create_user(session, SYSTEM, "perf", "administrator", email="perf@barnet.example")
        create_user(session, SYSTEM, "director", "viewer", email="director@barnet.example")
    run(cycle, date(2026, 2, 2))  # a Monday: the digest's day
    stop = "To stop these emails, open Your account in CYP Plan Monitor"
    link = '<a href="https://cyp.barnet.example/account">https://cyp.barnet.example/account</a>'
    for address, why in (
        ("perf@barnet.example", "you are on the performance team (an administrator of CYP Plan Monitor)"),
        ("director@barnet.example", "you are a director or a board member (a viewer in CYP Plan Monitor)"),
    ):
        [digest] = smtp.to(address)
        text, page = _parts(digest)
        assert text.endswith(
            f"\nYou get this weekly digest because {why}.\n{stop}: https://cyp.barnet.example/account\n"
            "This is an automatic message from CYP Plan Monitor.\n"
        ), text
        footer = page[page.index("<footer") : page.index("</footer>")]
        assert f"<p>You get this weekly digest because {why}.</p>" in footer
        assert f"<p>{stop}: {link}</p>" in footer
