"""Take in an uploaded return: check, read, validate, and store it as a new version in one transaction.

:func:`ingest_return` is what the upload page and ``python -m cyp ingest`` call. It
never raises for anything wrong with the file: every problem comes back in the
result. It owns the one write transaction; :func:`store_return` does the writing
inside a caller's session and never commits.

A file already stored for the same team and quarter (same SHA-256) is reported as a
duplicate before queries are asked about: it was accepted, acknowledged, once already.
"""

from __future__ import annotations

import io
import json
import os
import signal
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any, Literal, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, insert, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.accounts import is_demo_account
from cyp.access.permissions import PermissionDenied, Principal, require
from cyp.problems import Code, Problem, errors, queries
from cyp.read.prefill import line_changes
from cyp.returns.answers import record_answers
from cyp.returns.filecheck import check_upload, sha256_hex
from cyp.returns.reader import ParsedReturn, normalise_text, read_return
from cyp.returns.validate import CheckedReturn, check_return
from cyp.status import STATUSES
from cyp.storage.config import get_settings
from cyp.storage.db import with_write_retries, write_session
from cyp.storage.models import Base, IndicatorValue, LineUpdate, Return, utcnow

KEPT_SUFFIXES = (".xlsx", ".xlsm")
CRASH_ENV = "CYP_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL at the named point when ``CYP_TEST_CRASH_AT`` names it; otherwise nothing.

    Only the crash tests set the variable (``name`` or ``name:N`` for the N-th time the point is reached).
    """
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_crash_counts: dict[str, int] = {}


def serialise_versions(session: Session, partner_id: int, quarter: str) -> None:
    """Hold, until the transaction ends, the lock on numbering one team's versions for one quarter.

    On PostgreSQL concurrent uploads for the same team and quarter would otherwise read the same latest
    version; on SQLite the write session's ``BEGIN IMMEDIATE`` already serialises every writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"cyp.return-version:{partner_id}:{quarter}"},
        )


# What can happen to an upload: stored; not stored for problems in the file; waiting for its queries to be
# acknowledged; the same file already stored; not allowed for the uploader.
IngestStatus = Literal["accepted", "rejected", "needs-acknowledgement", "duplicate", "refused"]


@dataclass
class IngestResult:
    """What happened to an upload (an :data:`IngestStatus`), its problems, and what was stored."""

    status: IngestStatus
    problems: list[Problem] = field(default_factory=list)
    team: str | None = None
    quarter: str | None = None
    version: int | None = None
    return_id: int | None = None
    summary: str = ""
    # What changed since the team's previous version (or, for a first version, the previous quarter).
    changes: list[str] = field(default_factory=list)
    # A duplicate of an earlier version that is no longer current: the version :func:`make_current_again` restores.
    reinstatable_version: int | None = None

    @property
    def accepted(self) -> bool:
        """True when the return is stored (now, or already as a duplicate)."""
        return self.status in ("accepted", "duplicate")


@dataclass(frozen=True)
class Upload:
    """One uploaded file and what came with it; its SHA-256 and stored name are worked out once."""

    data: bytes
    filename: str
    principal: Principal
    acknowledge_queries: bool
    is_demo: bool
    sha256: str
    stored_name: str
    # Set only by make_current_again: an earlier version's file is stored again instead of reported as a duplicate.
    reinstate: bool = False

    @property
    def uploaded_by(self) -> str:
        """The name stored with the return and in the audit trail."""
        return self.principal.username


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _stored_name(sha256: str, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    return sha256 + (suffix if suffix in KEPT_SUFFIXES else ".xlsx")


class StoredVersion(NamedTuple):
    """One version already stored for a team and quarter."""

    id: int
    version: int
    is_current: bool
    sha256: str
    uploaded_by: str


# Built once: every upload runs these, and building a statement costs more than running it on SQLite.
# (Parameter names differ from column names, which an UPDATE reserves for its SET clause.)
_SAME_TEAM_AND_QUARTER = (Return.partner_id == bindparam("team_id"), Return.quarter == bindparam("quarter_label"))
_STORED_VERSIONS = (
    select(Return.id, Return.version, Return.is_current, Return.sha256, Return.uploaded_by)
    .where(*_SAME_TEAM_AND_QUARTER)
    .order_by(Return.version)
)
_CURRENT_VERSION = select(Return.id, Return.version).where(*_SAME_TEAM_AND_QUARTER, Return.is_current)
_NO_LONGER_CURRENT = update(Return).where(*_SAME_TEAM_AND_QUARTER, Return.is_current).values(is_current=False)
# Core table inserts: the ORM's bulk path costs more than the write itself.
_INSERT_RETURN = insert(Return).returning(Return.id)
_LINE_UPDATE_COLUMNS = ("return_id", "action_id", "quarter", "status", "progress", "next_steps", "risks")
_INDICATOR_VALUE_COLUMNS = ("return_id", "indicator_id", "quarter", "value", "target", "commentary")


@lru_cache(maxsize=16)
def _driver_insert(model: type[Base], columns: tuple[str, ...], dialect: Dialect) -> str | None:
    """The SQL SQLAlchemy compiles to insert ``columns`` of ``model``'s table on ``dialect``, when the driver may be
    given the rows as they are: SQLite, no column whose values SQLAlchemy converts on the way in, no default it
    would fill in, parameters in the order of ``columns``. None otherwise."""
    if dialect.name != "sqlite":
        return None  # elsewhere Core's executemany batches the rows itself (insertmanyvalues)
    compiled = insert(model).compile(dialect=dialect, column_keys=list(columns))
    converted = any(model.__table__.c[name].type.bind_processor(dialect) is not None for name in columns)
    if converted or compiled.insert_prefetch or tuple(compiled.positiontup or ()) != columns:
        return None
    return compiled.string


def _insert_rows(
    connection: Connection, model: type[Base], columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values in the order of ``columns``) into ``model``'s table in one executemany.

    Given straight to the driver when :func:`_driver_insert` allows it: for a return's 40 line updates, Core's
    per-row parameter processing costs half as much again as SQLite's insert. Otherwise through Core.
    """
    sql = _driver_insert(model, columns, connection.dialect)
    if sql is not None:
        connection.exec_driver_sql(sql, rows)
    else:
        connection.execute(insert(model), [dict(zip(columns, row, strict=True)) for row in rows])


def stored_versions(session: Session, partner_id: int, quarter_label: str) -> list[StoredVersion]:
    """Every version stored for the team and quarter, oldest first: one query answers numbering, duplicates and
    which version is current."""
    parameters = {"team_id": partner_id, "quarter_label": quarter_label}
    rows = session.connection().execute(_STORED_VERSIONS, parameters).all()  # one fetchall, not row by row
    return [StoredVersion(*row) for row in rows]


def _current_of(versions: list[StoredVersion]) -> StoredVersion | None:
    return next((version for version in versions if version.is_current), None)


def describe_changes(session: Session, checked: CheckedReturn, earlier: list[StoredVersion]) -> list[str]:
    """Lines whose status or text changed, and lines new or removed, since the team's previous version or quarter.

    ``earlier`` is :func:`stored_versions` for the return's team and quarter, read in the same transaction.
    """
    assert checked.team is not None and checked.quarter is not None
    # Only (line, status, ref) of the earlier return: loading its ORM records and their indicator values is waste.
    current = _current_of(earlier)
    before = (current.id, current.version) if current else None
    against = f"version {before[1]}" if before else None
    if before is None:
        previous_label = checked.quarter.previous().label
        before = _current_version(session, checked.team.id, previous_label)
        against = previous_label if before else None
    if before is None:
        return []
    lines = [(line.action.id, line.action.ref, line) for line in checked.lines]
    # Against this quarter's current version every edit counts; against last quarter, status changes.
    return line_changes(session, before[0], against or "", lines, compare_text=current is not None)


def _current_version(session: Session, partner_id: int, quarter_label: str) -> tuple[int, int] | None:
    """(return id, version) of the team's current return for the quarter, if any."""
    row = (
        session.connection().execute(_CURRENT_VERSION, {"team_id": partner_id, "quarter_label": quarter_label}).first()
    )
    return (row[0], row[1]) if row else None


def store_return(
    session: Session, checked: CheckedReturn, upload: Upload, earlier: list[StoredVersion]
) -> tuple[int, int]:
    """Add a valid return as the team's new current version, with its lines, values and audit event; never commits.

    Returns (return id, version). ``earlier`` is :func:`stored_versions` for the quarter, read in this same
    transaction.
    """
    assert checked.team is not None and checked.quarter is not None and checked.plan is not None
    label = checked.quarter.label
    version = max((stored.version for stored in earlier), default=0) + 1
    connection = session.connection()
    if _current_of(earlier) is not None:
        connection.execute(_NO_LONGER_CURRENT, {"team_id": checked.team.id, "quarter_label": label})
    original_filename = PurePath(upload.filename).name[:300]
    return_id = connection.execute(
        _INSERT_RETURN,
        {
            "partner_id": checked.team.id,
            "plan_id": checked.plan.id,
            "quarter": label,
            "version": version,
            "is_current": True,
            "uploaded_by": upload.uploaded_by,
            "uploaded_at": utcnow(),
            "original_filename": original_filename,
            "size_bytes": len(upload.data),
            "sha256": upload.sha256,
            "stored_path": upload.stored_name,
            "queries_acknowledged": upload.acknowledge_queries and bool(queries(checked.problems)),
            "is_demo": upload.is_demo,
        },
    ).scalar_one()
    if checked.lines:
        _insert_rows(
            connection,
            LineUpdate,
            _LINE_UPDATE_COLUMNS,
            [
                (return_id, line.action.id, label, line.status, line.progress, line.next_steps, line.risks)
                for line in checked.lines
            ],
        )
    if checked.indicators:
        _insert_rows(
            connection,
            IndicatorValue,
            _INDICATOR_VALUE_COLUMNS,
            [
                (return_id, value.indicator.id, label, value.value, value.target, value.commentary)
                for value in checked.indicators
            ],
        )
    counts = Counter(line.status for line in checked.lines)
    detail = {
        "return_id": return_id,
        "filename": original_filename,
        "sha256": upload.sha256,
        "lines": len(checked.lines),
        "statuses": {status: counts.get(status, 0) for status in STATUSES},
        "indicator_values": len(checked.indicators),
        "queries_acknowledged": [str(p) for p in queries(checked.problems)] if upload.acknowledge_queries else [],
    }
    target = f"{checked.team.name} {label} v{version}"
    audit.record_now(
        session, upload.uploaded_by, "return.ingest", "accepted", target, json.dumps(detail, ensure_ascii=False)
    )
    return return_id, version


def _record_rejection(engine: Engine | None, uploaded_by: str, target: str, problems: list[Problem]) -> None:
    detail = json.dumps({"problems": [str(p) for p in problems]}, ensure_ascii=False)

    def write() -> None:
        with write_session(engine) as session:
            audit.record(session, uploaded_by, "return.ingest", "rejected", target=target, detail=detail)

    with_write_retries(write)


def _write_synced(data: bytes, folder: Path) -> Path:
    """``data`` in a new temporary file in ``folder``, flushed to disk."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


class _FileKeeper:
    """The upload written and synced to a temporary file before the write transaction, then kept under its name.

    The disk's sync happens before the database's write lock is taken, so other uploads do not queue behind it;
    :meth:`keep` renames the copy inside the transaction and :meth:`discard` removes whatever was not kept.
    (A thread overlapping the sync with validation was tried: contention for the interpreter lock made the whole
    ingest slower.)
    """

    def __init__(self, data: bytes, folder: Path) -> None:
        self._data, self._folder = data, folder
        self._temporary: Path | None = _write_synced(data, folder)

    def keep(self, name: str) -> Path | None:
        """Give the synced copy its stored name; the path if this call created it (None if already kept)."""
        final = self._folder / name
        if final.exists():
            return None
        temporary, self._temporary = self._temporary, None
        # None: an earlier attempt of the transaction kept, then lost, the first copy; missing: something removed
        # it meanwhile (such as `python -m cyp check --clean`, which counts it as stray). Either way, write it again.
        if temporary is None or not temporary.exists():
            temporary = _write_synced(self._data, self._folder)
        crash_point("file-written")
        try:
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return final

    def discard(self) -> None:
        """Remove the temporary copy if it was not kept."""
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            self._temporary = None


def _summary(checked: CheckedReturn, version: int, changes: list[str]) -> str:
    counts = Counter(line.status for line in checked.lines)
    by_status = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    assert checked.team is not None and checked.quarter is not None
    text = (
        f"Accepted {checked.team.name} {checked.quarter.label} version {version}: "
        f"{_count(len(checked.lines), 'line')} ({by_status or 'none'}), "
        f"{_count(len(checked.indicators), 'indicator value')}"
    )
    return text + (f"; {_count(len(changes), 'change')}" if changes else "")


def ingest_return(
    data: bytes,
    filename: str,
    principal: Principal,
    *,
    acknowledge_queries: bool = False,
    engine: Engine | None = None,
    uploads_dir: Path | None = None,
    is_demo: bool = False,
) -> IngestResult:
    """Check, validate and store an uploaded return as a new version; nothing is stored unless it is all valid.

    ``principal`` is who is uploading (a signed-in account, or the command line's account given by ``--user``): it
    must be allowed to submit for the workbook's team, or the result is "refused", audited, and nothing is stored.
    Only a system principal (:func:`~cyp.access.permissions.system_acting_for`, ``--as-system``) skips the check; its
    name, stored as the uploader, says on whose behalf it acted.
    """
    if not isinstance(principal, Principal):
        # A bare name once meant "trusted, no check": refuse it loudly rather than store under an unchecked name.
        raise TypeError(f"ingest_return needs a Principal, not {type(principal).__name__}")
    uploaded_by = principal.username
    settings = get_settings()
    uploads_dir = uploads_dir or settings.uploads_dir
    filename = normalise_text(filename or "")  # a browser's file name may hold a NUL, which PostgreSQL refuses
    target = PurePath(filename).name or "upload"
    try:
        file_problems = check_upload(data, filename, settings.max_upload_bytes)
    except Exception as exc:  # noqa: BLE001 - a hostile file must give a message, never a traceback
        file_problems = [Problem(Code.UNREADABLE, f"the file could not be checked ({type(exc).__name__})")]
    if file_problems:
        _record_rejection(engine, uploaded_by, target, file_problems)
        return IngestResult(
            "rejected", file_problems, summary=f"Rejected {target}: {_count(len(file_problems), 'problem')}"
        )
    sha256 = sha256_hex(data)
    upload = Upload(data, filename, principal, acknowledge_queries, is_demo, sha256, _stored_name(sha256, filename))
    keeper = _FileKeeper(data, uploads_dir)
    try:
        parsed = read_return(io.BytesIO(data))
        result = with_write_retries(lambda: _store_in_one_transaction(engine, parsed, upload, keeper))
    finally:
        keeper.discard()
    crash_point("committed")
    if result.status == "rejected":
        who = " ".join(x for x in (result.team, result.quarter) if x) or target
        _record_rejection(engine, uploaded_by, who, result.problems)
    return result


def _store_in_one_transaction(
    engine: Engine | None, parsed: ParsedReturn, upload: Upload, keeper: _FileKeeper
) -> IngestResult:
    created: Path | None = None
    try:
        with write_session(engine) as session:
            crash_point("transaction-open")
            result = _ingest_parsed(session, parsed, upload)
            crash_point("stored")
            # Only an accepted result wrote anything; the others commit an empty transaction.
            if result.status == "accepted" and result.return_id is not None:
                # Under the name stored with the return, before the commit makes the return visible.
                created = keeper.keep(upload.stored_name)
                crash_point("file-kept")
    except Exception:
        if created is not None:
            created.unlink(missing_ok=True)
        raise
    return result


def _ingest_parsed(session: Session, parsed: ParsedReturn, upload: Upload) -> IngestResult:
    try:
        checked = check_return(session, parsed)
    except Exception as exc:  # noqa: BLE001 - an unforeseen shape of workbook is still the file's problem
        problem = Problem(Code.UNREADABLE, f"the workbook could not be checked ({type(exc).__name__}: {exc})")
        return IngestResult("rejected", [problem], summary="Rejected: the workbook could not be checked")
    team = checked.team.name if checked.team else None
    quarter = checked.quarter.label if checked.quarter else None
    result = IngestResult("rejected", checked.problems, team=team, quarter=quarter)
    if errors(checked.problems):
        what = " ".join(x for x in (team, quarter) if x) or PurePath(upload.filename).name
        result.summary = f"Rejected {what}: {_count(len(errors(checked.problems)), 'error')}"
        return result
    assert checked.team is not None and checked.quarter is not None
    try:
        require(session, upload.principal, "return.submit", team_ref=checked.team.ref, target=f"{team} {quarter}")
    except PermissionDenied as refusal:
        result.status = "refused"
        result.problems = [Problem(Code.NOT_PERMITTED, str(refusal))]
        result.summary = f"Refused: {refusal}"
        return result
    if is_demo_account(session, upload.principal.username):
        upload = replace(upload, is_demo=True)  # what a demo account uploads goes with the demo data
    serialise_versions(session, checked.team.id, checked.quarter.label)
    earlier = stored_versions(session, checked.team.id, checked.quarter.label)
    # The current version first: a file made current again is stored under two versions.
    matching = sorted((stored for stored in earlier if stored.sha256 == upload.sha256), key=lambda s: not s.is_current)
    same = matching[0] if matching else None
    if same is not None and not (upload.reinstate and not same.is_current):
        result.status, result.version, result.return_id = "duplicate", same.version, same.id
        result.summary = (
            f"Already stored: this file is {team} {quarter} version {same.version}, uploaded by {same.uploaded_by}; "
            "nothing new stored"
        )
        current = _current_of(earlier)
        if not same.is_current and current is not None:
            result.reinstatable_version = same.version
            result.summary += (
                f". Version {current.version} is current; make version {same.version} current again to store this "
                f"file as version {earlier[-1].version + 1}"
            )
        return result
    if queries(checked.problems) and not upload.acknowledge_queries:
        result.status = "needs-acknowledgement"
        count = len(queries(checked.problems))
        need = "query needs" if count == 1 else "queries need"
        result.summary = f"{team} {quarter}: {count} {need} acknowledging; nothing stored"
        return result
    changes = describe_changes(session, checked, earlier)
    return_id, version = store_return(session, checked, upload, earlier)
    answers = ((line.action.id, line.board_answer) for line in checked.lines)
    record_answers(session, return_id, checked.quarter.label, answers, upload.uploaded_by)
    result.status, result.version, result.return_id, result.changes = "accepted", version, return_id, changes
    result.summary = _summary(checked, version, changes)
    return result


def make_current_again(
    data: bytes,
    filename: str,
    principal: Principal,
    *,
    engine: Engine | None = None,
    uploads_dir: Path | None = None,
) -> IngestResult:
    """Store an earlier, no longer current version's file again as the team's new current version.

    What the uploader confirms after :func:`ingest_return` answered "duplicate" with ``reinstatable_version`` set:
    the file is checked and validated afresh (today's rules and the same permission check apply), its queries count
    as acknowledged (they were when it was first stored, and the uploader has just confirmed it), and it is stored as
    a new version, so the history keeps every version in order. A file that is the current version is still a
    duplicate, and one never stored is stored as an ordinary new version. Never raises for anything wrong with the
    file.
    """
    if not isinstance(principal, Principal):
        raise TypeError(f"make_current_again needs a Principal, not {type(principal).__name__}")
    settings = get_settings()
    filename = normalise_text(filename or "")
    problems = check_upload(data, filename, settings.max_upload_bytes)
    if problems:
        return IngestResult("rejected", problems, summary=f"Rejected: {_count(len(problems), 'problem')}")
    sha256 = sha256_hex(data)
    upload = Upload(data, filename, principal, True, False, sha256, _stored_name(sha256, filename), reinstate=True)
    keeper = _FileKeeper(data, uploads_dir or settings.uploads_dir)
    try:
        parsed = read_return(io.BytesIO(data))
        return with_write_retries(lambda: _store_in_one_transaction(engine, parsed, upload, keeper))
    finally:
        keeper.discard()
