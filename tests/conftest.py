"""Shared fixtures: a fresh database per test, isolated settings.

A module that also runs on PostgreSQL says so itself, at the top: ``pytestmark = pytest.mark.both_databases``. Its
tests that take ``engine`` then run twice, ``[sqlite]`` and ``[postgresql]``; every other module runs on SQLite only,
to keep the suite quick.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cyp.storage.db import make_engine
from cyp.storage.schema import upgrade_schema

pytest_plugins = ["tests.fixtures_postgres", "tests.fixtures_browser"]

BOTH_DATABASES_MARKER = "both_databases"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every test at its own database file and uploads folder."""
    monkeypatch.setenv("CYP_DATABASE_URL", f"sqlite:///{tmp_path / 'cyp.db'}")
    monkeypatch.setenv("CYP_UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("CYP_TODAY", "2026-11-23")
    return tmp_path


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """URL of this test's own SQLite file."""
    return f"sqlite:///{tmp_path / 'cyp.db'}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give ``engine`` the param ``sqlite``, and also ``postgresql`` in modules marked ``both_databases``."""
    if "engine" not in metafunc.fixturenames:
        return
    databases = [pytest.param("sqlite", id="sqlite")]
    if any(mark.name == BOTH_DATABASES_MARKER for mark in metafunc.definition.iter_markers()):
        databases.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    metafunc.parametrize("engine", databases, indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest schema once per test process (each xdist worker has its own)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    template = make_engine(f"sqlite:///{path}")
    upgrade_schema(template)
    with template.connect() as connection:
        # Fold the write-ahead log into the file, so the file alone is the whole database.
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    template.dispose()
    return path


@pytest.fixture
def engine(
    request: pytest.FixtureRequest, db_url: str, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A fresh, migrated, empty database: this test's SQLite file, or a fresh PostgreSQL one (param ``postgresql``).

    Both are copies of a template migrated once per session (a file copy; ``CREATE DATABASE ... TEMPLATE``), so a
    test pays milliseconds, not a migration run. On PostgreSQL ``CYP_DATABASE_URL`` points at it too, so the commands
    and ``get_engine()`` use the same database.
    """
    url = db_url
    if getattr(request, "param", "sqlite") == "postgresql":
        # Only this param starts the cluster, so SQLite-only runs never need PostgreSQL.
        url = request.getfixturevalue("postgres_db_url")
        monkeypatch.setenv("CYP_DATABASE_URL", url)
    else:
        target = Path(db_url.split("///", 1)[1])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sqlite_template, target)
    engine = make_engine(url)
    yield engine
    engine.dispose()
