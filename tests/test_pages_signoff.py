"""Sign-off on the pages (AppTest): the upload page for leads and approvers, the views' caption and switch, the tracker.

Sign-off is switched on with ``CYP_SIGNOFF=1`` per test; with it off the same pages must look as they did before.
Decisions go through the real domain (cyp.cycle.signoff) on the test's database, read back from it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.cycle.signoff import sign_off
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent, Return, Signoff, User, user_teams
from cyp.ui import PRINCIPAL_KEY
from cyp.ui.escaping import unescape_markdown as as_read
from tests.readside_factory import add_return
from tests.returns_factory import build_framework, build_return

pytestmark = pytest.mark.both_databases

ROOT = Path(__file__).resolve().parent.parent
QUARTER = "2025-26 Q3"
PLAN = "T2023"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEAD = Principal("a.lee", "lead", frozenset({"family-services"}))
APPROVER = Principal("d.okafor", "approver", frozenset({"family-services"}))
VIEWER = Principal("director", "viewer")
BADGE = re.compile(r'aria-label="Status: ([^"]+)"')


@pytest.fixture
def site(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The test framework with a lead, an approver and a director of Family Services; sign-off switched on."""
    monkeypatch.setenv("CYP_SIGNOFF", "1")
    with write_session(engine) as session:
        build_framework(session)
        create_user(session, SYSTEM, "a.lee", "lead", email="a.lee@barnet.example", teams=["family-services"])
        create_user(session, SYSTEM, "d.okafor", "approver", display_name="Dee Okafor", teams=["family-services"])
        create_user(session, SYSTEM, "h.patel", "approver", teams=["public-health"])
        create_user(session, SYSTEM, "director", "viewer")
    return engine


def open_page(page: str, principal: Principal, **query_params: str) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = principal
    at.run()
    for key, value in query_params.items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload_page(principal: Principal) -> AppTest:
    return open_page("app_pages/upload.py", principal, quarter=QUARTER)


def texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.header] + [e.value for e in at.caption]
    parts += [e.value for e in at.info] + [e.value for e in at.warning] + [e.value for e in at.success]
    parts += [e.value for e in at.error]
    return "\n".join(as_read(str(part)) for part in parts)


def signoff_buttons(at: AppTest) -> list[str]:
    return [str(b.key) for b in at.button if str(b.key).startswith("signoff_")]


def current_return_id(engine: Engine, team: str = "family-services") -> int:
    with read_session(engine) as session:
        return session.scalar(
            select(Return.id).join(Return.partner).where(Return.is_current, Return.partner.has(ref=team))
        )


def decision(engine: Engine, return_id: int) -> tuple[str, str, str | None] | None:
    with read_session(engine) as session:
        row = session.get(Signoff, return_id)
        return (row.state, row.decided_by, row.reason) if row else None


def submit(at: AppTest, data: bytes) -> AppTest:
    at.file_uploader(key="return_file").set_value(("fs.xlsx", data, XLSX))
    at.run()
    next(button for button in at.button if button.label == "Check and submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_accepted_upload_awaits_sign_off_and_names_the_approvers(site: Engine) -> None:
    at = submit(upload_page(LEAD), build_return())
    assert any("Accepted" in s.value for s in at.success), texts(at)
    [note] = [as_read(i.value) for i in at.info if "awaiting sign-off" in i.value]
    assert note == (
        f"Version 1 of the Family Services return for {QUARTER} is awaiting sign-off. It counts in the views once "
        "signed off. An approver of the team signs it off or sends it back: Dee Okafor (d.okafor)."
    )
    # The lead's own table: the return awaits, nothing counted yet; and no decision is offered to a lead.
    [table] = [frame.value for frame in at.dataframe]
    assert table[["Quarter", "Version", "Sign-off", "Counted in the views"]].values.tolist() == [
        [QUARTER, "v1", "awaiting sign-off", "none yet"]
    ]
    assert signoff_buttons(at) == [] and "Sign-off" not in [h.value for h in at.header]
    assert not [form for form in at.get("form") if "send_back" in str(form.proto.form_id)]


def test_with_sign_off_switched_off_the_upload_page_says_nothing_of_it(site: Engine, monkeypatch) -> None:
    monkeypatch.setenv("CYP_SIGNOFF", "0")
    at = submit(upload_page(LEAD), build_return())
    assert any("Accepted" in s.value for s in at.success)
    assert "sign-off" not in texts(at).lower()
    assert not at.dataframe
    approver = upload_page(APPROVER)
    assert signoff_buttons(approver) == [] and "sign-off" not in texts(approver).lower()


def test_an_approver_signs_off_their_team_s_return_and_it_is_audited(site: Engine) -> None:
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green", "T23-1.2": "Amber"})
        add_return(session, "public-health", QUARTER, {"T23-2.1": "Red"})
    return_id = current_return_id(site)
    at = upload_page(APPROVER)
    # Only the approver's own team is listed (Public Health has its own approver).
    assert signoff_buttons(at) == [f"signoff_{return_id}"]
    assert f"**Family Services**, {QUARTER}, version 1: uploaded by test lead" in texts(at)
    at.button(key=f"signoff_{return_id}").click()
    at.run()
    assert not at.exception
    assert f"Signed off Family Services {QUARTER} version 1: it now counts in the views." in texts(at)
    assert "No return of your teams is awaiting sign-off." in texts(at)
    assert decision(site, return_id) == ("signed-off", "d.okafor", None)
    with read_session(site) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "return.signoff"))
        assert (event.actor, event.outcome, event.target) == ("d.okafor", "ok", f"Family Services {QUARTER} v1")


def test_returning_needs_a_reason_and_the_lead_sees_it_as_plain_text(site: Engine) -> None:
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green", "T23-1.2": "Amber"})
    return_id = current_return_id(site)
    at = upload_page(APPROVER)
    submit_button = next(b for b in at.button if "to the team" in b.label)
    submit_button.click()  # no reason typed
    at.run()
    assert "Say why the return is sent back, so the team knows what to change." in texts(at)
    assert decision(site, return_id) is None

    reason = "**Line 1.2** needs a <b>date</b> [here](http://x.example)"
    at.text_area(key=f"reason_{return_id}").set_value(reason)
    next(b for b in at.button if "to the team" in b.label).click()
    at.run()
    assert not at.exception
    assert f"Returned Family Services {QUARTER} version 1 to the team" in texts(at)
    assert decision(site, return_id) == ("returned", "d.okafor", reason)
    with read_session(site) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "return.send_back"))
        assert (event.actor, event.outcome, event.detail) == ("d.okafor", "ok", reason)

    lead = upload_page(LEAD)
    [table] = [frame.value for frame in lead.dataframe]
    assert table[["Sign-off", "By", "Reason"]].values.tolist() == [["returned to the team", "d.okafor", reason]]
    # The reason sits in a table cell (plain text), never in markdown: no page text renders it.
    assert all("<b>date</b>" not in element.value for element in lead.markdown)
    assert any("was sent back by d.okafor" in as_read(w.value) for w in lead.warning)
    assert "returned to the team" in texts(lead)  # the team's state line at the top of the page


def test_a_refused_decision_shows_the_domain_s_message(site: Engine) -> None:
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green"})
    return_id = current_return_id(site)
    at = upload_page(APPROVER)
    # Since the page was drawn the approver left the team: the domain judges the account as it is now.
    with write_session(site) as session:
        user = session.scalar(select(User).where(User.username == "d.okafor"))
        session.execute(user_teams.delete().where(user_teams.c.user_id == user.id))
    at.button(key=f"signoff_{return_id}").click()
    at.run()
    assert not at.exception
    refusal = (
        "You may not sign off or return a return for team family-services: d.okafor is not a member of team "
        "family-services."
    )
    assert refusal in [as_read(e.value) for e in at.error], texts(at)
    assert decision(site, return_id) is None
    with read_session(site) as session:
        refused = session.scalar(select(AuditEvent).where(AuditEvent.outcome == "refused"))
        assert (refused.actor, refused.action) == ("d.okafor", "return.signoff")


def test_an_administrator_sees_every_team_s_returns_awaiting(site: Engine) -> None:
    with write_session(site) as session:
        create_user(session, SYSTEM, "perf.admin", "administrator")
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green"})
        add_return(session, "public-health", QUARTER, {"T23-2.1": "Red"})
    at = upload_page(Principal("perf.admin", "administrator"))
    expected = {f"signoff_{current_return_id(site, team)}" for team in ("family-services", "public-health")}
    assert set(signoff_buttons(at)) == expected


def test_a_version_uploaded_after_the_page_was_drawn_is_not_signed_off_unseen(site: Engine) -> None:
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green"})
    first = current_return_id(site)
    at = upload_page(APPROVER)
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Red"})
    at.button(key=f"signoff_{first}").click()
    at.run()
    assert not at.exception
    assert any("version 1 is not the current version (version 2 is)" in e.value for e in at.error), texts(at)
    assert decision(site, first) is None and decision(site, current_return_id(site)) is None


def test_a_lead_sees_the_state_of_their_returns_but_no_sign_off_actions(site: Engine) -> None:
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green"})
        add_return(session, "family-services", "2025-26 Q2", {"T23-1.1": "Amber"})
        sign_off(session, SYSTEM, "family-services", "2025-26 Q2")
    at = upload_page(LEAD)
    assert signoff_buttons(at) == [] and not at.text_area
    [table] = [frame.value for frame in at.dataframe]
    assert table[["Quarter", "Sign-off", "Counted in the views"]].values.tolist() == [
        [QUARTER, "awaiting sign-off", "none yet"],
        ["2025-26 Q2", "signed off", "v1"],
    ]


def family_versions(engine: Engine) -> None:
    """Family Services: v1 (Green, Amber) signed off, then v2 (Red, Green) awaiting; Public Health awaiting."""
    with write_session(engine) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green", "T23-1.2": "Amber"})
        sign_off(session, APPROVER, "family-services", QUARTER)
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Red", "T23-1.2": "Green"})
        add_return(session, "public-health", QUARTER, {"T23-2.1": "Amber"})


def badges(at: AppTest) -> list[str]:
    return [match for element in at.markdown for match in BADGE.findall(element.value)]


def switch(at: AppTest):  # type: ignore[no-untyped-def]
    [toggle] = [t for t in at.toggle if t.label == "Include returns awaiting sign-off"]
    return toggle


def test_views_show_signed_off_returns_by_default_and_the_switch_includes_what_awaits(site: Engine) -> None:
    family_versions(site)
    at = open_page("app_pages/outcome.py", VIEWER, plan=PLAN, quarter=QUARTER, outcome="T23-O1")
    caption = "Showing signed-off returns only; 2 returns awaiting sign-off are not included."
    assert caption in [c.value for c in at.caption]
    assert switch(at).value is False
    text = texts(at)
    # Signed-off view: version 1 of Family Services; Public Health's line has nothing signed off yet.
    assert "Green" in badges(at) and "Red" not in badges(at)

    switch(at).set_value(True)
    at.run()
    assert not at.exception
    assert at.query_params["awaiting"] in ("include", ["include"])
    assert f"Including returns not yet signed off in {QUARTER}: 2 returns awaiting sign-off." in [
        c.value for c in at.caption
    ]
    assert "Red" in badges(at) and texts(at) != text

    # The address keeps the choice: a shared link opens the same view.
    shared = open_page("app_pages/outcome.py", VIEWER, plan=PLAN, quarter=QUARTER, outcome="T23-O1", awaiting="include")
    assert switch(shared).value is True and "Red" in badges(shared)


@pytest.mark.parametrize("page", ["app_pages/overview.py", "app_pages/exceptions.py", "app_pages/index_domains.py"])
def test_every_view_has_the_caption_and_the_switch(site: Engine, page: str) -> None:
    family_versions(site)
    at = open_page(page, VIEWER, plan=PLAN, quarter=QUARTER)
    assert "Showing signed-off returns only; 2 returns awaiting sign-off are not included." in [
        c.value for c in at.caption
    ]
    switch(at).set_value(True)
    at.run()
    assert not at.exception
    assert any(c.value.startswith("Including returns not yet signed off") for c in at.caption)


def test_exceptions_count_the_red_line_only_once_it_is_included(site: Engine) -> None:
    family_versions(site)
    at = open_page("app_pages/exceptions.py", VIEWER, plan=PLAN, quarter=QUARTER)
    reds = next(m for m in at.metric if "Red lines" in m.label)
    assert reds.value == "0"
    switch(at).set_value(True)
    at.run()
    assert next(m for m in at.metric if "Red lines" in m.label).value == "1"


def test_with_sign_off_off_views_have_no_switch_and_count_the_current_version(site: Engine, monkeypatch) -> None:
    family_versions(site)
    monkeypatch.setenv("CYP_SIGNOFF", "0")
    at = open_page("app_pages/outcome.py", VIEWER, plan=PLAN, quarter=QUARTER, outcome="T23-O1")
    assert not [t for t in at.toggle if t.label == "Include returns awaiting sign-off"]
    assert not any("sign-off" in c.value for c in at.caption)
    assert "Red" in badges(at)  # today's behaviour: the current version counts


def test_the_tracker_shows_each_team_s_sign_off_state_in_words(site: Engine) -> None:
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green"})
        sign_off(session, APPROVER, "family-services", QUARTER)
        add_return(session, "public-health", QUARTER, {"T23-2.1": "Amber"})
    at = open_page("app_pages/tracker.py", VIEWER, plan=PLAN, quarter=QUARTER)
    table = at.dataframe[0].value
    states = dict(zip(table["Team"], table["Sign-off"], strict=True))
    assert states == {"Family Services": "signed off", "Public Health": "awaiting sign-off"}
    assert any(as_read(m.value).startswith("**Sign-off:**") and "1 signed off" in m.value for m in at.markdown)


def test_the_tracker_has_no_sign_off_column_when_it_is_off(site: Engine, monkeypatch) -> None:
    monkeypatch.setenv("CYP_SIGNOFF", "0")
    with write_session(site) as session:
        add_return(session, "family-services", QUARTER, {"T23-1.1": "Green"})
    at = open_page("app_pages/tracker.py", VIEWER, plan=PLAN, quarter=QUARTER)
    assert "Sign-off" not in at.dataframe[0].value.columns
