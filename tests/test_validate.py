"""Validation of read returns against a small test framework: the exact problems for each defect."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import Engine

from cyp.returns.reader import Cell, read_return
from cyp.returns.validate import check_return, parse_number, validate_return
from cyp.storage.db import read_session, write_session
from tests.returns_factory import RETURN_HEADERS, build_framework, build_return, clean_lines, with_line

pytestmark = pytest.mark.both_databases


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
    return engine


def problems_of(engine: Engine, data: bytes) -> list[str]:
    with read_session(engine) as session:
        return [str(p) for p in validate_return(session, read_return(io.BytesIO(data)))]


FORGIVEN: dict[str, dict[str, Any]] = {
    "clean": {},
    "team as a variant": {"team": "barnet family services"},
    "team as its ref": {"team": "FAMILY-SERVICES"},
    "quarter as Q3 25/26": {"quarter": "Q3 25/26"},
    "statuses G, green with spaces, Complete": {
        "lines": [
            clean_lines()[0] | {"RAG status": "G"},
            clean_lines()[1] | {"RAG status": " green "},
        ]
    },
    "Complete counts as Blue": {"lines": with_line(1, RAG_status="Complete")},
    "ref in other case and spacing": {"lines": with_line(0, Ref=" t23-1.1 ")},
    "header moved to row 9 with extra columns": {
        "headers": ["Notes", *RETURN_HEADERS, "Owner"],
        "header_row": 9,
        "merge_title": True,
    },
    "blank trailing rows": {"trailing_blank_rows": 4, "blank_rows_between": 1},
    "indicator value as text": {"indicators": [{"Ref": "T23-I1", "Value": " 1,234 ", "Target": "12%"}]},
    "indicator left blank": {"indicators": [{"Ref": "T23-I1"}]},
    "no indicators sheet": {"indicator_sheet": None},
    "team and quarter only in About": {
        "team": None,
        "quarter": None,
        "about": {"Team ref": "family-services", "Quarter": "2025-26 Q3", "Plan": "T2023"},
    },
}


@pytest.mark.parametrize("overrides", FORGIVEN.values(), ids=FORGIVEN.keys())
def test_forgiven_variations_have_no_problems(framework: Engine, overrides: dict[str, Any]) -> None:
    assert problems_of(framework, build_return(**overrides)) == []


DEFECTS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "misspelt status": (
        {"lines": with_line(1, RAG_status="Ambr")},
        ["Return!E8: 'Ambr' is not a RAG status; did you mean Amber?"],
    ),
    "nonsense status": (
        {"lines": with_line(0, RAG_status="xyzzy")},
        ["Return!E7: 'xyzzy' is not a RAG status; choose Blue, Green, Amber or Red"],
    ),
    "missing status": (
        {"lines": with_line(0, RAG_status=None)},
        ["Return!E7: no RAG status for T23-1.1; choose Blue, Green, Amber or Red"],
    ),
    "unknown ref": (
        {"lines": with_line(0, Ref="T23-9.9")},
        [
            "Return: line T23-1.1 (Support families early) is not in the workbook; it will show as 'No return' "
            "this quarter",
            "Return!A7: 'T23-9.9' is not a line of Test plan 2023–2027; check the ref against your template",
        ],
    ),
    "duplicate ref": (
        {"lines": [*clean_lines(), clean_lines()[0]]},
        ["Return!A9: T23-1.1 appears more than once (first in row 7); keep one row per line"],
    ),
    "another team's line": (
        {"lines": [*clean_lines(), {"Ref": "T23-2.1", "RAG status": "Green"}]},
        [
            "Return!A9: T23-2.1 is reported by Public Health, not by Family Services; delete the row, or ask the "
            "plan administrator to reassign the line"
        ],
    ),
    "line of the other plan": (
        {"lines": [*clean_lines(), {"Ref": "T19-1.1", "RAG status": "Green"}]},
        [
            "Return!A9: T19-1.1 is a line of Test plan 2019–2023, but 2025-26 Q3 is reported against Test plan "
            "2023–2027; use the template for this quarter"
        ],
    ),
    "row without a ref": (
        {"lines": [*clean_lines(), {"RAG status": "Green"}]},
        ["Return!A9: row 9 has no Ref; copy the line's ref from the template, or delete the row"],
    ),
    "unknown team": (
        {"team": "Famly Services"},
        ["Return!B2: 'Famly Services' is not a known team; did you mean Family Services?"],
    ),
    "no team": (
        {"team": None},
        [
            "Return: the workbook does not say which team it is for; write the team's name in the cell to the right "
            "of 'Team' above the table"
        ],
    ),
    "no quarter": (
        {"quarter": None},
        [
            "Return: the workbook does not say which quarter it is for; write it (e.g. 2025-26 Q3) in the cell to "
            "the right of 'Quarter' above the table"
        ],
    ),
    "future quarter": (
        {"quarter": "2026-27 Q4"},
        ["Return!B3: 2026-27 Q4 has not started yet (today is 23 November 2026); check the quarter"],
    ),
    "quarter before every plan": (
        {"quarter": "2017-18 Q1"},
        [
            "Return!B3: 2017-18 Q1 is outside the period of every plan (Test plan 2019–2023: 2019-20 Q1 to "
            "2022-23 Q4; Test plan 2023–2027: 2023-24 Q1 to 2026-27 Q4)"
        ],
    ),
    "quarter outside the template's plan": (
        {"about": {"Plan": "T2019"}},
        [
            "Return!B3: 2025-26 Q3 is outside the period of Test plan 2019–2023 (2019-20 Q1 to 2022-23 Q4), the "
            "plan this template was made for; download the template for 2025-26 Q3"
        ],
    ),
    "non-numeric indicator value": (
        {"indicators": [{"Ref": "T23-I1", "Value": "about twelve"}]},
        ["Indicators!D2: 'about twelve' is not a number; write a number such as 12, 12% or 1,234"],
    ),
    "unknown indicator": (
        {"indicators": [{"Ref": "T23-I9", "Value": 3}]},
        ["Indicators!A2: 'T23-I9' is not an indicator of Test plan 2023–2027; check the ref against your template"],
    ),
    "another team's indicator": (
        {"indicators": [{"Ref": "T23-I2", "Value": 3}]},
        ["Indicators!A2: T23-I2 is reported by Public Health, not by Family Services; delete the row"],
    ),
    "empty table": (
        {"lines": []},
        [
            "Return: the table has no lines; Family Services reports 2 lines in 2025-26 Q3 — use the template "
            "downloaded for this quarter"
        ],
    ),
}


@pytest.mark.parametrize(("overrides", "expected"), DEFECTS.values(), ids=DEFECTS.keys())
def test_each_defect_gives_exactly_its_problems(framework: Engine, overrides: dict, expected: list[str]) -> None:
    assert problems_of(framework, build_return(**overrides)) == expected


def test_every_problem_is_reported_at_once(framework: Engine) -> None:
    lines = [
        clean_lines()[0] | {"RAG status": "Gren"},
        clean_lines()[1] | {"RAG status": "Red", "Progress update": None},
        {"Ref": "T23-2.1", "RAG status": "Green"},
    ]
    data = build_return(team="Family Services", lines=lines, indicators=[{"Ref": "T23-I1", "Value": "n/a"}])
    with read_session(framework) as session:
        problems = validate_return(session, read_return(io.BytesIO(data)))
    assert [(p.code, p.severity, p.location) for p in problems] == [
        ("bad-status", "error", "Return!E7"),
        ("no-progress-update", "query", "Return!F8"),
        ("not-team-line", "error", "Return!A9"),
        ("bad-number", "error", "Indicators!D2"),
    ]


QUERIES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "amber without an update": (
        {"lines": with_line(1, Progress_update=None)},
        ["Return!F8: T23-1.2 is Amber but has no progress update; say what is being done about it"],
    ),
    "a line missing from the workbook": (
        {"lines": clean_lines()[:1]},
        [
            "Return: line T23-1.2 (Open two family hubs) is not in the workbook; it will show as 'No return' this "
            "quarter"
        ],
    ),
}


@pytest.mark.parametrize(("overrides", "expected"), QUERIES.values(), ids=QUERIES.keys())
def test_queries_need_acknowledgement_but_do_not_block(framework: Engine, overrides: dict, expected: list[str]) -> None:
    data = build_return(**overrides)
    with read_session(framework) as session:
        problems = validate_return(session, read_return(io.BytesIO(data)))
    assert [str(p) for p in problems] == expected
    assert {p.severity for p in problems} == {"query"}


def test_a_postcode_in_commentary_is_a_query_located_by_cell(framework: Engine) -> None:
    data = build_return(lines=with_line(0, Next_steps="Visit the family at N3 1AB next week"))
    with read_session(framework) as session:
        problems = validate_return(session, read_return(io.BytesIO(data)))
    assert [(p.code, p.severity, p.location) for p in problems] == [("personal-data", "query", "Return!G7")]
    assert str(problems[0]) == (
        "Return!G7: looks like personal data (postcode 'N3 1••'); remove it, or acknowledge if it is not about a "
        "child or family (such as a service's address)"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Child's NHS no 943 4765919 referred", "NHS number '943 •••••••'"),
        ("NHS 9\u200b4\u200b3\u200b4\u200b7\u200b6\u200b5\u200b9\u200b1\u200b9", "NHS number '943•••••••'"),
        ("UPN B801200005001 moved school", "unique pupil number 'B80••••••••••'"),
        ("birthday 12/03/2015, doing well", "date of birth '12/0•/••••'"),
    ],
)
def test_identifiers_and_dates_of_birth_are_errors_with_a_masked_excerpt(
    framework: Engine, text: str, masked: str
) -> None:
    data = build_return(lines=with_line(1, Progress_update=text))
    with read_session(framework) as session:
        problems = validate_return(session, read_return(io.BytesIO(data)))
    assert [(p.code, p.severity, p.location) for p in problems] == [("personal-data", "error", "Return!F8")]
    assert f"({masked})" in problems[0].message
    assert "remove it and upload again" in problems[0].message


def test_check_resolves_team_quarter_plan_lines_and_values(framework: Engine) -> None:
    data = build_return(lines=with_line(1, RAG_status=" amber "))
    with read_session(framework) as session:
        checked = check_return(session, read_return(io.BytesIO(data)))
        assert checked.problems == []
        assert (checked.team.name, checked.quarter.label, checked.plan.ref) == (
            "Family Services",
            "2025-26 Q3",
            "T2023",
        )
        assert [(line.action.ref, line.status) for line in checked.lines] == [
            ("T23-1.1", "Green"),
            ("T23-1.2", "Amber"),
        ]
        assert [(v.indicator.ref, v.value, v.target) for v in checked.indicators] == [("T23-I1", 161.0, 150.0)]


@pytest.mark.parametrize(
    ("text", "raw", "expected"),
    [("12%", "12%", 12.0), ("1,234", "1,234", 1234.0), ("7", " 7 ", 7.0), ("7.5", 7.5, 7.5), (None, None, None)],
)
def test_parse_number_forgives_formatting(text: str | None, raw: object, expected: float | None) -> None:
    assert parse_number(Cell(text, "D2", raw)) == expected


@pytest.mark.parametrize("text", ["twelve", "12-15", "1.2.3", "%"])
def test_parse_number_rejects_words(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(Cell(text, "D2", text))


def test_annotated_copy_marks_each_bad_cell_and_lists_every_problem(framework: Engine) -> None:
    from openpyxl import load_workbook

    from cyp.returns.annotate import annotate_workbook

    data = build_return(
        team="Nobody", lines=with_line(1, RAG_status="Ambr"), indicators=[{"Ref": "T23-I1", "Value": "x"}]
    )
    with read_session(framework) as session:
        problems = validate_return(session, read_return(io.BytesIO(data)))
    workbook = load_workbook(io.BytesIO(annotate_workbook(data, problems)))
    assert workbook.sheetnames[0] == "Problems"
    listed = [tuple(c.value for c in row) for row in workbook["Problems"].iter_rows(min_row=2)]
    assert [row[0] for row in listed] == ["Return!B2", "Return!E8", "Indicators!D2"]
    assert workbook["Return"]["E8"].comment.text == "Error: 'Ambr' is not a RAG status; did you mean Amber?"
    assert workbook["Return"]["E8"].fill.fgColor.rgb.endswith("F4B6B6")
    assert workbook["Indicators"]["D2"].comment is not None
    assert workbook["Return"]["E7"].comment is None
