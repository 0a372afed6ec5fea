"""Board display: the quarter on the meeting-room screen, a slide at a time, with no app chrome.

Slides: what changed since last quarter, the quarter at a glance, each outcome (continued on further slides when it does
not fit one), its indicators, then the exceptions with the board's open questions. Type is sized to the screen's height,
and each slide is filled up to a budget of lines that fits a 1366×768 screen, so the same slides fit 1920×1080,
2560×1440 and 3840×2160 without scrolling.
The address holds plan, quarter, slide and interval (``?plan=2019-23&quarter=2022-23 Q4&slide=2&interval=20``) and is
rewritten in place (no history entry per slide), so it can be bookmarked and the browser's Back leaves the display.
``interval`` (seconds) turns the timer on; without it the chair drives with the buttons or the keyboard (← previous,
→ next, space pause) when no button has focus; on a focused button Space and Enter press that button. A signed-in
viewer, approver or administrator (the chair) also has an "Ask" button: a question or action on a line of the slide.
A timed fragment re-reads the data, so a return accepted during the meeting appears without a reload.
"""

import math
import time
from dataclasses import dataclass, field
from datetime import datetime

import altair as alt
import streamlit as st

from cyp import ui

REFRESH_SECONDS = 20  # how often the data is re-read when the timer is off
MIN_INTERVAL = 5
# Lines of body text one slide holds below its heading: what fits at 1366×768 with the bar and the buttons.
LINE_BUDGET = 16.0
CHARS_PER_LINE = 90  # a full-width line of body text at the smallest screen, with room for wide letters
CHART_LINES = 10.5  # an indicator chart (plot, axis labels, title) measured in lines of body text at 1366×768
CHARTS_PER_SLIDE = 2  # side by side
MAX_LISTED = {"reds": 6, "exceptions": 8, "changes": 6, "questions": 6}  # beyond these the slide points to the pack
TREND_QUARTERS = 6

CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
[data-testid="stToolbar"], [data-testid="stHeader"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
header { display: none !important; }
[data-testid="stAppViewContainer"], [data-testid="stMain"] { background: #ffffff; color: #000000; }
/* Type follows the screen's height (all four room screens are 16:9), never below 16 px for phones and zoom. */
:root { --board-font: clamp(16px, min(3.1vh, 1.75vw), 120px); }
[data-testid="stMainBlockContainer"] { max-width: 100% !important;
  padding: calc(var(--board-font) * 0.5) calc(var(--board-font) * 1.2) calc(var(--board-font) * 0.3) !important; }
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: calc(var(--board-font) * 0.35) !important; }
/* Streamlit pulls a markdown block up by 1rem at its end: the padding keeps the last line clear of what follows. */
.board { font-size: var(--board-font); line-height: 1.3; color: #000000; overflow-wrap: anywhere;
  padding-bottom: 1rem; }
.board h1 { font-size: 1.6em; line-height: 1.15; margin: 0 0 0.2em 0; padding: 0; font-weight: 700; }
.board h2 { font-size: 1.1em; line-height: 1.2; margin: 0.35em 0 0.15em 0; padding: 0; font-weight: 700; }
.board p { font-size: 1em; margin: 0; }
.board .bar { font-size: 0.75em; border-bottom: 3px solid #1a1a1a; padding-bottom: 0.25em; margin-bottom: 0.3em;
  display: flex; flex-wrap: wrap; justify-content: space-between; column-gap: 1.2em; row-gap: 0.1em; }
.board .demo { background: #fff3cd; border: 2px solid #1a1a1a; padding: 0 0.4em; font-weight: 700; }
.board .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 9.5em), 1fr));
  gap: 0.5em; margin-top: 0.3em; }
.board .tile { border: 3px solid #1a1a1a; border-radius: 0.4em; padding: 0.3em 0.5em; font-size: 0.8em; }
.board .tile .name { font-weight: 700; margin-bottom: 0.2em; }
.board .dist { font-size: 0.9em; margin-top: 0.2em; }
.board .row { display: flex; flex-wrap: wrap; column-gap: 0.5em; align-items: baseline; margin: 0.1em 0; }
.board .ref { font-weight: 700; white-space: nowrap; }
.board .quote { font-size: 0.85em; margin: 0 0 0.3em 0; padding-left: 0.5em; border-left: 0.2em solid #D55E00; }
.board .note { font-size: 0.85em; color: #1a1a1a; }
.board .counts { font-size: 1.1em; font-weight: 700; margin: 0.1em 0 0.2em 0; }
.board .overdue { font-weight: 700; border: 2px solid #1a1a1a; padding: 0 0.3em; }
.st-key-board-controls button, .st-key-board-controls [data-testid="stPageLink"] a {
  font-size: calc(var(--board-font) * 0.8) !important;
  min-height: calc(var(--board-font) * 1.7); padding: 0.15em 0.8em !important; white-space: nowrap; }
.st-key-board-controls button p, .st-key-board-controls [data-testid="stPageLink"] a p {
  font-size: calc(var(--board-font) * 0.8) !important;
  white-space: nowrap; overflow: visible; }
.st-key-board-controls [data-testid="stPageLink"] a { border: 2px solid #1a1a1a; border-radius: 0.4em; }
</style>
"""


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


def _seconds(value: str | None) -> int:
    """The timer interval from the address: 0 (off) unless a whole number of seconds, at least MIN_INTERVAL."""
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return 0
    return max(seconds, MIN_INTERVAL) if seconds > 0 else 0


def _slide_from_url(count: int) -> int | None:
    """The 1-based ``slide`` in the address as a 0-based index within range, or None when absent or not a number."""
    value = st.query_params.get("slide")
    try:
        return min(max(int(str(value)) - 1, 0), count - 1)
    except (TypeError, ValueError):
        return None


def _clean(text: object) -> str:
    return " ".join(str(text).split()) if text is not None and str(text) != "nan" else ""


def _esc(text: object) -> str:
    # The slides are raw HTML blocks: the one escaping function, in its HTML form.
    return ui.escape_markdown(_clean(text), inside_html=True)


def _teams(line) -> str:  # type: ignore[no-untyped-def]
    # A team the demo made up for a 2023-27 line is never shown as the plan's.
    teams = _clean(line.get("teams"))
    return f"{teams} ({ui.DEMO_ASSIGNMENT})" if bool(line.get("is_demo")) and teams else teams


def _short(text: object, limit: int = 230) -> str:
    clean = _clean(text)
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


def _lines(text: str, scale: float = 1.0) -> float:
    """Lines of body text that ``text`` wraps to at the smallest room screen (``scale``: its size in ems)."""
    return max(1, math.ceil(len(text) * scale / CHARS_PER_LINE)) * scale + 0.1


def _badge(status: str) -> str:
    return ui.status_badge_html(status, "0.85em")


def _local(iso: str) -> str:
    """An ISO time as London wall-clock time for the room."""
    moment = datetime.fromisoformat(iso)
    try:
        from zoneinfo import ZoneInfo

        moment = moment.astimezone(ZoneInfo("Europe/London"))
    except Exception:  # noqa: BLE001 - no time-zone database: show UTC and say so
        return moment.strftime("%d %b %Y, %H:%M UTC")
    return moment.strftime("%d %b %Y, %H:%M")


def _paginate(title: str, items: list[Item], charts: list[tuple[str, object]] = ()) -> list[Slide]:
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


def _summary_slide(data) -> Slide:  # type: ignore[no-untyped-def]
    totals = data.totals()
    tiles = "".join(
        f'<div class="tile"><div class="name">{_esc(o["name"])}</div>{_badge(o["status"])}'
        f'<div class="dist">{_esc(ui.distribution_text(o["counts"]))}</div></div>'
        for o in data.outcomes
    )
    received = ui.returns_received(data.tracker)
    return Slide(
        f"{data.quarter} at a glance",
        [
            f'<div class="row"><span>All {sum(totals.values())} lines:</span>'
            f"<span>{_esc(ui.distribution_text(totals))}</span></div>"
            f'<div class="row"><span>Returns received: {received} of {len(data.tracker)} teams</span></div>'
            f'<div class="tiles">{tiles}</div>'
            f'<p class="note">How the overall status is worked out: {_esc(data.rule)}</p>'
        ],
    )


def _by_outcome(frame, columns: list[str]) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def,type-arg]
    """{outcome ref: its rows as dicts, in order}: one pass over the frame, not a filtered copy per outcome."""
    found: dict[str, list[dict]] = {}
    for row in frame[["outcome_ref", *columns]].to_dict("records"):
        found.setdefault(row["outcome_ref"], []).append(row)
    return found


def _outcome_slides(  # type: ignore[no-untyped-def]
    data, ref: str, objectives: list[dict], reds: list[dict], charts: list[tuple[str, object]]
) -> list[Slide]:
    """One outcome's slides from its objectives and Red lines (rows as dicts, in plan order) and its indicators'
    (ref, values) pairs."""
    outcome = data.outcome(ref)
    distribution = ui.distribution_text(outcome["counts"])
    items: list[Item] = [
        (
            f'<div class="row">{ui.status_badge_html(outcome["status"], "1em")}<span>{_esc(distribution)}</span></div>',
            _lines(distribution + "  status  "),
        ),
        ("<h2>Objectives</h2>", 1.5),
    ]
    for o in objectives:
        text = _clean(o["objective"])
        items.append(
            (
                f'<div class="row">{_badge(o["status"])}<span class="ref">{_esc(o["objective_ref"])}</span>'
                f"<span>{_esc(text)}</span></div>",
                _lines(f"{o['status']} xx {o['objective_ref']} {text}"),
            )
        )
    items.append(("<h2>Red lines: progress</h2>", 1.5))
    if not reds:
        items.append(('<p class="note">No Red lines for this outcome.</p>', 1.0))
    for line in reds[: MAX_LISTED["reds"]]:
        quote = _short(line["progress"]) or "No progress update given."
        items.append(
            (
                f'<div class="row">{_badge("Red")}<span class="ref">{_esc(line["ref"])}</span>'
                f"<span>{_esc(_teams(line))}</span></div>"
                f'<div class="quote">{_esc(quote)}</div>',
                _lines(f"Red xx {line['ref']} {_clean(line['teams'])}") + _lines(quote, 0.85) + 0.3,
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


def _changes_slides(changes) -> list[Slide]:  # type: ignore[no-untyped-def]
    """The first slide(s): what changed across the plan since last quarter, counts first, then the lines."""
    limit = MAX_LISTED["changes"]
    counts = ui.change_counts(changes)
    items: list[Item] = [(f'<div class="counts">{_esc(counts)}</div>', _lines(counts, 1.1) + 0.2)]
    if not changes.status_changes and not changes.questions_answered:
        items.append(('<p class="note">No line changed status and no board question was answered.</p>', 1.0))

    def section(heading: str, found: list, empty: str) -> None:  # type: ignore[type-arg]
        items.append((f"<h2>{_esc(heading)} ({len(found)})</h2>", 1.5))
        if not found:
            items.append((f'<p class="note">{_esc(empty)}</p>', 1.0))
        for change in found[:limit]:
            words = ui.change_words(change)
            team = _short(change.team or "", 50)
            items.append(
                (
                    f'<div class="row">{_badge(change.after)}<span class="ref">{_esc(change.ref)}</span>'
                    f"<span>{_esc(words)}</span><span>{_esc(team)}</span></div>",
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
            answer = _short(row.answer, 160)
            items.append(
                (
                    f'<div class="row"><span class="ref">{_esc(row.line_ref)}</span><span>{_esc(_short(row.text, 80))}'
                    f'</span></div><div class="quote">Answer: {_esc(answer)}</div>',
                    _lines(f"{row.line_ref} {_short(row.text, 80)}") + _lines(answer, 0.85) + 0.3,
                    str(row.line_ref),
                )
            )
        if len(changes.questions_answered) > limit:
            more = len(changes.questions_answered) - limit
            items.append((f'<p class="note">and {more} more on the lines\' history pages</p>', 1.0))
    return _paginate(f"What changed since {changes.previous}", items)


def _question_items(questions) -> list[Item]:  # type: ignore[no-untyped-def]
    """The exceptions slide's section of open board questions: line, who asked, due by, overdue in words, text."""
    limit = MAX_LISTED["questions"]
    items: list[Item] = [(f"<h2>Board questions open ({len(questions)})</h2>", 1.5)]
    if not questions:
        items.append(('<p class="note">No board question is waiting for an answer.</p>', 1.0))
    for row in questions[:limit]:
        words = ui.question_words(row)
        overdue = '<span class="overdue">OVERDUE</span>' if row.overdue else ""
        text = _short(row.text, 160)
        items.append(
            (
                f'<div class="row"><span class="ref">{_esc(row.line_ref)}</span>{overdue}<span>{_esc(words)}</span>'
                f'</div><div class="quote">{_esc(text)}</div>',
                _lines(f"{row.line_ref} OVERDUE {words}") + _lines(text, 0.85) + 0.3,
                str(row.line_ref),
            )
        )
    if len(questions) > limit:
        items.append((f'<p class="note">and {len(questions) - limit} more on the exceptions page</p>', 1.0))
    return items


def _exceptions_slides(data, questions=()) -> list[Slide]:  # type: ignore[no-untyped-def]
    found = data.exceptions
    limit = MAX_LISTED["exceptions"]
    items: list[Item] = []

    def section(heading: str, rows: list[Row], total: int, empty: str) -> None:
        # ``rows``: (HTML, plain text, line ref or None), the first ``limit`` of ``total`` (only those are drawn; a
        # quarter may have a thousand).
        items.append((f"<h2>{_esc(heading)} ({total})</h2>", 1.5))
        if not total:
            items.append((f'<p class="note">{_esc(empty)}</p>', 1.0))
        for row_html, plain, ref in rows[:limit]:
            items.append((row_html, _lines(plain)) if ref is None else (row_html, _lines(plain), ref))
        if total > limit:
            items.append((f'<p class="note">and {total - limit} more in the pack</p>', 1.0))

    def line_rows(frame, with_previous: bool = False) -> list[Row]:  # type: ignore[no-untyped-def]
        rows = []
        for line in frame.head(limit).to_dict("records"):
            previous = f"was {_clean(line['previous_status'])}" if with_previous else ""
            teams = _short(_teams(line), 60)
            rows.append(
                (
                    f'<div class="row">{_badge(line["status"])}<span class="ref">{_esc(line["ref"])}</span>'
                    + (f"<span>{_esc(previous)}</span>" if previous else "")
                    + f"<span>{_esc(teams)}</span></div>",
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
            f'<div class="row"><span class="ref">{_esc(r["state"])}</span><span>{_esc(r["team"])}</span></div>',
            f"{r['state']} {r['team']}",
            None,
        )
        for r in found["late"].head(limit).to_dict("records")
    ]
    section("Teams late or missing", late, len(found["late"]), "Every team due has returned.")
    return _paginate("Exceptions", items + _question_items(list(questions)))


def build_slides(data, changes=None, questions=()) -> list[Slide]:  # type: ignore[no-untyped-def]
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


def _ask_on_the_slide(data, slide: Slide) -> None:  # type: ignore[no-untyped-def]
    """The chair's (or a board member's) compact form: a question or action on a line of this slide's outcome, or
    on a line the slide lists (in its order); never the whole plan, which can run to thousands of lines."""
    if not ui.may_ask():
        return
    if slide.outcome_ref is not None:
        lines = data.lines[data.lines["outcome_ref"] == slide.outcome_ref]
    else:
        lines = data.lines[data.lines["ref"].isin(slide.line_refs)]
    action = lines["action"].fillna("")
    text = action.where(action.astype(bool), lines["objective"])
    choices = [(str(ref), _short(words, 70)) for ref, words in zip(lines["ref"], text, strict=True)]
    if slide.outcome_ref is None:
        offered = dict(choices)
        choices = [(ref, offered[ref]) for ref in dict.fromkeys(slide.line_refs) if ref in offered]
    # The timer moves the slide on (and the form's list of lines with it) while someone types.
    advice = (
        "Pause the timer first: the slides move on while you type." if interval and not state["board_paused"] else None
    )
    ui.ask_form(None, data.quarter, key="display", label="Ask", choices=choices, help=advice or "A question or action")


def _indicator_charts(charts: list[tuple[str, object]]) -> None:
    columns = st.columns(len(charts), gap="medium")
    for column, (ref, frame) in zip(columns, charts, strict=True):
        recent = frame.sort_values("quarter").tail(TREND_QUARTERS)  # type: ignore[attr-defined]
        chart = (
            ui.indicator_chart(recent, title=_short(f"{ref} {recent['name'].iloc[0]}", 70))
            # fit-x with the padding inside: the axis labels stay within the column instead of spilling over.
            .properties(height=200, width="container", autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
            .configure_axis(labelFontSize=16, titleFontSize=16, labelColor="#000000", titleColor="#000000")
            .configure_title(fontSize=18, color="#000000")
            .configure_legend(labelFontSize=16, labelColor="#000000")
            .configure_text(fontSize=16)
        )
        # theme=None: Streamlit's chart theme would shrink and grey the text set here for the room.
        with column:
            st.altair_chart(chart, use_container_width=True, theme=None)


st.markdown(CSS, unsafe_allow_html=True)
ui.board_keys()  # arrows and Space drive the slides when no control has focus
filters, options = ui.resolved_filters()
interval = _seconds(st.query_params.get("interval"))
state = st.session_state
state.setdefault("board_paused", False)
state.setdefault("board_shown_at", time.time())
SLIDE_KEY = f"board_slide:{filters.plan}:{filters.quarter}"


def _go(to: int, count: int) -> None:
    state[SLIDE_KEY] = to % count
    state["board_shown_at"] = time.time()


def _toggle_pause() -> None:
    state["board_paused"] = not state["board_paused"]
    state["board_shown_at"] = time.time()


def _address(current: int) -> None:
    """Rewrite the address in place (no history entry), so a bookmark reopens this slide and Back leaves."""
    params = {"plan": filters.plan, "quarter": filters.quarter, "slide": str(current + 1)}
    if interval:
        params["interval"] = str(interval)
    ui.board_address(params)


@ui.refreshing_fragment(run_every=interval or REFRESH_SECONDS)
def board() -> None:
    """One slide and the controls; reruns on its own to advance the timer and re-read the data."""
    if filters.quarter is None:
        st.info("This plan has no quarters to show yet.")
        ui.menu_link()
        return
    stamp = ui.load_latest_return_at(filters.quarter, filters.plan)
    data = ui.load_board_data(filters.quarter, filters.plan)
    # The board data already holds what changed since last quarter (same plan, quarter and counted returns).
    changes = data.changes if data.changes is not None else ui.load_changes(filters.plan, filters.quarter)
    slides = build_slides(data, changes, ui.load_questions(filters.plan, open_only=True))
    count = len(slides)
    if SLIDE_KEY not in state:  # the address counts when the display opens (a bookmark, a pasted link)
        state[SLIDE_KEY] = _slide_from_url(count) or 0
    current = min(state[SLIDE_KEY], count - 1)
    if interval and not state["board_paused"] and time.time() - state["board_shown_at"] >= interval - 0.5:
        _go(current + 1, count)
        current = state[SLIDE_KEY]
    state[SLIDE_KEY] = current
    _address(current)

    slide = slides[current]
    fresh = f"latest return accepted {_local(stamp)}" if stamp else "no return accepted yet"
    if counted := ui.counted_note(data.quarter):  # sign-off on: the board sees signed-off returns only
        fresh += f"; {counted}"
    timer = ("paused" if state["board_paused"] else f"next in {interval} s") if interval else "chair's control"
    demo = '<span class="demo">Demonstration data</span>' if data.demo else ""
    title = _esc(slide.title) + (f" <small>({slide.part} of {slide.parts})</small>" if slide.parts > 1 else "")
    st.markdown(
        f'<div class="board"><div class="bar"><span><b>CYP Plan {_esc(data.plan_ref)}</b> · '
        f"<b>{_esc(data.quarter)}</b></span>{demo}"
        f"<span>Data: {_esc(fresh)} · checked {datetime.now().strftime('%H:%M:%S')}</span>"
        f"<span>Slide {current + 1} of {count} · {timer}</span></div>"
        f"<h1>{title}</h1>{''.join(slide.blocks)}</div>",
        unsafe_allow_html=True,
    )
    if slide.charts:
        _indicator_charts(slide.charts)

    with st.container(horizontal=True, gap="small", key="board-controls"):
        st.button(
            "← Previous",
            key="board_previous",
            on_click=_go,
            args=(current - 1, count),
            width="content",
            help="Previous slide (← key when no button has focus)",
        )
        st.button(
            "▶ Play" if state["board_paused"] else "❚❚ Pause",
            key="board_pause",
            on_click=_toggle_pause,
            help="Pause or resume the timer (space bar when no button has focus)",
            disabled=not interval,
            width="content",
        )
        st.button(
            "Next →",
            key="board_next",
            on_click=_go,
            args=(current + 1, count),
            type="primary",
            width="content",
            help="Next slide (→ key when no button has focus)",
        )
        _ask_on_the_slide(data, slide)
        ui.menu_link()


board()
