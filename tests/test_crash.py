"""An ingest killed with SIGKILL at any point leaves each return completely stored or absent, and `check` reconciles."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cyp.access.permissions import system_acting_for
from cyp.cli import cli
from cyp.returns.ingest import CRASH_ENV
from cyp.storage.db import dispose_engines, read_session, write_session
from cyp.storage.maintenance import check_database, check_uploads
from cyp.storage.models import AuditEvent, Return
from tests.returns_factory import build_framework, build_return, clean_lines

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

LOAD = 4
NAMED_POINTS = ["transaction-open", "stored", "file-written", "file-kept", "committed"]
# How many of the LOAD returns are stored when the N-th pass through each point is killed.
STORED_BEFORE = {"transaction-open": 0, "stored": 0, "file-written": 0, "file-kept": 0, "committed": 1}
TIMED_KILLS_MS = [0, 10, 20, 35, 50, 70, 90, 120, 160, 220]
QUARTERS = ["2025-26 Q2", "2025-26 Q3"]
CRASH_TEST = system_acting_for("crash test")


def workbooks(run: str) -> list[bytes]:
    """A load of returns for Family Services, each unique to ``run``, alternating between two quarters."""
    load = []
    for number in range(LOAD):
        lines = clean_lines()
        lines[0]["Progress update"] = f"Crash run {run}, return {number}."
        load.append(build_return(quarter=QUARTERS[number % 2], lines=lines))
    return load


def ingest_load(url: str, uploads_dir: str, load: list[bytes], crash_at: str | None, ready: Any) -> None:
    """Child process: ingest the returns one after another, killed by the named crash point or by the parent."""
    from cyp.returns.ingest import ingest_return
    from cyp.storage.db import make_engine

    if crash_at:
        os.environ[CRASH_ENV] = crash_at
    engine = make_engine(url)
    ready.set()
    for number, data in enumerate(load):
        ingest_return(data, f"return-{number}.xlsx", CRASH_TEST, engine=engine, uploads_dir=Path(uploads_dir))


def run_killed(
    engine: Engine, uploads: Path, load: list[bytes], crash_at: str | None, kill_after_ms: int | None
) -> int:
    """Run one load in a forked child and return its exit code (-9 when killed)."""
    # The child must not inherit pooled connections it could close under the parent.
    engine.dispose()
    dispose_engines()
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(
        target=ingest_load, args=(engine.url.render_as_string(hide_password=False), str(uploads), load, crash_at, ready)
    )
    child.start()
    assert ready.wait(timeout=60)
    if kill_after_ms is not None:
        time.sleep(kill_after_ms / 1000)
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=60)
    assert child.exitcode is not None
    return child.exitcode


def stored_or_absent(engine: Engine, load: list[bytes]) -> int:
    """Assert each return of the load is completely stored or absent; returns how many are stored."""
    import hashlib

    stored = 0
    with read_session(engine) as session:
        for data in load:
            sha256 = hashlib.sha256(data).hexdigest()
            found = session.scalars(select(Return).where(Return.sha256 == sha256)).all()
            assert len(found) <= 1
            audits = [
                event
                for event in session.scalars(select(AuditEvent).where(AuditEvent.outcome == "accepted"))
                if json.loads(event.detail or "{}").get("sha256") == sha256
            ]
            if found:
                assert (len(found[0].line_updates), len(found[0].indicator_values), len(audits)) == (2, 1, 1)
                stored += 1
            else:
                assert audits == []
    return stored


def test_sigkill_at_any_point_leaves_whole_returns_and_check_reconciles(engine: Engine, tmp_path: Path) -> None:
    with write_session(engine) as session:
        build_framework(session)
    uploads = Path(os.environ["CYP_UPLOADS_DIR"])
    points: list[str] = []
    total_stored = 0
    for point in NAMED_POINTS:
        for nth in range(1, LOAD + 1):
            load = workbooks(f"{point}-{nth}")
            assert run_killed(engine, uploads, load, f"{point}:{nth}", None) == -signal.SIGKILL
            stored = stored_or_absent(engine, load)
            assert stored == nth - 1 + STORED_BEFORE[point], (point, nth)
            total_stored += stored
            points.append(f"{point}:{nth}")
    for delay in TIMED_KILLS_MS:
        load = workbooks(f"timed-{delay}")
        run_killed(engine, uploads, load, None, delay)
        total_stored += stored_or_absent(engine, load)
        points.append(f"after {delay} ms")
    print(f"\n{engine.dialect.name}: {len(points)} crash points tried, {total_stored} returns stored whole")
    assert len(points) >= 20

    with read_session(engine) as session:
        assert check_database(session) == []
        files = check_uploads(session, uploads)
        assert session.scalar(select(Return.id).where(Return.id > 0).limit(1)) is not None
    assert (files.missing, files.mismatched, files.checked) == ([], [], total_stored)
    # Killed between writing a file and committing: a half-written temporary file, or a whole file no return names.
    assert any(path.name.startswith(".upload-") for path in files.stray)
    assert any(path.suffix == ".xlsx" for path in files.stray)

    runner = CliRunner()
    try:
        reported = runner.invoke(cli, ["check"])
        assert reported.exit_code == 1, reported.output
        assert all(f"stray: {path}" in reported.output for path in files.stray)
        cleaned = runner.invoke(cli, ["check", "--clean"])
        assert cleaned.exit_code == 0, cleaned.output
        assert f"{len(files.stray)} stray ({len(files.stray)} removed)" in cleaned.output
        again = runner.invoke(cli, ["check"])
        assert again.exit_code == 0, again.output
        assert "0 database problems, 0 missing, 0 mismatched, 0 stray." in again.output
    finally:
        dispose_engines()
    assert len(list(uploads.iterdir())) == total_stored
