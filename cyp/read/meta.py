"""Facts about the stored data rather than the plan: its version (for caches) and the demo accounts.

Whether demo data is loaded at all is :func:`cyp.demo.demo_present`.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from cyp.read import queries

# The Meta row holding the demo accounts while demo data is loaded. Defined here, on the side that reads it, so the
# read side needs nothing of cyp.demo (which writes it, and builds on the read side).
DEMO_ACCOUNTS_KEY = "demo_accounts"


# Built once: every run of every session asks for a version, and building the statement costs more than running it.
_DATA_VERSION = queries.data_version()
_AUDIT_VERSION = queries.audit_version()


def data_version(session: Session | Connection) -> int:
    """A number that grows whenever stored data changes, in this process or another (0 for a database never written).

    A Core connection will do (the app asks once per run, without an ORM session's cost)."""
    return session.scalar(_DATA_VERSION) or 0


def audit_version(session: Session | Connection) -> int:
    """A number that grows with every audit event, sign-ins included (for the audit trail's cached pages)."""
    return session.scalar(_AUDIT_VERSION) or 0


def demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """(username, password, role) of each generated demo account while demo data is loaded, else none."""
    stored = session.scalar(queries.meta_value(DEMO_ACCOUNTS_KEY))
    return [(username, password, role) for username, password, role in json.loads(stored)] if stored else []
