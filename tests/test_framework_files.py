"""The shipped framework files pin the transcription of both plans; the reader and checker catch broken files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cyp.framework import Framework, FrameworkFileError, check_framework, read_framework
from cyp.framework.model import Plan
from cyp.storage.config import PROJECT_ROOT

FRAMEWORK_DIR = PROJECT_ROOT / "data" / "framework"


@pytest.fixture(scope="module")
def data() -> Framework:
    return read_framework(FRAMEWORK_DIR)


def plan(data: Framework, ref: str) -> Plan:
    return next(p for p in data.plans if p.ref == ref)


def by_ref(data: Framework) -> dict[str, object]:
    return data.by_ref


def test_shipped_framework_has_no_problems(data: Framework) -> None:
    assert [str(p) for p in check_framework(data)] == []


def test_plans_and_their_periods(data: Framework) -> None:
    assert [(p.ref, p.first_year, p.last_year, p.current) for p in data.plans] == [
        ("2019-23", 2019, 2022, False),
        ("2023-27", 2023, 2026, True),
    ]
    assert plan(data, "2019-23").title == "Children and Young People's Plan 2019–2023"
    assert plan(data, "2023-27").title == "Children and Young People's Plan 2023–2027"


# (outcome ref, name, group, objectives, actions, indicators)
OUTCOMES_2019 = [
    ("19-FB", "Family & Belonging", "Core outcome", 2, 11, 0),
    ("19-SS", "Safe & Secure", "Core outcome", 5, 18, 9),
    ("19-EL", "Education & Learning", "Core outcome", 5, 20, 9),
    ("19-CU", "Culture", "Foundational outcome", 2, 6, 0),
    ("19-CL", "Cooperation & Leadership", "Foundational outcome", 2, 6, 2),
    ("19-CO", "Communication", "Foundational outcome", 3, 6, 0),
    ("19-HW", "Health & Wellbeing", "Additional outcome", 3, 11, 7),
]
OUTCOMES_2023 = [
    ("23-FB", "Family and belonging", None, 6, 0, 0),
    ("23-SS", "Safe and Secure", None, 4, 0, 0),
    ("23-HW", "Health and Wellbeing", None, 4, 0, 0),
    ("23-ES", "Education and Skills", None, 5, 0, 0),
]


@pytest.mark.parametrize(("plan_ref", "expected"), [("2019-23", OUTCOMES_2019), ("2023-27", OUTCOMES_2023)])
def test_counts_per_outcome(data: Framework, plan_ref: str, expected: list[tuple]) -> None:
    found = [
        (
            o.ref,
            o.name,
            o.group,
            len(data.objectives_of(o.ref)),
            sum(len(data.actions_of(j.ref)) for j in data.objectives_of(o.ref)),
            len(data.indicators_of(o.ref)),
        )
        for o in data.outcomes_of(plan_ref)
    ]
    assert found == expected


def test_action_counts_per_objective_2019(data: Framework) -> None:
    counts = {
        j.ref: len(data.actions_of(j.ref)) for o in data.outcomes_of("2019-23") for j in data.objectives_of(o.ref)
    }
    assert counts == {
        "19-FB-1": 4, "19-FB-2": 7,
        "19-SS-1": 5, "19-SS-2": 4, "19-SS-3": 5, "19-SS-4": 4, "19-SS-5": 0,
        "19-EL-1": 6, "19-EL-2": 2, "19-EL-3": 6, "19-EL-4": 3, "19-EL-5": 3,
        "19-CU-1": 4, "19-CU-2": 2,
        "19-CL-1": 3, "19-CL-2": 3,
        "19-CO-1": 2, "19-CO-2": 3, "19-CO-3": 1,
        "19-HW-1": 3, "19-HW-2": 2, "19-HW-3": 6,
    }  # fmt: skip


def test_81_source_rows_less_3_merged_repeats(data: Framework) -> None:
    actions = [
        a for o in data.outcomes_of("2019-23") for j in data.objectives_of(o.ref) for a in data.actions_of(j.ref)
    ]
    assert len(actions) == 78
    merged = [a.ref for a in actions if any(q.startswith("Repeated row") for q in a.quirks)]
    assert merged == ["19-SS-1.3", "19-SS-2.1", "19-SS-2.2"]
    assert len({a.text for a in actions}) == len(actions)


def test_2023_drivers_and_domains(data: Framework) -> None:
    assert [(d.ref, d.name) for d in data.drivers_of("2023-27")] == [
        ("D-PART", "Participation & co-production"),
        ("D-INCL", "Inclusion"),
        ("D-GAP", "Tackling the gap and fighting inequalities"),
        ("D-FUN", "Children and young people having fun"),
    ]
    assert [d.ref for d in data.domains] == [f"FFI-{n}" for n in range(1, 10)]
    assert data.domains[0].name == "There is a strong social care service that builds resilience"
    assert data.domains[8].name == "Families are able to access the benefits and financial assistance that they need"
    assert all(2 <= len(d.short_name.split()) <= 4 for d in data.domains)


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        ("19-FB-2", "Improve social, emotional and physical health and well being"),
        ("19-SS-1", "Ensure the most vulnerable are protected"),
        ("19-SS-5", "Enable environments to allow CYP to express their concerns"),
        ("19-HW-2", "Support children and young people to adopt health lifestyles to prevent avoidable illness and "
         "improve their social, physical and mental wellbeing"),
        ("19-EL-3", "Improve outcomes for CYP with special educational needs and disability"),
        ("19-CU-1", "Encourage and highlight the contribution of children and young people in everything we do"),
        ("19-CO-3", "Ensure children and families know about and can influence decisions that affect them"),
        ("23-FB-3", "Provide support to young carers in carrying out their roles"),
        ("23-HW-2", "Promote good mental and emotional health across all ages and different communities and work "
         "together to prevent severe mental illness, substance misuse and suicide"),
        ("23-ES-5", "Ensure that every school and setting is good or outstanding"),
    ],
)  # fmt: skip
def test_objective_wording(data: Framework, ref: str, text: str) -> None:
    assert by_ref(data)[ref].text == text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ref", "text", "responsible", "monitoring"),
    [
        ("19-SS-1.1", "Raise standards and effectiveness through implementation of Ofsted Improvement Plan",
         ["Family Services"],
         ["Family Services Improvement Board", "Children, Education and Safeguarding Committee", "Ofsted reports"]),
        ("19-FB-2.3", "Ensure children, young people and their families can access green and open spaces to enjoy - "
         "parks, gardens & landscapes",
         ["Green Spaces", "Family Services", "The Partnership"], ["Green Spaces Master Plans"]),
        ("19-HW-3.2", "Improve local support for young people in crisis including establishing a Barnet Assertive "
         "Outreach provision, Out of Hours service and exploring local management of specialist inpatient beds",
         ["Barnet CCG", "Barnet, Enfield, Haringey Mental Health NHS Trust", "Royal Free London NHS Foundation Trust"],
         ["CAMHS Transformation Plan", "North Central London STP CAMHS Board"]),
        ("19-EL-3.1", "Champion the educational progress and attainment of pupils with SEND",
         ["Parents", "Schools", "Cambridge Education"],
         ["SEND Partnership Board", "Schools Standards Partnership Board"]),
        ("19-CU-2.1", "Ensure Children’s Rights is an objective across the Council through improved communications "
         "and training for Elected Members",
         ["Barnet Council", "Family Services", "CFC Programme"], ["CFC Action Plan"]),
        ("19-CL-1.3", "Ensure LB Barnet policies and procedures are in line with child’s rights based approach and "
         "include references to child’s rights",
         ["Barnet Council"], ["Voice of the Child Strategic Plan"]),
        ("19-CO-3.1", "Appoint a team of young people to be social media / content champions, and develop social media "
         "policies and procedures to enable effective engagement with children and young people",
         ["Family Services", "Communications"], ["Communications Strategic Plan"]),
    ],
)  # fmt: skip
def test_action_wording_and_split_names(
    data: Framework, ref: str, text: str, responsible: list[str], monitoring: list[str]
) -> None:
    action = by_ref(data)[ref]
    assert (action.text, list(action.responsible), list(action.monitoring)) == (text, responsible, monitoring)  # type: ignore[attr-defined]


def test_every_action_has_canonical_partners_and_bodies(data: Framework) -> None:
    partners = {p.name for p in data.partners}
    bodies = {b.name for b in data.bodies}
    actions = list(data.actions)
    assert all(a.responsible and a.monitoring for a in actions)
    assert {n for a in actions for n in a.responsible} == partners
    assert {n for a in actions for n in a.monitoring} == bodies


def test_variants_found_in_the_source_are_recorded(data: Framework) -> None:
    partners = {p.name: set(p.variants) for p in data.partners}
    assert partners["Barnet CCG"] == {"Barnet Clinical Commissioning Group", "CCG"}
    assert partners["Voluntary Community Sector"] == {"VCS"}
    assert "Barnet council" in partners["Barnet Council"]


def test_indicators_baselines(data: Framework) -> None:
    found = by_ref(data)
    cp = found["19-SS-I1"]
    assert (cp.name, cp.unit, cp.baseline, cp.baseline_text, cp.period) == (  # type: ignore[attr-defined]
        "Children subject to a child protection plan", "count", 155, "155", "March 2018",
    )  # fmt: skip
    obesity = found["19-HW-I6"]
    assert (obesity.unit, obesity.polarity, obesity.baseline) == ("percent", "lower", 19)  # type: ignore[attr-defined]
    good_schools = found["19-EL-I5"]
    assert (good_schools.polarity, good_schools.baseline) == ("higher", 94)  # type: ignore[attr-defined]
    progress = found["19-EL-I3"]
    assert (progress.unit, progress.polarity, progress.baseline, progress.baseline_text) == ("rank", "lower", 2, "2nd")  # type: ignore[attr-defined]
    assert found["19-SS-I4"].polarity is None  # type: ignore[attr-defined]
    indicators = list(data.indicators)
    assert all(x.polarity in ("higher", "lower", None) and x.baseline is not None for x in indicators)


def test_lost_figures_and_copied_heading_are_recorded_as_quirks(data: Framework) -> None:
    found = by_ref(data)
    for ref in ("19-FB", "19-CU", "19-CO"):
        assert any("images" in q for q in found[ref].quirks), ref  # type: ignore[attr-defined]
    assert any("copied from Safe & Secure" in q for q in found["19-CU-1"].quirks)  # type: ignore[attr-defined]
    assert any("Improve participation in" in q for q in found["19-EL-3"].quirks)  # type: ignore[attr-defined]


def test_refs_are_unique_well_formed_and_nested(data: Framework) -> None:
    refs = []
    for p in data.plans:
        prefix = p.ref[2:4]
        for o in data.outcomes_of(p.ref):
            assert re.fullmatch(rf"{prefix}-[A-Z]{{2}}", o.ref)
            refs.append(o.ref)
            for n, j in enumerate(data.objectives_of(o.ref), 1):
                assert j.ref == f"{o.ref}-{n}"
                refs.append(j.ref)
                for m, a in enumerate(data.actions_of(j.ref), 1):
                    assert a.ref == f"{j.ref}.{m}"
                    refs.append(a.ref)
            for n, x in enumerate(data.indicators_of(o.ref), 1):
                assert x.ref == f"{o.ref}-I{n}"
                refs.append(x.ref)
    assert len(refs) == len(set(refs)) == 11 + 41 + 78 + 27


def test_the_other_refs_follow_the_house_style(data: Framework) -> None:
    # The checker accepts any well-formed ref (the workbook holds others); the shipped files keep this style.
    assert all(re.fullmatch(r"\d{4}-\d{2}", p.ref) for p in data.plans)
    assert all(re.fullmatch(r"D-[A-Z]{2,8}", d.ref) for d in data.drivers)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", e.ref) for e in (*data.partners, *data.bodies))


def test_every_mapping_points_at_something_and_every_objective_is_mapped(data: Framework) -> None:
    objectives = {j.ref for j in data.objectives}
    indicators = {x.ref for x in data.indicators}
    domains = {d.ref for d in data.domains}
    for m in data.mappings:
        assert m.ref in (objectives if m.kind == "objective" else indicators), m
        assert m.domain in domains and m.reason, m
    assert {m.ref for m in data.mappings if m.kind == "objective"} == objectives
    assert {m.ref for m in data.mappings if m.kind == "indicator"} == indicators


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "framework"
    shutil.copytree(FRAMEWORK_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_bad_yaml_names_file_and_line(copy: Path) -> None:
    edit(copy / "index-domains.yaml", "- ref: FFI-2", "- ref: [FFI-2")
    with pytest.raises(FrameworkFileError) as caught:
        read_framework(copy)
    assert caught.value.path == copy / "index-domains.yaml"
    assert "line" in (caught.value.location or "")
    assert str(caught.value).startswith("index-domains.yaml: line")


def test_mistyped_field_names_its_place(copy: Path) -> None:
    edit(copy / "plan-2019-2023.yaml", "first_year: 2019", "first_year: twenty")
    with pytest.raises(FrameworkFileError, match=r"plan-2019-2023.yaml: plan.first_year: must be a whole number"):
        read_framework(copy)


def test_unknown_key_is_refused_with_its_ref(copy: Path) -> None:
    edit(copy / "plan-2019-2023.yaml", "      responsible:\n      - Family Services", "      responsibe:\n      - x")
    with pytest.raises(
        FrameworkFileError, match=r"outcomes\[0\] \(19-FB\)\.objectives\[0\] .*\(19-FB-1.1\): unknown key"
    ):
        read_framework(copy)


def test_mapping_header_and_columns_are_checked(copy: Path) -> None:
    edit(copy / "index-mapping.csv", "kind,ref,domain,reason", "kind,ref,domain")
    with pytest.raises(FrameworkFileError, match="first line must be kind,ref,domain,reason"):
        read_framework(copy)


def test_missing_file_is_named(copy: Path) -> None:
    (copy / "partners.yaml").unlink()
    with pytest.raises(FrameworkFileError, match="partners.yaml: file not found"):
        read_framework(copy)


def test_check_reports_every_problem_at_once(copy: Path) -> None:
    plan_file = copy / "plan-2019-2023.yaml"
    edit(
        plan_file, "      - Young Barnet Foundation\n      - Inclusion Barnet", "      - YBF & partners\n      - Nobody"
    )
    edit(plan_file, "      responsible:\n      - Barnet CCG\n", "      responsible: []\n")
    edit(plan_file, "- ref: 19-SS-2\n", "- ref: 19-SS-1\n")
    edit(plan_file, "polarity: lower", "polarity: down")
    with (copy / "index-mapping.csv").open("a", encoding="utf-8") as handle:
        handle.write("objective,19-XX-9,FFI-1,nothing\nindicator,19-SS-I1,FFI-99,\n")
    problems = [str(p) for p in check_framework(read_framework(copy))]
    # File by file, line by line: file and line of the record (of the key, where the problem is in one).
    assert problems == [
        "index-mapping.csv:7: '19-SS-2' is not an objective; did you mean 19-SS-5?",
        "index-mapping.csv:8: '19-SS-2' is not an objective; did you mean 19-SS-5?",
        "index-mapping.csv:9: '19-SS-2' is not an objective; did you mean 19-SS-5?",
        "index-mapping.csv:85: '19-XX-9' is not an objective; add it to a plan file first.",
        "index-mapping.csv:86: 'FFI-99' is not an index domain; did you mean FFI-9?",
        "index-mapping.csv:86: Give a short reason for the mapping.",
        "plan-2019-2023.yaml:46: 'YBF & partners' is not a partner; write it as Young Barnet Foundation.",
        "plan-2019-2023.yaml:46: 'Nobody' is not a partner; add it to partners.yaml first.",
        "plan-2019-2023.yaml:66: Responsible is blank and so is reporting; name at least one responsible partner.",
        "plan-2019-2023.yaml:203: Ref '19-SS-1' is already used on line 151.",
        "plan-2019-2023.yaml:677: Polarity must be one of higher, lower, not 'down'.",
    ]
