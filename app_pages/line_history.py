"""Line history: one line across every quarter and every version of its team's return, with every update."""

import pandas as pd
import streamlit as st

from cyp import ui

ui.page_header("Line history", "One line across all quarters and all versions, with every progress update.")
line_ref = (st.query_params.get("line") or "").strip()
known = ui.load_line_info(line_ref) if line_ref else None
# List the lines of the linked line's own plan, so the box names it even when the URL's plan is another.
filters, options = ui.resolved_filters(ui.current_filters().replace(plan=known["plan"]) if known else None)

# Choosing a line here: every line of the plan, so the page also works without a link.
lines = ui.load_line_statuses(filters.quarter, filters.plan, None) if filters.quarter else pd.DataFrame()
choices = list(lines["ref"]) if not lines.empty else []
if line_ref and line_ref not in choices:
    choices = [line_ref, *choices]
labels = dict(zip(lines.get("ref", []), lines.get("action", []), strict=False)) if not lines.empty else {}
# No widget key, so the box always shows the line in the address (see ui.filter_bar).
picked = st.selectbox(
    "Line",
    [None, *choices],
    index=choices.index(line_ref) + 1 if line_ref else 0,
    format_func=lambda ref: "Choose a line" if ref is None else f"{ref} · {(labels.get(ref) or '')[:90]}",
)
if picked:
    if st.query_params.get("line") != picked:
        st.query_params["line"] = picked
    line_ref = picked
if not line_ref:
    st.info("Choose a line above, or follow a History link from any table of lines.")
    st.stop()

info = ui.load_line_info(line_ref)
if info is None:
    st.error(f"There is no line '{ui.escape_markdown(line_ref)}'. Check the link, or choose a line above.")
    st.stop()
st.header(f"{ui.escape_markdown(info['ref'])} · {ui.escape_markdown(info['action'])}")
st.markdown(
    f"**Plan:** {ui.escape_markdown(info['plan_title'])}  \n"
    f"**Outcome:** {ui.escape_markdown(info['outcome_ref'])} · {ui.escape_markdown(info['outcome'])}  \n"
    f"**Objective:** {ui.escape_markdown(info['objective_ref'])} · {ui.escape_markdown(info['objective'])}  \n"
    f"**Responsible:** {ui.responsible_text(info['teams'], info['is_demo'])}  \n"
    f"**Monitored by:** {ui.escape_markdown(info['bodies']) or 'not recorded'}"
)
st.page_link(
    "app_pages/outcome.py",
    label=f"Back to {ui.escape_markdown(info['outcome'])}",
    icon=":material/arrow_back:",
    query_params={
        **ui.line_filters(ui.current_filters()).replace(objective=None).to_query_params(),
        "plan": info["plan"],
        "outcome": info["outcome_ref"],
        **({"quarter": filters.quarter} if filters.plan == info["plan"] and filters.quarter else {}),
    },
)


def show_questions() -> None:
    """Every board question on this line (open first), the form to ask one, and an administrator's close form."""
    asked = ui.load_questions(line_ref=line_ref, open_only=False)
    st.subheader("Board questions")
    ui.closed_note()
    if not asked:
        st.caption("The board has not asked about this line.")
    for row in sorted(asked, key=lambda question: not question.is_open):
        with st.container(border=True):
            ui.question_notes([row], heading="Board asked" if row.is_open else "Board asked (closed)")
            ui.close_form(row, key=f"history_{row.id}")
    if filters.plan == info["plan"] and filters.quarter:
        ui.ask_form(line_ref, filters.quarter, key=f"history_{line_ref}", label="Record a board question")


show_questions()

history = ui.load_line_history(line_ref)
if history.empty:
    st.info("No team has reported on this line yet.")
    st.stop()

current = history[history["is_current"]]
trend = ui.load_line_trends(info["plan"], tuple(sorted(set(current["quarter"]))))
trend = trend[trend["ref"] == line_ref]
st.markdown("**Status by quarter (current versions):** " + ui.trend_icons(trend))

st.subheader("Every update, newest first")
for row in history.iloc[::-1].to_dict("records"):
    with st.container(border=True):
        version = f"version {row['version']}" + (
            " (current)" if row["is_current"] else " (replaced by a later version)"
        )
        when = pd.Timestamp(row["uploaded_at"]).strftime("%d %B %Y %H:%M") if row["uploaded_at"] is not None else ""
        st.markdown(
            f"**{ui.escape_markdown(row['quarter'])}** &nbsp; {ui.status_badge_html(row['status'])} &nbsp; "
            f"{ui.escape_markdown(row['team'])}, {version}, uploaded by {ui.escape_markdown(row['uploaded_by'])} {when}"
            + (" · demo data" if row["is_demo"] else ""),
            unsafe_allow_html=True,
        )
        st.markdown(f"**Progress:** {ui.escape_markdown(row['progress']) or '—'}")
        st.markdown(f"**Next steps:** {ui.escape_markdown(row['next_steps']) or '—'}")
        st.markdown(f"**Risks and issues:** {ui.escape_markdown(row['risks']) or '—'}")
