"""Engine and session factories: one engine per database URL per process.

The caller owns the transaction: storage functions take a ``Session`` and
never commit. Use :func:`read_session` for reads and :func:`write_session`
for writes; on SQLite a write session takes the write lock up front
(``BEGIN IMMEDIATE``) so concurrent writers queue on the busy timeout
instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cyp.storage.config import get_settings

if TYPE_CHECKING:
    import sqlite3

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A transaction that lost a race (SQLite still locked after its busy timeout, a PostgreSQL deadlock or
# serialization failure) is run again from the start this many times before the error reaches the caller.
WRITE_ATTEMPTS = 5
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

T = TypeVar("T")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    """Create a new engine for ``url`` with this project's connection settings."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: ``CYP_DATABASE_URL`` as set now)."""
    return _engine_for(url or get_settings().database_url)


_engines_made: list[Engine] = []


@cache
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    _engines_made.append(engine)
    return engine


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reading; rolled back at the end."""
    with Session(engine or get_engine()) as session:
        yield session


@contextmanager
def write_session(engine: Engine | None = None) -> Iterator[Session]:
    """One write transaction: committed if the block succeeds, rolled back if it raises."""
    engine = engine or get_engine()
    if engine.dialect.name == "sqlite":
        engine = _beginning_immediately(engine)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@lru_cache(maxsize=16)
def _beginning_immediately(engine: Engine) -> Engine:
    # Made once per engine: a new option engine per transaction costs more than a small ingest's statements. It
    # shares the engine's pool (even after dispose()) and events.
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def is_retryable(error: OperationalError) -> bool:
    """Whether ``error`` means the transaction lost a race and may succeed if run again from the start."""
    if "database is locked" in str(error.orig):
        return True
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def with_write_retries(transaction: Callable[[], T], *, attempts: int = WRITE_ATTEMPTS) -> T:
    """Run ``transaction`` (which opens and commits its own write session), again when it loses a race.

    ``transaction`` must be safe to run again from the start: everything it wrote was rolled back with the
    failed attempt. Other errors, and the last attempt's, reach the caller.
    """
    for attempt in range(1, attempts + 1):
        try:
            return transaction()
        except OperationalError as error:
            if attempt == attempts or not is_retryable(error):
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


def dispose_engines() -> None:
    """Close and forget every cached engine (for tests, and in a child process after fork)."""
    for engine in _engines_made:
        engine.dispose()
    _engines_made.clear()
    _engine_for.cache_clear()
    _beginning_immediately.cache_clear()
