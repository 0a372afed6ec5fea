"""Facts about the stored data rather than the plan: its version (for caches) and the demo accounts.

Whether demo data is loaded at all is :func:`cyp.demo.demo_present`.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from cyp.read import queries

# The Meta row holding the demo accounts while demo data is loaded. Defined here, on the side that reads it, so the
# read side needs nothing of cyp.demo (which writes it, and builds on the read side).
DEMO_ACCOUNTS_KEY = "demo_accounts"


def data_version(session: Session) -> int:
    """A number that grows whenever stored data changes, in this process or another (0 for a database never written)."""
    return session.scalar(queries.data_version()) or 0


def audit_version(session: Session) -> int:
    """A number that grows with every audit event, sign-ins included (for the audit trail's cached pages)."""
    return session.scalar(queries.audit_version()) or 0


def demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """(username, password, role) of each generated demo account while demo data is loaded, else none."""
    stored = session.scalar(queries.meta_value(DEMO_ACCOUNTS_KEY))
    return [(username, password, role) for username, password, role in json.loads(stored)] if stored else []
