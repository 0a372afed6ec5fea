"""CYP_DATABASE_URL selects PostgreSQL for the commands: init, template, ingest and report give what SQLite gives."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.fixtures_postgres import PostgresCluster, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
QUARTER = "2022-23 Q2"  # inside the 2019–23 plan, whose actions come from the source
TEAM = "public-health"

pytestmark = pytest.mark.slow


@pytest.fixture
def empty_postgres(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database: no schema, so `init` has to create it."""
    with throwaway_database(postgres_cluster, "cyp_empty") as url:
        yield url


def cyp(url: str, uploads: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cyp ARGS`` in a new process with ``CYP_DATABASE_URL`` set to ``url``."""
    env = os.environ | {"CYP_DATABASE_URL": url, "CYP_UPLOADS_DIR": str(uploads)}
    return subprocess.run(
        [sys.executable, "-m", "cyp", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def filled(template: bytes) -> bytes:
    """The template with every line of the 2019–23 plan answered Green."""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook["Return"]
    for row in sheet.iter_rows():
        if isinstance(row[0].value, str) and row[0].value.startswith("19-"):
            row[4].value, row[5].value = "Green", "Delivered as planned this quarter."
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def round_trip(url: str, folder: Path) -> dict:
    """init (twice), template, user add, ingest and report on the database at ``url``; returns the report."""
    folder.mkdir(parents=True, exist_ok=True)
    first = cyp(url, folder / "uploads", "init")
    assert first.returncode == 0, first.stderr
    assert f"Database ready at {url.split('@')[0].split('//')[0]}" in first.stdout and "loaded" in first.stdout
    again = cyp(url, folder / "uploads", "init")
    assert "framework already loaded, nothing changed" in again.stdout, again.stderr
    template = folder / "template.xlsx"
    made = cyp(url, folder / "uploads", "template", "--team", TEAM, "--quarter", QUARTER, "--out", str(template))
    assert made.returncode == 0, made.stderr
    upload = folder / "public-health.xlsx"
    upload.write_bytes(filled(template.read_bytes()))
    # The command line files the return as the team's lead, with the lead's permissions.
    lead = cyp(
        url, folder / "uploads", "user", "add", "--role", "lead", "--team", "public-health", "--no-password", "lead.ph"
    )
    assert lead.returncode == 0, lead.stderr
    stored = cyp(url, folder / "uploads", "ingest", str(upload), "--user", "lead.ph")
    assert stored.returncode == 0, stored.stdout + stored.stderr
    assert "Accepted Public Health 2022-23 Q2 version 1" in stored.stdout
    report = cyp(url, folder / "uploads", "report", "--quarter", QUARTER, "--format", "json")
    assert report.returncode == 0, report.stderr
    return json.loads(report.stdout)


def test_commands_on_postgresql_give_what_sqlite_gives(empty_postgres: str, tmp_path: Path) -> None:
    on_postgres = round_trip(empty_postgres, tmp_path / "pg")
    assert empty_postgres.startswith("postgresql+psycopg://")
    on_sqlite = round_trip(f"sqlite:///{tmp_path / 'lite' / 'cyp.db'}", tmp_path / "lite")
    assert on_postgres == on_sqlite
    assert (on_postgres["quarter"], on_postgres["plan"]) == (QUARTER, "2019-23")
    answered = [line for line in on_postgres["lines"] if "Public Health" in line["teams"]]
    assert answered and {line["status"] for line in answered} == {"Green"}
    assert {line["status"] for line in on_postgres["lines"]} >= {"Green", "No return"}
