"""Outcome page: one outcome's objectives and lines with status, commentary and trend, and its indicators."""

import pandas as pd
import streamlit as st

from cyp import ui
from cyp.read.charts import STATUS_ICONS
from cyp.status import ALL_STATUSES, STATUS_MEANINGS

# Cards shown per objective before the rest are listed in a table; the lines needing attention come first.
CARD_LIMIT = 25
ATTENTION_STATUSES = ("Red", "Amber", "No return")

ui.page_header("Outcomes", "Each outcome's objectives and lines: status, who is responsible, what they are doing.")
filters, options = ui.resolved_filters()
if filters.outcome is None and options.outcomes:
    ui.write_filters(filters.replace(outcome=options.outcomes[0][0]))
filters = ui.filter_bar(("quarter", "plan", "objective", "team", "body", "domain", "driver", "status"), columns=4)
if filters.quarter is None or not options.outcomes:
    st.info("This plan has no outcomes or quarters to show yet.")
    st.stop()
if filters.outcome is None:
    filters = filters.replace(outcome=options.outcomes[0][0])
    ui.write_filters(filters)

# One click to any other outcome, carrying every other filter along.
filters = ui.outcome_switcher(filters, options)

signed_off_only = ui.view_switch(filters.quarter)  # sign-off on: signed-off returns unless switched
summary = ui.load_outcome_summary(filters.quarter, filters.plan, signed_off_only)
outcome = summary[summary["outcome_ref"] == filters.outcome].to_dict("records")[0]
st.header(f"{ui.escape_markdown(outcome['outcome_ref'])} · {ui.escape_markdown(outcome['outcome'])}")
counts = {status: outcome[status] for status in ALL_STATUSES}
change = ui.change_note(outcome["status"], outcome["previous_status"])
st.markdown(
    f"Overall in {filters.quarter}: {ui.status_badge_html(outcome['status'], '1.2rem')} "
    f"&nbsp; {ui.distribution_text(counts)} &nbsp; · &nbsp; {change}",
    unsafe_allow_html=True,
)
ui.rollup_rule_note()


def show_changes() -> None:
    """What changed in this outcome since last quarter: counts, and the lines in an expander."""
    ui.changes_summary(ui.load_changes(filters.plan, filters.quarter, signed_off_only), filters.outcome)


show_changes()

lines = ui.load_line_statuses(filters.quarter, filters.plan, ui.line_filters(filters), signed_off_only)
if caption := ui.filter_caption(filters):
    st.info(caption + f" {len(lines)} line(s) match.", icon=":material/filter_alt:")
quarters = ui.trend_quarters(filters.quarter, options)
trends = ui.load_line_trends(filters.plan, quarters, signed_off_only)
trends = trends[trends["ref"].isin(lines["ref"])]

objectives = [(ref, text) for ref, text, parent in options.objectives if parent == filters.outcome]
if filters.objective:
    objectives = [(ref, text) for ref, text in objectives if ref == filters.objective]
trend_by_line = dict(tuple(trends.groupby("ref", sort=False)))
no_trend = trends.iloc[0:0]
open_questions = ui.questions_by_line(ui.load_questions(filters.plan, outcome_ref=filters.outcome))


def show_line_questions(line: dict) -> None:
    """The line's open board questions, and the form to record one (for the roles that may ask)."""
    ui.question_notes(open_questions.get(line["ref"], []))
    ui.ask_form(line["ref"], filters.quarter, key=f"outcome_{line['ref']}")


def show_line(line: dict) -> None:
    """One line as a card: status, who, trend, commentary and a link to its history."""
    with st.container(border=True):
        text = line["objective"] if line["whole_objective"] or not line["action"] else line["action"]
        moved = line["change"] if line["change"] in ("Improved", "Worse") else None
        change = f" — **{moved.lower()} since last quarter**" if moved else ""
        st.markdown(
            f"{ui.status_badge_html(line['status'])} &nbsp; **{ui.escape_markdown(line['ref'])}** "
            f"{ui.escape_markdown(text)}{change}",
            unsafe_allow_html=True,
        )
        who = st.columns([2, 2, 3])
        who[0].markdown(f"**Responsible:** {ui.responsible_text(line['teams'], line['is_demo'])}")
        who[1].markdown(f"**Monitored by:** {ui.escape_markdown(line['bodies']) or 'not recorded'}")
        who[2].markdown(f"**Trend:** {ui.trend_icons(trend_by_line.get(line['ref'], no_trend))}")
        if line["status"] == "No return":
            st.markdown("*No update this quarter.*")
        else:
            st.markdown(f"**Progress:** {ui.escape_markdown(line['progress']) or '—'}")
            st.markdown(f"**Next steps:** {ui.escape_markdown(line['next_steps']) or '—'}")
            st.markdown(f"**Risks and issues:** {ui.escape_markdown(line['risks']) or '—'}")
        show_line_questions(line)
        st.page_link(
            "app_pages/line_history.py",
            label=f"History of {ui.escape_markdown(line['ref'])}",
            icon=":material/history:",
            # Every filter rides along, so the history's address (and its way back) keeps the whole view.
            query_params={**filters.to_query_params(), "line": line["ref"]},
        )


for objective_ref, objective_text in objectives:
    objective_lines = lines[lines["objective_ref"] == objective_ref]
    st.subheader(f"{ui.escape_markdown(objective_ref)} · {ui.escape_markdown(objective_text)}")
    if objective_lines.empty:
        st.caption("No lines match the filters for this objective." if ui.filter_caption(filters) else "No lines yet.")
        continue
    objective_counts = objective_lines["status"].value_counts().to_dict()
    st.markdown(
        f"Objective status: {ui.status_badge_html(ui.rollup_status(objective_counts))} &nbsp; "
        f"{ui.distribution_text(objective_counts)}",
        unsafe_allow_html=True,
    )
    # Lines needing attention come first; a long objective shows the first cards and the rest as one table,
    # because thousands of cards take seconds to render and nobody reads them on one screen.
    attention = objective_lines["status"].isin(ATTENTION_STATUSES)
    ordered = pd.concat([objective_lines[attention], objective_lines[~attention]])
    show_all = len(ordered) <= CARD_LIMIT or st.toggle(
        f"Show all {len(ordered)} lines of {ui.escape_markdown(objective_ref)} in full",
        key=f"all_lines_{objective_ref}",
    )
    carded = ordered if show_all else ordered.head(CARD_LIMIT)
    for line in carded.to_dict("records"):
        show_line(line)
    if not show_all:
        rest = ordered.iloc[CARD_LIMIT:]
        st.markdown(
            f"**{len(rest)} more lines** in {ui.escape_markdown(objective_ref)}, listed below. Narrow them with the "
            "Team or Status filter above, or show them all in full with the switch."
        )
        st.dataframe(
            rest.assign(teams=ui.responsible_column(rest["teams"], rest["is_demo"]))[
                ["ref", "status", "teams", "progress"]
            ].rename(columns={"ref": "Line", "status": "Status", "teams": "Responsible", "progress": "Progress"}),
            hide_index=True,
            width="stretch",
        )
    strip = trends[trends["ref"].isin(carded["ref"])].rename(columns={"ref": "line"})
    if len(quarters) > 1 and not strip.empty:
        with st.expander(f"Status by quarter for {ui.escape_markdown(objective_ref)}'s lines"):
            title = f"{objective_ref}: status by quarter"
            trend = ui.status_trend_chart(strip, title=title)
            ui.chart_with_data(trend, ui.chart_table(strip, "trend"), title, nested=True)

st.header("Indicators")
series = ui.load_indicator_series(None, filters.outcome, signed_off_only)
series = series[series["quarter"] <= filters.quarter]
if series.empty:
    st.caption("No indicator values reported for this outcome up to this quarter.")
else:
    columns = st.columns(2)
    for position, (ref, values) in enumerate(series.groupby("ref", sort=False)):
        latest = values.iloc[-1]
        status = latest["status"]
        with columns[position % 2], st.container(border=True):
            st.markdown(f"**{ui.escape_markdown(latest['name'])}** ({ui.escape_markdown(ref)})")
            badge = ui.status_badge_html(status) if isinstance(status, str) else "no target set"
            direction = latest["direction_text"]
            better = {"higher": "higher is better", "lower": "lower is better"}.get(latest["polarity"], "")
            st.markdown(
                f"Latest ({latest['quarter']}): **{latest['value']:g}** {ui.escape_markdown(latest['unit'])} · "
                f"{badge} · direction of travel: **{direction}** {f'({better})' if better else ''}",
                unsafe_allow_html=True,
            )
            ui.chart_with_data(ui.indicator_chart(pd.DataFrame(values)), ui.chart_table(values, "indicator"), ref)

with st.expander("What the statuses mean"):
    st.markdown("\n".join(f"- {STATUS_ICONS[s]} **{s}**: {STATUS_MEANINGS[s]}" for s in ALL_STATUSES))
    st.caption(f"Statuses are shown as {', '.join(ui.status_label(s) for s in ALL_STATUSES)}.")
