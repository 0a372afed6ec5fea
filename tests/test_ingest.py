"""Ingest: atomic, versioned storage of valid returns; nothing stored for anything else."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal, system_acting_for
from cyp.returns.ingest import ingest_return
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent, IndicatorValue, LineUpdate, Return
from tests.returns_factory import build_framework, build_return, clean_lines, with_line

pytestmark = pytest.mark.both_databases


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
        # The uploader: a lead of the team every test return is for (no password: these tests never sign in).
        create_user(session, SYSTEM, LEAD.username, "lead", teams=sorted(LEAD.teams))
    return engine


LEAD = Principal("lead@example.org", "lead", frozenset({"family-services"}))


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        return {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def ingest(engine: Engine, data: bytes, uploads: Path, **options: Any):
    return ingest_return(data, "My return.xlsx", LEAD, engine=engine, uploads_dir=uploads, **options)


def test_clean_return_is_stored_with_every_line_value_file_and_audit(framework: Engine, tmp_path: Path) -> None:
    data = build_return()
    result = ingest(framework, data, tmp_path / "uploads", acknowledge_queries=False)
    assert (result.status, result.version, result.problems) == ("accepted", 1, [])
    assert result.summary == (
        "Accepted Family Services 2025-26 Q3 version 1: 2 lines (1 Green, 1 Amber), 1 indicator value"
    )
    digest = hashlib.sha256(data).hexdigest()
    with read_session(framework) as session:
        stored = session.get(Return, result.return_id)
        assert (stored.partner.name, stored.plan.ref, stored.quarter, stored.version, stored.is_current) == (
            "Family Services", "T2023", "2025-26 Q3", 1, True
        )  # fmt: skip
        assert (stored.original_filename, stored.size_bytes, stored.sha256) == ("My return.xlsx", len(data), digest)
        assert stored.stored_path == f"{digest}.xlsx"
        assert sorted((u.action.ref, u.quarter, u.status, u.progress) for u in stored.line_updates) == [
            ("T23-1.1", "2025-26 Q3", "Green", "Hubs open five days a week."),
            ("T23-1.2", "2025-26 Q3", "Amber", "Second hub delayed by building works."),
        ]
        assert [(v.indicator.ref, v.value, v.target) for v in stored.indicator_values] == [("T23-I1", 161.0, 150.0)]
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "return.ingest")).one()
        assert (event.actor, event.action, event.target, event.outcome) == (
            "lead@example.org", "return.ingest", "Family Services 2025-26 Q3 v1", "accepted"
        )  # fmt: skip
        assert json.loads(event.detail)["statuses"] == {"Blue": 0, "Green": 1, "Amber": 1, "Red": 0}
    kept = tmp_path / "uploads" / f"{digest}.xlsx"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == digest
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [kept.name]


def test_every_column_of_the_lines_and_values_is_stored_as_checked(framework: Engine, tmp_path: Path) -> None:
    # Line updates go to SQLite's driver as they are (cyp.returns.ingest._insert_rows), indicator values (whose
    # floats SQLAlchemy converts) and every PostgreSQL insert through Core: both ways store the same columns.
    result = ingest(framework, build_return(), tmp_path / "uploads", acknowledge_queries=True)
    assert result.status == "accepted"
    with read_session(framework) as session:
        updates = session.scalars(select(LineUpdate).where(LineUpdate.return_id == result.return_id)).all()
        stored = sorted((u.action.ref, u.quarter, u.status, u.progress, u.next_steps, u.risks) for u in updates)
        values = session.scalars(select(IndicatorValue).where(IndicatorValue.return_id == result.return_id)).all()
        assert [(v.indicator.ref, v.quarter, v.value, v.target, v.commentary) for v in values] == [
            ("T23-I1", "2025-26 Q3", 161.0, 150.0, "Up by six since last quarter.")
        ]
    assert stored == [
        ("T23-1.1", "2025-26 Q3", "Green", "Hubs open five days a week.", "Extend to Saturdays.", None),
        ("T23-1.2", "2025-26 Q3", "Amber", "Second hub delayed by building works.", None, "Contractor capacity."),
    ]


def test_only_sqlite_line_updates_skip_core_processing() -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    from cyp.returns.ingest import _INDICATOR_VALUE_COLUMNS, _LINE_UPDATE_COLUMNS, _driver_insert

    assert _driver_insert(LineUpdate, _LINE_UPDATE_COLUMNS, sqlite.dialect()) == (
        "INSERT INTO line_updates (return_id, action_id, quarter, status, progress, next_steps, risks) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    # Floats are converted by SQLAlchemy on SQLite; PostgreSQL batches through Core's insertmanyvalues.
    assert _driver_insert(IndicatorValue, _INDICATOR_VALUE_COLUMNS, sqlite.dialect()) is None
    assert _driver_insert(LineUpdate, _LINE_UPDATE_COLUMNS, postgresql.dialect()) is None
    # A column left out that has a default SQLAlchemy fills in, or columns in another order: Core again.
    assert _driver_insert(AuditEvent, ("actor", "action", "outcome"), sqlite.dialect()) is None
    assert _driver_insert(LineUpdate, tuple(reversed(_LINE_UPDATE_COLUMNS)), sqlite.dialect()) is None


REJECTED = {
    "misspelt status": {"lines": with_line(1, RAG_status="Ambr")},
    "unknown team": {"team": "Nobody"},
    "future quarter": {"quarter": "2027-28 Q1"},
    "another team's line": {"lines": [*clean_lines(), {"Ref": "T23-2.1", "RAG status": "Green"}]},
    "bad indicator value": {"indicators": [{"Ref": "T23-I1", "Value": "lots"}]},
    "no return sheet": {"sheet_name": "Data"},
}


@pytest.mark.parametrize("overrides", REJECTED.values(), ids=REJECTED.keys())
def test_rejection_stores_nothing_but_an_audit_event(framework: Engine, tmp_path: Path, overrides: dict) -> None:
    before = row_counts(framework)
    result = ingest(framework, build_return(**overrides), tmp_path / "uploads", acknowledge_queries=True)
    assert result.status == "rejected" and result.problems and result.return_id is None
    after = row_counts(framework)
    assert after == before | {"audit_events": before["audit_events"] + 1}
    with read_session(framework) as session:
        assert session.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "return.ingest")).all() == [
            "rejected"
        ]
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


@pytest.mark.parametrize(
    "data", [b"", b"name,status\nx,Green\n", b"PK\x03\x04garbage" * 10], ids=["empty", "csv", "junk"]
)
def test_hostile_or_junk_files_are_rejected_not_raised(framework: Engine, tmp_path: Path, data: bytes) -> None:
    before = row_counts(framework)
    result = ingest(framework, data, tmp_path / "uploads")
    assert result.status == "rejected" and result.problems
    assert row_counts(framework)["returns"] == before["returns"] == 0


def test_queries_need_acknowledgement_then_are_stored(framework: Engine, tmp_path: Path) -> None:
    data = build_return(lines=with_line(1, Progress_update=None))
    before = row_counts(framework)
    waiting = ingest(framework, data, tmp_path / "uploads")
    assert waiting.status == "needs-acknowledgement"
    assert [str(p) for p in waiting.problems] == [
        "Return!F8: T23-1.2 is Amber but has no progress update; say what is being done about it"
    ]
    assert row_counts(framework) == before
    accepted = ingest(framework, data, tmp_path / "uploads", acknowledge_queries=True)
    assert accepted.status == "accepted"
    with read_session(framework) as session:
        assert session.get(Return, accepted.return_id).queries_acknowledged is True


def test_reupload_becomes_version_2_and_keeps_version_1(framework: Engine, tmp_path: Path) -> None:
    first = ingest(framework, build_return(), tmp_path / "uploads")
    second = ingest(framework, build_return(lines=with_line(1, RAG_status="Green")), tmp_path / "uploads")
    assert (first.version, second.version) == (1, 2)
    assert second.changes == ["T23-1.2: Amber → Green (was Amber in version 1)"]
    assert second.summary.endswith("; 1 change")
    with read_session(framework) as session:
        versions = session.execute(select(Return.version, Return.is_current).order_by(Return.version)).all()
        assert [tuple(v) for v in versions] == [(1, False), (2, True)]
        assert session.scalar(select(func.count()).select_from(LineUpdate)) == 4
        assert session.scalar(select(func.count()).select_from(IndicatorValue)) == 2
    assert len(list((tmp_path / "uploads").iterdir())) == 2


def test_same_file_twice_is_a_duplicate_and_stores_nothing(framework: Engine, tmp_path: Path) -> None:
    data = build_return()
    first = ingest(framework, data, tmp_path / "uploads")
    before = row_counts(framework)
    again = ingest(framework, data, tmp_path / "uploads")
    assert (again.status, again.version, again.return_id) == ("duplicate", 1, first.return_id)
    assert again.summary == (
        "Already stored: this file is Family Services 2025-26 Q3 version 1, uploaded by lead@example.org; "
        "nothing new stored"
    )
    assert row_counts(framework) == before


def test_changes_since_the_previous_quarter(framework: Engine, tmp_path: Path) -> None:
    ingest(framework, build_return(quarter="2025-26 Q2", lines=with_line(0, RAG_status="Red")), tmp_path / "u")
    result = ingest(framework, build_return(lines=clean_lines()[:1] + [clean_lines()[1]]), tmp_path / "u")
    assert result.changes == ["T23-1.1: Red → Green (was Red in 2025-26 Q2)"]


def test_failed_transaction_leaves_no_file(framework: Engine, tmp_path: Path) -> None:
    # A database refusing writes after the file is kept must not leave the file behind.
    with framework.begin() as connection:
        if framework.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse AFTER INSERT ON audit_events FOR EACH ROW "
                "WHEN (NEW.outcome = 'accepted') EXECUTE FUNCTION refuse()"
            )
        else:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse AFTER INSERT ON audit_events WHEN NEW.outcome = 'accepted' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    with pytest.raises(Exception, match="refused"):
        ingest(framework, build_return(), tmp_path / "uploads")
    assert row_counts(framework)["returns"] == 0
    assert list((tmp_path / "uploads").iterdir()) == []


def test_failure_after_the_file_is_kept_removes_it(
    framework: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last step before commit: the file has its stored name, then something fails; nothing may remain.
    import cyp.returns.ingest as ingest_module

    def fail_once_kept(name: str) -> None:
        if name == "file-kept":
            assert list((tmp_path / "uploads").glob("*.xlsx")), "the file should be kept by now"
            raise RuntimeError("failed after keeping the file")

    monkeypatch.setattr(ingest_module, "crash_point", fail_once_kept)
    with pytest.raises(RuntimeError, match="after keeping"):
        ingest(framework, build_return(), tmp_path / "uploads")
    assert row_counts(framework)["returns"] == 0
    assert list((tmp_path / "uploads").iterdir()) == []


def test_the_copy_removed_while_checking_is_written_again(
    framework: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A clean-up of stray files (`check --clean`) may remove the in-flight copy; the return is still kept whole.
    import cyp.returns.ingest as ingest_module

    check_return = ingest_module.check_return

    def check_after_clean_up(session, parsed):  # type: ignore[no-untyped-def]
        for stray in (tmp_path / "uploads").glob(".upload-*.part"):
            stray.unlink()
        return check_return(session, parsed)

    monkeypatch.setattr(ingest_module, "check_return", check_after_clean_up)
    data = build_return()
    result = ingest(framework, data, tmp_path / "uploads")
    assert result.status == "accepted"
    kept = list((tmp_path / "uploads").iterdir())
    assert [path.read_bytes() for path in kept] == [data]


def test_a_rejected_return_leaves_no_file(framework: Engine, tmp_path: Path) -> None:
    # The copy written while the workbook is checked is removed when it is not stored.
    result = ingest(framework, build_return(team="No Such Team"), tmp_path / "uploads")
    assert result.status == "rejected"
    assert list((tmp_path / "uploads").iterdir()) == []


def test_demo_returns_are_marked(framework: Engine, tmp_path: Path) -> None:
    result = ingest(framework, build_return(), tmp_path / "uploads", is_demo=True)
    with read_session(framework) as session:
        assert session.get(Return, result.return_id).is_demo is True


def test_an_upload_by_a_demo_account_is_demo_data(framework: Engine, tmp_path: Path) -> None:
    with write_session(framework) as session:
        create_user(session, SYSTEM, "demo.lead@example.org", "lead", teams=["family-services"], is_demo=True)
    demo_lead = Principal("demo.lead@example.org", "lead", frozenset({"family-services"}))
    result = ingest_return(build_return(), "r.xlsx", demo_lead, engine=framework, uploads_dir=tmp_path / "uploads")
    with read_session(framework) as session:
        assert session.get(Return, result.return_id).is_demo is True


def test_is_demo_account_sees_an_account_added_but_not_yet_flushed(engine: Engine) -> None:
    from cyp.access.accounts import is_demo_account
    from cyp.storage.models import User

    with write_session(engine) as session:
        session.add(User(username="demo.new@example.org", role="lead", is_demo=True))
        session.add(User(username="real.new@example.org", role="lead"))
        assert is_demo_account(session, " Demo.New@example.org ")
        assert not is_demo_account(session, "real.new@example.org")
        assert not is_demo_account(session, "nobody@example.org")


def test_a_bare_name_is_refused_before_anything_is_read_or_stored(framework: Engine, tmp_path: Path) -> None:
    # A name once meant "trusted, no permission check"; now only a Principal says who is uploading.
    before = row_counts(framework)
    with pytest.raises(TypeError, match="ingest_return needs a Principal, not str"):
        ingest_return(build_return(), "r.xlsx", "housing.lead", engine=framework, uploads_dir=tmp_path / "u")  # type: ignore[arg-type]
    assert row_counts(framework) == before
    assert not (tmp_path / "u").exists()


def test_a_lead_of_another_team_is_refused_and_the_refusal_is_audited(framework: Engine, tmp_path: Path) -> None:
    with write_session(framework) as session:
        create_user(session, SYSTEM, "housing.lead", "lead", teams=["housing"])
    before = row_counts(framework)
    housing = Principal("housing.lead", "lead", frozenset({"housing"}))
    result = ingest_return(build_return(), "r.xlsx", housing, engine=framework, uploads_dir=tmp_path / "u")
    assert (result.status, result.version) == ("refused", None)
    assert result.summary == (
        "Refused: You may not submit a return for team family-services: "
        "housing.lead is not a member of team family-services."
    )
    after = row_counts(framework)
    assert after["returns"] == before["returns"] and after["audit_events"] == before["audit_events"] + 1
    with read_session(framework) as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.actor, event.action, event.outcome, event.target) == (
            "housing.lead", "return.submit", "refused", "Family Services 2025-26 Q3"
        )  # fmt: skip
    assert list((tmp_path / "u").iterdir()) == []


def test_the_system_acting_for_someone_is_named_as_the_uploader(framework: Engine, tmp_path: Path) -> None:
    system = system_acting_for("command line, login ops")
    result = ingest_return(build_return(), "r.xlsx", system, engine=framework, uploads_dir=tmp_path / "u")
    assert result.status == "accepted"
    with read_session(framework) as session:
        assert session.get(Return, result.return_id).uploaded_by == "system (command line, login ops)"
