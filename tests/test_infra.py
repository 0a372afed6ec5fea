"""The test infrastructure itself: the throwaway PostgreSQL server and the real app in real Chromium."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from cyp.storage.db import make_engine, write_session
from cyp.storage.models import Partner
from cyp.storage.schema import alembic_config
from tests.fixtures_browser import screenshot, wait_for_streamlit
from tests.fixtures_postgres import (
    OWNER_FILE,
    TEMPLATE_DATABASE,
    PostgresCluster,
    find_postgres_bin,
    reap_orphaned_clusters,
    start_cluster,
)


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_postgres_server_answers_on_loopback_only(postgres_url: str):
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.scalar(text("select version()")).startswith("PostgreSQL ")
        assert connection.scalar(text("show listen_addresses")) == "127.0.0.1"
    engine.dispose()
    assert postgres_url.startswith("postgresql+psycopg://cyp@127.0.0.1:")


def test_postgres_engine_is_migrated_and_writable(postgres_engine: Engine):
    assert postgres_engine.dialect.name == "postgresql"
    with postgres_engine.connect() as connection:
        assert connection.scalar(text("select version_num from alembic_version")) == _head_revision()
    assert {"plans", "returns", "partners", "audit_events"} <= set(inspect(postgres_engine).get_table_names())
    with write_session(postgres_engine) as session:
        session.add(Partner(ref="INFRA", name="Infra test team"))
    with postgres_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Partner.__table__)) == 1


def test_each_test_gets_its_own_database(postgres_engine: Engine, postgres_cluster: PostgresCluster):
    with postgres_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Partner.__table__)) == 0
        assert connection.scalar(text("select current_database()")) != TEMPLATE_DATABASE
    with write_session(postgres_engine) as session:
        session.add(Partner(ref="COPY", name="Written to the copy"))
    # The template every test's database is copied from must not see what a test wrote.
    template = make_engine(postgres_cluster.url(TEMPLATE_DATABASE))
    with template.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Partner.__table__)) == 0
    template.dispose()


def test_a_stopped_cluster_leaves_nothing_behind(postgres_cluster: PostgresCluster):
    bin_dir = find_postgres_bin()
    assert bin_dir is not None
    cluster = start_cluster(bin_dir)
    root, port = cluster.root, cluster.port
    assert (root / "data" / "PG_VERSION").exists()
    cluster.stop()
    assert not root.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_cluster_whose_test_process_died_is_reaped_by_the_next_run(postgres_cluster: PostgresCluster):
    bin_dir = find_postgres_bin()
    assert bin_dir is not None
    orphan = start_cluster(bin_dir)
    # Pretend the cluster belongs to a test process that was killed: a child that has already exited.
    finished = subprocess.Popen(["true"])
    finished.wait()
    (orphan.root / OWNER_FILE).write_text(str(finished.pid))
    reap_orphaned_clusters()
    assert not orphan.root.exists()
    assert postgres_cluster.root.exists(), "a live process's cluster must be left alone"
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", orphan.port)) != 0


def test_app_server_runs_a_script_with_the_given_environment(app_server, page, tmp_path: Path):
    script = tmp_path / "probe.py"
    script.write_text(
        "import os\nimport streamlit as st\n\n"
        "st.title('Fixture probe')\nst.write('Marker: ' + os.environ['CYP_PROBE'])\n"
    )
    # The probe reads no database, so an unprepared SQLite URL skips the framework load.
    base_url = app_server(
        env={"CYP_PROBE": "from-the-fixture"}, database_url=f"sqlite:///{tmp_path / 'unused.db'}", script=script
    )
    page.goto(base_url)
    wait_for_streamlit(page)
    assert page.get_by_text("Marker: from-the-fixture").is_visible()


@pytest.mark.slow
def test_real_app_renders_in_chromium(app_server, page):
    page.goto(app_server())
    wait_for_streamlit(page)
    assert page.title() == "Sign in – CYP Plan Monitor"  # signed out, every page is the sign-in form
    assert page.get_by_role("heading", name="CYP Plan Monitor").first.is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    path = screenshot(page, "infra-overview-1366x768")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
