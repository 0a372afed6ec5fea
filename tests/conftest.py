"""Shared fixtures: a fresh database per test, isolated settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cyp.db import make_engine
from cyp.schema import upgrade_schema

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


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A fresh, migrated, empty database."""
    engine = make_engine(db_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()
