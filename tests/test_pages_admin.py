"""The Administration, User accounts and Audit trail pages in the real app (AppTest), as an administrator and not."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
import streamlit as st
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from cyp.access import audit
from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.bootstrap import initialise_database
from cyp.framework.workbook import export_framework
from cyp.quarters import parse_quarter
from cyp.read.tracker import deadlines
from cyp.returns.lines import deadline_for
from cyp.storage.db import read_session, write_session
from cyp.storage.models import Action, AuditEvent, Base, User
from cyp.ui import PRINCIPAL_KEY

ROOT = Path(__file__).resolve().parent.parent
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADMIN = Principal("perf.admin", "administrator")
VIEWER = Principal("board.member", "viewer")
T = TypeVar("T")


@pytest.fixture
def db(engine: Engine) -> Engine:
    initialise_database(engine)
    with write_session(engine) as session:
        create_user(session, SYSTEM, ADMIN.username, ADMIN.role)
        create_user(session, SYSTEM, VIEWER.username, VIEWER.role)
    return engine


def recorded(monkeypatch: pytest.MonkeyPatch, name: str, kind: type[T]) -> list[T]:
    """Every ``kind`` that AppTest's module makes under ``name`` from now on, in the order made."""
    made: list[T] = []

    class Recorded(kind):  # type: ignore[misc,valid-type]  # a subclass of whichever class is given
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(f"streamlit.testing.v1.app_test.{name}", Recorded)
    return made


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> list[MemoryMediaFileStorage]:
    """The media stores AppTest creates, so a download button's bytes can be read back."""
    return recorded(monkeypatch, "MemoryMediaFileStorage", MemoryMediaFileStorage)


@pytest.fixture
def media_managers(monkeypatch: pytest.MonkeyPatch) -> list[MediaFileManager]:
    """The media file managers AppTest creates, so a deferred download can be made as pressing its button would."""
    return recorded(monkeypatch, "MediaFileManager", MediaFileManager)


def open_page(page: str, principal: Principal) -> AppTest:
    """The app at ``page`` (app_pages/<key>.py) for ``principal``, as a visit to its address."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = principal
    at.run()
    # By URL path, as a browser asks for /admin: a page the role may not see is registered as a stand-in.
    key = Path(page).stem
    at._page_hash = next(h for h, info in at._registered_pages.items() if info.get("url_pathname") == key)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_of(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(str(part) for part in parts)


def framework_rows(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
            if table.name not in {AuditEvent.__tablename__, User.__tablename__}
        }


def broken_framework(engine: Engine) -> bytes:
    """The exported framework with a misspelt reporting team and an unknown plan: two problems."""
    with read_session(engine) as session:
        workbook = load_workbook(io.BytesIO(export_framework(session)))
    actions = workbook["Actions"]
    headers = [cell.value for cell in actions[1]]
    actions.cell(row=2, column=headers.index("Reporting team") + 1, value="Family Servces")
    outcomes = workbook["Outcomes"]
    outcomes.cell(row=2, column=[cell.value for cell in outcomes[1]].index("Plan") + 1, value="2031-35")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_bad_framework_workbook_lists_every_problem_and_changes_nothing(db: Engine) -> None:
    before = framework_rows(db)
    at = open_page("app_pages/admin.py", ADMIN)
    at.file_uploader(key="framework_file").set_value(("framework.xlsx", broken_framework(db), XLSX))
    at.run()
    at.button(key="framework_import").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = text_of(at)
    assert "Nothing imported: 2 problems" in shown
    assert "`Actions!H2` 'Family Servces' is not" in shown and "did you mean Family Services?" in shown
    assert "`Outcomes!B2`" in shown and "2031-35" in shown
    assert framework_rows(db) == before
    with read_session(db) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "framework.import")).one()
    assert (event.actor, event.outcome, event.target) == (ADMIN.username, "rejected", "framework.xlsx")


def test_a_deadline_set_on_the_page_is_the_one_the_tracker_uses(db: Engine) -> None:
    quarter = parse_quarter("2021-22 Q3")
    at = open_page("app_pages/admin.py", ADMIN)
    at.selectbox(key="deadline_plan").set_value("2019-23")
    at.run()
    # Widgets in a form take their values when the form is submitted, in the same run.
    at.selectbox(key="deadline_quarter").set_value(quarter.label)
    at.date_input(key="deadline_due").set_value(date(2022, 2, 28))
    next(b for b in at.button if b.label == "Set deadline").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("now due by 28 February 2022" in s.value for s in at.success), text_of(at)
    with read_session(db) as session:
        assert deadlines(session, [quarter]) == {quarter.label: date(2022, 2, 28)}
        assert deadline_for(session, quarter) == date(2022, 2, 28)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline.set")).one()
    assert (event.actor, event.target) == (ADMIN.username, "deadline:2021-22 Q3")
    assert event.detail == "default 2022-01-31 -> 2022-02-28"
    table = at.dataframe[-1].value.set_index("quarter")
    assert table.loc[quarter.label, "deadline"] == date(2022, 2, 28)
    assert bool(table.loc[quarter.label, "set by administrator"])

    at.selectbox(key="deadline_quarter").set_value(quarter.label)
    next(b for b in at.button if b.label == "Use the default again").click()
    at.run()
    with read_session(db) as session:
        assert deadlines(session, [quarter]) == {quarter.label: date(2022, 1, 31)}  # 31 December + 31 days


def test_a_whole_objective_assigned_on_the_page_becomes_a_line(db: Engine) -> None:
    at = open_page("app_pages/admin.py", ADMIN)
    at.selectbox(key="assign_plan").set_value("2023-27")
    at.run()
    at.selectbox(key="objective_ref").set_value("23-FB-3")
    at.selectbox(key="objective_team").set_value("family-services")
    next(b for b in at.button if b.label == "Assign objective").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    with read_session(db) as session:
        line = session.scalars(select(Action).where(Action.ref == "23-FB-3.W")).one()
        assert (line.whole_objective, line.reporting_partner.ref) == (True, "family-services")
    assert "23-FB-3.W" in list(at.dataframe[0].value["ref"])


def test_users_page_adds_and_disables_an_account(db: Engine) -> None:
    at = open_page("app_pages/users.py", ADMIN)
    form_inputs = [t for t in at.text_input if t.label.startswith("Username")]
    form_inputs[0].set_value("a.lee")
    at.selectbox(key="add_role").set_value("lead")
    at.multiselect(key="add_teams").set_value(["family-services"])
    next(b for b in at.button if b.label == "Add account").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Added a.lee (lead)" in s.value for s in at.success), text_of(at)
    at.selectbox(key="change_user").set_value("a.lee")
    at.run()
    at.button(key="disable_user").click()
    at.run()
    with read_session(db) as session:
        account = session.scalars(select(User).where(User.username == "a.lee")).one()
        assert (account.role, [t.ref for t in account.teams], account.is_active) == ("lead", ["family-services"], False)
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == ADMIN.username)))
    assert actions == ["user.add", "user.disable"]
    accounts = at.dataframe[-1].value.set_index("username")
    assert accounts.loc["a.lee", "state"] == "disabled"


def test_users_page_changes_role_teams_password_and_enables_through_ui_writes(db: Engine) -> None:
    with write_session(db) as session:
        create_user(session, SYSTEM, "a.lee", "viewer", password="first-Password-1")
    at = open_page("app_pages/users.py", ADMIN)
    at.selectbox(key="change_user").set_value("a.lee")
    at.run()
    at.selectbox(key="change_role").set_value("lead")
    next(b for b in at.button if b.label == "Change role").click()
    at.run()
    assert any("a.lee is now a lead" in s.value for s in at.success), text_of(at)
    next(m for m in at.multiselect if m.label == "Teams").set_value(["public-health"])
    next(b for b in at.button if b.label == "Set teams").click()
    at.run()
    assert any("now belongs to public-health" in s.value for s in at.success), text_of(at)
    at.text_input(key="change_password").set_value("second-Password-2")
    next(b for b in at.button if b.label == "Set password").click()
    at.run()
    at.button(key="disable_user").click()
    at.run()
    at.button(key="enable_user").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Enabled a.lee" in s.value for s in at.success), text_of(at)
    with read_session(db) as session:
        account = session.scalars(select(User).where(User.username == "a.lee")).one()
        assert (account.role, [t.ref for t in account.teams], account.is_active) == ("lead", ["public-health"], True)
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == ADMIN.username)))
    assert actions == ["user.set_role", "user.set_teams", "user.set_password", "user.disable", "user.enable"]


def test_an_impossible_account_change_is_shown_and_changes_nothing(db: Engine) -> None:
    at = open_page("app_pages/users.py", ADMIN)
    at.selectbox(key="change_user").set_value(ADMIN.username)
    at.run()
    at.selectbox(key="change_role").set_value("viewer")
    next(b for b in at.button if b.label == "Change role").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("only active administrator" in e.value for e in at.error), text_of(at)
    assert not at.success
    with read_session(db) as session:
        assert session.scalars(select(User.role).where(User.username == ADMIN.username)).one() == "administrator"


def test_a_line_assigned_and_demo_data_loaded_and_cleared_on_the_admin_page(db: Engine) -> None:
    at = open_page("app_pages/admin.py", ADMIN)
    at.selectbox(key="assign_plan").set_value("2019-23")  # the 2023-27 plan has objectives only
    at.run()
    line_ref = at.selectbox(key="line_ref").options[0].split(" · ")[0]  # options are shown as "ref · text"
    with read_session(db) as session:
        line = session.scalars(select(Action).where(Action.ref == line_ref)).one()
        assert line.reporting_partner is None or line.reporting_partner.ref != "public-health"
    at.selectbox(key="line_ref").set_value(line_ref)
    at.selectbox(key="line_team").set_value("public-health")
    next(b for b in at.button if b.label == "Assign line").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    with read_session(db) as session:
        line = session.scalars(select(Action).where(Action.ref == line_ref)).one()
        assert line.reporting_partner.ref == "public-health"
    assert any(f"{line_ref} is now reported by" in s.value for s in at.success), text_of(at)

    at.button(key="demo_load").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("Generated demo data: ") for s in at.success), text_of(at)
    with read_session(db) as session:
        demo_users = list(session.scalars(select(User.username).where(User.is_demo)))
    assert len(demo_users) == 4 and all(name in text_of(at) for name in demo_users)
    at.button(key="demo_clear").click()
    at.run()
    assert any(s.value.startswith("Removed demo data: ") for s in at.success), text_of(at)
    with read_session(db) as session:
        assert list(session.scalars(select(User.username).where(User.is_demo))) == []
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == ADMIN.username)))
    assert actions == ["assignment.line", "demo.load", "demo.clear"]


def test_audit_page_filters_and_downloads_the_trail(
    db: Engine, media: list[MemoryMediaFileStorage], media_managers: list[MediaFileManager]
) -> None:
    with write_session(db) as session:
        audit.record(session, "alice", "return.ingest", "accepted", target="Family Services 2025-26 Q3 v1")
        audit.record(session, "bob", "return.submit", "refused", target="team:housing", detail="=HYPERLINK(1)")
        audit.record(session, "bob", "auth.signin", "failed", target="user:bob")
    at = open_page("app_pages/audit.py", ADMIN)
    at.selectbox(key="audit_actor").set_value("bob")
    at.run()
    assert sorted(at.dataframe[0].value["action"]) == ["auth.signin", "return.submit"]
    at.selectbox(key="audit_outcome").set_value("refused")
    at.run()
    shown = at.dataframe[0].value
    assert list(zip(shown["actor"], shown["action"], shown["outcome"], strict=True)) == [
        ("bob", "return.submit", "refused")
    ]
    button = at.download_button(key="audit_csv")
    # The CSV is made when the button is pressed (a deferred download), not in every run of the page.
    assert not button.proto.url and button.proto.deferred_file_id
    url = media_managers[-1].execute_deferred(button.proto.deferred_file_id)  # what pressing it asks the server
    stored = media[-1].get_file(url.rsplit("/", 1)[-1].split(".", 1)[0])
    rows = list(csv.reader(io.StringIO(bytes(stored.content).decode("utf-8-sig"))))
    assert rows[0] == ["at", "actor", "action", "target", "outcome", "detail"]
    assert [row[1:] for row in rows[1:]] == [["bob", "return.submit", "team:housing", "refused", "'=HYPERLINK(1)"]]
    # The page has no way to change or remove an event.
    assert not [b for b in at.button if "delete" in b.label.lower() or "edit" in b.label.lower()]


@pytest.mark.parametrize("page", ["app_pages/admin.py", "app_pages/users.py", "app_pages/audit.py"])
def test_a_viewer_reaching_an_admin_page_is_refused(db: Engine, page: str) -> None:
    at = open_page(page, VIEWER)
    assert any("does not give access to this page" in e.value for e in at.error), text_of(at)
    assert not at.file_uploader and not at.dataframe and not at.download_button and not at.text_input


def signed_in_through_oidc(email: str) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "https://cyp.example.org/oauth2callback", "cookie_secret": "x" * 32}
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    at.run()  # a second run of the same browser session must not audit again
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_oidc_sign_in_is_audited_once_per_session(db: Engine) -> None:
    with write_session(db) as session:
        create_user(session, SYSTEM, "a.lee", "lead", email="A.Lee@barnet.gov.uk", teams=["family-services"])
    at = signed_in_through_oidc("a.lee@barnet.gov.uk")
    assert at.session_state[PRINCIPAL_KEY] == Principal("a.lee", "lead", frozenset({"family-services"}))
    with read_session(db) as session:
        signins = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.signin")).all()
    assert [(e.actor, e.outcome, e.detail) for e in signins] == [("a.lee", "ok", "identity provider")]


def test_an_unknown_oidc_user_gets_no_access_and_one_refusal_event(db: Engine) -> None:
    at = signed_in_through_oidc("stranger@example.org")
    assert PRINCIPAL_KEY not in at.session_state
    assert any("has no access" in e.value for e in at.error)
    with read_session(db) as session:
        signins = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.signin")).all()
    assert [(e.actor, e.outcome, e.target) for e in signins] == [
        ("stranger@example.org", "refused", "email:stranger@example.org")
    ]


def test_the_framework_workbook_is_built_only_when_downloaded(
    db: Engine, media: list[MemoryMediaFileStorage], media_managers: list[MediaFileManager]
) -> None:
    at = open_page("app_pages/admin.py", ADMIN)
    button = next(b for b in at.download_button if b.label == "Download the framework workbook")
    # Rendering the page registers a generator, not the bytes: building the workbook waits for the click.
    assert button.proto.deferred_file_id and not button.proto.url
    url = media_managers[-1].execute_deferred(button.proto.deferred_file_id)
    stored = media[-1].get_file(url.rsplit("/", 1)[-1].split(".")[0])
    workbook = load_workbook(io.BytesIO(bytes(stored.content)))
    assert workbook.sheetnames == [
        "Read me",
        "Plans",
        "Outcomes",
        "Objectives",
        "Actions",
        "Indicators",
        "Partners",
        "Monitoring bodies",
        "Drivers",
        "Index domains",
        "Index mapping",
    ]
    # The real framework (data/framework/): both plans, and the 2019-23 plan's 78 actions.
    plans = workbook["Plans"]
    plan_column = [cell.value for cell in plans[1]].index("Ref")
    assert sorted(row[plan_column] for row in plans.iter_rows(min_row=2, values_only=True)) == ["2019-23", "2023-27"]
    actions = workbook["Actions"]
    ref_column = [cell.value for cell in actions[1]].index("Ref")
    refs = [row[ref_column] for row in actions.iter_rows(min_row=2, values_only=True) if row[ref_column]]
    assert sum(ref.startswith("19-") for ref in refs) == 78
