"""Bring a database to a usable state: schema migrated, plan framework loaded."""

from __future__ import annotations

from sqlalchemy import Engine

from cyp.storage.db import write_session
from cyp.storage.schema import upgrade_schema


def initialise_database(engine: Engine) -> dict[str, int]:
    """Migrate the schema and load any part of the framework not yet loaded; idempotent.

    Returns how many records of each kind were inserted (all zero on a second run).
    """
    from cyp.framework import seed_framework

    upgrade_schema(engine)
    with write_session(engine) as session:
        return seed_framework(session)
