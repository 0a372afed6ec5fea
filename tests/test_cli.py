"""``python -m cyp ingest``: who the command line acts as, and what it prints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cyp.access.accounts import create_user, disable_user
from cyp.access.permissions import SYSTEM
from cyp.cli import cli
from cyp.storage.db import dispose_engines, read_session, write_session
from cyp.storage.models import AuditEvent, Return
from tests.returns_factory import build_framework, build_return


@pytest.fixture
def framework(engine: Engine) -> Iterator[Engine]:
    """The test framework with a Family Services lead and a Housing lead; the CLI's engine cache emptied around it."""
    with write_session(engine) as session:
        build_framework(session)
        create_user(session, SYSTEM, "fs.lead", "lead", teams=["family-services"])
        create_user(session, SYSTEM, "housing.lead", "lead", teams=["housing"])
    dispose_engines()
    yield engine
    dispose_engines()


@pytest.fixture
def family_return(tmp_path: Path) -> Path:
    path = tmp_path / "family-services.xlsx"
    path.write_bytes(build_return())
    return path


def ingest(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["ingest", *args])


def stored(engine: Engine) -> list[tuple[str, str, int]]:
    with read_session(engine) as session:
        return [(r.uploaded_by, r.quarter, r.version) for r in session.scalars(select(Return).order_by(Return.id))]


def trail(engine: Engine, action: str) -> list[tuple[str, str, str | None]]:
    with read_session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return [(event.actor, event.outcome, event.target) for event in session.scalars(query)]


def test_a_lead_of_the_team_files_its_return_under_their_name(framework: Engine, family_return: Path) -> None:
    result = ingest(str(family_return), "--user", "fs.lead", "--acknowledge-queries")
    assert result.exit_code == 0, result.output
    assert "Accepted Family Services 2025-26 Q3 version 1" in result.output
    assert stored(framework) == [("fs.lead", "2025-26 Q3", 1)]
    assert trail(framework, "return.ingest") == [("fs.lead", "accepted", "Family Services 2025-26 Q3 v1")]


def test_a_lead_of_another_team_is_refused_audited_and_nothing_is_stored(
    framework: Engine, family_return: Path
) -> None:
    result = ingest(str(family_return), "--user", "housing.lead", "--acknowledge-queries")
    assert result.exit_code == 1
    assert "Refused: You may not submit a return for team family-services" in result.output
    assert "housing.lead is not a member of team family-services" in result.output
    assert stored(framework) == []
    assert trail(framework, "return.submit") == [("housing.lead", "refused", "Family Services 2025-26 Q3")]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no.such.person", "There is no account named 'no.such.person'."),
        ("fs.lead", "The account 'fs.lead' is disabled; an administrator can enable it."),
    ],
)
def test_an_unknown_or_disabled_account_is_a_clear_error(
    framework: Engine, family_return: Path, name: str, message: str
) -> None:
    with write_session(framework) as session:
        disable_user(session, SYSTEM, "fs.lead")
    result = ingest(str(family_return), "--user", name)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {message} Give an existing account with --user, or use --as-system."
    assert stored(framework) == []


def test_acting_as_the_system_is_explicit_and_named_in_the_trail(framework: Engine, family_return: Path) -> None:
    result = ingest(str(family_return), "--as-system", "--acknowledge-queries")
    assert result.exit_code == 0, result.output
    [(uploaded_by, _, _)] = stored(framework)
    assert uploaded_by.startswith("system (command line, login ")
    assert trail(framework, "return.ingest") == [(uploaded_by, "accepted", "Family Services 2025-26 Q3 v1")]


@pytest.mark.parametrize("who", [[], ["--user", "fs.lead", "--as-system"]])
def test_exactly_one_of_user_and_as_system_is_required(framework: Engine, family_return: Path, who: list[str]) -> None:
    result = ingest(str(family_return), *who)
    assert result.exit_code == 2
    assert "give --user NAME (act as that account) or --as-system, but not both" in result.output
    assert stored(framework) == []


def test_a_data_file_in_a_wrong_shape_is_a_message_naming_it_not_a_traceback(
    framework: Engine, family_return: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cyp.access.permissions as permissions

    broken = tmp_path / "access.yaml"
    text = permissions.ACCESS_FILE.read_text(encoding="utf-8")
    broken.write_text(text.replace("    team_roles: [lead]", "    team_roles: lead"), encoding="utf-8")
    monkeypatch.setattr(permissions, "ACCESS_FILE", broken)
    line = next(n for n, row in enumerate(broken.read_text().splitlines(), 1) if row == "    team_roles: lead")
    result = ingest(str(family_return), "--user", "fs.lead")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: a data file needs fixing:\n{broken} line {line}, at permissions.return.submit.team_roles: "
        "'lead' is not of type 'array'\n"
    )
    assert stored(framework) == []
