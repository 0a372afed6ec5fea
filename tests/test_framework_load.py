"""Loading the shipped framework into a fresh database: counts, links, idempotence, administrator edits win."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cyp.framework import FrameworkFileError, load_framework, read_framework, seed_framework
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.db import read_session, write_session
from cyp.storage.models import (
    Action,
    Driver,
    IndexDomain,
    Indicator,
    IndicatorDomain,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Partner,
    Plan,
)

pytestmark = pytest.mark.both_databases

FRAMEWORK_DIR = PROJECT_ROOT / "data" / "framework"
FIRST_LOAD = {
    "plans": 2,
    "outcomes": 11,
    "objectives": 41,
    "actions": 78,
    "indicators": 27,
    "drivers": 4,
    "partners": 33,
    "monitoring bodies": 42,
    "index domains": 9,
    "objective mappings": 52,
    "indicator mappings": 31,
}
NOTHING = dict.fromkeys(FIRST_LOAD, 0)


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_seed_loads_everything_then_nothing(engine: Engine) -> None:
    with write_session(engine) as session:
        assert seed_framework(session, FRAMEWORK_DIR) == FIRST_LOAD
    with write_session(engine) as session:
        assert seed_framework(session, FRAMEWORK_DIR) == NOTHING
    with read_session(engine) as session:
        tables = (Plan, Outcome, Objective, Action, Indicator, Driver, Partner, MonitoringBody, IndexDomain)
        assert [count(session, model) for model in tables] == [2, 11, 41, 78, 27, 4, 33, 42, 9]
        assert count(session, ObjectiveDomain) == 52
        assert count(session, IndicatorDomain) == 31


def test_seed_defaults_to_the_configured_folder(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYP_FRAMEWORK_DIR", str(FRAMEWORK_DIR))
    with write_session(engine) as session:
        assert seed_framework(session)["actions"] == 78


def test_counts_per_outcome_in_the_database(engine: Engine) -> None:
    with write_session(engine) as session:
        seed_framework(session, FRAMEWORK_DIR)
    with read_session(engine) as session:
        rows = session.execute(
            select(Outcome.ref, func.count(Objective.id.distinct()), func.count(Action.id))
            .join(Objective, Objective.outcome_id == Outcome.id)
            .outerjoin(Action, Action.objective_id == Objective.id)
            .group_by(Outcome.ref)
        ).all()
        assert sorted(rows) == sorted(
            [
                ("19-FB", 2, 11),
                ("19-SS", 5, 18),
                ("19-EL", 5, 20),
                ("19-CU", 2, 6),
                ("19-CL", 2, 6),
                ("19-CO", 3, 6),
                ("19-HW", 3, 11),
                ("23-FB", 6, 0),
                ("23-SS", 4, 0),
                ("23-HW", 4, 0),
                ("23-ES", 5, 0),
            ]
        )
        plans = {p.ref: (p.is_current, p.first_year, p.last_year) for p in session.scalars(select(Plan))}
        assert plans == {"2019-23": (False, 2019, 2022), "2023-27": (True, 2023, 2026)}


def test_actions_keep_partners_bodies_and_reporting_partner_in_order(engine: Engine) -> None:
    with write_session(engine) as session:
        seed_framework(session, FRAMEWORK_DIR)
    with read_session(engine) as session:
        action = session.scalar(select(Action).where(Action.ref == "19-HW-3.2"))
        assert action is not None
        assert [p.name for p in action.partners] == [
            "Barnet CCG",
            "Barnet, Enfield, Haringey Mental Health NHS Trust",
            "Royal Free London NHS Foundation Trust",
        ]
        assert [b.name for b in action.bodies] == ["CAMHS Transformation Plan", "North Central London STP CAMHS Board"]
        assert action.reporting_partner is not None and action.reporting_partner.name == "Barnet CCG"
        assert action.objective.ref == "19-HW-3"
        missing = session.scalars(
            select(Action.ref).where((Action.reporting_partner_id.is_(None)) | ~Action.partners.any())
        ).all()
        assert missing == []
        ccg = session.scalar(select(Partner).where(Partner.ref == "barnet-ccg"))
        assert ccg is not None and ccg.variants == "Barnet Clinical Commissioning Group|CCG"


def test_indicators_and_quirks_are_stored(engine: Engine) -> None:
    with write_session(engine) as session:
        seed_framework(session, FRAMEWORK_DIR)
    with read_session(engine) as session:
        indicator = session.scalar(select(Indicator).where(Indicator.ref == "19-SS-I1"))
        assert indicator is not None
        assert (indicator.baseline_value, indicator.baseline_text, indicator.baseline_period, indicator.unit) == (
            155.0,
            "155",
            "March 2018",
            "count",
        )
        culture = session.scalar(select(Objective).where(Objective.ref == "19-CU-1"))
        assert culture is not None and "copied from Safe & Secure" in (culture.quirks or "")
        merged = session.scalar(select(Action).where(Action.ref == "19-SS-1.3"))
        assert merged is not None and (merged.quirks or "").startswith("Repeated row")
        domain = session.scalar(select(IndexDomain).where(IndexDomain.ref == "FFI-4"))
        assert domain is not None and (domain.short_name, domain.position) == ("SEND outcomes", 4)


def test_existing_records_are_never_overwritten(engine: Engine) -> None:
    with write_session(engine) as session:
        seed_framework(session, FRAMEWORK_DIR)
    with write_session(engine) as session:
        # An administrator's edits through the workbook import: renamed, removed, re-mapped.
        session.scalar(select(Objective).where(Objective.ref == "19-SS-1")).text = "Edited by the administrator"
        session.delete(session.scalar(select(Action).where(Action.ref == "19-SS-1.2")))
        session.delete(session.scalar(select(ObjectiveDomain).join(Objective).where(Objective.ref == "19-SS-1")))
        session.scalar(select(Partner).where(Partner.ref == "police")).name = "Metropolitan Police"
    with write_session(engine) as session:
        assert seed_framework(session, FRAMEWORK_DIR) == NOTHING
    with read_session(engine) as session:
        objective = session.scalar(select(Objective).where(Objective.ref == "19-SS-1"))
        assert objective is not None and objective.text == "Edited by the administrator"
        assert session.scalar(select(Action).where(Action.ref == "19-SS-1.2")) is None
        assert objective.domain_links == []
        assert session.scalar(select(Partner.name).where(Partner.ref == "police")) == "Metropolitan Police"


def test_missing_partner_domain_and_plan_are_added_to_an_existing_database(engine: Engine) -> None:
    with write_session(engine) as session:
        seed_framework(session, FRAMEWORK_DIR)
    with write_session(engine) as session:
        session.delete(session.scalar(select(Plan).where(Plan.ref == "2023-27")))
        session.delete(session.scalar(select(IndexDomain).where(IndexDomain.ref == "FFI-9")))
        # Internal audit monitors one action only; that action goes first (bodies in use cannot be deleted).
        session.delete(session.scalar(select(Action).where(Action.bodies.any(MonitoringBody.ref == "internal-audit"))))
        session.flush()
        session.delete(session.scalar(select(MonitoringBody).where(MonitoringBody.ref == "internal-audit")))
    with write_session(engine) as session:
        inserted = seed_framework(session, FRAMEWORK_DIR)
    assert inserted == NOTHING | {
        "plans": 1,
        "outcomes": 4,
        "objectives": 19,
        "drivers": 4,
        "monitoring bodies": 1,
        "index domains": 1,
        "objective mappings": 22 + 1,  # the 2023-27 objectives, and 19-SS-2 → FFI-9 with the returning domain
    }


def test_load_never_commits(engine: Engine) -> None:
    data = read_framework(FRAMEWORK_DIR)
    with read_session(engine) as session:
        assert load_framework(session, data)["plans"] == 2
        session.rollback()
    with read_session(engine) as session:
        assert count(session, Plan) == 0


def test_seed_refuses_files_with_problems_and_loads_nothing(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "framework"
    shutil.copytree(FRAMEWORK_DIR, folder)
    with (folder / "index-mapping.csv").open("a", encoding="utf-8") as handle:
        handle.write("objective,19-XX-1,FFI-1,no such objective\n")
    with write_session(engine) as session, pytest.raises(FrameworkFileError) as caught:
        seed_framework(session, folder)
    assert len(caught.value.problems) == 1
    assert "index-mapping.csv:85: '19-XX-1' is not an objective; did you mean 19-SS-1?" in str(caught.value)
    with read_session(engine) as session:
        assert count(session, Plan) == 0


def test_a_line_in_the_files_may_name_its_reporting_team_and_drivers(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "framework"
    shutil.copytree(FRAMEWORK_DIR, folder)
    plan_file = folder / "plan-2023-2027.yaml"
    text = plan_file.read_text(encoding="utf-8")
    line = (
        "    actions:\n"
        "    - ref: 23-FB-1.1\n"
        "      text: Open family hubs\n"
        "      responsible: [Family Services, Public Health]\n"
        "      reporting: Public Health\n"
        "      drivers: [Inclusion, Children and young people having fun]\n"
    )
    marker = (
        "    text: Support our children in care and care experienced young people to live their lives successfully\n"
    )
    start = text.index(marker) + len(marker)
    end = text.index("    actions: []\n", start) + len("    actions: []\n")
    plan_file.write_text(text[:start] + text[start:end].replace("    actions: []\n", line) + text[end:], "utf-8")
    with write_session(engine) as session:
        assert seed_framework(session, folder)["actions"] == 79
    with read_session(engine) as session:
        hubs = session.scalar(select(Action).where(Action.ref == "23-FB-1.1"))
        assert hubs is not None and hubs.objective.ref == "23-FB-1"
        assert hubs.reporting_partner is not None and hubs.reporting_partner.name == "Public Health"
        assert [p.name for p in hubs.partners] == ["Family Services", "Public Health"]
        assert hubs.bodies == []
        assert sorted(d.ref for d in hubs.drivers) == ["D-FUN", "D-INCL"]
