"""The audit trail: every write, every refusal and every sign-in, append-only.

Events are added to the caller's session with :func:`record` and committed
with the write they describe. Nothing in ``cyp`` edits or deletes an event:
there is no function for it, and the mapper refuses an UPDATE or DELETE of an
:class:`~cyp.storage.models.AuditEvent` (``tests/test_audit.py`` checks both).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, event, insert, select
from sqlalchemy.orm import Mapper, Session

from cyp.storage.models import AuditEvent, utcnow

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("at", "actor", "action", "target", "outcome", "detail")
# A cell starting with one of these is read as a formula by Excel and LibreOffice (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class AuditTrailIsAppendOnly(Exception):
    """Raised when code tries to change or delete a stored audit event."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(_mapper: Mapper[Any], _connection: Connection, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed or deleted")


def _event_values(
    actor: str, action: str, outcome: str, target: str | None, detail: str | None, at: datetime | None
) -> dict[str, object]:
    """The columns of one event, cut to the column sizes; refuses an event without actor, action or outcome."""
    if not actor or not action or not outcome:
        raise ValueError("an audit event needs an actor, an action and an outcome")
    return {
        "at": at or utcnow(),
        "actor": _storable(actor)[:200],
        "action": _storable(action)[:60],
        "target": _storable(target)[:200] if target else target,
        "outcome": _storable(outcome)[:20],
        "detail": _storable(detail) if detail else detail,
    }


def _storable(text: str) -> str:
    # PostgreSQL refuses NUL in text; whatever a user typed, the event is still written (the NUL as an escape).
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def record(
    session: Session,
    actor: str,
    action: str,
    outcome: str,
    target: str | None = None,
    detail: str | None = None,
    *,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event to ``session`` (never commits: it is stored with the caller's transaction)."""
    audit_event = AuditEvent(**_event_values(actor, action, outcome, target, detail, at))
    session.add(audit_event)
    return audit_event


# Built once: the ingest writes one event per upload, and building a statement costs more than running it on SQLite.
_INSERT_EVENT = insert(AuditEvent)


def record_now(
    session: Session,
    actor: str,
    action: str,
    outcome: str,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    """Like :func:`record`, written at once with a Core insert on the session's connection (no ORM object).

    For a writer that already writes its rows with Core (the ingest): the event is part of the same
    transaction, flushed in statement order, and costs no unit-of-work flush.
    """
    session.connection().execute(_INSERT_EVENT, _event_values(actor, action, outcome, target, detail, None))


def as_utc(moment: datetime | date) -> datetime:
    """``moment`` as an aware UTC datetime (a date means its midnight; a naive time is taken as UTC)."""
    # SQLite keeps no time zone, so every stored time is UTC; compare like with like.
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time.min)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def events_query(
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    limit: int | None = 1000,
) -> Select[AuditEvent]:
    """The ``select()`` behind :func:`list_events`: newest first; ``action="user.*"`` matches a prefix."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        if action.endswith("*"):
            query = query.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    if since is not None:
        query = query.where(AuditEvent.at >= as_utc(since))
    if until is not None:
        # A date means "up to the end of that day"; a datetime is an exclusive upper bound.
        end = as_utc(until) if isinstance(until, datetime) else as_utc(until) + timedelta(days=1)
        query = query.where(AuditEvent.at < end)
    if limit is not None:
        query = query.limit(limit)
    return query


def list_events(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    limit: int | None = 1000,
) -> pd.DataFrame:
    """Events matching every given filter, newest first, as a DataFrame (``at`` in UTC); ``limit=None`` for all."""
    # Imported here: every module that checks a permission imports this one, and pandas costs the command line
    # about 0.15 s of start-up (python -X importtime -m cyp --help) that only the audit pages and exports need.
    import pandas as pd

    query = events_query(actor=actor, action=action, outcome=outcome, since=since, until=until, limit=limit)
    rows = [{column: getattr(item, column) for column in COLUMNS} for item in session.scalars(query)]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"].map(as_utc) if len(frame) else frame["at"], utc=True)
    return frame


def _safe_cell(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def export_events_csv(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    limit: int | None = None,
) -> bytes:
    """All events matching the filters (as :func:`list_events`, but no limit unless given) as UTF-8 CSV.

    Cells that a spreadsheet would run as a formula are prefixed with a single quote.
    """
    import pandas as pd  # as in list_events, which this calls

    frame = list_events(session, actor=actor, action=action, outcome=outcome, since=since, until=until, limit=limit)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in frame.itertuples(index=False):
        at = row.at.isoformat(timespec="seconds") if not pd.isna(row.at) else ""
        writer.writerow([at, *(_safe_cell(getattr(row, column)) for column in COLUMNS[1:])])
    # A byte-order mark makes Excel read the file as UTF-8 (names with accents stay intact).
    return buffer.getvalue().encode("utf-8-sig")
