"""Keeping a deployment sound: check the database and reconcile ``uploads/`` with it, back up and restore.

:func:`check_database` and :func:`check_uploads` are what ``python -m cyp check`` prints; :func:`remove_stray`
is ``check --clean``. :func:`backup_database` and :func:`restore_database` are ``backup`` and ``restore``:
SQLite through its online backup API (a consistent copy while the app keeps writing), PostgreSQL through
``pg_dump``/``pg_restore`` when they are on the PATH.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from cyp.storage.models import AuditEvent, Partner, Return


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why and what to do instead."""


@dataclass
class UploadsCheck:
    """How ``uploads/`` matches the stored returns: each list holds paths (or return labels) that need attention."""

    checked: int = 0
    skipped_demo: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    stray: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every stored return has its file and nothing else is in the folder."""
        return not (self.missing or self.mismatched or self.stray)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_uploads(session: Session, uploads_dir: Path) -> UploadsCheck:
    """Every stored return's file is present with its SHA-256; files no return names (e.g. half-written) are stray.

    Demo returns have no file and are skipped.
    """
    result = UploadsCheck()
    expected: set[str] = set()
    for stored in session.scalars(select(Return).order_by(Return.id)):
        if stored.is_demo and not stored.stored_path:
            result.skipped_demo += 1
            continue
        expected.add(stored.stored_path)
        result.checked += 1
        label = f"return {stored.id} ({stored.partner.name} {stored.quarter} v{stored.version}): {stored.stored_path}"
        path = uploads_dir / stored.stored_path
        if not path.is_file():
            result.missing.append(label)
        elif _file_sha256(path) != stored.sha256:
            result.mismatched.append(label)
    if uploads_dir.is_dir():
        result.stray = sorted(path for path in uploads_dir.iterdir() if path.name not in expected)
    return result


def remove_stray(check: UploadsCheck) -> list[Path]:
    """Delete the stray files (and folders) a :func:`check_uploads` found; returns what was removed."""
    removed = []
    for path in check.stray:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def check_database(session: Session) -> list[str]:
    """Problems with the stored data, empty when sound: the engine's own integrity check and the version rules.

    On SQLite that is ``PRAGMA integrity_check`` and ``foreign_key_check``; on both databases every team's
    versions for a quarter are distinct, none that an upload stored is missing (a gap left by removed demo
    returns is not a problem), and exactly one of them, the newest, is current.
    """
    problems = []
    if session.get_bind().dialect.name == "sqlite":
        integrity = [row[0] for row in session.execute(text("PRAGMA integrity_check"))]
        if integrity != ["ok"]:
            problems += [f"integrity check: {line}" for line in integrity]
        problems += [
            f"foreign key: {row[0]} row {row[1]} -> {row[2]}"
            for row in session.execute(text("PRAGMA foreign_key_check"))
        ]
    versions = select(
        Return.partner_id,
        Return.quarter,
        func.count().label("n"),
        func.min(Return.version).label("first"),
        func.max(Return.version).label("last"),
        func.count(func.distinct(Return.version)).label("distinct"),
    ).group_by(Return.partner_id, Return.quarter)
    for row in session.execute(versions):
        if row.distinct != row.n or (
            (row.first, row.last) != (1, row.n) and _lost_versions(session, row.partner_id, row.quarter)
        ):
            problems.append(
                f"team {row.partner_id} {row.quarter}: versions {row.first}..{row.last} for {row.n} returns"
            )
    current = (
        select(Return.partner_id, Return.quarter, func.max(Return.version).label("last"))
        .group_by(Return.partner_id, Return.quarter)
        .subquery()
    )
    flagged = select(
        current.c.partner_id,
        current.c.quarter,
        current.c.last,
        select(func.count())
        .where(Return.partner_id == current.c.partner_id, Return.quarter == current.c.quarter, Return.is_current)
        .scalar_subquery()
        .label("n_current"),
        select(Return.version)
        .where(Return.partner_id == current.c.partner_id, Return.quarter == current.c.quarter, Return.is_current)
        .limit(1)
        .scalar_subquery()
        .label("current_version"),
    )
    for flag in session.execute(flagged):
        if flag.n_current != 1 or flag.current_version != flag.last:
            problems.append(
                f"team {flag.partner_id} {flag.quarter}: {flag.n_current} current versions (newest is {flag.last})"
            )
    return problems


def _lost_versions(session: Session, partner_id: int, quarter: str) -> list[int]:
    """Version numbers missing from a team's quarter that were stored by an upload (its accepted audit event).

    A gap alone is no alarm: demo returns are numbered with the real ones and ``demo --clear`` removes them (a
    real upload after demo versions 1 and 2 is version 3, and stays version 3). Only a missing version that an
    upload stored, and so was audited, is data lost.
    """
    present = set(
        session.scalars(select(Return.version).where(Return.partner_id == partner_id, Return.quarter == quarter))
    )
    missing = [number for number in range(1, max(present, default=0) + 1) if number not in present]
    if not missing:
        return []
    team = session.scalar(select(Partner.name).where(Partner.id == partner_id))
    targets = {f"{team} {quarter} v{number}": number for number in missing}
    audited = session.scalars(
        select(AuditEvent.target).where(
            AuditEvent.action == "return.ingest",
            AuditEvent.outcome == "accepted",
            AuditEvent.target.in_(list(targets)),
        )
    )
    return sorted({targets[target] for target in audited if target is not None})  # never None: matched by IN


def _sqlite_path(engine: Engine) -> Path | None:
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _libpq_url(engine: Engine) -> str:
    # pg_dump and pg_restore take a libpq URL: the same URL without SQLAlchemy's "+psycopg" driver name,
    # and without the password, which goes in PGPASSWORD so that it never shows in the process list.
    return engine.url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed here. Install PostgreSQL's client tools (Debian: apt-get install "
            f"postgresql-client) and run `python -m cyp backup` again, or run {name} yourself, e.g. "
            '`pg_dump --format=custom --file cyp.dump "$DATABASE_URL"` and '
            '`pg_restore --clean --if-exists --no-owner --dbname "$DATABASE_URL" cyp.dump`.'
        )
    return found


def _run(command: list[str], engine: Engine) -> None:
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    finished = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, env=env)
    if finished.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({finished.returncode}): {finished.stderr.strip()}")


def backup_database(engine: Engine, out: Path, *, force: bool = False) -> str:
    """Write a consistent copy of the database to ``out`` while the app keeps running; returns what was done.

    SQLite: the online backup API (a SQLite file). PostgreSQL: ``pg_dump --format=custom`` (raises
    :class:`BackupError` with instructions when pg_dump is not installed). Never overwrites ``out`` unless ``force``.
    """
    if out.exists() and not force:
        raise BackupError(f"{out} already exists; choose another name or pass --force to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    partial.unlink(missing_ok=True)
    source_path = _sqlite_path(engine)
    if source_path is not None:
        if not source_path.exists():
            raise BackupError(f"there is no database at {source_path}")
        source = sqlite3.connect(source_path, timeout=30)
        target = sqlite3.connect(partial)
        try:
            # One step copies every page inside a single read transaction: a snapshot, even in WAL mode.
            source.backup(target)
        finally:
            target.close()
            source.close()
        what = f"SQLite online backup of {source_path}"
    else:
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial), _libpq_url(engine)], engine)
        what = f"pg_dump of {engine.url.render_as_string(hide_password=True)}"
    partial.replace(out)
    return f"{what} written to {out} ({out.stat().st_size:,} bytes)"


def _has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def restore_database(engine: Engine, backup: Path, *, force: bool = False) -> str:
    """Replace the database with a copy made by :func:`backup_database`; returns what was done.

    Refuses when the target already exists (SQLite file) or has tables (PostgreSQL) unless ``force``. Stop
    the app instances first: a restore under a running app gives its users a database that jumps back in time.
    """
    if not backup.is_file():
        raise BackupError(f"there is no backup at {backup}")
    target_path = _sqlite_path(engine)
    if target_path is not None:
        if target_path.exists() and not force:
            raise BackupError(f"{target_path} already exists; pass --force to replace it with {backup}")
        source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            integrity = source.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                raise BackupError(f"{backup} fails SQLite's integrity check: {integrity}")
            target_path.parent.mkdir(parents=True, exist_ok=True)
            target = sqlite3.connect(target_path, timeout=30)
            try:
                # The backup API writes through SQLite's locks and WAL, unlike copying the file over it.
                source.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{backup} is not a SQLite backup: {error}") from error
        finally:
            source.close()
        engine.dispose()
        return f"restored {target_path} from {backup}"
    if _has_tables(engine) and not force:
        raise BackupError("the database already has tables; pass --force to replace them with the backup")
    engine.dispose()
    _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            _libpq_url(engine),
            str(backup),
        ],
        engine,
    )
    return f"restored {engine.url.render_as_string(hide_password=True)} from {backup}"
