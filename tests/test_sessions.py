"""Server-side sessions, sign-in tickets and display links (cyp/access/sessions.py), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cyp.access import sessions
from cyp.access.accounts import create_user, disable_user, set_password, set_role, set_teams
from cyp.access.audit import as_utc
from cyp.access.permissions import SYSTEM, PermissionDenied, Principal
from cyp.cli import cli
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import AuditEvent, DisplayLink, Partner, SignInTicket, WebSession, utcnow

pytestmark = pytest.mark.both_databases

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BROWSER = "browser-cookie-of-the-signing-in-browser"
ADMIN = Principal("ada", "administrator")


@pytest.fixture
def db(engine: Engine) -> Engine:
    """Two teams, an administrator, a lead with a password and a viewer signed in through the identity provider."""
    with write_session(engine) as session:
        session.add_all([Partner(ref="FS", name="Family Services"), Partner(ref="EH", name="Early Help")])
        session.flush()
        create_user(session, SYSTEM, "ada", "administrator")
        create_user(session, SYSTEM, "lee", "lead", teams=["FS"], password="correct horse battery")
        create_user(session, SYSTEM, "vic", "viewer", email="vic@barnet.gov.uk")
    return engine


def signed_in(engine: Engine, username: str = "lee", *, now: datetime = T0, method: str = sessions.PASSWORD) -> str:
    """The cookie value of a fresh session of ``username``, made the way the app makes one: ticket, then claim."""
    principal = Principal(username, "lead")
    with write_session(engine) as session:
        ticket = sessions.issue_ticket(session, principal, method, BROWSER, now=now)
    with write_session(engine) as session:
        new = sessions.claim_ticket(session, ticket, BROWSER, client_address="10.1.2.3", user_agent="Firefox", now=now)
    assert new is not None
    return new.token


def check(engine: Engine, token: str, now: datetime) -> sessions.SessionCheck:
    """What a script run does: read the session, then write what the check calls for."""
    with read_session(engine) as session:
        found = sessions.check_session(session, token, now=now)
    with write_session(engine) as session:
        sessions.apply_check(session, found, now=now)
    return found


def events(engine: Engine, prefix: str) -> list[tuple[str, str, str | None, str | None]]:
    with read_session(engine) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id))
        return [(event.actor, event.action, event.outcome, event.detail) for event in rows]


def test_a_claimed_ticket_becomes_a_session_stored_only_as_a_hash(db: Engine):
    token = signed_in(db)
    assert len(token) == 43 and token != sessions.token_digest(token)  # 32 random bytes, URL-safe
    with read_session(db) as session:
        row = session.scalars(select(WebSession)).one()
        assert session.scalars(select(SignInTicket)).all() == []  # the ticket is gone once used
        stored = [str(value) for value in vars(row).values()]
    assert row.token_hash == sessions.token_digest(token)
    assert not any(token in value for value in stored)
    assert (row.client_address, row.user_agent, row.method) == ("10.1.2.3", "Firefox", "password")
    assert as_utc(row.expires_at) == T0 + timedelta(hours=12)
    found = check(db, token, T0 + timedelta(minutes=5))
    assert found.principal == Principal("lee", "lead", frozenset({"FS"}))
    assert events(db, "session.")[0][:3] == ("lee", "session.start", "ok")


def test_a_ticket_works_once_only_in_its_own_browser_and_within_a_minute(db: Engine):
    principal = Principal("lee", "lead")
    with write_session(db) as session:
        first = sessions.issue_ticket(session, principal, sessions.PASSWORD, BROWSER, now=T0)
        second = sessions.issue_ticket(session, principal, sessions.PASSWORD, BROWSER, now=T0)
        late = sessions.issue_ticket(session, principal, sessions.PASSWORD, BROWSER, now=T0)
    with write_session(db) as session:
        assert sessions.claim_ticket(session, first, BROWSER, now=T0) is not None
        assert sessions.claim_ticket(session, first, BROWSER, now=T0) is None  # used
        assert sessions.claim_ticket(session, second, "another browser", now=T0) is None
        assert sessions.claim_ticket(session, second, BROWSER, now=T0) is None  # spent by the wrong browser
        assert sessions.claim_ticket(session, late, BROWSER, now=T0 + timedelta(seconds=61)) is None
        assert sessions.claim_ticket(session, "made-up", BROWSER, now=T0) is None
    refusals = [detail for _, action, outcome, detail in events(db, "session.claim") if outcome == "refused"]
    assert refusals == [
        "unknown or used ticket",
        "ticket presented by another browser",
        "unknown or used ticket",
        "ticket expired",
        "unknown or used ticket",
    ]


def test_no_ticket_without_a_browser_cookie_or_for_a_disabled_account(db: Engine):
    with write_session(db) as session, pytest.raises(sessions.SessionError, match="cookies"):
        sessions.issue_ticket(session, Principal("lee", "lead"), sessions.PASSWORD, "", now=T0)
    with write_session(db) as session:
        disable_user(session, SYSTEM, "lee")
    with write_session(db) as session, pytest.raises(sessions.SessionError, match="no active account"):
        sessions.issue_ticket(session, Principal("lee", "lead"), sessions.PASSWORD, BROWSER, now=T0)


def test_a_new_role_and_new_teams_apply_at_the_next_check(db: Engine):
    token = signed_in(db)
    with write_session(db) as session:
        set_teams(session, SYSTEM, "lee", ["FS", "EH"])
    assert check(db, token, T0).principal == Principal("lee", "lead", frozenset({"FS", "EH"}))
    with write_session(db) as session:
        set_role(session, SYSTEM, "lee", "viewer")
    assert check(db, token, T0).principal == Principal("lee", "viewer", frozenset({"FS", "EH"}))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda session: disable_user(session, SYSTEM, "lee"), "account disabled"),
        (lambda session: set_password(session, SYSTEM, "lee", "a brand new passphrase"), "password changed"),
    ],
)
def test_disabling_or_a_new_password_ends_every_session_of_the_account(db: Engine, change, reason: str):
    tokens = [signed_in(db), signed_in(db)]
    other = signed_in(db, "ada")
    with write_session(db) as session:
        change(session)
    for token in tokens:
        found = check(db, token, T0 + timedelta(minutes=1))
        assert found.principal is None and found.ended == reason
    assert check(db, other, T0 + timedelta(minutes=1)).principal is not None
    with read_session(db) as session:
        assert [row.user.username for row in session.scalars(select(WebSession))] == ["ada"]
    ended = [detail for _, action, _, detail in events(db, "session.end")]
    assert len(ended) == 2 and all(detail.endswith(reason) for detail in ended)


def test_idle_timeout_and_absolute_lifetime_are_settings(db: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CYP_SESSION_IDLE_MINUTES", "30")
    monkeypatch.setenv("CYP_SESSION_LIFETIME_HOURS", "2")
    busy, idle = signed_in(db), signed_in(db)
    # An interaction every 20 minutes keeps a session alive past the idle timeout, until its lifetime ends.
    for minutes in (20, 40, 60, 80, 100):
        assert check(db, busy, T0 + timedelta(minutes=minutes)).principal is not None, minutes
    assert check(db, busy, T0 + timedelta(hours=2)).ended == "lifetime over"
    assert check(db, idle, T0 + timedelta(minutes=31)).ended == "idle timeout"


def test_last_seen_is_written_at_most_once_a_minute(db: Engine):
    token = signed_in(db)
    assert not check(db, token, T0 + timedelta(seconds=30)).touch
    assert check(db, token, T0 + timedelta(seconds=61)).touch
    with read_session(db) as session:
        row = session.scalars(select(WebSession)).one()
        assert as_utc(row.last_seen_at) == T0 + timedelta(seconds=61)


def test_signing_out_ends_the_session_for_every_tab(db: Engine):
    token = signed_in(db)
    with write_session(db) as session:
        assert sessions.sign_out(session, token, now=T0)
    # Any tab still holding the old cookie is signed out at its next interaction.
    assert check(db, token, T0).principal is None
    with write_session(db) as session:
        assert not sessions.sign_out(session, token, now=T0)
    assert events(db, "session.end")[0][:3] == ("lee", "session.end", "ok")


def test_an_instance_on_the_same_database_sees_the_same_sessions(db: Engine):
    token = signed_in(db)
    other_instance = make_engine(db.url.render_as_string(hide_password=False))
    try:
        assert check(other_instance, token, T0).principal == Principal("lee", "lead", frozenset({"FS"}))
        with write_session(other_instance) as session:
            sessions.sign_out(session, token, now=T0)
    finally:
        other_instance.dispose()
    assert check(db, token, T0).principal is None


def test_an_administrator_lists_and_ends_sessions_and_nobody_else_may(db: Engine):
    first, second = signed_in(db), signed_in(db, now=T0 + timedelta(minutes=1))
    with write_session(db) as session:
        listed = sessions.list_sessions(session, ADMIN, "lee", now=T0 + timedelta(minutes=2))
    assert [item.created_at for item in listed] == [T0 + timedelta(minutes=1), T0]
    assert {item.client_address for item in listed} == {"10.1.2.3"}
    with write_session(db) as session:
        assert sessions.end_sessions(session, ADMIN, "lee", session_id=listed[0].id, now=T0) == 1
    assert check(db, second, T0 + timedelta(minutes=2)).principal is None
    assert check(db, first, T0 + timedelta(minutes=2)).principal is not None
    with pytest.raises(PermissionDenied), write_session(db) as session:
        sessions.end_sessions(session, Principal("vic", "viewer"), "lee", now=T0)
    with write_session(db) as session:
        assert sessions.end_sessions(session, ADMIN, "lee", now=T0) == 1
    assert check(db, first, T0 + timedelta(minutes=2)).principal is None
    assert events(db, "session.end")[-1][:2] == ("ada", "session.end")


def test_a_display_link_signs_a_screen_in_for_days_until_it_is_revoked(db: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CYP_SESSION_IDLE_MINUTES", "30")
    with write_session(db) as session:
        link_token = sessions.issue_display_link(session, ADMIN, "  Committee   room 2 ", now=T0)
    with write_session(db) as session:
        screen = sessions.open_display_link(session, link_token, client_address="10.9.9.9", now=T0)
    assert screen is not None and screen.expires_at == T0 + timedelta(days=90)
    # Overnight with nobody touching it: a screen has no idle timeout.
    found = check(db, screen.token, T0 + timedelta(hours=20))
    assert found.principal == Principal("display:Committee room 2", "display")
    with read_session(db) as session:
        [link] = sessions.list_display_links(session, now=T0)
        assert (link.label, link.state, link.live_sessions, link.created_by) == ("Committee room 2", "active", 1, "ada")
        assert session.scalars(select(DisplayLink.token_hash)).one() == sessions.token_digest(link_token)
    with write_session(db) as session:
        assert sessions.revoke_display_link(session, ADMIN, link.id, now=T0 + timedelta(days=1)) == 1
    assert check(db, screen.token, T0 + timedelta(days=1)).principal is None
    with write_session(db) as session:
        assert sessions.open_display_link(session, link_token, now=T0 + timedelta(days=1)) is None
    actions = [action for _, action, _, _ in events(db, "display_link.")]
    assert actions == ["display_link.issue", "display_link.revoke"]


def test_a_display_link_needs_a_label_and_an_administrator(db: Engine):
    with pytest.raises(sessions.SessionError, match="label"), write_session(db) as session:
        sessions.issue_display_link(session, ADMIN, "   ")
    with pytest.raises(PermissionDenied), write_session(db) as session:
        sessions.issue_display_link(session, Principal("vic", "viewer"), "Room 1")


def test_purge_removes_what_has_expired_and_nothing_else(db: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CYP_SESSION_IDLE_MINUTES", "30")
    old, fresh = signed_in(db), signed_in(db, now=T0 + timedelta(minutes=50))
    with write_session(db) as session:
        sessions.issue_ticket(session, Principal("lee", "lead"), sessions.PASSWORD, BROWSER, now=T0)
    with write_session(db) as session:
        assert sessions.purge_expired(session, now=T0 + timedelta(minutes=60)) == 1
    with read_session(db) as session:
        assert session.scalars(select(SignInTicket)).all() == []
    assert check(db, fresh, T0 + timedelta(minutes=60)).principal is not None
    assert check(db, old, T0 + timedelta(minutes=60)).principal is None


def test_the_commands_list_and_end_sessions_and_manage_display_links(db: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CYP_DATABASE_URL", db.url.render_as_string(hide_password=False))
    now = utcnow()
    signed_in(db, now=now)
    runner = CliRunner()
    listed = runner.invoke(cli, ["user", "sessions", "lee"])
    assert listed.exit_code == 0, listed.output
    assert "10.1.2.3" in listed.output and "password" in listed.output
    assert runner.invoke(cli, ["user", "sessions", "nobody"]).exit_code == 1
    ended = runner.invoke(cli, ["user", "end-sessions", "lee"])
    assert ended.output == "Ended 1 session of lee.\n"
    assert runner.invoke(cli, ["user", "sessions", "lee"]).output == "lee has no live sessions.\n"
    issued = runner.invoke(cli, ["display-link", "issue", "Room 1", "--base-url", "https://cyp.example.org/"])
    assert issued.exit_code == 0, issued.output
    address = issued.output.splitlines()[1]
    assert address.startswith("https://cyp.example.org/display-link/")
    token = address.rsplit("/", 1)[1]
    with write_session(db) as session:
        assert sessions.open_display_link(session, token) is not None
    listing = runner.invoke(cli, ["display-link", "list"]).output
    assert "Room 1" in listing and "active" in listing and token not in listing
    revoked = runner.invoke(cli, ["display-link", "revoke", "1"])
    assert revoked.output == "Revoked display link 1; 1 screen signed out.\n"
    assert "revoked" in runner.invoke(cli, ["display-link", "list"]).output
    missing = runner.invoke(cli, ["display-link", "revoke", "99"])
    assert missing.exit_code == 1 and "no display link 99" in missing.output


def test_the_user_accounts_page_lists_sessions_and_issues_and_revokes_display_links(db: Engine):
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from cyp.ui import PRINCIPAL_KEY

    signed_in(db, now=utcnow())
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = ADMIN
    at.run()
    at.switch_page("app_pages/users.py").run()
    at.selectbox(key="change_user").set_value("lee").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Signed-in sessions of lee" in m.value for m in at.markdown)
    [table] = [frame.value for frame in at.dataframe if "from" in frame.value.columns]
    assert table["from"].tolist() == ["10.1.2.3"] and table["how"].tolist() == ["password"]
    label = next(t for t in at.text_input if t.label == "Where is the screen?")
    label.input("Committee room 2")
    next(b for b in at.button if b.label == "Issue a display link").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [address] = [c.value for c in at.code]
    token = address.rsplit("/display-link/", 1)[1]
    with read_session(db) as session:
        assert session.scalars(select(DisplayLink.token_hash)).one() == sessions.token_digest(token)
    next(b for b in at.button if b.label == "End every session of lee").click().run()
    assert any("Ended 1 session of lee" in s.value for s in at.success)
    next(b for b in at.button if b.label == "Revoke the link and sign its screens out").click().run()
    assert any("Revoked display link" in s.value for s in at.success)
    with read_session(db) as session:
        assert session.scalars(select(DisplayLink)).one().revoked_at is not None
        assert session.scalars(select(WebSession)).all() == []
