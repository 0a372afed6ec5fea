"""Shared fixtures: a fresh database per test, isolated settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cyp.storage.db import make_engine
from cyp.storage.schema import upgrade_schema

pytest_plugins = ["tests.fixtures_postgres", "tests.fixtures_browser"]


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


# Storage, ingest, report and permission tests run on both databases; the rest on SQLite only, to keep the suite quick.
BOTH_DATABASES = {
    "test_schema",
    "test_ingest",
    "test_reports",
    "test_tracker",
    "test_queries",
    "test_auth",
    "test_audit",
    "test_framework_load",
    "test_framework_browse",
    "test_framework_workbook",
    "test_demo",
    "test_template",
    "test_validate",
    "test_maintenance",
    "test_concurrency",
    "test_crash",
    "test_tokens",
    "test_api",
    "test_cycle_prefill",
    "test_cycle_questions",
    "test_cycle_signoff",
    "test_cycle_reminders",
    "test_cycle_changes",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give ``engine`` the param ``sqlite``, and also ``postgresql`` in the modules named in BOTH_DATABASES."""
    if "engine" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    databases = [pytest.param("sqlite", id="sqlite")]
    if module in BOTH_DATABASES:
        databases.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    metafunc.parametrize("engine", databases, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh, migrated, empty database: this test's SQLite file, or a fresh PostgreSQL one (param ``postgresql``).

    On PostgreSQL ``CYP_DATABASE_URL`` points at it too, so the commands and ``get_engine()`` use the same database.
    """
    url = db_url
    if getattr(request, "param", "sqlite") == "postgresql":
        # Only this param starts the cluster, so SQLite-only runs never need PostgreSQL.
        url = request.getfixturevalue("postgres_db_url")
        monkeypatch.setenv("CYP_DATABASE_URL", url)
    engine = make_engine(url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()
