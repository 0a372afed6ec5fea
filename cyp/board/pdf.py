"""The board pack as a tagged PDF (PDF/UA-1): cover, contents, overview, a section per outcome with charts,
exceptions and submissions.

Python decides what the pack says, as a list of plain blocks (headings, paragraphs, lists, tables, figures);
Typst (the ``typst`` wheel, compiler included) lays them out with ``cyp/board/pack.typ`` and writes PDF/UA-1: a
structure tree with H1-H3, P, L/LI, Table/TH/TD and Figure with alt text, the language (en-GB), the displayed
title, bookmarks and reading order. The blocks travel as JSON in ``sys.inputs``, so nothing anyone typed is ever
read as Typst markup. Fonts are Debian's DejaVu and Liberation, given to Typst explicitly (nothing is fetched).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from cyp.board.data import (
    BoardData,
    BoardPackError,
    board_data,
    clean_text,
    counts_sentence,
    day_text,
    number_text,
    objective_chart_frame,
    outcome_chart_frame,
    team_text,
    when_text,
)
from cyp.board.figures import Figure, distribution_figure, indicator_figure
from cyp.board.fonts import advance_widths, drawable_points
from cyp.read.browse import INDEX_MAPPING_NOTE
from cyp.read.charts import STATUS_COLOURS, STATUS_TEXT_COLOURS, status_label
from cyp.status import ALL_STATUSES

TEMPLATE = Path(__file__).with_name("pack.typ")
TYPESETTER = Path(__file__).with_name("typeset.py")
# A 4,000-line council pack typesets in a few seconds; far beyond that something is wrong, and the page should say so.
TYPESET_TIMEOUT_S = 120.0
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core: has ✓ ● ▲ ✖, £, – and ’
FONT_DIRS = (FONT_DIR, Path("/usr/share/fonts/truetype/liberation"))
# A run of letters longer than this with no space (a pasted URL, a 20,000-character word) gets break points, so it
# wraps inside its cell instead of running off the page.
LONGEST_UNBROKEN = 30
# Table type and cell padding, as pack.typ sets them; a fitted column wider than this stays Typst's ``auto``.
TABLE_TEXT_PT = 8.5
CELL_INSET_PT = 4.0
MAX_FIXED_COLUMN_PT = 200.0
REPLACEMENT = "\ufffd"  # in DejaVu Sans: shown for any character no installed font can draw
# Characters that draw nothing and need no glyph: format controls (joiners, marks of direction), spaces, separators.
_INVISIBLE_CATEGORIES = {"Cf", "Zs", "Zl", "Zp"}


@lru_cache(maxsize=1)
def _drawable() -> frozenset[int]:
    """Code points some font given to Typst can draw (PDF/UA refuses text shown with a missing glyph)."""
    points = drawable_points(FONT_DIRS)
    if not points:
        raise BoardPackError("No fonts for the PDF: install Debian's fonts-dejavu-core (scripts/test.sh installs it).")
    return points


def printable(value: Any) -> str:
    """Text as the PDF can show it, whatever it holds: white space collapsed, control characters and lone
    surrogates dropped, characters no font can draw (emoji, scripts without a font here) shown as �, and break
    points (zero-width spaces) in very long unbroken runs. Combining marks and right-to-left text stay as typed."""
    return _printable_text(clean_text(value))


@lru_cache(maxsize=65536)
def _printable_text(text: str) -> str:
    # Most text is plain ASCII (and the same team names and statuses recur thousands of times at council scale).
    if text.isascii() and text.isprintable():
        return _breakable(text)
    drawable = _drawable()
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            continue
        if ord(char) in drawable or category in _INVISIBLE_CATEGORIES:
            out.append(char)
        elif not out or out[-1] != REPLACEMENT:
            out.append(REPLACEMENT)
    return _breakable("".join(out))


def _breakable(text: str) -> str:
    def split(match: re.Match[str]) -> str:
        run = match.group(0)
        return "\u200b".join(run[i : i + 20] for i in range(0, len(run), 20))

    return re.sub(rf"\S{{{LONGEST_UNBROKEN + 1},}}", split, text)


def _heading(text: str, level: int, outlined: bool = True) -> dict[str, Any]:
    return {"kind": "heading", "level": level, "text": printable(text), "outlined": outlined}


def _para(text: str, size: str = "normal", strong: bool = False, sticky: bool = False) -> dict[str, Any]:
    """A paragraph; ``sticky`` keeps it on the page of the block after it (a table's lead-in)."""
    return {"kind": "para", "text": printable(text), "size": size, "strong": strong, "sticky": sticky}


def _status_cell(status: Any, suffix: str = "") -> dict[str, str] | str:
    if not isinstance(status, str) or not status:
        return printable(suffix)
    return {"status": status, "text": printable(status_label(status) + suffix)}


@lru_cache(maxsize=2)
def _advances(bold: bool) -> dict[int, float]:
    """Advance width in em of every character of DejaVu Sans (or its bold)."""
    return advance_widths(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"))


@lru_cache(maxsize=65536)
def text_width_pt(text: str, bold: bool = False, size: float = TABLE_TEXT_PT) -> float:
    """How wide ``text`` sets in DejaVu Sans at ``size`` pt, from the font's own advance widths (no kerning, so never
    less than Typst's own measure)."""
    advances = _advances(bold)
    return sum(advances.get(ord(char), 1.0) for char in text) * size


def _column_widths(header: list[str], rows: list[list[Any]], columns: list[float]) -> list[Any]:
    """Fixed widths in pt for the columns asked to fit their widest cell (``0``): measured here from the font, as
    Typst would measure them, because asking Typst for ``auto`` columns doubles the time of a 5,000-row council
    pack. A column too wide to fix (or with no font to measure by) stays ``auto``."""
    if not FONT_DIR.joinpath("DejaVuSans.ttf").exists():
        return columns
    widths: list[Any] = []
    for index, fraction in enumerate(columns):
        if fraction != 0:
            widths.append(fraction)
            continue
        texts = [row[index]["text"] if isinstance(row[index], dict) else row[index] for row in rows]
        widest = max([text_width_pt(header[index], bold=True), *(text_width_pt(text) for text in texts)])
        width = widest + 2 * CELL_INSET_PT + 1.5  # a hair of slack for rounding
        widths.append({"pt": round(width, 2)} if width <= MAX_FIXED_COLUMN_PT else 0)
    return widths


def _table(header: list[str], rows: list[list[Any]], columns: list[float]) -> dict[str, Any]:
    """A table; ``columns`` are fractions of the free width, 0 for a column as wide as its widest cell."""
    if not rows:
        return _para("None.", size="small")
    cells = [[cell if isinstance(cell, dict) else printable(cell) for cell in row] for row in rows]
    heads = [printable(h) for h in header]
    return {"kind": "table", "header": heads, "rows": cells, "columns": _column_widths(heads, cells, columns)}


def _figure(figure: Figure, width: int = 100) -> dict[str, Any]:
    return {
        "kind": "figure",
        "svg": figure.svg,
        "alt": printable(figure.alt),
        "caption": printable(figure.caption),
        "width": width,
    }


def _overview(data: BoardData) -> list[dict[str, Any]]:
    rows = [
        [
            f"{o['ref']} {o['name']}",
            _status_cell(o["status"]),
            *(format(int(o["counts"].get(s, 0)), ",") for s in ALL_STATUSES),
            format(sum(int(v) for v in o["counts"].values()), ","),
        ]
        for o in data.outcomes
    ]
    return [
        _heading("Overview", 1),
        _para(f"All lines in {data.quarter}: {counts_sentence(data.totals())}."),
        _table(["Outcome", "Status", *ALL_STATUSES, "Lines"], rows, [1, 0, 0, 0, 0, 0, 0, 0]),
        _para(f"How the overall status is worked out: {data.rule}", size="small"),
        _figure(distribution_figure(outcome_chart_frame(data), "Lines by status, per outcome")),
    ]


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _change_counts(status_changes: int, new_reds: int, recovered: int, answered: int) -> str:
    return ", ".join(
        (
            _plural(status_changes, "status change"),
            _plural(new_reds, "new Red"),
            _plural(recovered, "line recovered", "lines recovered"),
            _plural(answered, "board question answered", "board questions answered"),
        )
    )


def _changes_section(data: BoardData) -> list[dict[str, Any]]:
    """The pack's first page after the title: what changed since last quarter, for the plan and per outcome."""
    changes = data.changes
    blocks: list[dict[str, Any]] = [_heading("What changed since last quarter", 1)]
    if changes is None:
        return [*blocks, _para("Not worked out for this pack.")]
    blocks.append(
        _para(
            f"{changes.quarter} against {changes.previous}, the whole plan"
            + (" (signed-off returns only)" if data.signed_off_only else "")
            + ": "
            + _change_counts(
                len(changes.status_changes),
                len(changes.new_reds),
                len(changes.recovered),
                len(changes.questions_answered),
            )
            + ".",
            strong=True,
        )
    )
    by_ref = {outcome.outcome_ref: outcome for outcome in changes.outcomes}
    summary = []
    for outcome in data.outcomes:
        found = by_ref.get(outcome["ref"])
        numbers = (
            (len(found.status_changes), len(found.new_reds), len(found.recovered), len(found.questions_answered))
            if found
            else (0, 0, 0, 0)
        )
        summary.append([f"{outcome['ref']} {outcome['name']}", *(format(n, ",") for n in numbers)])
    blocks.append(
        _table(["Outcome", "Status changes", "New Reds", "Recovered", "Questions answered"], summary, [1, 0, 0, 0, 0])
    )
    blocks.append(
        _para(
            "A new Red is a line Red now and not last quarter; a line recovered was Red or Amber and is now Green or "
            "Blue; a question is answered when a return for this quarter closed it. A line with no update counts as "
            "No return.",
            size="small",
        )
    )
    demo_lines = set(data.lines.loc[data.lines["is_demo"].astype(bool), "ref"]) if len(data.lines) else set()
    for outcome in data.outcomes:
        found = by_ref.get(outcome["ref"])
        if found is None or not found.anything:
            continue
        blocks.append(_heading(f"{outcome['ref']} {outcome['name']}", 2, outlined=False))
        blocks.append(
            _para(
                _change_counts(
                    len(found.status_changes), len(found.new_reds), len(found.recovered), len(found.questions_answered)
                )
                + ".",
                size="small",
                sticky=True,
            )
        )
        new_reds = {change.ref for change in found.new_reds}
        recovered = {change.ref for change in found.recovered}
        rows = [
            [
                change.ref,
                team_text(change.team or "not assigned", change.ref in demo_lines),
                _status_cell(change.before),
                _status_cell(change.after),
                "new Red" if change.ref in new_reds else "recovered" if change.ref in recovered else "",
            ]
            for change in found.status_changes
        ]
        if rows:
            blocks.append(_table(["Line", "Team", "Was", "Now", "Change"], rows, [0, 1, 0, 0, 0]))
        if found.questions_answered:
            blocks.append(_heading("Board questions answered", 3, outlined=False))
            blocks.append(
                _table(
                    ["Line", "Asked", "Question", "Answer"],
                    [
                        [
                            question.line_ref,
                            f"{question.quarter} by {clean_text(question.asked_by)}",
                            question.text,
                            question.answer or "closed without an answer",
                        ]
                        for question in found.questions_answered
                    ],
                    [0, 1, 2, 2],
                )
            )
    return blocks


def _question_rows(data: BoardData, questions: list[Any]) -> list[list[Any]]:
    demo_lines = set(data.lines.loc[data.lines["is_demo"].astype(bool), "ref"]) if len(data.lines) else set()
    return [
        [
            question.line_ref,
            team_text(question.team or "not assigned", question.line_ref in demo_lines),
            f"{question.quarter} by {clean_text(question.asked_by)}",
            f"{question.kind.capitalize()}: {clean_text(question.text)}",
            day_text(question.due_by) or "no date",
            "overdue" if question.overdue else "",
        ]
        for question in questions
    ]


QUESTION_HEADER = ["Line", "Team", "Asked", "Question", "Due by", "Overdue"]
QUESTION_COLUMNS = [0, 1, 0, 2.4, 0, 0]


def _index_section(data: BoardData) -> list[dict[str, Any]]:
    """The Family Friendly Index domains, said to be the project's judgement wherever the mapping shows."""
    blocks: list[dict[str, Any]] = [
        {"kind": "pagebreak"},
        _heading("Family Friendly Index", 1),
        {"kind": "notice", "text": printable(f"About the index mapping. {INDEX_MAPPING_NOTE}")},
    ]
    rows = [
        [
            f"{row['domain_ref']} {row['domain']}",
            _status_cell(row["status"]) if isinstance(row["status"], str) else "no lines",
            *(format(int(row[s]), ",") for s in ALL_STATUSES),
            format(int(row["lines"]), ","),
            "; ".join(row["gaps"]) or "none",
        ]
        for row in data.domains.to_dict("records")
    ]
    blocks.append(_table(["Domain", "Status", *ALL_STATUSES, "Lines", "Gaps"], rows, [1.4, 0, 0, 0, 0, 0, 0, 0, 1]))
    blocks.append(_heading("What counts towards each domain (the project's judgement)", 2))
    # Refs only: the reason for each mapping is in the Excel file's "Index mapping" sheet.
    refs: dict[tuple[str, str], list[str]] = {}
    for row in data.domain_map.to_dict("records"):
        refs.setdefault((row["domain_ref"], row["kind"]), []).append(row["ref"])
    mapped = [
        [
            f"{row['domain_ref']} {row['domain']}",
            ", ".join(refs.get((row["domain_ref"], "Objective"), [])) or "none",
            ", ".join(refs.get((row["domain_ref"], "Indicator"), [])) or "none",
        ]
        for row in data.domains.to_dict("records")
    ]
    if data.domain_map.empty:
        blocks.append(_para("No objective or indicator of this plan is mapped to a domain.", size="small"))
    else:
        blocks.append(_table(["Domain", "Objectives", "Indicators"], mapped, [1.2, 2, 1.5]))
        blocks.append(
            _para("Why each objective and indicator is mapped: the Excel file's Index mapping sheet.", size="small")
        )
    return blocks


def _outcome_section(data: BoardData, outcome: dict[str, Any]) -> list[dict[str, Any]]:
    ref = outcome["ref"]
    blocks = [
        {"kind": "pagebreak"},
        _heading(f"{ref} {outcome['name']}", 1),
        _para(
            f"Overall status: {status_label(outcome['status'])}. Lines: {counts_sentence(outcome['counts'])}.",
            strong=True,
        ),
        _figure(distribution_figure(objective_chart_frame(data, ref), f"{ref}: lines by status, per objective")),
        _heading("Objectives and lines", 2),
    ]
    lines = data.lines[data.lines["outcome_ref"] == ref]
    by_objective: dict[str, list[dict[str, Any]]] = {}
    for line in lines.to_dict("records"):
        by_objective.setdefault(line["objective_ref"], []).append(line)
    for objective in data.objectives[data.objectives["outcome_ref"] == ref].to_dict("records"):
        counts: dict[str, int] = {status: int(objective[status]) for status in ALL_STATUSES}
        blocks.append(_heading(f"{objective['objective_ref']} {clean_text(objective['objective'])}", 3, False))
        blocks.append(
            _para(f"Status {status_label(objective['status'])}: {counts_sentence(counts)}.", size="small", sticky=True)
        )
        rows = [
            [
                line["ref"],
                _status_cell(line["status"]),
                clean_text(line["action"]) or "(the whole objective)",
                team_text(line["teams"], line["is_demo"]),
            ]
            for line in by_objective.get(objective["objective_ref"], [])
        ]
        blocks.append(_table(["Line", "Status", "Action", "Teams"], rows, [0, 0, 3, 1.4]))

    blocks.append(_heading("Commentary on Red and Amber lines", 2))
    flagged = lines[lines["status"].isin(["Red", "Amber"])]
    if flagged.empty:
        blocks.append(_para("No line is Red or Amber this quarter.", size="small"))
    for line in flagged.to_dict("records"):
        teams = team_text(line["teams"], line["is_demo"])
        blocks.append(_heading(f"{line['ref']} {status_label(line['status'])} · {teams}", 3, False))
        blocks.append(_para(clean_text(line["action"]) or clean_text(line["objective"]), size="small"))
        items = [
            [label, printable(line[column]) or "none given"]
            for label, column in (("Progress", "progress"), ("Next steps", "next_steps"), ("Risks", "risks"))
        ]
        blocks.append({"kind": "list", "items": items})

    asked = [question for question in data.questions if question.outcome_ref == ref]
    overdue = sum(question.overdue for question in asked)
    blocks.append(_heading(f"Open board questions ({len(asked):,}, {overdue:,} overdue)", 2))
    if asked:
        blocks.append(_table(QUESTION_HEADER, _question_rows(data, asked), QUESTION_COLUMNS))
    else:
        blocks.append(_para("No board question on this outcome's lines is open.", size="small"))

    blocks.append(_heading("Indicators", 2))
    indicators = data.indicators[data.indicators["outcome_ref"] == ref]
    if indicators.empty:
        blocks.append(_para("No indicator values have been reported for this outcome up to this quarter.", "small"))
        return blocks
    latest = indicators.groupby("ref", sort=False).tail(1)
    rows = [
        [
            row["ref"],
            clean_text(row["name"]),
            row["quarter"],
            number_text(row["value"], row["unit"]),
            number_text(row["target"], row["unit"]),
            _status_cell(row["status"]) if isinstance(row["status"], str) else "no target",
            row["direction_text"],
        ]
        for row in latest.to_dict("records")
    ]
    blocks.append(
        _table(["Indicator", "Name", "Latest", "Value", "Target", "Status", "Direction"], rows, [0, 3, 0, 1, 1, 0, 1.2])
    )
    figures = [
        indicator_figure(frame, f"{ref} {clean_text(frame['name'].iloc[0])}")
        for ref, frame in indicators.groupby("ref", sort=False)
    ]
    blocks.append(
        {
            "kind": "figures",
            "items": [{"svg": f.svg, "alt": printable(f.alt), "caption": printable(f.caption)} for f in figures],
        }
    )
    return blocks


def _exceptions(data: BoardData) -> list[dict[str, Any]]:
    found = data.exceptions

    def line_rows(frame: pd.DataFrame, with_change: bool = False) -> list[list[Any]]:
        return [
            [
                line["ref"],
                _status_cell(line["status"], f" (was {line['previous_status']})" if with_change else ""),
                team_text(line["teams"], line["is_demo"]),
                clean_text(line["progress"]) or "no update",
            ]
            for line in frame.to_dict("records")
        ]

    blocks: list[dict[str, Any]] = [{"kind": "pagebreak"}, _heading("Exceptions", 1)]
    for title, frame, with_change in (
        ("Red lines", found["red"], False),
        ("Worse than last quarter", found["worse"], True),
        ("No return this quarter", found["no_return"], False),
    ):
        blocks.append(_heading(f"{title} ({len(frame):,})", 2))
        blocks.append(_table(["Line", "Status", "Teams", "Progress"], line_rows(frame, with_change), [0, 0, 1.2, 3]))
    overdue = [question for question in data.questions if question.overdue]
    blocks.append(_heading(f"Board questions overdue ({len(overdue):,} of {len(data.questions):,} open)", 2))
    blocks.append(_table(QUESTION_HEADER, _question_rows(data, overdue), QUESTION_COLUMNS))
    late = found["late"]
    blocks.append(_heading(f"Teams late or missing ({len(late):,})", 2))
    blocks.append(
        _table(
            ["Team", "State", "Due", "Submitted (UTC)"],
            [
                [row["team"], row["state"], day_text(row["deadline"]), when_text(row["submitted_at"])]
                for row in late.to_dict("records")
            ],
            [2, 0, 1, 1],
        )
    )
    return blocks


def _submissions(data: BoardData) -> list[dict[str, Any]]:
    tracker = data.tracker
    states = tracker["state"].value_counts()
    summary = (
        f"{len(tracker)} teams expected: " + ", ".join(f"{int(states.get(s, 0))} {s.lower()}" for s in states.index)
        if len(tracker)
        else "No team is expected to report this quarter."
    )
    rows = [
        [
            row["team"],
            row["state"],
            f"{int(row['lines_returned'])} of {int(row['lines_expected'])}",
            day_text(row["deadline"]),
            when_text(row["submitted_at"]),
            clean_text(row["submitted_by"]),
            "" if pd.isna(row["version"]) else str(int(row["version"])),
            *([clean_text(row["signoff"])] if data.signed_off_only else []),
        ]
        for row in tracker.to_dict("records")
    ]
    header = ["Team", "State", "Lines", "Due", "Submitted (UTC)", "By", "Version"]
    columns: list[float] = [2, 0, 0, 1, 1.3, 1, 0]
    if data.signed_off_only:  # the current version's sign-off state
        header, columns = [*header, "Sign-off"], [*columns, 1]
    return [
        {"kind": "pagebreak"},
        _heading("Submission status", 1),
        _para(summary),
        _table(header, rows, columns),
    ]


def _awaiting_section(data: BoardData) -> list[dict[str, Any]]:
    """With sign-off on: the returns for the quarter no approver has decided on, which the pack does not count."""
    rows = [
        [
            row.team,
            row.quarter,
            str(row.version),
            when_text(row.uploaded_at),
            clean_text(row.uploaded_by),
            f"version {row.signed_off_version}" if row.signed_off_version else "nothing yet",
        ]
        for row in data.awaiting
    ]
    return [
        {"kind": "pagebreak"},
        _heading(f"Awaiting sign-off ({len(rows):,})", 1),
        _para(
            "Sign-off is switched on, so this pack counts each team's latest signed-off return. These returns were "
            "accepted but no approver has signed them off yet; the pack counts the version shown in the last column "
            "instead.",
            size="small",
        ),
        _table(["Team", "Quarter", "Version", "Uploaded (UTC)", "By", "Counted instead"], rows, [2, 0, 0, 0, 1, 0]),
    ]


def pack_document(data: BoardData) -> dict[str, Any]:
    """What the pack says, as the JSON-ready document ``pack.typ`` lays out (also what the benchmark renders
    with another engine to compare them)."""
    latest = when_text(data.latest_return_at)
    title = f"CYP Plan {data.plan_ref} board pack, {data.quarter}"
    blocks = _overview(data)
    blocks.extend(_index_section(data))
    for outcome in data.outcomes:
        blocks.extend(_outcome_section(data, outcome))
    blocks.extend(_exceptions(data))
    blocks.extend(_submissions(data))
    if data.signed_off_only:
        blocks.extend(_awaiting_section(data))
    return {
        "title": printable(title),
        "subject": printable(f"Board pack for the {data.plan_title}, {data.quarter}"),
        "footer": printable(f"CYP Plan {data.plan_ref} · Board pack {data.quarter}"),
        "statuses": {s: {"fill": STATUS_COLOURS[s], "ink": STATUS_TEXT_COLOURS[s]} for s in ALL_STATUSES},
        "cover": {
            "kicker": "Barnet Children and Young People's Plan",
            "headline": printable(f"Board pack: {data.quarter}"),
            "plan": printable(data.plan_title),
            "lines": [
                printable(f"Generated {data.generated_at.strftime('%d %B %Y at %H:%M')} (UTC) by CYP Plan Monitor."),
                printable(
                    f"Latest return for this quarter accepted {latest} (UTC)."
                    if latest
                    else "No return has been accepted yet."
                ),
                printable(f"Status rules: {data.rule}"),
                *(
                    [
                        printable(
                            "Sign-off is on: this pack counts each team's latest signed-off return; "
                            f"{len(data.awaiting):,} awaiting sign-off are listed at the end."
                        )
                    ]
                    if data.signed_off_only
                    else []
                ),
            ],
            "notice": "Demonstration data: the returns in this pack are generated for demonstration, not real "
            "reports from Barnet's partners."
            if data.demo
            else None,
        },
        "front": _changes_section(data),
        "blocks": blocks,
    }


def typeset_job(document: dict[str, Any]) -> bytes:
    """What :mod:`cyp.board.typeset` reads on standard input for a :func:`pack_document`."""
    job = {
        "template": str(TEMPLATE),
        "root": str(TEMPLATE.parent),
        "fonts": [str(folder) for folder in FONT_DIRS],
        "pack": json.dumps(document, ensure_ascii=False),
        "timestamp": int(time.time()),
    }
    return json.dumps(job, ensure_ascii=False).encode("utf-8")


def typeset(document: dict[str, Any], timeout: float = TYPESET_TIMEOUT_S) -> bytes:
    """PDF/UA-1 bytes for a :func:`pack_document`, typeset in a child process (:mod:`cyp.board.typeset`);
    :class:`BoardPackError` with the reason if Typst cannot lay it out or takes longer than ``timeout`` seconds."""
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(TYPESETTER)],
            input=typeset_job(document),
            capture_output=True,
            timeout=timeout,
            check=False,
            # One malloc arena: Typst's worker threads otherwise each keep their own, about 6 MB more at demo scale.
            env={**os.environ, "MALLOC_ARENA_MAX": "1"},
        )
    except subprocess.TimeoutExpired as error:
        raise BoardPackError(f"the PDF took longer than {timeout:.0f} seconds to typeset and was stopped.") from error
    except OSError as error:
        raise BoardPackError(f"the PDF typesetter could not be started ({error.strerror}).") from error
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF"):
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BoardPackError(f"the PDF could not be typeset ({reason[-1] if reason else 'no reason given'}).")
    return done.stdout


def board_pack_pdf(session: Session, quarter: str, plan_ref: str | None = None) -> bytes:
    """The board pack for a quarter as PDF bytes (PDF/UA-1). Raises :class:`cyp.read.reports.UnknownPlan` or
    ``QuarterError`` for bad input and :class:`BoardPackError` when the pack cannot be built."""
    return render_pack_pdf(board_data(session, quarter, plan_ref))


def render_pack_pdf(data: BoardData) -> bytes:
    """The board pack PDF from already gathered :class:`BoardData` (the app reuses what it has cached)."""
    return typeset(pack_document(data))
