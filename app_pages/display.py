"""Board display: the quarter on the meeting-room screen, a slide at a time, with no app chrome.

Slides: what changed since last quarter, the quarter at a glance, each outcome (continued on further slides when it does
not fit one), its indicators, then the exceptions with the board's open questions. :mod:`cyp.ui.slides` builds them:
type is sized to the screen's height, and each slide is filled up to a budget of lines that fits a 1366×768 screen, so
the same slides fit 1920×1080, 2560×1440 and 3840×2160 without scrolling.
The address holds plan, quarter, slide and interval (``?plan=2019-23&quarter=2022-23 Q4&slide=2&interval=20``) and is
rewritten in place (no history entry per slide), so it can be bookmarked and the browser's Back leaves the display.
``interval`` (seconds) turns the timer on; without it the chair drives with the buttons or the keyboard (← previous,
→ next, space pause) when no button has focus; on a focused button Space and Enter press that button. A signed-in
viewer, approver or administrator (the chair) also has an "Ask" button: a question or action on a line of the slide.
A timed fragment re-reads the data, so a return accepted during the meeting appears without a reload.
"""

import time
from datetime import datetime

import altair as alt
import streamlit as st

from cyp import ui

REFRESH_SECONDS = 20  # how often the data is re-read when the timer is off
MIN_INTERVAL = 5
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


def _local(iso: str) -> str:
    """An ISO time as London wall-clock time for the room."""
    moment = datetime.fromisoformat(iso)
    try:
        from zoneinfo import ZoneInfo

        moment = moment.astimezone(ZoneInfo("Europe/London"))
    except Exception:  # noqa: BLE001 - no time-zone database: show UTC and say so
        return moment.strftime("%d %b %Y, %H:%M UTC")
    return moment.strftime("%d %b %Y, %H:%M")


def _ask_on_the_slide(data, slide: ui.Slide) -> None:  # type: ignore[no-untyped-def]
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
    choices = [(str(ref), ui.shortened(words, 70)) for ref, words in zip(lines["ref"], text, strict=True)]
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
            ui.indicator_chart(recent, title=ui.shortened(f"{ref} {recent['name'].iloc[0]}", 70))
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
    # Worked out once per data (the loaders' shared objects), not in every run of every session's display.
    shown = ui.derived(ui.build_slides, data, changes, ui.load_questions(filters.plan, open_only=True))
    count = len(shown)
    if SLIDE_KEY not in state:  # the address counts when the display opens (a bookmark, a pasted link)
        state[SLIDE_KEY] = _slide_from_url(count) or 0
    current = min(state[SLIDE_KEY], count - 1)
    if interval and not state["board_paused"] and time.time() - state["board_shown_at"] >= interval - 0.5:
        _go(current + 1, count)
        current = state[SLIDE_KEY]
    state[SLIDE_KEY] = current
    _address(current)

    slide = shown[current]
    fresh = f"latest return accepted {_local(stamp)}" if stamp else "no return accepted yet"
    if counted := ui.counted_note(data.quarter):  # sign-off on: the board sees signed-off returns only
        fresh += f"; {counted}"
    timer = ("paused" if state["board_paused"] else f"next in {interval} s") if interval else "chair's control"
    demo = '<span class="demo">Demonstration data</span>' if data.demo else ""
    title = ui.slide_text(slide.title) + (f" <small>({slide.part} of {slide.parts})</small>" if slide.parts > 1 else "")
    st.markdown(
        f'<div class="board"><div class="bar"><span><b>CYP Plan {ui.slide_text(data.plan_ref)}</b> · '
        f"<b>{ui.slide_text(data.quarter)}</b></span>{demo}"
        f"<span>Data: {ui.slide_text(fresh)} · checked {datetime.now().strftime('%H:%M:%S')}</span>"
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
