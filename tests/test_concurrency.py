"""Concurrent uploads lose nothing: 8 processes each submit 25 returns at once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
import types
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cyp.access.permissions import system_acting_for
from cyp.storage.db import read_session, write_session
from cyp.storage.maintenance import check_database, check_uploads
from cyp.storage.models import AuditEvent, IndicatorValue, LineUpdate, Return
from tests.returns_factory import build_framework, build_return, clean_lines

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

PROCESSES = 8
RETURNS_EACH = 25
QUARTERS = [f"{year}-{(year + 1) % 100:02d} Q{q}" for year in (2023, 2024, 2025) for q in (1, 2, 3, 4)]
TEAMS = ["Family Services", "Public Health"]
# Every process uploads the same bytes first (built once: a workbook's bytes include the time it was written),
# so exactly one is stored and the others are duplicates.
SHARED_JOB = ("Family Services", "2025-26 Q3", "shared")


def team_lines(team: str, token: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Lines (each progress text unique to ``token``, so no two uploads share a SHA-256) and indicators for a team."""
    if team == "Family Services":
        lines = clean_lines()
        for line in lines:
            line["Progress update"] = f"{line['Progress update']} [{token}]"
        return lines, None
    return [{"Ref": "T23-2.1", "RAG status": "Green", "Progress update": f"On track [{token}]"}], []


def jobs_for(process: int) -> list[tuple[str, str, str]]:
    """The (team, quarter, token) a process uploads: the shared file, then returns spread so each team+quarter
    gets uploads from several processes and their versions race."""
    jobs = [SHARED_JOB]
    for number in range(1, RETURNS_EACH):
        slot = (process * RETURNS_EACH + number) % (len(TEAMS) * len(QUARTERS))
        jobs.append((TEAMS[slot % 2], QUARTERS[slot // 2], f"p{process}-n{number}"))
    return jobs


def upload_all(url: str, uploads_dir: str, process: int, shared: bytes, barrier: Any, results: Any) -> None:
    """Child process: build its workbooks, wait for every other process, then ingest them one after another."""
    try:
        from cyp.returns.ingest import ingest_return
        from cyp.storage.db import make_engine

        engine = make_engine(url)
        workbooks = [
            (
                team,
                quarter,
                shared
                if token == SHARED_JOB[2]
                else build_return(team=team, quarter=quarter, lines=lines, indicators=values),
            )
            for team, quarter, token in jobs_for(process)
            for lines, values in [team_lines(team, token)]
        ]
        outcomes = []
        barrier.wait(timeout=120)
        started = time.perf_counter()
        for team, quarter, data in workbooks:
            try:
                result = ingest_return(
                    data,
                    f"{team} {quarter}.xlsx",
                    system_acting_for(f"process {process}"),
                    engine=engine,
                    uploads_dir=Path(uploads_dir),
                    acknowledge_queries=True,
                )
                outcomes.append((team, quarter, result.status, result.version, result.return_id, None))
            except Exception:  # noqa: BLE001 - any exception reaching the caller is what this test looks for
                outcomes.append((team, quarter, "raised", None, None, traceback.format_exc()))
        results.put((process, started, time.perf_counter(), outcomes))
        engine.dispose()
    except Exception:  # noqa: BLE001 - report set-up failures instead of hanging the parent
        results.put((process, 0.0, 0.0, [(None, None, "raised", None, None, traceback.format_exc())]))


@contextmanager
def _no_main_script() -> Iterator[None]:
    """Start spawned children without re-running this process's ``__main__``.

    A spawned child imports the parent's ``__main__`` module again. After an AppTest test in the same process that is
    app.py (AppTest runs the script as ``__main__``), so the children would run the Streamlit app and fail. The
    children need only this module's ``upload_all``, which they import by name.
    """
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def run_processes(url: str, uploads_dir: Path) -> tuple[list[tuple], float]:
    """Start the processes, collect every outcome, and return them with the wall time of the uploads."""
    team, quarter, token = SHARED_JOB
    lines, values = team_lines(team, token)
    shared = build_return(team=team, quarter=quarter, lines=lines, indicators=values)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    children = [
        context.Process(target=upload_all, args=(url, str(uploads_dir), process, shared, barrier, results))
        for process in range(PROCESSES)
    ]
    with _no_main_script():
        for child in children:
            child.start()
    reports = [results.get(timeout=300) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    outcomes = [outcome for _, _, _, done in reports for outcome in done]
    seconds = max(report[2] for report in reports) - min(report[1] for report in reports)
    return outcomes, seconds


def test_eight_processes_uploading_at_once_lose_nothing(engine: Engine, tmp_path: Path) -> None:
    with write_session(engine) as session:
        build_framework(session)
    uploads = tmp_path / "uploads"
    url = engine.url.render_as_string(hide_password=False)

    outcomes, seconds = run_processes(url, uploads)

    raised = [outcome[5] for outcome in outcomes if outcome[2] == "raised"]
    assert raised == [], raised[0]
    statuses = Counter(outcome[2] for outcome in outcomes)
    assert statuses == {"accepted": PROCESSES * RETURNS_EACH - (PROCESSES - 1), "duplicate": PROCESSES - 1}
    print(
        f"\n{engine.dialect.name}: {len(outcomes)} uploads from {PROCESSES} processes in {seconds:.2f} s = "
        f"{len(outcomes) / seconds:.1f} returns per second"
    )

    accepted = [outcome for outcome in outcomes if outcome[2] == "accepted"]
    duplicates = {outcome[4] for outcome in outcomes if outcome[2] == "duplicate"}
    with read_session(engine) as session:
        stored = session.execute(
            select(Return.id, Return.quarter, Return.version, Return.is_current, Return.partner_id)
        )
        stored = list(stored)
        # Every accepted return is stored exactly once, and the duplicates all point at the one shared upload.
        assert sorted(outcome[4] for outcome in accepted) == sorted(row.id for row in stored)
        assert len(duplicates) == 1 and duplicates <= {row.id for row in stored}
        by_pair: dict[tuple[int, str], list] = defaultdict(list)
        for row in stored:
            by_pair[(row.partner_id, row.quarter)].append(row)
        for pair, rows in by_pair.items():
            assert sorted(row.version for row in rows) == list(range(1, len(rows) + 1)), pair
            assert [row.version for row in rows if row.is_current] == [len(rows)], pair
        reported = Counter((outcome[0], outcome[1]) for outcome in accepted)
        assert sorted(reported.values()) == sorted(len(rows) for rows in by_pair.values())
        family = sum(1 for outcome in accepted if outcome[0] == "Family Services")
        health = len(accepted) - family
        assert session.scalar(select(func.count()).select_from(LineUpdate)) == 2 * family + health
        assert session.scalar(select(func.count()).select_from(IndicatorValue)) == family
        assert session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome == "accepted")
        ) == len(accepted)
        assert check_database(session) == []
        files = check_uploads(session, uploads)
    assert files.ok and files.checked == len(accepted)
    assert len(os.listdir(uploads)) == len(accepted)


def test_a_transaction_that_lost_a_race_is_run_again_and_other_errors_are_not() -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from cyp.storage.db import WRITE_ATTEMPTS, with_write_retries

    calls: list[str] = []

    def locked_twice() -> str:
        calls.append("try")
        if len(calls) < 3:
            raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
        return "stored"

    assert with_write_retries(locked_twice) == "stored" and len(calls) == 3

    def always_locked() -> None:
        calls.append("locked")
        raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))

    calls.clear()
    with pytest.raises(OperationalError, match="database is locked"):
        with_write_retries(always_locked)
    assert len(calls) == WRITE_ATTEMPTS

    def broken() -> None:
        calls.append("broken")
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: returns"))

    calls.clear()
    with pytest.raises(OperationalError, match="no such table"):
        with_write_retries(broken)
    assert calls == ["broken"]
