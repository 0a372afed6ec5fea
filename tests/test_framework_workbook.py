"""The framework workbook: export, all-or-nothing import, round trips, and a message for every defect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from cyp.cli import cli
from cyp.framework.workbook import SHEETS, export_framework, import_framework
from cyp.storage.db import dispose_engines, get_engine, make_engine, read_session, write_session
from cyp.storage.models import (
    Action,
    AuditEvent,
    Base,
    Driver,
    IndexDomain,
    Indicator,
    IndicatorDomain,
    LineUpdate,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Partner,
    Plan,
    Return,
    action_bodies,
    action_partners,
)
from cyp.storage.schema import upgrade_schema

pytestmark = pytest.mark.both_databases

EXPECTED_SHEETS = [
    "Read me",
    "Plans",
    "Outcomes",
    "Objectives",
    "Actions",
    "Indicators",
    "Partners",
    "Monitoring bodies",
    "Drivers",
    "Index domains",
    "Index mapping",
]


def make_framework(session: Session) -> None:
    """A small two-plan framework built straight from the models (made-up wording, for tests only)."""
    family = Partner(ref="FS", name="Family Services", variants="Children's Services|Family Servs")
    education = Partner(ref="ED", name="Education and Skills")
    health = Partner(ref="PH", name="Public Health")
    safeguarding = MonitoringBody(ref="CSP", name="Safeguarding Partnership", variants="The Partnership")
    wellbeing = MonitoringBody(ref="HWB", name="Health and Wellbeing Board")
    safe = IndexDomain(ref="D1", name="Children are safe at home and in the community", short_name="Safe", position=1)
    healthy = IndexDomain(ref="D2", name="Children are healthy", short_name="Healthy", position=2)
    old = Plan(ref="2019-23", title="Test plan one", first_year=2019, last_year=2022, is_current=False)
    new = Plan(ref="2023-27", title="Test plan two", first_year=2023, last_year=2026, is_current=True, vision="V")
    inclusion = Driver(plan=new, ref="DR-INC", name="Inclusion", position=1)
    fun = Driver(plan=new, ref="DR-FUN", name="Having fun", position=2)
    secure = Outcome(plan=old, ref="19-SS", name="Safe and secure", group="Core outcomes", position=1)
    theme = Outcome(plan=new, ref="23-T1", name="Theme one", position=1)
    first = Objective(outcome=secure, ref="19-SS-1", text="Keep children safe", position=1)
    second = Objective(outcome=secure, ref="19-SS-2", text="Support families early", position=2, quirks="Repeated")
    current = Objective(outcome=theme, ref="23-T1-1", text="Help families thrive", position=1)
    line_one = Action(objective=first, ref="19-SS-1.1", text="Run the front door", position=1)
    line_two = Action(objective=first, ref="19-SS-1.2", text="=Train staff", position=2, reporting_partner=health)
    line_three = Action(objective=second, ref="19-SS-2.1", text="Early help hubs", position=1)
    whole = Action(objective=current, ref="23-T1-1.W", text=current.text, whole_objective=True, position=1)
    whole.drivers = [inclusion, fun]
    plans_indicator = Indicator(
        outcome=secure,
        ref="19-SS-I1",
        name="Children on a child protection plan",
        unit="children",
        polarity="lower",
        baseline_value=155.0,
        baseline_text="155",
        baseline_period="March 2018",
        position=1,
    )
    context = Indicator(
        outcome=secure, ref="19-SS-I2", name="Population", unit="people", baseline_value=0.25, position=2
    )
    session.add_all(
        [family, education, health, safeguarding, wellbeing, safe, healthy, old, new, inclusion, fun, plans_indicator]
    )
    session.add_all([line_one, line_two, line_three, whole, context])
    session.flush()
    links = {
        line_one: ([family, education], [safeguarding, wellbeing]),
        line_two: ([health], [wellbeing]),
        line_three: ([education, family], [safeguarding]),
        whole: ([family], [safeguarding]),
    }
    for line, (partners, bodies) in links.items():
        session.execute(
            insert(action_partners),
            [{"action_id": line.id, "partner_id": p.id, "position": i} for i, p in enumerate(partners)],
        )
        session.execute(
            insert(action_bodies),
            [{"action_id": line.id, "body_id": b.id, "position": i} for i, b in enumerate(bodies)],
        )
    session.add_all(
        [
            ObjectiveDomain(objective=first, domain=safe, reason="About safety"),
            ObjectiveDomain(objective=current, domain=healthy, reason="Thriving families are healthy"),
            IndicatorDomain(indicator=plans_indicator, domain=safe, reason="Protection plans"),
        ]
    )


@pytest.fixture
def framework_engine(engine: Engine) -> Engine:
    with write_session(engine) as session:
        make_framework(session)
    return engine


@pytest.fixture(scope="module")
def unchanging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, bytes]]:
    """One framework database and its export, shared by tests whose imports must change nothing (they check)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('unchanging') / 'cyp.db'}")
    upgrade_schema(engine)
    with write_session(engine) as session:
        make_framework(session)
    yield engine, export_bytes(engine)
    engine.dispose()


@pytest.fixture
def cli_engine(framework_engine: Engine) -> Iterator[Engine]:
    """The framework database, with the CLI's process-wide engine pointed at it.

    get_engine() caches on its argument (None), so without this the CLI would reuse the engine
    of whichever test ran a command first.
    """
    dispose_engines()
    yield framework_engine
    get_engine().dispose()
    dispose_engines()


def dump(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, to compare a database before and after."""
    with engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def export_bytes(engine: Engine) -> bytes:
    with read_session(engine) as session:
        return export_framework(session)


def run_import(engine: Engine, data: bytes):
    with write_session(engine) as session:
        return import_framework(session, BytesIO(data))


def edited(data: bytes, edit: Callable[[Workbook], None]) -> bytes:
    workbook = load_workbook(BytesIO(data))
    edit(workbook)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def row_of(sheet, ref: str, column: int = 1) -> int:
    for row in sheet.iter_rows(min_row=2):
        if row[column - 1].value == ref:
            return row[0].row
    raise AssertionError(f"{ref} not on {sheet.title}")


def test_export_has_every_sheet_with_bold_frozen_headers(framework_engine):
    workbook = load_workbook(BytesIO(export_bytes(framework_engine)))
    assert workbook.sheetnames == EXPECTED_SHEETS
    for spec in SHEETS:
        sheet = workbook[spec.name]
        assert [cell.value for cell in sheet[1]] == [column.header for column in spec.columns]
        assert sheet["A1"].font.bold
        assert sheet.freeze_panes == "B2"
    assert "Refs are stable" in "\n".join(str(row[0].value) for row in workbook["Read me"].iter_rows())
    polarity = [dv for dv in workbook["Indicators"].data_validations.dataValidation if dv.formula1 == '"higher,lower"']
    assert polarity and "F2" in polarity[0].sqref


def test_export_rows_are_readable_and_in_framework_order(framework_engine):
    workbook = load_workbook(BytesIO(export_bytes(framework_engine)))
    actions = [[cell.value for cell in row] for row in workbook["Actions"].iter_rows(min_row=2)]
    assert [row[0] for row in actions] == ["19-SS-1.1", "19-SS-1.2", "19-SS-2.1", "23-T1-1.W"]
    assert actions[0][5] == "Family Services; Education and Skills"
    assert actions[0][6] == "Safeguarding Partnership; Health and Wellbeing Board"
    assert actions[1][3] == "=Train staff"  # text, not a formula
    assert actions[1][7] == "Public Health"
    assert actions[3][4] == "yes" and actions[3][8] == "Inclusion; Having fun"
    mapping = [[cell.value for cell in row] for row in workbook["Index mapping"].iter_rows(min_row=2)]
    assert mapping == [
        ["objective", "19-SS-1", "D1", "About safety", "Keep children safe"],
        ["objective", "23-T1-1", "D2", "Thriving families are healthy", "Help families thrive"],
        ["indicator", "19-SS-I1", "D1", "Protection plans", "Children on a child protection plan"],
    ]
    assert workbook["Partners"]["C2"].value is None  # Education and Skills, sorted by name
    assert workbook["Partners"]["C3"].value == "Children's Services; Family Servs"


def sheet_values(data: bytes) -> dict[str, list[tuple]]:
    workbook = load_workbook(BytesIO(data))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


def test_round_trip_of_an_unchanged_export_changes_nothing(framework_engine):
    before = dump(framework_engine)
    data = export_bytes(framework_engine)
    result = run_import(framework_engine, data)
    assert result.problems == []
    assert result.changes == {}
    assert result.summary() == "No changes: the workbook matches the framework in the database."
    assert dump(framework_engine) == before
    assert sheet_values(export_bytes(framework_engine)) == sheet_values(data)


def test_round_trip_of_the_real_framework_changes_nothing(engine):
    load = pytest.importorskip("cyp.framework.load")
    with write_session(engine) as session:
        load.seed_framework(session)
    before = dump(engine)
    data = export_bytes(engine)
    result = run_import(engine, data)
    assert [str(p) for p in result.problems] == []
    assert result.changes == {}
    assert dump(engine) == before
    assert export_bytes(engine) != b"" and len(load_workbook(BytesIO(data))["Actions"]["A"]) > 50


def test_forgiving_spaces_case_and_blank_rows_change_nothing(framework_engine):
    before = dump(framework_engine)

    def sloppy(workbook: Workbook) -> None:
        actions = workbook["Actions"]
        actions["A2"] = "  19-SS-1.1 "
        actions["F2"] = " family services ;education AND skills; "
        actions["H3"] = "public   health"
        actions["I5"] = "inclusion;HAVING FUN"
        workbook["Index mapping"]["A2"] = "Objective"
        workbook["Index mapping"]["C2"] = " safe "  # a domain's short name is accepted for its ref
        actions.append([None, None, "   "])
        actions.append([])

    result = run_import(framework_engine, edited(export_bytes(framework_engine), sloppy))
    assert result.problems == []
    assert result.changes == {}
    assert dump(framework_engine) == before


def test_variant_names_are_accepted_and_stored_canonically(framework_engine):
    def use_variant(workbook: Workbook) -> None:
        workbook["Actions"]["F4"] = "Family Servs; Education and Skills"  # 19-SS-2.1, order swapped
        workbook["Actions"]["G4"] = "the partnership"

    result = run_import(framework_engine, edited(export_bytes(framework_engine), use_variant))
    assert result.problems == []
    assert result.changes == {"Actions updated": 1}
    workbook = load_workbook(BytesIO(export_bytes(framework_engine)))
    assert workbook["Actions"]["F4"].value == "Family Services; Education and Skills"
    assert workbook["Actions"]["G4"].value == "Safeguarding Partnership"


def test_an_edited_workbook_is_imported(framework_engine):
    def edit(workbook: Workbook) -> None:
        objectives = workbook["Objectives"]
        objectives.cell(row_of(objectives, "23-T1-1"), 4, "Help every family thrive")
        workbook["Actions"].append(
            [
                "23-T1-1.1",
                "23-T1-1",
                None,
                "Open family hubs",
                "no",
                "Public Health; Family Services",
                "Health and Wellbeing Board",
                None,
                "Inclusion",
                None,
                "no",
            ]
        )
        workbook["Partners"].append(["YP", "Youth Participation", "YPT; Youth team", "no"])
        workbook["Actions"].append(["23-T1-1.2", "23-T1-1", 7, None, "yes", "youth team", None, "Youth Participation"])
        workbook["Index mapping"].append(["indicator", "19-SS-I2", "D2", "Context for health"])
        workbook["Indicators"]["J2"] = 120
        workbook["Indicators"]["K2"] = "5"

    result = run_import(framework_engine, edited(export_bytes(framework_engine), edit))
    assert result.problems == []
    assert result.changes == {
        "Objectives updated": 1,
        "Actions added": 2,
        "Actions updated": 1,  # the whole-objective line follows its objective's new wording
        "Indicators updated": 1,
        "Partners added": 1,
        "Index mapping added": 1,
    }
    assert result.summary().startswith("Framework updated: Objectives 1 updated; Actions 2 added, 1 updated;")
    with read_session(framework_engine) as session:
        hubs = session.scalar(select(Action).where(Action.ref == "23-T1-1.1"))
        assert hubs.objective.ref == "23-T1-1" and hubs.text == "Open family hubs"
        assert [p.name for p in hubs.partners] == ["Public Health", "Family Services"]
        assert [b.name for b in hubs.bodies] == ["Health and Wellbeing Board"]
        assert [d.name for d in hubs.drivers] == ["Inclusion"]
        assert hubs.position == 8  # blank Order: last under its objective, after the explicit 7
        whole = session.scalar(select(Action).where(Action.ref == "23-T1-1.2"))
        assert whole.whole_objective and whole.text == "Help every family thrive" and whole.position == 7
        assert whole.reporting_partner.name == "Youth Participation"
        assert session.scalar(select(Partner.variants).where(Partner.ref == "YP")) == "YPT|Youth team"
        indicator = session.scalar(select(Indicator).where(Indicator.ref == "19-SS-I1"))
        assert (indicator.target, indicator.tolerance) == (120.0, 5.0)
        context = session.scalar(select(Indicator).where(Indicator.ref == "19-SS-I2"))
        assert [(link.domain.ref, link.reason) for link in context.domain_links] == [("D2", "Context for health")]
    # and the result exports and re-imports as a fixed point
    assert run_import(framework_engine, export_bytes(framework_engine)).changes == {}


def test_rows_missing_from_the_workbook_are_removed_when_nothing_depends_on_them(framework_engine):
    def remove(workbook: Workbook) -> None:
        actions = workbook["Actions"]
        actions.delete_rows(row_of(actions, "19-SS-2.1"))
        mapping = workbook["Index mapping"]
        mapping.delete_rows(row_of(mapping, "19-SS-I1", column=2))

    result = run_import(framework_engine, edited(export_bytes(framework_engine), remove))
    assert result.problems == []
    assert result.changes == {"Actions removed": 1, "Index mapping removed": 1}
    with read_session(framework_engine) as session:
        assert session.scalar(select(Action).where(Action.ref == "19-SS-2.1")) is None
        assert session.scalars(select(IndicatorDomain)).all() == []
        assert session.scalar(select(Objective).where(Objective.ref == "19-SS-2")) is not None


def test_swapped_and_reused_names_import_cleanly(framework_engine):
    def swap(workbook: Workbook) -> None:
        partners = workbook["Partners"]
        partners.cell(row_of(partners, "FS"), 2, "Education and Skills")
        partners.cell(row_of(partners, "ED"), 2, "Family Services")
        bodies = workbook["Monitoring bodies"]
        bodies.cell(row_of(bodies, "HWB"), 1, "HWB2")  # same name, new ref: the old row goes

    result = run_import(framework_engine, edited(export_bytes(framework_engine), swap))
    assert result.problems == []
    assert result.changes == {
        "Actions updated": 4,  # lines still name "Family Services", which is now ED, and HWB became HWB2
        "Partners updated": 2,
        "Monitoring bodies added": 1,
        "Monitoring bodies removed": 1,
    }
    with read_session(framework_engine) as session:
        assert session.scalar(select(Partner.name).where(Partner.ref == "FS")) == "Education and Skills"
        line = session.scalar(select(Action).where(Action.ref == "19-SS-1.2"))
        assert [b.ref for b in line.bodies] == ["HWB2"]


def test_renaming_a_team_on_its_sheet_alone_carries_its_lines(framework_engine):
    def rename(workbook: Workbook) -> None:
        partners = workbook["Partners"]
        partners.cell(row_of(partners, "FS"), 2, "Children's Social Care")

    result = run_import(framework_engine, edited(export_bytes(framework_engine), rename))
    assert result.problems == []
    assert result.changes == {"Partners updated": 1}
    actions = load_workbook(BytesIO(export_bytes(framework_engine)))["Actions"]
    assert actions["F2"].value == "Children's Social Care; Education and Skills"


def _set(sheet: str, cell: str, value) -> Callable[[Workbook], None]:
    def edit(workbook: Workbook) -> None:
        workbook[sheet][cell] = value

    return edit


def _append(sheet: str, row: list) -> Callable[[Workbook], None]:
    def edit(workbook: Workbook) -> None:
        workbook[sheet].append(row)

    return edit


def _remove_sheet(workbook: Workbook) -> None:
    del workbook["Drivers"]


DEFECTS = {
    "unknown partner": (
        _set("Actions", "F2", "Family Servces"),
        "Actions!F2: 'Family Servces' is not a partner; did you mean Family Services?",
    ),
    "unknown partner, nothing close": (
        _set("Actions", "H3", "Zebra Unit"),
        "Actions!H3: 'Zebra Unit' is not a partner; add it to the Partners sheet first.",
    ),
    "unknown body": (
        _set("Actions", "G2", "Health Board"),
        "Actions!G2: 'Health Board' is not a monitoring body; did you mean Health and Wellbeing Board?",
    ),
    "driver of another plan": (
        _set("Actions", "I2", "Inclusion"),
        "Actions!I2: 'Inclusion' is not a driver of this line's plan; add it to the Drivers sheet first.",
    ),
    "blank ref": (
        _set("Actions", "A3", "  "),
        "Actions!A3: The action on this row has no Ref; give it a new, unused ref.",
    ),
    "duplicate ref": (
        _set("Actions", "A3", "19-SS-1.1"),
        "Actions!A3: Ref '19-SS-1.1' is already used on row 2.",
    ),
    "ref too long for the database": (
        _set("Partners", "A4", "p" * 81),
        f"Partners!A4: Ref '{'p' * 81}' is longer than 80 characters.",
    ),
    "unknown parent": (
        _set("Objectives", "B2", "19-SX"),
        "Objectives!B2: '19-SX' is not an outcome or theme; did you mean 19-SS?",
    ),
    "bad number": (
        _set("Indicators", "J2", "ten"),
        "Indicators!J2: Target 'ten' is not a number; type a plain number (no units or %).",
    ),
    "bad order": (
        _set("Outcomes", "C2", 1.5),
        "Outcomes!C2: Order must be a whole number, not 1.5.",
    ),
    "bad polarity": (
        _set("Indicators", "F2", "down"),
        "Indicators!F2: Polarity must be one of higher, lower, not 'down'.",
    ),
    "bad yes/no": (
        _set("Plans", "E3", "maybe"),
        "Plans!E3: Current must be yes or no, not 'maybe'.",
    ),
    "two current plans": (
        _set("Plans", "E2", "yes"),
        "Plans!E3: Only one plan can be current; 2019-23 is already marked yes.",
    ),
    "blank required text": (
        _set("Indicators", "E2", None),
        "Indicators!E2: Unit is blank; fill it in.",
    ),
    "duplicate partner name": (
        _append("Partners", ["FS2", "family services"]),
        "Partners!B5: 'family services' is already the name on row 3; names must be unique.",
    ),
    "unknown domain": (
        _append("Index mapping", ["objective", "19-SS-2", "D11", "x"]),
        "Index mapping!C5: 'D11' is not an index domain; did you mean D1?",
    ),
    "unknown mapped objective": (
        _append("Index mapping", ["objective", "19-SS-I1", "D1", "x"]),
        "Index mapping!B5: '19-SS-I1' is not an objective; did you mean 19-SS-1?",
    ),
    "bad kind": (
        _set("Index mapping", "A2", "action"),
        "Index mapping!A2: Kind must be one of objective, indicator, not 'action'.",
    ),
    "duplicate mapping": (
        _append("Index mapping", ["objective", "19-SS-1", "D1", "x"]),
        "Index mapping!C5: objective 19-SS-1 is already mapped to D1 on row 2.",
    ),
    "missing sheet": (
        _remove_sheet,
        "Drivers: The sheet 'Drivers' is missing; export a fresh workbook to see the expected layout.",
    ),
    "missing column": (
        _set("Actions", "F1", "Partners"),
        "Actions: The column 'Responsible' is missing from the header row (row 1).",
    ),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_is_named_by_sheet_and_cell_and_changes_nothing(unchanging, defect):
    framework_engine, exported = unchanging
    edit, message = DEFECTS[defect]
    data = edited(exported, edit)
    # a valid edit alongside the defect must not be applied either
    data = edited(data, _set("Objectives", "D3", "A valid edit that must not land"))
    before = dump(framework_engine)
    result = run_import(framework_engine, data)
    assert [str(problem) for problem in result.problems] == [message]
    assert not result.ok and result.changes == {}
    assert result.summary() == "Nothing imported: 1 problem in the workbook; fix and try again."
    assert dump(framework_engine) == before


def test_every_problem_is_reported_at_once(unchanging):
    framework_engine, exported = unchanging

    def many(workbook: Workbook) -> None:
        workbook["Actions"]["F2"] = "Family Servces"
        workbook["Indicators"]["J2"] = "ten"
        workbook["Indicators"]["F3"] = "sideways"

    result = run_import(framework_engine, edited(exported, many))
    # in workbook order: sheet by sheet, row by row
    assert [p.location for p in result.problems] == ["Actions!F2", "Indicators!J2", "Indicators!F3"]


def test_removing_a_line_with_quarterly_updates_is_refused(framework_engine):
    with write_session(framework_engine) as session:
        family = session.scalar(select(Partner).where(Partner.ref == "FS"))
        plan = session.scalar(select(Plan).where(Plan.ref == "2019-23"))
        line = session.scalar(select(Action).where(Action.ref == "19-SS-2.1"))
        upload = Return(
            partner=family,
            plan=plan,
            quarter="2020-21 Q1",
            version=1,
            uploaded_by="lead",
            original_filename="r.xlsx",
            size_bytes=1,
            sha256="0" * 64,
            stored_path="r.xlsx",
        )
        upload.line_updates.append(LineUpdate(action=line, quarter="2020-21 Q1", status="Green"))
        session.add(upload)

    def remove(workbook: Workbook) -> None:
        actions = workbook["Actions"]
        actions.delete_rows(row_of(actions, "19-SS-2.1"))
        partners = workbook["Partners"]
        partners.delete_rows(row_of(partners, "FS"))
        for row in workbook["Actions"].iter_rows(min_row=2):
            row[5].value = "Education and Skills"

    before = dump(framework_engine)
    result = run_import(framework_engine, edited(export_bytes(framework_engine), remove))
    assert [str(p) for p in result.problems] == [
        "Actions: The line 19-SS-2.1 is missing from the sheet but has 1 quarterly updates in returns; "
        "removing it would orphan that history. Put its row back.",
        "Partners: The partner FS is missing from the sheet but has 1 returns submitted; "
        "removing it would orphan that history. Put its row back.",
    ]
    assert dump(framework_engine) == before


@pytest.mark.parametrize(
    "content",
    [b"", b"not a spreadsheet at all", b"PK\x03\x04 broken zip", b"Ref,Name\n1,2\n"],
)
def test_a_file_that_is_not_a_workbook_is_a_problem_not_a_traceback(unchanging, content):
    framework_engine, _ = unchanging
    before = dump(framework_engine)
    result = run_import(framework_engine, content)
    assert [p.code for p in result.problems] == ["not-a-workbook"]
    assert "could not be read as an Excel workbook" in str(result.problems[0])
    assert dump(framework_engine) == before


def test_a_workbook_without_framework_sheets_lists_every_missing_sheet(unchanging):
    framework_engine, _ = unchanging
    buffer = BytesIO()
    Workbook().save(buffer)
    result = run_import(framework_engine, buffer.getvalue())
    assert [p.code for p in result.problems] == ["missing-sheet"] * len(SHEETS)


def test_cli_export_then_import_unchanged(cli_engine, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "framework.xlsx"
    exported = runner.invoke(cli, ["framework", "export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert out.exists() and "framework.xlsx" in exported.output
    imported = runner.invoke(cli, ["framework", "import", str(out), "--user", "admin"])
    assert imported.exit_code == 0, imported.output
    assert imported.output.strip() == "No changes: the workbook matches the framework in the database."
    with read_session(cli_engine) as session:
        event = session.scalar(select(AuditEvent))
        assert (event.actor, event.action, event.target, event.outcome) == (
            "admin",
            "framework.import",
            "framework.xlsx",
            "ok",
        )


def test_cli_import_of_a_bad_workbook_prints_every_problem_and_exits_1(cli_engine, tmp_path: Path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(edited(export_bytes(cli_engine), DEFECTS["unknown partner"][0]))
    result = CliRunner().invoke(cli, ["framework", "import", str(path), "--user", "admin"])
    assert result.exit_code == 1
    assert "Actions!F2: 'Family Servces' is not a partner; did you mean Family Services?" in result.output
    assert "Traceback" not in result.output
    with read_session(cli_engine) as session:
        assert session.scalar(select(AuditEvent.outcome)) == "rejected"
    text_file = tmp_path / "notes.xlsx"
    text_file.write_text("hello")
    result = CliRunner().invoke(cli, ["framework", "import", str(text_file)])
    assert result.exit_code == 1 and "could not be read as an Excel workbook" in result.output


def test_cli_help_has_examples():
    for command in ("export", "import"):
        result = CliRunner().invoke(cli, ["framework", command, "--help"])
        assert result.exit_code == 0 and f"python -m cyp framework {command}" in result.output
