"""The administrator's writes: deadlines, line and objective assignments, framework import, demo data, the CLI."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from cyp import admin
from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.cli import cli
from cyp.demo import demo_present
from cyp.framework.workbook import export_framework
from cyp.quarters import parse_quarter
from cyp.read.tracker import deadlines
from cyp.returns.lines import deadline_for, team_lines
from cyp.returns.template import write_template
from cyp.storage.db import read_session, write_session
from cyp.storage.models import Action, AuditEvent, Objective, Outcome, Partner, User
from tests.returns_factory import build_framework

ADMIN = Principal("perf.admin", "administrator")


@pytest.fixture
def db(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
        outcome = session.scalar(select(Outcome).where(Outcome.ref == "T23-O1"))
        session.add(Objective(ref="T23-3", text="Young carers are supported", position=3, outcome=outcome))
        create_user(session, SYSTEM, ADMIN.username, ADMIN.role)
    return engine


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with read_session(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_deadline_overrides_the_default_until_cleared(db: Engine) -> None:
    quarter = parse_quarter("2025-26 Q3")
    with write_session(db) as session:
        admin.set_deadline(session, ADMIN, "Q3 2025/26", date(2026, 2, 13))
    with write_session(db) as session:
        admin.set_deadline(session, ADMIN, quarter, date(2026, 2, 20))
    with read_session(db) as session:
        assert deadlines(session, [quarter]) == {quarter.label: date(2026, 2, 20)}
        assert deadline_for(session, quarter) == date(2026, 2, 20)
        table = admin.deadline_table(session, "T2023").set_index("quarter")
        assert table.loc[quarter.label, "deadline"] == date(2026, 2, 20)
        assert bool(table.loc[quarter.label, "set by administrator"])
        assert not table.loc["2025-26 Q2", "set by administrator"]
    with write_session(db) as session:
        assert admin.clear_deadline(session, ADMIN, quarter) is True
        assert admin.clear_deadline(session, ADMIN, quarter) is False
    with read_session(db) as session:
        assert deadline_for(session, quarter) == date(2026, 1, 31)
    assert [(e.actor, e.target, e.detail) for e in events(db, "deadline.set")] == [
        (ADMIN.username, "deadline:2025-26 Q3", "default 2026-01-31 -> 2026-02-13"),
        (ADMIN.username, "deadline:2025-26 Q3", "2026-02-13 -> 2026-02-20"),
    ]
    assert [e.detail for e in events(db, "deadline.clear")] == ["2026-02-20 -> default 2026-01-31"]


def test_a_deadline_before_the_quarter_ends_is_refused_and_not_stored(db: Engine) -> None:
    with pytest.raises(admin.AdminError, match="must fall after the quarter ends"), write_session(db) as session:
        admin.set_deadline(session, ADMIN, "2025-26 Q3", date(2025, 12, 1))
    with read_session(db) as session:
        assert deadline_for(session, parse_quarter("2025-26 Q3")) == date(2026, 1, 31)
    assert events(db, "deadline.set") == []


def test_assigning_a_line_moves_it_to_the_new_team(db: Engine) -> None:
    with write_session(db) as session:
        admin.assign_line(session, ADMIN, "T23-1.2", "Housing")
    with read_session(db) as session:
        housing = session.scalar(select(Partner).where(Partner.ref == "housing"))
        family = session.scalar(select(Partner).where(Partner.ref == "family-services"))
        plan = session.scalars(select(Action).where(Action.ref == "T23-1.2")).one().objective.outcome.plan
        assert [a.ref for a in team_lines(session, housing, plan)] == ["T23-1.2"]
        assert [a.ref for a in team_lines(session, family, plan)] == ["T23-1.1"]
    (event,) = events(db, "assignment.line")
    assert (event.target, event.detail) == ("line:T23-1.2", "reporting team family-services -> housing")


def test_assigning_to_an_unknown_team_or_line_says_what_is_wrong(db: Engine) -> None:
    with pytest.raises(admin.AdminError, match="did you mean Housing"), write_session(db) as session:
        admin.assign_line(session, ADMIN, "T23-1.2", "Housng")
    with pytest.raises(admin.AdminError, match="no line 'T99'"), write_session(db) as session:
        admin.assign_line(session, ADMIN, "T99", "Housing")
    with read_session(db) as session:
        assert session.scalars(select(Action).where(Action.ref == "T23-1.2")).one().reporting_partner.ref == (
            "family-services"
        )


def test_a_whole_objective_becomes_one_line_in_the_teams_template(db: Engine) -> None:
    with write_session(db) as session:
        admin.assign_objective(session, ADMIN, "T23-3", "Public Health")
    with write_session(db) as session:
        admin.assign_objective(session, ADMIN, "T23-3", "housing")  # reassigning changes the same line
    with read_session(db) as session:
        line = session.scalars(select(Action).where(Action.objective.has(Objective.ref == "T23-3"))).one()
        assert (line.ref, line.whole_objective, line.text) == ("T23-3.W", True, "Young carers are supported")
        assert (line.reporting_partner.ref, [p.ref for p in line.partners]) == ("housing", ["housing"])
        template = load_workbook(io.BytesIO(write_template(session, "housing", "2025-26 Q3")))
        refs = [row[0].value for row in template["Return"].iter_rows()]
        assert "T23-3.W" in refs
        choices = {c.ref: c for c in admin.objective_choices(session, "T2023")}
        assert (choices["T23-3"].team, choices["T23-3"].action_lines) == ("Housing", 0)
    assert [e.detail for e in events(db, "assignment.objective")] == [
        "new whole-objective line; reporting team public-health",
        "reporting team public-health -> housing",
    ]


def test_an_objective_with_actions_is_assigned_line_by_line(db: Engine) -> None:
    with pytest.raises(admin.AdminError, match="has 1 action line"), write_session(db) as session:
        admin.assign_objective(session, ADMIN, "T23-2", "Housing")


def test_a_whole_objective_line_survives_the_framework_round_trip(db: Engine) -> None:
    with write_session(db) as session:
        admin.assign_objective(session, ADMIN, "T23-3", "Housing")
    with read_session(db) as session:
        workbook = export_framework(session)
    with write_session(db) as session:
        first = admin.import_framework_as(session, ADMIN, io.BytesIO(workbook), "round-trip.xlsx")
    with read_session(db) as session:
        again = export_framework(session)
    with write_session(db) as session:
        second = admin.import_framework_as(session, ADMIN, io.BytesIO(again), "round-trip.xlsx")
    assert first.ok and second.ok
    assert "Actions removed" not in first.changes
    assert second.changes == {}
    assert [e.outcome for e in events(db, "framework.import")] == ["ok", "ok"]


def test_a_rejected_import_changes_nothing_and_is_audited(db: Engine) -> None:
    with read_session(db) as session:
        workbook = load_workbook(io.BytesIO(export_framework(session)))
    workbook["Partners"]["B2"] = ""  # a partner with no name
    buffer = io.BytesIO()
    workbook.save(buffer)
    with write_session(db) as session:
        result = admin.import_framework_as(session, ADMIN, io.BytesIO(buffer.getvalue()), "edited.xlsx")
    assert not result.ok and any(p.sheet == "Partners" and p.cell == "B2" for p in result.problems)
    (event,) = events(db, "framework.import")
    assert (event.actor, event.target, event.outcome) == (ADMIN.username, "edited.xlsx", "rejected")
    assert "Partners!B2" in event.detail


def test_demo_data_loads_and_clears_with_an_audit_event_each(db: Engine) -> None:
    with write_session(db) as session:
        counts, accounts = admin.load_demo(session, ADMIN, seed=3)
    assert counts["returns"] > 0 and {role for _name, _password, role in accounts} == {
        "administrator",
        "lead",
        "viewer",
        "display",
    }
    with read_session(db) as session:
        assert demo_present(session)
    with write_session(db) as session:
        removed = admin.clear_demo_data(session, ADMIN)
    assert removed["returns"] == counts["returns"] and removed["demo accounts"] == 4
    with read_session(db) as session:
        assert not demo_present(session)
        assert session.scalar(select(func.count(User.id)).where(User.is_demo)) == 0
    assert [e.actor for e in events(db, "demo.load") + events(db, "demo.clear")] == [ADMIN.username] * 2


def test_the_cli_framework_import_goes_through_admin_and_names_the_user(db: Engine, tmp_path: Path) -> None:
    with read_session(db) as session:
        path = tmp_path / "framework.xlsx"
        path.write_bytes(export_framework(session))
    result = CliRunner().invoke(cli, ["framework", "import", str(path), "--user", "j.smith"])
    assert result.exit_code == 0, result.output
    (event,) = events(db, "framework.import")
    assert (event.actor, event.outcome, event.target) == ("j.smith", "ok", "framework.xlsx")


def test_line_assignments_list_every_line_of_a_plan_with_its_team(db: Engine) -> None:
    with read_session(db) as session:
        frame = admin.line_assignments(session, "T2023")
        teams = admin.team_choices(session)
    assert list(zip(frame["ref"], frame["team"], strict=True)) == [
        ("T23-1.1", "Family Services"),
        ("T23-1.2", "Family Services"),
        ("T23-2.1", "Public Health"),
    ]
    assert teams == [("family-services", "Family Services"), ("housing", "Housing"), ("public-health", "Public Health")]
