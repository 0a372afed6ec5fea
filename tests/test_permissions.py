"""Every write path, called as every role: refused ones store nothing but exactly one refusal audit event.

The write paths are the ``cyp`` functions the pages and the command line call: return ingest, framework
import, account changes, line and objective assignments, deadlines, demo data. The checks live beside the
writes, so calling them directly (as a future API would) is what is tested here, not the pages.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from cyp import admin
from cyp.access.accounts import (
    create_demo_accounts,
    create_user,
    disable_user,
    enable_user,
    remove_demo_accounts,
    set_password,
    set_role,
    set_teams,
)
from cyp.access.permissions import SYSTEM, PermissionDenied, Principal
from cyp.access.tokens import issue_token, revoke_token
from cyp.cycle.questions import ask_question, close_question
from cyp.cycle.recipients import set_opt_out
from cyp.cycle.signoff import return_to_team, sign_off
from cyp.framework.workbook import export_framework
from cyp.returns.ingest import ingest_return
from cyp.returns.redact import redact_update
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import AuditEvent, Base, Objective, Outcome, QuarterDeadline
from cyp.storage.schema import upgrade_schema
from tests.readside_factory import add_return
from tests.returns_factory import build_framework, build_return

TEAM = "family-services"  # the team whose return is uploaded and whose line is reassigned
ROLES = {
    "administrator": Principal("admin.one", "administrator"),
    "lead of that team": Principal("lead.fs", "lead", frozenset({TEAM})),
    "lead of another team": Principal("lead.ph", "lead", frozenset({"public-health"})),
    "viewer": Principal("viewer.one", "viewer"),
    "display": Principal("display.one", "display"),
    "approver of that team": Principal("approver.fs", "approver", frozenset({TEAM})),
    # Signed in while still an administrator, disabled since: require judges the account as it is now.
    "disabled administrator": Principal("admin.gone", "administrator"),
}


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database built once for the module: the test framework, an account per role (and demo ones), a deadline."""
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    with write_session(engine) as session:
        refs = build_framework(session)
        # An objective with no actions, to assign as a whole (as in the 2023–27 plan).
        outcome = session.scalar(select(Outcome).where(Outcome.ref == "T23-O1"))
        session.add(Objective(ref="T23-3", text="Young carers are supported", position=3, outcome=outcome))
        session.add(QuarterDeadline(quarter="2025-26 Q2", due=date(2025, 11, 14)))
        # A stored update to redact (a demo return: it has no kept file to replace).
        add_return(session, "family-services", "2025-26 Q2", {"T23-1.1": ("Green", "Hubs open.")}, is_demo=True)
        assert refs
    with write_session(engine) as session:
        create_user(session, SYSTEM, "admin.one", "administrator")
        create_user(session, SYSTEM, "admin.gone", "administrator")
        create_user(session, SYSTEM, "lead.fs", "lead", teams=[TEAM])
        create_user(session, SYSTEM, "lead.ph", "lead", teams=["public-health"])
        create_user(session, SYSTEM, "viewer.one", "viewer")
        create_user(session, SYSTEM, "display.one", "display")
        create_user(session, SYSTEM, "approver.fs", "approver", teams=[TEAM])
        # A return to sign off or send back, and a board question to close.
        add_return(session, TEAM, "2025-26 Q2", {"T23-1.1": "Green"})
        ask_question(session, SYSTEM, "T23-1.2", "2025-26 Q2", "Why is the hub late?")
        create_user(session, SYSTEM, "some.one", "viewer", email="some.one@example.org")
    with write_session(engine) as session:
        disable_user(session, SYSTEM, "admin.gone")
        create_demo_accounts(session, SYSTEM)  # so that removing them has something to remove
    engine.dispose()
    return path


@pytest.fixture
def db(seeded_file: Path, tmp_path: Path) -> Iterator[Engine]:
    """A fresh copy of the seeded database for one test (the file the settings point at)."""
    target = tmp_path / "cyp.storage.db"
    shutil.copy(seeded_file, target)
    engine = make_engine(f"sqlite:///{target}")
    yield engine
    engine.dispose()


_changed_workbook: dict[str, bytes] = {}


def changed_framework(engine: Engine) -> bytes:
    """The exported framework with one partner renamed: an import that would change something."""
    # Every copy of the seeded database exports the same workbook: build it once.
    if "seed" in _changed_workbook:
        return _changed_workbook["seed"]
    with read_session(engine) as session:
        workbook = load_workbook(io.BytesIO(export_framework(session)))
    sheet = workbook["Partners"]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == "housing":
            row[1].value = "Housing Services"
    buffer = io.BytesIO()
    workbook.save(buffer)
    _changed_workbook["seed"] = buffer.getvalue()
    return _changed_workbook["seed"]


def in_session(write: Callable[..., Any]) -> Callable[[Engine, Principal], Any]:
    def run(engine: Engine, principal: Principal) -> Any:
        with write_session(engine) as session:
            return write(session, principal)

    return run


def ingest(engine: Engine, principal: Principal) -> Any:
    result = ingest_return(build_return(), "family-services.xlsx", principal, engine=engine)
    if result.status == "refused":
        raise PermissionDenied(result.summary, permission="return.submit", username=principal.username)
    assert result.status == "accepted", result.summary
    return result


def import_framework(engine: Engine, principal: Principal) -> Any:
    data = changed_framework(engine)
    with write_session(engine) as session:
        result = admin.import_framework_as(session, principal, io.BytesIO(data), "framework.xlsx")
    assert result.ok and result.changes.get("Partners updated") == 1, (result.problems, result.changes)
    return result


ADMIN_ONLY = {"administrator"}
WRITES: dict[str, tuple[str, Callable[[Engine, Principal], Any], set[str]]] = {
    "ingest a return": ("return.submit", ingest, {"administrator", "lead of that team"}),
    "import the framework": ("framework.import", import_framework, ADMIN_ONLY),
    "add a user": (
        "user.manage",
        in_session(lambda s, p: create_user(s, p, "new.person", "lead", password="a long new password")),
        ADMIN_ONLY,
    ),
    "set a password": (
        "user.manage",
        in_session(lambda s, p: set_password(s, p, "some.one", "another long password")),
        ADMIN_ONLY,
    ),
    "disable a user": ("user.manage", in_session(lambda s, p: disable_user(s, p, "some.one")), ADMIN_ONLY),
    "enable a user": ("user.manage", in_session(lambda s, p: enable_user(s, p, "admin.gone")), ADMIN_ONLY),
    "set teams": ("user.manage", in_session(lambda s, p: set_teams(s, p, "lead.ph", [TEAM])), ADMIN_ONLY),
    "set a role": ("user.manage", in_session(lambda s, p: set_role(s, p, "some.one", "lead")), ADMIN_ONLY),
    "assign a line": (
        "assignment.manage",
        in_session(lambda s, p: admin.assign_line(s, p, "T23-1.2", "housing")),
        ADMIN_ONLY,
    ),
    "assign an objective": (
        "assignment.manage",
        in_session(lambda s, p: admin.assign_objective(s, p, "T23-3", "housing")),
        ADMIN_ONLY,
    ),
    "set a deadline": (
        "deadline.manage",
        in_session(lambda s, p: admin.set_deadline(s, p, "2025-26 Q3", date(2026, 2, 27))),
        ADMIN_ONLY,
    ),
    "clear a deadline": (
        "deadline.manage",
        in_session(lambda s, p: admin.clear_deadline(s, p, "2025-26 Q2")),
        ADMIN_ONLY,
    ),
    "load demo data": ("demo.manage", in_session(lambda s, p: admin.load_demo(s, p, seed=7)), ADMIN_ONLY),
    "clear demo data": ("demo.manage", in_session(admin.clear_demo_data), ADMIN_ONLY),
    "create demo accounts": ("demo.manage", in_session(create_demo_accounts), ADMIN_ONLY),
    "remove demo accounts": ("demo.manage", in_session(remove_demo_accounts), ADMIN_ONLY),
    "issue an API token": ("token.manage", in_session(lambda s, p: issue_token(s, p, "Power BI")), ADMIN_ONLY),
    "revoke an API token": (
        "token.manage",
        in_session(lambda s, p: revoke_token(s, p, issue_token(s, SYSTEM, "Excel")[0].id)),
        ADMIN_ONLY,
    ),
    "sign off a return": (
        "return.signoff",
        in_session(lambda s, p: sign_off(s, p, TEAM, "2025-26 Q2")),
        {"administrator", "approver of that team"},
    ),
    "send a return back": (
        "return.signoff",
        in_session(lambda s, p: return_to_team(s, p, TEAM, "2025-26 Q2", "Add a date")),
        {"administrator", "approver of that team"},
    ),
    "ask a board question": (
        "question.ask",
        in_session(lambda s, p: ask_question(s, p, "T23-1.2", "2025-26 Q2", "And the second hub?")),
        {"administrator", "viewer", "approver of that team"},
    ),
    "close a board question": ("question.close", in_session(lambda s, p: close_question(s, p, 1, "Done")), ADMIN_ONLY),
    "opt someone out of emails": (
        "mail.opt_out",
        in_session(lambda s, p: set_opt_out(s, p, "some.one")),
        ADMIN_ONLY,
    ),
    "redact an update": (
        "return.redact",
        in_session(
            lambda s, p: redact_update(
                s, p, line_ref="T23-1.1", quarter="2025-26 Q2", reason="test", uploads_dir=Path("uploads")
            )
        ),
        ADMIN_ONLY,
    ),
}


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table but the audit trail, so a refusal can be shown to have changed nothing."""
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
            if table.name != AuditEvent.__tablename__
        }


def events_after(engine: Engine, last_id: int) -> list[AuditEvent]:
    with read_session(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)))


def last_event_id(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.max(AuditEvent.id))) or 0


CASES = [(write, role) for write in WRITES for role in ROLES]


@pytest.mark.parametrize(("write", "role"), CASES, ids=[f"{w} as {r}" for w, r in CASES])
def test_every_write_as_every_role(db: Engine, write: str, role: str) -> None:
    permission, call, allowed = WRITES[write]
    principal = ROLES[role]
    before, last_id = snapshot(db), last_event_id(db)
    if role in allowed:
        call(db, principal)
        events = events_after(db, last_id)
        assert any(e.actor == principal.username and e.outcome in {"ok", "accepted"} for e in events), events
        assert not [e for e in events if e.outcome == "refused"]
        return
    with pytest.raises(PermissionDenied) as refusal:
        call(db, principal)
    assert snapshot(db) == before, "a refused write changed stored data"
    events = events_after(db, last_id)
    assert [(e.actor, e.action, e.outcome) for e in events] == [(principal.username, permission, "refused")]
    assert events[0].detail == str(refusal.value) or str(refusal.value).endswith(events[0].detail)
    assert events[0].detail.startswith("You may not ")


def test_every_permission_in_access_yaml_has_a_write_tested() -> None:
    from cyp.access.permissions import load_access_rules

    written = {permission for permission, _call, _allowed in WRITES.values()}
    assert written == set(load_access_rules()["permissions"]) - {"view"}


def test_a_lead_of_another_team_is_told_which_team(db: Engine) -> None:
    with pytest.raises(PermissionDenied, match="lead.ph is not a member of team family-services"):
        ingest(db, ROLES["lead of another team"])


def test_a_removed_team_stops_a_lead_at_the_next_upload(db: Engine) -> None:
    with write_session(db) as session:
        set_teams(session, SYSTEM, "lead.fs", [])
    # The principal still says family-services (from sign-in); the user table no longer does.
    with pytest.raises(PermissionDenied):
        ingest(db, ROLES["lead of that team"])
