"""One checker for both sources: every rule refuses the same record written as framework files and as a workbook.

Each case below builds one small framework, breaks it in one way, writes it twice (YAML and CSV files on
disk, and an .xlsx workbook written with openpyxl), reads each back with its own reader and checks both
with the one checker. Both must be refused, with the same code. Meta-tests keep the cases complete (every
rule and every code the checker can give has a case) and the code registry complete.
"""

from __future__ import annotations

import ast
import copy
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from cyp.framework import checks
from cyp.framework.checks import RULES, check_framework
from cyp.framework.files import read_framework
from cyp.framework.layout import SHEETS
from cyp.framework.reading import read_workbook
from cyp.problems import Code, Problem
from cyp.storage.config import PROJECT_ROOT

Tree = dict[str, Any]


def base() -> Tree:
    """A small valid framework, in the shape of the framework files (plans nest their records)."""
    return {
        "plans": [
            {
                "ref": "2019-23",
                "title": "Test plan one",
                "first_year": 2019,
                "last_year": 2022,
                "current": False,
                "drivers": [],
                "outcomes": [
                    {
                        "ref": "19-SS",
                        "name": "Safe and secure",
                        "objectives": [
                            {
                                "ref": "19-SS-1",
                                "text": "Keep children safe",
                                "actions": [
                                    {
                                        "ref": "19-SS-1.1",
                                        "text": "Run the front door",
                                        "responsible": ["Family Services"],
                                        "monitoring": ["Safeguarding Board"],
                                    }
                                ],
                            }
                        ],
                        "indicators": [
                            {"ref": "19-SS-I1", "name": "Children on a plan", "unit": "count", "polarity": "lower"}
                        ],
                    }
                ],
            },
            {
                "ref": "2023-27",
                "title": "Test plan two",
                "first_year": 2023,
                "last_year": 2026,
                "current": True,
                "drivers": [{"ref": "D-INC", "name": "Inclusion"}],
                "outcomes": [
                    {"ref": "23-FB", "name": "Family", "objectives": [{"ref": "23-FB-1", "text": "Families thrive"}]}
                ],
            },
        ],
        "partners": [
            {"ref": "family-services", "name": "Family Services", "variants": ["FS team"]},
            {"ref": "public-health", "name": "Public Health", "variants": []},
        ],
        "bodies": [{"ref": "safeguarding-board", "name": "Safeguarding Board", "variants": []}],
        "domains": [{"ref": "FFI-1", "name": "Children are safe", "short_name": "Safe"}],
        "mappings": [
            ["objective", "19-SS-1", "FFI-1", "About safety"],
            ["indicator", "19-SS-I1", "FFI-1", "Protection plans"],
        ],
    }


def write_files(tree: Tree, folder: Path) -> Path:
    """The framework files: one YAML file per plan, the lists, the mapping CSV."""
    folder.mkdir()
    for number, plan in enumerate(tree["plans"]):
        (folder / f"plan-{number}.yaml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    for key, name in (("partners", "partners"), ("bodies", "monitoring-bodies"), ("domains", "index-domains")):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(tree[key], sort_keys=False), encoding="utf-8")
    with (folder / "index-mapping.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["kind", "ref", "domain", "reason"], *tree["mappings"]])
    return folder


# The key in the files for each model field the workbook's columns fill (the rest are the field's name).
FILE_KEYS = {"document": "source"}


def _cell(record: Tree, field: str) -> Any:
    value = record.get(FILE_KEYS.get(field, field))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(value)
    return value


def write_workbook(tree: Tree) -> bytes:
    """The same framework as the administrator's workbook, one row per record, parents named by ref."""
    rows: dict[str, list[tuple[Tree, dict[str, str]]]] = {spec.name: [] for spec in SHEETS}
    for plan in tree["plans"]:
        rows["Plans"].append((plan, {}))
        rows["Drivers"] += [(driver, {"plan": plan["ref"]}) for driver in plan.get("drivers", [])]
        for outcome in plan.get("outcomes", []):
            rows["Outcomes"].append((outcome, {"plan": plan["ref"]}))
            rows["Indicators"] += [(i, {"outcome": outcome["ref"]}) for i in outcome.get("indicators", [])]
            for objective in outcome.get("objectives", []):
                rows["Objectives"].append((objective, {"outcome": outcome["ref"]}))
                rows["Actions"] += [(a, {"objective": objective["ref"]}) for a in objective.get("actions", [])]
    rows["Partners"] = [(p, {}) for p in tree["partners"]]
    rows["Monitoring bodies"] = [(b, {}) for b in tree["bodies"]]
    rows["Index domains"] = [(d, {}) for d in tree["domains"]]
    rows["Index mapping"] = [
        (dict(zip(("kind", "ref", "domain", "reason"), m, strict=True)), {}) for m in tree["mappings"]
    ]
    workbook = Workbook()
    workbook.remove(workbook.active)
    for spec in SHEETS:
        sheet = workbook.create_sheet(spec.name)
        sheet.append([column.header for column in spec.columns])
        for record, parents in rows[spec.name]:
            sheet.append([parents.get(c.field, _cell(record, c.field)) for c in spec.columns])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def action(tree: Tree) -> Tree:
    return tree["plans"][0]["outcomes"][0]["objectives"][0]["actions"][0]


def indicator(tree: Tree) -> Tree:
    return tree["plans"][0]["outcomes"][0]["indicators"][0]


def setting(find: Callable[[Tree], Tree], key: str, value: Any) -> Callable[[Tree], None]:
    def edit(tree: Tree) -> None:
        find(tree)[key] = value

    return edit


def adding(key: str, record: Any) -> Callable[[Tree], None]:
    def edit(tree: Tree) -> None:
        tree[key].append(record)

    return edit


def second_action(tree: Tree) -> None:
    tree["plans"][0]["outcomes"][0]["objectives"][0]["actions"].append(dict(action(tree), text="Another line"))


def mapping(column: int, value: Any) -> Callable[[Tree], None]:
    def edit(tree: Tree) -> None:
        tree["mappings"][0][column] = value

    return edit


def plan(number: int) -> Callable[[Tree], Tree]:
    return lambda tree: tree["plans"][number]


def partner(number: int) -> Callable[[Tree], Tree]:
    return lambda tree: tree["partners"][number]


@dataclass(frozen=True)
class Case:
    rule: checks.Rule
    code: Code
    edit: Callable[[Tree], None]


CASES = {
    "blank ref": Case(checks.check_refs, Code.BLANK_REF, setting(action, "ref", None)),
    "malformed ref": Case(checks.check_refs, Code.BAD_REF, setting(action, "ref", "not a ref!")),
    "ref too long for the database": Case(checks.check_refs, Code.LONG_REF, setting(partner(1), "ref", "p" * 81)),
    "duplicate ref": Case(checks.check_refs, Code.DUPLICATE_REF, second_action),
    "blank required field": Case(checks.check_required, Code.BLANK, setting(indicator, "unit", None)),
    "years run backwards": Case(checks.check_plans, Code.BAD_YEARS, setting(plan(0), "last_year", 2018)),
    "two current plans": Case(checks.check_plans, Code.SEVERAL_CURRENT, setting(plan(0), "current", True)),
    "plan without outcomes": Case(
        checks.check_plans,
        Code.NO_OUTCOMES,
        adding("plans", {"ref": "2027-31", "title": "Next", "first_year": 2027, "last_year": 2030, "outcomes": []}),
    ),
    "bad polarity": Case(checks.check_indicators, Code.BAD_POLARITY, setting(indicator, "polarity", "down")),
    "duplicate partner name": Case(
        checks.check_names, Code.DUPLICATE_NAME, adding("partners", {"ref": "fs2", "name": "family services"})
    ),
    "a variant of two partners": Case(
        checks.check_names, Code.AMBIGUOUS_NAME, setting(partner(1), "variants", ["FS team"])
    ),
    "line nobody is responsible for": Case(checks.check_lines, Code.NO_PARTNER, setting(action, "responsible", [])),
    "unknown partner": Case(checks.check_lines, Code.UNKNOWN_PARTNER, setting(action, "responsible", ["Nobody"])),
    "indicator reported by an unknown team": Case(
        checks.check_lines, Code.UNKNOWN_PARTNER, setting(indicator, "reporting", "Nobody")
    ),
    "unknown body": Case(checks.check_lines, Code.UNKNOWN_BODY, setting(action, "monitoring", ["No Board"])),
    "driver of another plan": Case(checks.check_lines, Code.UNKNOWN_DRIVER, setting(action, "drivers", ["Inclusion"])),
    "mapping of an unknown kind": Case(checks.check_mappings, Code.BAD_KIND, mapping(0, "action")),
    "mapping without a ref": Case(checks.check_mappings, Code.BLANK_REF, mapping(1, "")),
    "mapping of an unknown objective": Case(checks.check_mappings, Code.UNKNOWN_REF, mapping(1, "19-XX-9")),
    "mapping without a domain": Case(checks.check_mappings, Code.BLANK, mapping(2, "")),
    "mapping to an unknown domain": Case(checks.check_mappings, Code.UNKNOWN_DOMAIN, mapping(2, "FFI-99")),
    "mapping without a reason": Case(checks.check_mappings, Code.NO_REASON, mapping(3, "")),
    "mapping listed twice": Case(
        checks.check_mappings, Code.DUPLICATE_MAPPING, adding("mappings", ["objective", "19-SS-1", "FFI-1", "Again"])
    ),
}


def both(tree: Tree, folder: Path) -> tuple[list[Problem], list[Problem]]:
    """The checker's problems for ``tree`` read from files, and read from a workbook."""
    from_files = check_framework(read_framework(write_files(tree, folder)))
    framework, reading = read_workbook(BytesIO(write_workbook(tree)))
    assert framework is not None and reading == []
    return from_files, check_framework(framework)


def test_the_base_framework_passes_from_either_source(tmp_path: Path) -> None:
    assert both(base(), tmp_path / "framework") == ([], [])


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_refuses_the_same_record_from_either_source(case: str, tmp_path: Path) -> None:
    tree = copy.deepcopy(base())
    CASES[case].edit(tree)
    from_files, from_workbook = both(tree, tmp_path / "framework")
    assert {p.code for p in from_files} == {p.code for p in from_workbook} == {CASES[case].code}
    # located where the person fixes it: a line of a framework file, a cell of a sheet
    assert all(p.file and p.line for p in from_files), from_files
    assert all(p.sheet and p.cell for p in from_workbook), from_workbook


def test_every_rule_and_every_code_of_the_checker_has_a_case() -> None:
    assert {case.rule for case in CASES.values()} == set(RULES)
    source = Path(checks.__file__).read_text(encoding="utf-8")
    used = {Code[name] for name in re.findall(r"\bCode\.([A-Z_]+)\b", source)}
    assert used == {case.code for case in CASES.values()}


def test_the_action_ref_the_workbook_used_to_accept_is_refused_by_both(tmp_path: Path) -> None:
    tree = copy.deepcopy(base())
    action(tree)["ref"] = "not a ref!"
    from_files, from_workbook = both(tree, tmp_path / "framework")
    assert [str(p) for p in from_workbook] == [
        "Actions!A2: Ref 'not a ref!' is not a ref; use letters and digits joined by -, . or _ (e.g. 19-SS-1.2)."
    ]
    assert [p.location for p in from_files] == ["plan-0.yaml:14"]  # the line of its ref: key


# Every module that makes problems: the framework's and a return's share the one registry.
FRAMEWORK_CODE = sorted(
    [*(PROJECT_ROOT / "cyp" / "framework").glob("*.py"), *(PROJECT_ROOT / "cyp" / "returns").glob("*.py")]
)


def _is_code(argument: ast.expr) -> bool:
    """``Code.X``, or a parameter passing one through (``code``)."""
    if isinstance(argument, ast.Attribute):
        return isinstance(argument.value, ast.Name) and argument.value.id == "Code"
    return isinstance(argument, ast.Name) and argument.id == "code"


@pytest.mark.parametrize("path", FRAMEWORK_CODE, ids=lambda path: path.name)
def test_every_problem_takes_its_code_from_the_registry(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        name = getattr(getattr(node, "func", None), "id", None) or getattr(getattr(node, "func", None), "attr", "")
        if isinstance(node, ast.Call) and name in ("Problem", "problem", "_problem"):
            # Problem(code, ...), Source.problem(code, ...), Row.problem(header, code, ...), _problem(code, ...)
            candidates = node.args[:2] + [k.value for k in node.keywords if k.arg == "code"]
            assert any(_is_code(c) for c in candidates), f"{path.name}:{node.lineno} gives a code not from Code"


def test_the_registry_has_each_code_once_hyphenated_and_all_in_use() -> None:
    values = [code.value for code in Code]
    assert len(values) == len(set(values)) == len(Code.__members__)
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", value) for value in values)
    used = set()
    for path in FRAMEWORK_CODE:
        used |= set(re.findall(r"\bCode\.([A-Z_]+)\b", path.read_text(encoding="utf-8")))
    assert used == set(Code.__members__)
