"""Board display: the quarter on the meeting-room screen, a slide at a time, with no app chrome.

Slides: the quarter at a glance, one per outcome, then the exceptions. The address holds plan, quarter, slide and
interval (``?plan=2019-23&quarter=2022-23 Q4&slide=2&interval=20``), so it can be bookmarked. ``interval`` (seconds)
turns the timer on; without it the chair drives with the buttons or the keyboard (← previous, → next, space pause).
A timed fragment re-reads the data, so a return accepted during the meeting appears without a reload.
"""

import time
from datetime import datetime

import streamlit as st

from cyp import ui
from cyp.read.reports import ViewFilters

REFRESH_SECONDS = 20  # how often the data is re-read when the timer is off
MIN_INTERVAL = 5
MAX_ON_SLIDE = {"objectives": 8, "reds": 3, "indicators": 2, "exceptions": 6}

CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
[data-testid="stToolbar"], [data-testid="stHeader"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
header { display: none !important; }
[data-testid="stAppViewContainer"], [data-testid="stMain"] { background: #ffffff; color: #000000; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 24px 56px 16px 56px !important; }
.board { font-size: 30px; line-height: 1.3; color: #000000; }
.board h1 { font-size: 60px; line-height: 1.1; margin: 0 0 12px 0; padding: 0; font-weight: 700; }
.board h2 { font-size: 38px; margin: 18px 0 10px 0; padding: 0; font-weight: 700; }
.board .bar { font-size: 26px; color: #1a1a1a; border-bottom: 3px solid #1a1a1a; padding-bottom: 8px;
  margin-bottom: 16px; display: flex; justify-content: space-between; gap: 24px; }
.board .demo { background: #fff3cd; border: 2px solid #1a1a1a; padding: 0 12px; font-weight: 700; }
.board .tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 18px; }
.board .tile { border: 3px solid #1a1a1a; border-radius: 12px; padding: 14px 18px; }
.board .tile .name { font-weight: 700; font-size: 30px; margin-bottom: 8px; }
.board .dist { font-size: 26px; margin-top: 8px; }
.board .row { display: flex; gap: 16px; align-items: baseline; margin: 6px 0; }
.board .ref { font-weight: 700; white-space: nowrap; }
.board .quote { font-size: 26px; margin: 2px 0 12px 0; padding-left: 16px; border-left: 6px solid #D55E00; }
.board .note { font-size: 24px; color: #1a1a1a; }
.board .cols { display: grid; grid-template-columns: 1fr 1fr; gap: 40px; }
[data-testid="stBaseButton-secondary"], [data-testid="stBaseButton-primary"] { font-size: 28px !important;
  min-height: 64px; padding: 8px 28px !important; }
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p { font-size: 28px !important; }
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


def _esc(text: object) -> str:
    # The slides are raw HTML blocks: the one escaping function, in its HTML form.
    return ui.escape_markdown(text, inside_html=True)


def _teams(line: dict) -> str:
    # A team the demo made up for a 2023-27 line is never shown as the plan's.
    teams = "" if line.get("teams") is None else str(line["teams"])
    return f"{teams} ({ui.DEMO_ASSIGNMENT})" if bool(line.get("is_demo")) and teams else teams


def _short(text: object, limit: int = 230) -> str:
    clean = " ".join(str(text).split()) if text is not None and str(text) != "nan" else ""
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


def _badge(status: str) -> str:
    return ui.status_badge_html(status, "28px")


def _local(iso: str) -> str:
    """An ISO time as London wall-clock time for the room."""
    moment = datetime.fromisoformat(iso)
    try:
        from zoneinfo import ZoneInfo

        moment = moment.astimezone(ZoneInfo("Europe/London"))
    except Exception:  # noqa: BLE001 - no time-zone database: show UTC and say so
        return moment.strftime("%d %b %Y, %H:%M UTC")
    return moment.strftime("%d %b %Y, %H:%M")


def _summary_slide(data) -> str:  # type: ignore[no-untyped-def]
    totals = data.totals()
    tiles = "".join(
        f'<div class="tile"><div class="name">{_esc(o["name"])}</div>{_badge(o["status"])}'
        f'<div class="dist">{_esc(ui.distribution_text(o["counts"]))}</div></div>'
        for o in data.outcomes
    )
    tracker = data.tracker
    received = ui.returns_received(tracker)
    return (
        f"<h1>{_esc(data.quarter)} at a glance</h1>"
        f'<div class="row"><span>All {sum(totals.values())} lines:</span>'
        f"<span>{_esc(ui.distribution_text(totals))}</span></div>"
        f'<div class="row"><span>Returns received: {received} of {len(tracker)} teams</span></div>'
        f'<div class="tiles">{tiles}</div>'
        f'<p class="note">How the overall status is worked out: {_esc(data.rule)}</p>'
    )


def _outcome_slide(data, ref: str) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    outcome = data.outcome(ref)
    objectives = data.objectives[data.objectives["outcome_ref"] == ref]
    lines = data.lines[data.lines["outcome_ref"] == ref]
    reds = lines[lines["status"] == "Red"]
    rows = "".join(
        f'<div class="row">{_badge(o["status"])}<span class="ref">{_esc(o["objective_ref"])}</span>'
        f"<span>{_esc(_short(o['objective'], 90))}</span></div>"
        for _i, o in objectives.head(MAX_ON_SLIDE["objectives"]).iterrows()
    )
    if len(objectives) > MAX_ON_SLIDE["objectives"]:
        rows += f'<p class="note">and {len(objectives) - MAX_ON_SLIDE["objectives"]} more objectives in the pack</p>'
    red_html = "".join(
        f'<div class="row">{_badge("Red")}<span class="ref">{_esc(line["ref"])}</span>'
        f"<span>{_esc(_teams(line))}</span></div>"
        f'<div class="quote">{_esc(_short(line["progress"]) or "No progress update given.")}</div>'
        for _i, line in reds.head(MAX_ON_SLIDE["reds"]).iterrows()
    )
    if reds.empty:
        red_html = '<p class="note">No Red lines for this outcome.</p>'
    elif len(reds) > MAX_ON_SLIDE["reds"]:
        red_html += f'<p class="note">and {len(reds) - MAX_ON_SLIDE["reds"]} more Red lines on the exceptions slide</p>'
    text = (
        f"<h1>{_esc(outcome['name'])}</h1>"
        f'<div class="row">{ui.status_badge_html(outcome["status"], "34px")}'
        f"<span>{_esc(ui.distribution_text(outcome['counts']))}</span></div>"
        f"<h2>Objectives</h2>{rows}<h2>Red lines: progress</h2>{red_html}"
    )
    indicators = data.indicators[data.indicators["outcome_ref"] == ref]
    return text, indicators


def _indicator_grid(indicators) -> None:  # type: ignore[no-untyped-def]
    st.markdown('<div class="board"><h2>Indicators against target</h2></div>', unsafe_allow_html=True)
    if indicators.empty:
        st.markdown(
            '<div class="board"><p class="note">No indicator values reported yet.</p></div>', unsafe_allow_html=True
        )
        return
    groups = list(indicators.groupby("ref", sort=False))
    shown = groups[: MAX_ON_SLIDE["indicators"]]
    for ref, frame in shown:
        chart = (
            ui.indicator_chart(frame, title=_short(f"{ref} {frame['name'].iloc[0]}", 60))
            .properties(height=230, width=720)
            .configure_axis(labelFontSize=22, titleFontSize=22, labelColor="#000000", titleColor="#000000")
            .configure_title(fontSize=24, color="#000000", limit=820)
            .configure_legend(labelFontSize=22, labelColor="#000000")
            .configure_text(fontSize=22)
        )
        # theme=None: Streamlit's chart theme would shrink and grey the text set here for the room.
        st.altair_chart(chart, use_container_width=False, theme=None)
    if len(groups) > len(shown):
        st.markdown(
            f'<div class="board"><p class="note">and {len(groups) - len(shown)} more indicators in the pack</p></div>',
            unsafe_allow_html=True,
        )


def _exceptions_slide(data) -> str:  # type: ignore[no-untyped-def]
    found = data.exceptions
    limit = MAX_ON_SLIDE["exceptions"]

    def lines(frame, empty: str, with_previous: bool = False) -> str:  # type: ignore[no-untyped-def]
        if frame.empty:
            return f'<p class="note">{empty}</p>'
        out = "".join(
            f'<div class="row">{_badge(line["status"])}<span class="ref">{_esc(line["ref"])}</span>'
            + (f"<span>was {_esc(line['previous_status'])}</span>" if with_previous else "")
            + f"<span>{_esc(_short(_teams(line), 60))}</span></div>"
            for _i, line in frame.head(limit).iterrows()
        )
        return out + (f'<p class="note">and {len(frame) - limit} more in the pack</p>' if len(frame) > limit else "")

    late = found["late"]
    late_html = (
        "".join(
            f'<div class="row"><span class="ref">{_esc(r["state"])}</span><span>{_esc(r["team"])}</span></div>'
            for _i, r in late.head(limit).iterrows()
        )
        if not late.empty
        else '<p class="note">Every team due has returned.</p>'
    )
    return (
        "<h1>Exceptions</h1>"
        '<div class="cols"><div>'
        f"<h2>Red lines ({len(found['red'])})</h2>{lines(found['red'], 'No Red lines.')}"
        f"<h2>Worse than last quarter ({len(found['worse'])})</h2>"
        f"{lines(found['worse'], 'No line is worse than last quarter.', with_previous=True)}"
        "</div><div>"
        f"<h2>No return ({len(found['no_return'])})</h2>{lines(found['no_return'], 'Every line has an update.')}"
        f"<h2>Teams late or missing ({len(late)})</h2>{late_html}"
        "</div></div>"
    )


st.markdown(CSS, unsafe_allow_html=True)
filters, options = ui.resolved_filters()
ui.write_filters(ViewFilters(plan=filters.plan, quarter=filters.quarter))
interval = _seconds(st.query_params.get("interval"))
if interval:
    st.query_params["interval"] = str(interval)
state = st.session_state
state.setdefault("board_paused", False)
state.setdefault("board_shown_at", time.time())


def _go(to: int, count: int) -> None:
    state["board_slide"] = to % count
    state["board_shown_at"] = time.time()


def _toggle_pause() -> None:
    state["board_paused"] = not state["board_paused"]
    state["board_shown_at"] = time.time()


@ui.refreshing_fragment(run_every=interval or REFRESH_SECONDS)
def board() -> None:
    """One slide and the controls; reruns on its own to advance the timer and re-read the data."""
    if filters.quarter is None:
        st.info("This plan has no quarters to show yet.")
        return
    stamp = ui.load_latest_return_at(filters.quarter, filters.plan)
    data = ui.load_board_data(filters.quarter, filters.plan)
    slides = ["summary", *(o["ref"] for o in data.outcomes), "exceptions"]
    count = len(slides)
    from_url = _slide_from_url(count)
    # The address wins when it changed since the display last wrote it (a bookmark, a pasted link).
    if from_url is not None and st.query_params.get("slide") != state.get("board_slide_url"):
        _go(from_url, count)
    current = min(state.get("board_slide", 0), count - 1)
    if interval and not state["board_paused"] and time.time() - state["board_shown_at"] >= interval - 0.5:
        _go(current + 1, count)
        current = state["board_slide"]
    state["board_slide"] = current
    state["board_slide_url"] = str(current + 1)
    if st.query_params.get("slide") != state["board_slide_url"]:
        st.query_params["slide"] = state["board_slide_url"]

    fresh = f"latest return accepted {_local(stamp)}" if stamp else "no return accepted yet"
    timer = ("paused" if state["board_paused"] else f"next in {interval} s") if interval else "chair's control"
    demo = '<span class="demo">Demonstration data</span>' if data.demo else ""
    bar = (
        f'<div class="bar"><span><b>CYP Plan {_esc(data.plan_ref)}</b> · <b>{_esc(data.quarter)}</b></span>{demo}'
        f"<span>Data: {_esc(fresh)} · checked {datetime.now().strftime('%H:%M:%S')}</span>"
        f"<span>Slide {current + 1} of {count} · {timer}</span></div>"
    )
    st.markdown(f'<div class="board">{bar}</div>', unsafe_allow_html=True)
    slide = slides[current]
    if slide == "summary":
        st.markdown(f'<div class="board">{_summary_slide(data)}</div>', unsafe_allow_html=True)
    elif slide == "exceptions":
        st.markdown(f'<div class="board">{_exceptions_slide(data)}</div>', unsafe_allow_html=True)
    else:
        text, indicators = _outcome_slide(data, slide)
        left, right = st.columns([1, 1], gap="large")
        with left:
            st.markdown(f'<div class="board">{text}</div>', unsafe_allow_html=True)
        with right:
            _indicator_grid(indicators)

    controls = st.columns([1, 1, 1, 3])
    controls[0].button(
        "← Previous",
        key="board_previous",
        on_click=_go,
        args=(current - 1, count),
        shortcut="ArrowLeft",
        help="Previous slide (← key)",
    )
    controls[1].button(
        "▶ Play" if state["board_paused"] else "❚❚ Pause",
        key="board_pause",
        on_click=_toggle_pause,
        shortcut="Space",
        help="Pause or resume the timer (space bar)",
        disabled=not interval,
    )
    controls[2].button(
        "Next →",
        key="board_next",
        on_click=_go,
        args=(current + 1, count),
        shortcut="ArrowRight",
        help="Next slide (→ key)",
        type="primary",
    )


board()
