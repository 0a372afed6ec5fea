"""Pytest plugin: a throwaway PostgreSQL cluster per test process, and a fresh migrated database per test.

The cluster lives in a temporary folder, listens only on 127.0.0.1 on a free port (its unix socket stays inside the
folder), runs without fsync (nothing here needs to survive a power cut) and is stopped and removed when the session
ends, also when it fails. Each pytest-xdist worker is its own process and so gets its own cluster.

``scripts/test.sh`` installs Debian's ``postgresql`` when it is missing. Without the binaries the PostgreSQL tests
are skipped locally, and fail loudly when ``CI`` is set, so CI can never pass by skipping them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from cyp.storage.db import make_engine
from cyp.storage.schema import upgrade_schema

SUPERUSER = "cyp"
TEMPLATE_DATABASE = "cyp_template"
START_TIMEOUT_SECONDS = 60
CLUSTER_PREFIX = "cyp-pg-"
OWNER_FILE = "owner.pid"


def find_postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl (``CYP_PG_BIN``, else Debian's newest version, else PATH), or None."""
    if configured := os.environ.get("CYP_PG_BIN"):
        return Path(configured)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0,
    )
    if debian:
        return Path(debian[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """The unprivileged account to run the server as when we are root (initdb refuses root), else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root but there is no 'postgres' or 'nobody' user to run PostgreSQL as")


@dataclass
class PostgresCluster:
    """A running throwaway cluster: its folder, port and superuser."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for ``database`` on this cluster (trust authentication on loopback, no password)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)

    def start(self) -> None:
        """initdb and start the server; raises with the server's log if either fails."""
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        init = self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.root}",
                # Throwaway data: durability only costs time here.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        started = self._run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_file),
            "--wait",
            "--timeout",
            str(START_TIMEOUT_SECONDS),
            "-o",
            options,
        )
        if started.returncode != 0:
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            raise RuntimeError(
                f"pg_ctl start failed ({started.returncode}):\n{started.stdout}\n{started.stderr}\n{log}"
            )

    def stop(self) -> None:
        """Stop the server at once (the data is thrown away) and remove the folder."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "immediate", "--wait")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphaned_clusters() -> None:
    """Stop and remove clusters left behind by test processes that were killed before their teardown ran."""
    for root in Path(tempfile.gettempdir()).glob(f"{CLUSTER_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        bin_dir = find_postgres_bin()
        if bin_dir is not None and (root / "data" / "postmaster.pid").exists():
            stat = root.stat()
            run_as = pwd.getpwuid(stat.st_uid).pw_name if os.geteuid() == 0 and stat.st_uid != 0 else None
            PostgresCluster(bin_dir=bin_dir, root=root, port=0, run_as=run_as).stop()
        else:
            shutil.rmtree(root, ignore_errors=True)


def start_cluster(bin_dir: Path, attempts: int = 3) -> PostgresCluster:
    """Start a throwaway cluster on a free port, retrying when another process took the port first."""
    last_error: Exception | None = None
    for _ in range(attempts):
        # Not pytest's tmp_path: that lives under a root-only folder the server account cannot enter.
        root = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX))
        # Lets a later run reap this cluster if this process is killed before its teardown.
        (root / OWNER_FILE).write_text(str(os.getpid()))
        cluster = PostgresCluster(bin_dir=bin_dir, root=root, port=free_port(), run_as=_server_user())
        try:
            cluster.start()
            return cluster
        except RuntimeError as error:
            last_error = error
            cluster.stop()
    raise RuntimeError(f"could not start PostgreSQL after {attempts} attempts") from last_error


def _admin_engine(cluster: PostgresCluster) -> Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    return create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """This test process's own running cluster, with a migrated template database."""
    bin_dir = find_postgres_bin()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        message = "PostgreSQL binaries (initdb, pg_ctl) not found; run the tests with `bash scripts/test.sh`"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(message)
    reap_orphaned_clusters()
    cluster = start_cluster(bin_dir)
    try:
        admin = _admin_engine(cluster)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{TEMPLATE_DATABASE}"'))
        admin.dispose()
        template = make_engine(cluster.url(TEMPLATE_DATABASE))
        upgrade_schema(template)
        # A template must have no open connections while it is copied.
        template.dispose()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """URL of an empty database on this process's throwaway server (``postgresql+psycopg://cyp@127.0.0.1:PORT/DB``)."""
    admin = _admin_engine(postgres_cluster)
    with admin.connect() as connection:
        connection.execute(text('CREATE DATABASE "cyp_session"'))
    admin.dispose()
    return postgres_cluster.url("cyp_session")


@contextmanager
def throwaway_database(cluster: PostgresCluster, prefix: str, template: str | None = None) -> Iterator[str]:
    """URL of a new database (a copy of ``template``, or empty), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(cluster)
    with admin.connect() as connection:
        copy = f' TEMPLATE "{template}"' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield cluster.url(name)
    finally:
        with admin.connect() as connection:
            # FORCE closes connections a test (or a process it started) left open.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_db_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """URL of a fresh database for this test with the schema migrated (copied from the template); dropped after."""
    with throwaway_database(postgres_cluster, "cyp_test", TEMPLATE_DATABASE) as url:
        yield url


@pytest.fixture
def postgres_engine(postgres_db_url: str) -> Iterator[Engine]:
    """A fresh, migrated, empty PostgreSQL database for this test (the PostgreSQL twin of ``engine``)."""
    engine = make_engine(postgres_db_url)
    yield engine
    engine.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that need the server ``postgres``, so ``-m "not postgres"`` leaves them out."""
    for item in items:
        if "postgres_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
