"""The "Your account" page (AppTest): who you are, and stopping or restarting your own reminder and digest emails.

The change goes through the real domain (cyp.cycle.recipients.set_opt_out) on the test's database and is read back
from it: the opt-out row and the audit event with the person as actor.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent, MailOptOut, User
from cyp.ui import PRINCIPAL_KEY
from cyp.ui.escaping import unescape_markdown as as_read
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases

ROOT = Path(__file__).resolve().parent.parent
LEAD = Principal("a.lee", "lead", frozenset({"family-services"}))
SCREEN = Principal("screen", "display")
STOP = "Stop reminder and digest emails"
RESTART = "Restart reminder and digest emails"


@pytest.fixture
def site(engine: Engine) -> Engine:
    """The test framework with two leads of different teams, a director and the meeting-room screen."""
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
        create_user(session, SYSTEM, "c.ode", "lead", email="c.ode@barnet.example", teams=["public-health"])
        create_user(session, SYSTEM, "director", "viewer")
        create_user(session, SYSTEM, "screen", "display")
    return engine


def open_page(principal: Principal | None) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if principal is not None:
        at.session_state[PRINCIPAL_KEY] = principal
    at.run()
    # By URL path, as a browser asks for /account: for a role that may not see it, a stand-in is registered there.
    at._page_hash = next(h for h, info in at._registered_pages.items() if info.get("url_pathname") == "account")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.success]
    parts += [e.value for e in at.info] + [e.value for e in at.error]
    return "\n".join(as_read(str(part)) for part in parts)


def state_words(at: AppTest) -> list[str]:
    return [as_read(m.value) for m in at.markdown if m.value.startswith("**Now:**")]


def buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button if b.key == "account_emails"]


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def opted_out(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return list(session.scalars(select(User.username).join(MailOptOut, MailOptOut.user_id == User.id)))


def mail_events(engine: Engine) -> list[tuple[str, str, str | None, str]]:
    with read_session(engine) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.target, AuditEvent.outcome)
            .where(AuditEvent.action.like("mail.%"))
            .order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_page_says_who_you_are_with_its_headings_in_order(site: Engine) -> None:
    at = open_page(LEAD)
    assert [t.value for t in at.title] == ["Your account"]
    assert [h.value for h in at.header] == ["Who you are", "Email reminders and digests"]
    text = texts(at)
    for line in (
        "- Username: a.lee",
        "- Name: Ada Lee",
        "- Role: lead",
        "- Teams: Family Services",
        "- Email: a.lee@barnet.example",
    ):
        assert line in text.splitlines(), text
    assert state_words(at) == ["**Now:** you get reminder and digest emails."]
    assert buttons(at) == [STOP]


def test_a_lead_stops_the_emails_and_restarts_them_audited_as_themselves(site: Engine) -> None:
    at = open_page(LEAD)
    click(at, STOP)
    assert [s.value for s in at.success] == ["You will no longer get reminder or digest emails."]
    assert state_words(at) == ["**Now:** you do not get reminder or digest emails; you stopped them."]
    assert buttons(at) == [RESTART]
    assert opted_out(site) == ["a.lee"]  # the other lead still gets them
    assert mail_events(site) == [("mail.opt_out", "a.lee", "user:a.lee", "ok")]

    at.run()  # the next run no longer repeats what changed, and the state stays
    assert not at.success and state_words(at) == [
        "**Now:** you do not get reminder or digest emails; you stopped them."
    ]

    click(at, RESTART)
    assert [s.value for s in at.success] == ["You will get reminder and digest emails again."]
    assert state_words(at) == ["**Now:** you get reminder and digest emails."]
    assert buttons(at) == [STOP]
    assert opted_out(site) == []
    assert mail_events(site) == [
        ("mail.opt_out", "a.lee", "user:a.lee", "ok"),
        ("mail.opt_in", "a.lee", "user:a.lee", "ok"),
    ]


def test_what_the_account_holds_is_shown_as_text_never_markup(site: Engine) -> None:
    with write_session(site) as session:
        create_user(session, SYSTEM, "m.ark", "viewer", display_name="*Bold* [link](https://evil.example) <b>x</b>")
    at = open_page(Principal("m.ark", "viewer"))
    source = next(m.value for m in at.markdown if "Username:" in m.value)
    assert "- Name: *Bold* [link](https://evil.example) <b>x</b>" in as_read(source).splitlines()
    assert "\\*Bold\\* \\[link\\]" in source and "\\<b\\>" in source  # every markup character escaped
    assert "- Teams: none" in as_read(source).splitlines() and "- Email: none" in as_read(source).splitlines()
    # Without an address nothing is sent either way, and the page says so.
    assert any("no email address" in i.value for i in at.info)


def test_the_meeting_room_screen_has_no_account_page(site: Engine) -> None:
    at = open_page(SCREEN)
    assert not buttons(at)
    assert any("does not give access to this page" in e.value for e in at.error)
    # Not in its menu either, while a lead's menu lists it (Streamlit's own sectioned menu nests its list items in
    # divs, which axe refuses (list, listitem): the menu stays a page link per page).
    screen_menu = [link.proto.page for link in at.get("page_link")]
    assert "display" in screen_menu and "account" not in screen_menu, screen_menu
    assert "account" in [link.proto.page for link in open_page(LEAD).get("page_link")]


def test_a_signed_out_visitor_is_sent_to_sign_in(site: Engine) -> None:
    at = open_page(None)
    assert at.title[0].value == "Sign in to CYP Plan Monitor"
    assert not buttons(at) and "a.lee" not in texts(at)
