"""check reconciles uploads/ with the database; backup while ingesting, restore gives back the same report."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.synchronize
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from cyp.access.permissions import system_acting_for
from cyp.cli import cli
from cyp.returns.ingest import ingest_return
from cyp.storage.db import dispose_engines, make_engine, read_session, write_session
from cyp.storage.maintenance import BackupError, backup_database, check_database, check_uploads, remove_stray
from cyp.storage.models import Return
from tests.readside_factory import add_return
from tests.returns_factory import build_framework, build_return, clean_lines

pytestmark = pytest.mark.both_databases

REPORTED = "2025-26 Q3"
LOADING = "2025-26 Q2"
LOAD = 40
# Who uploads does not matter here: the tests are about the files and the database.
TESTS = system_acting_for("maintenance tests")
# The tests upload as the system, as the command line does with --as-system.
UPLOADER = system_acting_for("tests")


def versions_of(quarter: str, count: int, label: str) -> list[bytes]:
    """``count`` different Family Services returns for ``quarter``."""
    load = []
    for number in range(count):
        lines = clean_lines()
        lines[1]["Progress update"] = f"{label} {number}"
        load.append(build_return(quarter=quarter, lines=lines))
    return load


@pytest.fixture
def framework(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    with write_session(engine) as session:
        build_framework(session)
    for data in versions_of(REPORTED, 2, "reported"):
        assert ingest_return(data, "r.xlsx", TESTS, engine=engine, uploads_dir=tmp_path / "uploads").accepted
    yield engine
    dispose_engines()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_check_finds_missing_mismatched_and_stray_files_and_cleans_strays(framework: Engine, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    with write_session(framework) as session:
        add_return(session, "public-health", REPORTED, {"T23-2.1": "Green"}, is_demo=True)
    with read_session(framework) as session:
        first, second = session.scalars(select(Return).where(~Return.is_demo).order_by(Return.id)).all()
        clean = check_uploads(session, uploads)
        assert (clean.ok, clean.checked, clean.skipped_demo) == (True, 2, 1)
        assert check_database(session) == []
    (uploads / first.stored_path).unlink()
    (uploads / second.stored_path).write_bytes(b"changed")
    (uploads / ".upload-abc.part").write_bytes(b"half")
    (uploads / "stray.xlsx").write_bytes(b"x")
    with read_session(framework) as session:
        found = check_uploads(session, uploads)
    assert len(found.missing) == 1 and first.stored_path in found.missing[0]
    assert len(found.mismatched) == 1 and second.stored_path in found.mismatched[0]
    assert [path.name for path in found.stray] == [".upload-abc.part", "stray.xlsx"]

    status, output = run("check")
    assert status == 1
    assert f"missing file: return {first.id} (Family Services {REPORTED} v1)" in output
    assert "SHA-256 mismatch" in output and "stray: " in output
    assert remove_stray(found) == found.stray
    assert sorted(path.name for path in uploads.iterdir()) == [second.stored_path]


def test_check_sees_broken_version_numbering(framework: Engine) -> None:
    with write_session(framework) as session:
        session.execute(Return.__table__.update().where(Return.version == 2).values(is_current=False, version=3))
    with read_session(framework) as session:
        problems = check_database(session)
    assert any("versions 1..3 for 2 returns" in problem for problem in problems)
    assert any("0 current versions" in problem for problem in problems)


def ingest_in_child(
    url: str, uploads_dir: str, load: list[bytes], backup_done: multiprocessing.synchronize.Event
) -> None:
    # The last return waits for the backup, so the load is still running whenever the backup ends, however fast
    # the ingest or busy the machine (the ones before it go in while the backup runs).
    engine = make_engine(url)
    for position, data in enumerate(load):
        if position == len(load) - 1:
            backup_done.wait(timeout=120)
        ingest_return(data, "loading.xlsx", TESTS, engine=engine, uploads_dir=Path(uploads_dir))


def test_backup_while_ingesting_then_restore_gives_the_same_report(framework: Engine, tmp_path: Path) -> None:
    if framework.dialect.name == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    load = versions_of(LOADING, LOAD, "loading")
    shas = [hashlib.sha256(data).hexdigest() for data in load]
    before_code, report_before = run("report", "--quarter", REPORTED, "--format", "json")
    assert before_code == 0
    framework.dispose()
    dispose_engines()
    context = multiprocessing.get_context("fork")
    backup_done = context.Event()
    child = context.Process(
        target=ingest_in_child,
        args=(framework.url.render_as_string(hide_password=False), str(tmp_path / "uploads"), load, backup_done),
    )
    child.start()
    try:
        deadline = time.monotonic() + 60
        while _count_loading(framework) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        backup = tmp_path / "backups" / "cyp.backup"
        status, output = run("backup", "--out", str(backup))
        assert status == 0, output
        assert child.is_alive(), "the load finished before the backup: nothing shows it ran while the app wrote"
    finally:
        backup_done.set()
        child.join(timeout=120)
    assert child.exitcode == 0
    assert _count_loading(framework) == LOAD

    status, output = run("backup", "--out", str(backup))
    assert status == 1 and "already exists" in output
    status, output = run("restore", str(backup))
    assert status == 1 and "--force" in output
    framework.dispose()
    dispose_engines()
    status, output = run("restore", str(backup), "--force")
    assert status == 0, output
    dispose_engines()

    assert run("report", "--quarter", REPORTED, "--format", "json") == (0, report_before)
    with read_session(framework) as session:
        assert check_database(session) == []
        restored = session.scalars(select(Return.sha256).where(Return.quarter == LOADING).order_by(Return.version))
        restored = list(restored)
    # A snapshot: the returns committed before the backup, in order, and none of those after it.
    assert 2 <= len(restored) < LOAD
    assert restored == shas[: len(restored)]
    print(f"\n{framework.dialect.name}: backup taken with {len(restored)} of {LOAD} loading returns committed")


def _count_loading(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(Return).where(Return.quarter == LOADING)) or 0


def test_sqlite_restore_into_a_new_place_gives_the_same_report(
    framework: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if framework.dialect.name != "sqlite":
        pytest.skip("restoring into a new file is SQLite's")
    code, report = run("report", "--quarter", REPORTED, "--format", "json")
    backup = tmp_path / "copy.db"
    assert run("backup", "--out", str(backup))[0] == 0
    monkeypatch.setenv("CYP_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere' / 'cyp.db'}")
    status, output = run("restore", str(backup))
    assert status == 0, output
    assert run("report", "--quarter", REPORTED, "--format", "json") == (code, report)
    assert json.loads(report)["quarter"] == REPORTED


def test_restore_refuses_what_is_not_a_backup(framework: Engine, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    status, output = run("restore", str(junk), "--force")
    assert status == 1
    assert "not a SQLite backup" in output or "pg_restore failed" in output


def test_postgres_backup_without_pg_dump_says_what_to_run(
    framework: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if framework.dialect.name != "postgresql":
        pytest.skip("SQLite needs no tool")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump is not installed.*pg_dump --format=custom"):
        backup_database(framework, tmp_path / "cyp.dump")
    assert not os.path.exists(tmp_path / "cyp.dump")


def test_no_numbering_alarm_after_demo_returns_are_cleared(framework: Engine, tmp_path: Path) -> None:
    # Demo versions 1 and 2 of a quarter, then a real upload (version 3), then `demo --clear`: version 3 alone is
    # sound, because no upload ever stored versions 1 and 2.
    with write_session(framework) as session:
        add_return(session, "family-services", LOADING, {"T23-1.1": "Green"}, is_demo=True)
        add_return(session, "family-services", LOADING, {"T23-1.1": "Amber"}, is_demo=True)
    (data,) = versions_of(LOADING, 1, "real after demo")
    result = ingest_return(data, "r.xlsx", UPLOADER, engine=framework, uploads_dir=tmp_path / "uploads")
    assert (result.status, result.version) == ("accepted", 3)
    status, output = run("demo", "--clear")
    assert status == 0, output
    with read_session(framework) as session:
        assert session.scalars(select(Return.version).where(Return.quarter == LOADING)).all() == [3]
        assert check_database(session) == []
    status, output = run("check")
    assert "0 database problems" in output


def test_a_missing_version_an_upload_stored_is_still_an_alarm(framework: Engine) -> None:
    # Version 1 was stored by an upload (audited); deleting it leaves a gap that is data lost.
    with write_session(framework) as session:
        first = session.scalars(select(Return).where(Return.version == 1)).one()
        session.delete(first)
    with read_session(framework) as session:
        problems = check_database(session)
    assert any("versions 2..2 for 1 returns" in problem for problem in problems)
