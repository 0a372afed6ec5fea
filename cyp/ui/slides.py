"""The board display's slides, built from the board data: what changed, the quarter at a glance, each outcome (in
as many slides as it takes), the exceptions with the board's open questions.

Each slide is filled up to a budget of lines of body text that fits a 1366×768 screen (type follows the screen's
height, so the same slides fit the larger room screens). Slides are plain data (HTML blocks, chart data, the lines
they list), built once per run of the page; ``app_pages/display.py`` draws one of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cyp.board.data import BoardData
from cyp.read.browse import DEMO_ASSIGNMENT
from cyp.read.changes import LineChange, PlanChanges
from cyp.read.questions import QuestionRow
from cyp.read.tracker import returns_received
from cyp.ui.data import frame_records
from cyp.ui.escaping import escape_markdown
from cyp.ui.questions import change_counts, change_words, question_words
from cyp.ui.widgets import distribution_text, status_badge_html

# Lines of body text one slide holds below its heading: what fits at 1366×768 with the bar and the buttons.
LINE_BUDGET = 16.0
CHARS_PER_LINE = 90  # a full-width line of body text at the smallest screen, with room for wide letters
CHART_LINES = 10.5  # an indicator chart (plot, axis labels, title) measured in lines of body text at 1366×768
CHARTS_PER_SLIDE = 2  # side by side
MAX_LISTED = {"reds": 6, "exceptions": 8, "changes": 6, "questions": 6}  # beyond these the slide points to the pack


@dataclass
class Slide:
    """One screen: a heading, HTML blocks, and indicator charts (their data) drawn below the blocks."""

    title: str
    blocks: list[str] = field(default_factory=list)
    charts: list[tuple[str, object]] = field(default_factory=list)
    part: int = 1
    parts: int = 1
    outcome_ref: str | None = None  # the outcome a slide is about: the lines the chair's question form offers
    # The lines the slide lists (what changed, the exceptions): the question form offers these when no outcome is set.
    line_refs: list[str] = field(default_factory=list)


# A block of a slide: its HTML, the lines of body text it takes, and (a row about a line) that line's ref.
Item = tuple[str, float] | tuple[str, float, str]
Row = tuple[str, str, str | None]  # an exceptions row: HTML, its plain text (to measure), the line's ref or None


def clean(text: object) -> str:
    """``text`` on one line ("" for None and NaN)."""
    return " ".join(str(text).split()) if text is not None and str(text) != "nan" else ""


def esc(text: object) -> str:
    """``text`` on one line, escaped for a raw HTML block (the slides are HTML: the one escaping function, in its
    HTML form)."""
    return escape_markdown(clean(text), inside_html=True)


def _teams(line: Mapping[str, Any]) -> str:
    # A team the demo made up for a 2023-27 line is never shown as the plan's.
    teams = clean(line.get("teams"))
    return f"{teams} ({DEMO_ASSIGNMENT})" if bool(line.get("is_demo")) and teams else teams


def short(text: object, limit: int = 230) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lines(text: str, scale: float = 1.0) -> float:
    """Lines of body text that ``text`` wraps to at the smallest room screen (``scale``: its size in ems)."""
    return max(1, math.ceil(len(text) * scale / CHARS_PER_LINE)) * scale + 0.1


def _badge(status: str) -> str:
    return status_badge_html(status, "0.85em")


def _paginate(title: str, items: list[Item], charts: Sequence[tuple[str, object]] = ()) -> list[Slide]:
    """Slides for one section: blocks (HTML, lines[, line ref]) filled up to the budget, then charts, two to a slide;
    each slide keeps the refs of the lines its blocks are about."""
    slides = [Slide(title)]
    used = 0.0
    for block, cost, *ref in items:
        if used and used + cost > LINE_BUDGET:
            slides.append(Slide(title))
            used = 0.0
            # A heading left last on a slide moves over with what it heads.
            if slides[-2].blocks and slides[-2].blocks[-1].startswith("<h2"):
                heading = slides[-2].blocks.pop()
                slides[-1].blocks.append(heading)
                used = 1.5
        slides[-1].blocks.append(block)
        slides[-1].line_refs.extend(ref)
        used += cost
    for start in range(0, len(charts), CHARTS_PER_SLIDE):
        if LINE_BUDGET - used < CHART_LINES + 1.5:
            slides.append(Slide(title))
        slides[-1].blocks.append("<h2>Indicators against target</h2>")
        slides[-1].charts.extend(charts[start : start + CHARTS_PER_SLIDE])
        used = LINE_BUDGET  # the rest of the slide holds charts only
    slides = [slide for slide in slides if slide.blocks or slide.charts] or [Slide(title)]
    for number, slide in enumerate(slides, start=1):
        slide.part, slide.parts = number, len(slides)
    return slides


def _summary_slide(data: BoardData) -> Slide:
    totals = data.totals()
    tiles = "".join(
        f'<div class="tile"><div class="name">{esc(o["name"])}</div>{_badge(o["status"])}'
        f'<div class="dist">{esc(distribution_text(o["counts"]))}</div></div>'
        for o in data.outcomes
    )
    received = returns_received(data.tracker)
    return Slide(
        f"{data.quarter} at a glance",
        [
            f'<div class="row"><span>All {sum(totals.values())} lines:</span>'
            f"<span>{esc(distribution_text(totals))}</span></div>"
            f'<div class="row"><span>Returns received: {received} of {len(data.tracker)} teams</span></div>'
            f'<div class="tiles">{tiles}</div>'
            f'<p class="note">How the overall status is worked out: {esc(data.rule)}</p>'
        ],
    )


def _by_outcome(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[dict[str, Any]]]:
    """{outcome ref: its rows as dicts, in order}: one pass over the frame, not a filtered copy per outcome."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in frame_records(frame, ["outcome_ref", *columns]):
        found.setdefault(row["outcome_ref"], []).append(row)
    return found


def _outcome_slides(
    data: BoardData,
    ref: str,
    objectives: list[dict[str, Any]],
    reds: list[dict[str, Any]],
    charts: list[tuple[str, object]],
) -> list[Slide]:
    """One outcome's slides from its objectives and Red lines (rows as dicts, in plan order) and its indicators'
    (ref, values) pairs."""
    outcome = data.outcome(ref)
    distribution = distribution_text(outcome["counts"])
    items: list[Item] = [
        (
            f'<div class="row">{status_badge_html(outcome["status"], "1em")}<span>{esc(distribution)}</span></div>',
            _lines(distribution + "  status  "),
        ),
        ("<h2>Objectives</h2>", 1.5),
    ]
    for o in objectives:
        text = clean(o["objective"])
        items.append(
            (
                f'<div class="row">{_badge(o["status"])}<span class="ref">{esc(o["objective_ref"])}</span>'
                f"<span>{esc(text)}</span></div>",
                _lines(f"{o['status']} xx {o['objective_ref']} {text}"),
            )
        )
    items.append(("<h2>Red lines: progress</h2>", 1.5))
    if not reds:
        items.append(('<p class="note">No Red lines for this outcome.</p>', 1.0))
    for line in reds[: MAX_LISTED["reds"]]:
        quote = short(line["progress"]) or "No progress update given."
        items.append(
            (
                f'<div class="row">{_badge("Red")}<span class="ref">{esc(line["ref"])}</span>'
                f"<span>{esc(_teams(line))}</span></div>"
                f'<div class="quote">{esc(quote)}</div>',
                _lines(f"Red xx {line['ref']} {clean(line['teams'])}") + _lines(quote, 0.85) + 0.3,
            )
        )
    if len(reds) > MAX_LISTED["reds"]:
        items.append(
            (f'<p class="note">and {len(reds) - MAX_LISTED["reds"]} more Red lines on the exceptions slide</p>', 1.0)
        )
    if not charts:
        items.append(('<p class="note">No indicator values reported yet.</p>', 1.0))
    slides = _paginate(str(outcome["name"]), items, charts)
    for slide in slides:
        slide.outcome_ref = ref
    return slides


def _changes_slides(changes: PlanChanges) -> list[Slide]:
    """The first slide(s): what changed across the plan since last quarter, counts first, then the lines."""
    limit = MAX_LISTED["changes"]
    counts = change_counts(changes)
    items: list[Item] = [(f'<div class="counts">{esc(counts)}</div>', _lines(counts, 1.1) + 0.2)]
    if not changes.status_changes and not changes.questions_answered:
        items.append(('<p class="note">No line changed status and no board question was answered.</p>', 1.0))

    def section(heading: str, found: Sequence[LineChange], empty: str) -> None:
        items.append((f"<h2>{esc(heading)} ({len(found)})</h2>", 1.5))
        if not found:
            items.append((f'<p class="note">{esc(empty)}</p>', 1.0))
        for change in found[:limit]:
            words = change_words(change)
            team = short(change.team or "", 50)
            items.append(
                (
                    f'<div class="row">{_badge(change.after)}<span class="ref">{esc(change.ref)}</span>'
                    f"<span>{esc(words)}</span><span>{esc(team)}</span></div>",
                    _lines(f"{change.after} xx {change.ref} {words} {team}"),
                    str(change.ref),
                )
            )
        if len(found) > limit:
            items.append((f'<p class="note">and {len(found) - limit} more on the outcome pages</p>', 1.0))

    if changes.status_changes:
        shown = {change.ref for change in changes.new_reds + changes.recovered}
        section("New Reds", changes.new_reds, "No line became Red.")
        section("Lines recovered", changes.recovered, "No line recovered from Red or Amber.")
        section("Other status changes", [c for c in changes.status_changes if c.ref not in shown], "No other change.")
    if changes.questions_answered:
        items.append((f"<h2>Board questions answered ({len(changes.questions_answered)})</h2>", 1.5))
        for row in changes.questions_answered[:limit]:
            answer = short(row.answer, 160)
            items.append(
                (
                    f'<div class="row"><span class="ref">{esc(row.line_ref)}</span><span>{esc(short(row.text, 80))}'
                    f'</span></div><div class="quote">Answer: {esc(answer)}</div>',
                    _lines(f"{row.line_ref} {short(row.text, 80)}") + _lines(answer, 0.85) + 0.3,
                    str(row.line_ref),
                )
            )
        if len(changes.questions_answered) > limit:
            more = len(changes.questions_answered) - limit
            items.append((f'<p class="note">and {more} more on the lines\' history pages</p>', 1.0))
    return _paginate(f"What changed since {changes.previous}", items)


def _question_items(questions: Sequence[QuestionRow]) -> list[Item]:
    """The exceptions slide's section of open board questions: line, who asked, due by, overdue in words, text."""
    limit = MAX_LISTED["questions"]
    items: list[Item] = [(f"<h2>Board questions open ({len(questions)})</h2>", 1.5)]
    if not questions:
        items.append(('<p class="note">No board question is waiting for an answer.</p>', 1.0))
    for row in questions[:limit]:
        words = question_words(row)
        overdue = '<span class="overdue">OVERDUE</span>' if row.overdue else ""
        text = short(row.text, 160)
        items.append(
            (
                f'<div class="row"><span class="ref">{esc(row.line_ref)}</span>{overdue}<span>{esc(words)}</span>'
                f'</div><div class="quote">{esc(text)}</div>',
                _lines(f"{row.line_ref} OVERDUE {words}") + _lines(text, 0.85) + 0.3,
                str(row.line_ref),
            )
        )
    if len(questions) > limit:
        items.append((f'<p class="note">and {len(questions) - limit} more on the exceptions page</p>', 1.0))
    return items


def _exceptions_slides(data: BoardData, questions: Sequence[QuestionRow] = ()) -> list[Slide]:
    found = data.exceptions
    limit = MAX_LISTED["exceptions"]
    items: list[Item] = []

    def section(heading: str, rows: list[Row], total: int, empty: str) -> None:
        # ``rows``: (HTML, plain text, line ref or None), the first ``limit`` of ``total`` (only those are drawn; a
        # quarter may have a thousand).
        items.append((f"<h2>{esc(heading)} ({total})</h2>", 1.5))
        if not total:
            items.append((f'<p class="note">{esc(empty)}</p>', 1.0))
        for row_html, plain, ref in rows[:limit]:
            items.append((row_html, _lines(plain)) if ref is None else (row_html, _lines(plain), ref))
        if total > limit:
            items.append((f'<p class="note">and {total - limit} more in the pack</p>', 1.0))

    def line_rows(frame: pd.DataFrame, with_previous: bool = False) -> list[Row]:
        rows: list[Row] = []
        for line in frame_records(frame.head(limit), ["ref", "status", "previous_status", "teams", "is_demo"]):
            previous = f"was {clean(line['previous_status'])}" if with_previous else ""
            teams = short(_teams(line), 60)
            rows.append(
                (
                    f'<div class="row">{_badge(line["status"])}<span class="ref">{esc(line["ref"])}</span>'
                    + (f"<span>{esc(previous)}</span>" if previous else "")
                    + f"<span>{esc(teams)}</span></div>",
                    f"{line['status']} xx {line['ref']} {previous} {teams}",
                    str(line["ref"]),
                )
            )
        return rows

    red, worse, no_return = found["red"], found["worse"], found["no_return"]
    section("Red lines", line_rows(red), len(red), "No Red lines.")
    section("Worse than last quarter", line_rows(worse, True), len(worse), "No line is worse than last quarter.")
    section("No return", line_rows(no_return), len(no_return), "Every line has an update.")
    late: list[Row] = [
        (
            f'<div class="row"><span class="ref">{esc(r["state"])}</span><span>{esc(r["team"])}</span></div>',
            f"{r['state']} {r['team']}",
            None,
        )
        for r in frame_records(found["late"].head(limit), ["state", "team"])
    ]
    section("Teams late or missing", late, len(found["late"]), "Every team due has returned.")
    return _paginate("Exceptions", items + _question_items(list(questions)))


def build_slides(
    data: BoardData, changes: PlanChanges | None = None, questions: Sequence[QuestionRow] = ()
) -> list[Slide]:
    """Every slide of the meeting, in order: what changed, summary, each outcome's slides, the exceptions (with the
    board's open questions).

    A slide that lists no line (the summary; what changed in a quarter where nothing did; the teams late) gets the
    lines the exceptions slides list, for the chair's question form.
    """
    slides = _changes_slides(changes) if changes is not None else []
    slides.append(_summary_slide(data))
    objectives = _by_outcome(data.objectives, ["objective_ref", "objective", "status"])
    reds = _by_outcome(data.lines[data.lines["status"] == "Red"], ["ref", "teams", "is_demo", "progress"])
    charts: dict[str, list[tuple[str, object]]] = {}
    for (outcome_ref, ref), frame in data.indicators.groupby(["outcome_ref", "ref"], sort=False):
        charts.setdefault(outcome_ref, []).append((str(ref), frame))
    for outcome in data.outcomes:
        ref = outcome["ref"]
        slides.extend(_outcome_slides(data, ref, objectives.get(ref, []), reds.get(ref, []), charts.get(ref, [])))
    exceptions = _exceptions_slides(data, questions)
    listed = list(dict.fromkeys(ref for slide in exceptions for ref in slide.line_refs))
    slides += exceptions
    for slide in slides:
        if slide.outcome_ref is None and not slide.line_refs:
            slide.line_refs = list(listed)
    return slides
