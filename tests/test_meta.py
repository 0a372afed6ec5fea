"""Facts about the stored data: its version (what the app's caches are keyed on) and the demo accounts."""

from __future__ import annotations

import pytest

from cyp.access import audit
from cyp.bootstrap import initialise_database
from cyp.demo import set_up_demo, tear_down_demo
from cyp.read.meta import audit_version, data_version, demo_accounts
from cyp.storage.db import read_session, write_session

pytestmark = pytest.mark.both_databases


def test_the_version_grows_with_every_audited_write(engine):
    with read_session(engine) as session:
        assert data_version(session) == 0
    with write_session(engine) as session:
        audit.record(session, "admin", "deadline.set", "ok", target="quarter:2025-26 Q3")
    with read_session(engine) as session:
        first = data_version(session)
    with write_session(engine) as session:
        audit.record(session, "admin", "deadline.clear", "ok", target="quarter:2025-26 Q3")
    with read_session(engine) as session:
        assert data_version(session) > first > 0


def test_demo_accounts_are_listed_only_while_demo_data_is_loaded(engine):
    initialise_database(engine)
    with read_session(engine) as session:
        assert demo_accounts(session) == []
    with write_session(engine) as session:
        _counts, created = set_up_demo(session)
    with read_session(engine) as session:
        listed = demo_accounts(session)
    # The sign-in page lists every demo account but the administrator, whose password is printed once and not kept.
    assert listed == [tuple(account) for account in created if account[2] != "administrator"]
    assert {role for _u, _p, role in listed} == {"lead", "viewer", "display"}
    with write_session(engine) as session:
        tear_down_demo(session)
    with read_session(engine) as session:
        assert demo_accounts(session) == []


def test_sign_ins_sessions_and_api_reads_leave_the_data_version_alone(engine):
    # A meeting's sign-ins must not empty every session's cached reads; the audit trail's own version still moves.
    with write_session(engine) as session:
        audit.record(session, "admin", "deadline.set", "ok", target="quarter:2025-26 Q3")
    with read_session(engine) as session:
        before, audit_before = data_version(session), audit_version(session)
    with write_session(engine) as session:
        audit.record(session, "chair", "auth.signin", "ok")
        audit.record(session, "chair", "session.start", "ok")
        audit.record(session, "token:3", "api.read", "ok", target="/api/v1/report")
    with read_session(engine) as session:
        assert data_version(session) == before
        assert audit_version(session) == audit_before + 3
    with write_session(engine) as session:
        audit.record(session, "admin", "user.set_role", "ok", target="user:chair")
    with read_session(engine) as session:
        assert data_version(session) == audit_before + 4 == audit_version(session)
