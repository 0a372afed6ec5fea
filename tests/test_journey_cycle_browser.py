"""The quarter around the upload, end to end, on the real server: the app's own reminder timer emails a lead the
template (a real SMTP server on loopback), the lead fills it with openpyxl and uploads it in Chromium, the page
says it awaits sign-off, an approver signs it off in Chromium, and the board display shows the line's new status.

Also: two app instances on one database, each running the reminders on a one-second timer, send a reminder once.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook
from sqlalchemy import select

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM
from cyp.bootstrap import initialise_database
from cyp.returns.template import HEADER_ROW
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import AuditEvent, Signoff
from tests.fixtures_browser import new_context, screenshot, wait_for_streamlit
from tests.fixtures_postgres import free_port
from tests.test_cycle_reminders import Recorder

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
PLAN = "2019-23"
QUARTER = "2022-23 Q2"  # July to September 2022, due 31 October 2022
TODAY = "2022-10-28"  # three days before: the "due in 3 days" step of data/reminders.yaml
PUBLIC_URL = "https://cyp.barnet.example"
LEAD_EMAIL = "ph.lead@barnet.example"
MAIL_WAIT_SECONDS = 90


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server on loopback keeping every message it accepts."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


def prepare_database(url: str) -> None:
    """The real framework, a Public Health lead (with an email) and a Public Health approver; no digest readers."""
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, "ph.lead", "lead", password=PASSWORD, email=LEAD_EMAIL, teams=["public-health"])
        create_user(
            session,
            SYSTEM,
            "ph.approver",
            "approver",
            password=PASSWORD,
            display_name="Priya Shah",
            teams=["public-health"],
        )
    engine.dispose()


def server_env(port: int, uploads: Path, every_seconds: str) -> dict[str, str]:
    return {
        "CYP_SIGNOFF": "1",
        "CYP_TODAY": TODAY,
        "CYP_REMIND_EVERY_SECONDS": every_seconds,
        "CYP_SMTP_HOST": "127.0.0.1",
        "CYP_SMTP_PORT": str(port),
        "CYP_SMTP_SECURITY": "none",
        "CYP_MAIL_FROM": "cyp-plan@barnet.example",
        "CYP_PUBLIC_URL": PUBLIC_URL,
        "CYP_UPLOADS_DIR": str(uploads),
    }


def wait_for_mail(recorder: Recorder, address: str, seconds: float = MAIL_WAIT_SECONDS) -> list[EmailMessage]:
    """Wait until ``address`` has been sent at least one message (a condition, polled), and return its messages."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with recorder.lock:
            found = recorder.to(address)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no email to {address} within {seconds} s; received: {[r for r, _ in recorder.received]}")


def sign_in_at(page, address: str, username: str) -> None:  # type: ignore[no-untyped-def]
    """Open an address signed out; sign in on the form it shows and wait for the page itself."""
    page.goto(address)
    wait_for_streamlit(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for(state="attached")
    wait_for_streamlit(page)


def fill_template(template: bytes, red: str) -> bytes:
    """The emailed template with every line given a status and an update: ``red`` Red, the others Green."""
    book = load_workbook(io.BytesIO(template))
    sheet = book["Return"]
    headers = {str(cell.value).strip(): cell.column for cell in sheet[HEADER_ROW] if cell.value}
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        ref = sheet.cell(row=row, column=headers["Ref"]).value
        if not ref:
            continue
        sheet.cell(row=row, column=headers["RAG status"], value="Red" if ref == red else "Green")
        sheet.cell(row=row, column=headers["Progress update"], value=f"Progress on {ref} this quarter.")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def slide_number(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(this slide, slides) from the display's bar, e.g. "Slide 3 of 12"."""
    match = re.search(r"Slide (\d+) of (\d+)", page.locator(".board .bar").inner_text())
    assert match, page.locator(".board .bar").inner_text()
    return int(match.group(1)), int(match.group(2))


def open_exceptions_slide(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    """Open the board display and step to its first exceptions slide (the one listing the Red lines).

    The display keeps its slide in the browser's session, and the number of slides before the exceptions changes
    with the data, so the slide is found by its content: Next through the outcomes, Previous back from a later
    exceptions slide; each step waits for the bar to show the slide it leads to.
    """
    page.goto(f"{base_url}/display?plan={PLAN}&quarter={quote(QUARTER)}")
    page.locator(".board .bar").wait_for()
    wait_for_streamlit(page)
    red_heading = page.locator(".board h2", has_text="Red lines (")
    for _ in range(60):
        if red_heading.count():
            return
        current, count = slide_number(page)
        back = page.locator(".board h1").inner_text().startswith("Exceptions")
        page.get_by_role("button", name="← Previous" if back else "Next →").click()
        expected = (current - 2) % count + 1 if back else current % count + 1
        page.locator(".board .bar", has_text=re.compile(rf"Slide {expected} of")).wait_for()
        wait_for_streamlit(page)
    raise AssertionError("no slide lists the Red lines")


def test_reminder_to_board_display_through_upload_and_sign_off(app_server, browser, smtp, tmp_path) -> None:
    recorder, port = smtp
    url = f"sqlite:///{tmp_path / 'journey.db'}"
    prepare_database(url)
    base_url = app_server(env=server_env(port, tmp_path / "uploads", "2"), database_url=url)

    # 1. The app's own timer sends the lead the reminder with the pre-filled template.
    [message] = wait_for_mail(recorder, LEAD_EMAIL)
    [recipients] = [rcpt for rcpt, m in recorder.received if m is message]
    assert recipients == [LEAD_EMAIL] and message["To"] == LEAD_EMAIL
    assert message["Subject"] == f"Public Health: your {QUARTER} return is due in 3 days"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"The Public Health return for {QUARTER} is due by 31 October 2022." in text
    assert f"Upload your return: {PUBLIC_URL}/upload" in text
    html = message.get_body(("html",)).get_content()
    assert '<html lang="en-GB">' in html and "What is due</h2>" in html
    assert f'<a href="{PUBLIC_URL}/upload">Upload your return</a>' in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"CYP-return-public-health-{QUARTER.replace(' ', '-')}.xlsx"
    template = attachment.get_content()
    book = load_workbook(io.BytesIO(template))
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    assert (about["Team ref"], about["Quarter"], about["Plan"]) == ("public-health", QUARTER, PLAN)
    refs = [
        row[0].value
        for row in book["Return"].iter_rows(min_row=HEADER_ROW + 1)
        if isinstance(row[0].value, str) and row[0].value.startswith("19-")
    ]
    assert refs and all(ref.startswith("19-HW") for ref in refs)  # Public Health's lines only
    red = refs[0]

    # 2. The lead fills the attachment and uploads it in Chromium: it is stored and awaits sign-off.
    filled = tmp_path / "public health Q2.xlsx"
    filled.write_bytes(fill_template(template, red))
    lead_context = new_context(browser, viewport={"width": 1366, "height": 768})
    approver_context = new_context(browser, viewport={"width": 1366, "height": 768})
    try:
        lead = lead_context.new_page()
        sign_in_at(lead, f"{base_url}/upload?quarter={quote(QUARTER)}", "ph.lead")
        with lead.expect_file_chooser() as chooser:
            lead.get_by_test_id("stFileUploaderDropzone").get_by_role("button", name="Upload", exact=True).click()
        chooser.value.set_files(str(filled))
        wait_for_streamlit(lead)
        lead.get_by_role("button", name="Check and submit").click()
        lead.get_by_text("Accepted.").wait_for()
        lead.get_by_text(
            f"Version 1 of the Public Health return for {QUARTER} is awaiting sign-off.", exact=False
        ).wait_for()
        lead.get_by_text("Priya Shah (ph.approver)", exact=False).wait_for()
        wait_for_streamlit(lead)
        screenshot(lead, "journey-cycle-awaiting-sign-off")

        # The board counts signed-off returns only: the line is not Red there yet.
        open_exceptions_slide(lead, base_url)
        lead.locator(".board h2", has_text="Red lines (0)").wait_for()
        lead.locator(".board .bar", has_text="signed-off returns only (1 awaiting sign-off)").wait_for()

        # 3. The approver signs it off in Chromium.
        approver = approver_context.new_page()
        sign_in_at(approver, f"{base_url}/upload?quarter={quote(QUARTER)}", "ph.approver")
        approver.get_by_role("heading", name="Sign-off").wait_for()
        approver.get_by_role("button", name=f"Sign off Public Health {QUARTER}").click()
        approver.get_by_text(f"Signed off Public Health {QUARTER} version 1", exact=False).wait_for()
        wait_for_streamlit(approver)
        approver.get_by_text("No return of your teams is awaiting sign-off.").wait_for()
        screenshot(approver, "journey-cycle-signed-off")

        # 4. The board display shows the line's new status.
        open_exceptions_slide(lead, base_url)
        lead.locator(".board h2", has_text="Red lines (1)").wait_for()
        lead.locator(".board .bar", has_text="signed-off returns only (0 awaiting sign-off)").wait_for()
        row = lead.locator(".board .row", has_text=red).filter(has=lead.locator('[aria-label="Status: Red"]'))
        row.first.wait_for()
        screenshot(lead, "journey-cycle-board-after-sign-off")
    finally:
        lead_context.close()
        approver_context.close()

    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            [decision] = session.scalars(select(Signoff)).all()
            assert (decision.state, decision.decided_by) == ("signed-off", "ph.approver")
            event = session.scalar(select(AuditEvent).where(AuditEvent.action == "return.signoff"))
            assert (event.actor, event.target) == ("ph.approver", f"Public Health {QUARTER} v1")
    finally:
        engine.dispose()
    assert len(recorder.to(LEAD_EMAIL)) == 1  # the timer kept running: still one reminder


def test_two_instances_on_their_timers_send_each_reminder_once(app_server, smtp, tmp_path) -> None:
    recorder, port = smtp
    url = f"sqlite:///{tmp_path / 'timers.db'}"
    prepare_database(url)
    env = server_env(port, tmp_path / "uploads", "1")
    app_server(env=env, database_url=url)
    app_server(env=env, database_url=url)
    wait_for_mail(recorder, LEAD_EMAIL)

    # A second lead joins the team: their reminder arriving shows the timers ran again after the first email.
    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            create_user(session, SYSTEM, "ph.second", "lead", email="ph.second@barnet.example", teams=["public-health"])
    finally:
        engine.dispose()
    wait_for_mail(recorder, "ph.second@barnet.example")
    with recorder.lock:
        received = sorted(rcpt for rcpts, _ in recorder.received for rcpt in rcpts)
    assert received == ["ph.lead@barnet.example", "ph.second@barnet.example"]
