"""Facts about the stored data rather than the plan: its version (for caches), demo data, the demo accounts."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from cyp.demo import DEMO_ACCOUNTS_KEY, META_KEY
from cyp.read import queries


def data_version(session: Session) -> int:
    """A number that grows whenever stored data changes, in this process or another (0 for a database never written)."""
    return session.scalar(queries.data_version()) or 0


def demo_loaded(session: Session) -> bool:
    """Whether generated demo data is loaded (every page says so while it is)."""
    return session.scalar(queries.meta_value(META_KEY)) is not None


def demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """(username, password, role) of each generated demo account while demo data is loaded, else none."""
    stored = session.scalar(queries.meta_value(DEMO_ACCOUNTS_KEY))
    return [(username, password, role) for username, password, role in json.loads(stored)] if stored else []
