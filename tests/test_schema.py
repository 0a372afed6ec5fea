import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from cyp.storage.models import Base
from cyp.storage.schema import upgrade_schema

pytestmark = pytest.mark.both_databases


def test_migrations_match_models(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrade_twice_changes_nothing(engine):
    before = sorted(inspect(engine).get_table_names())
    upgrade_schema(engine)
    assert sorted(inspect(engine).get_table_names()) == before
    assert "returns" in before


def test_sqlite_runs_with_foreign_keys_and_wal(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("PRAGMA settings are SQLite's own")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
