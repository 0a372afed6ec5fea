"""Outcome page: one outcome's objectives and lines with status, commentary and trend, and its indicators."""

import textwrap

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
outcome = ui.load_outcome_record(filters.quarter, filters.plan, filters.outcome, signed_off_only)
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
    changes = ui.load_changes(filters.plan, filters.quarter, signed_off_only, outcome_ref=filters.outcome)
    ui.changes_summary(changes, filters.outcome)


show_changes()

quarters = ui.trend_quarters(filters.quarter, options)
# Grouped by objective once per data, with each card's values ready: every session's run only draws them.
lines = ui.load_outcome_lines(
    filters.quarter, filters.plan, ui.line_filters(filters), quarters, CARD_LIMIT, ATTENTION_STATUSES, signed_off_only
)
if caption := ui.filter_caption(filters):
    st.info(caption + f" {lines.count} line(s) match.", icon=":material/filter_alt:")

objectives = [(ref, text) for ref, text, parent in options.objectives if parent == filters.outcome]
if filters.objective:
    objectives = [(ref, text) for ref, text in objectives if ref == filters.objective]
open_questions = ui.questions_by_line(ui.load_questions(filters.plan, outcome_ref=filters.outcome))
# Every filter rides along, so the history's address (and its way back) keeps the whole view.
view_params = filters.to_query_params()


def show_line(card: ui.LineCard) -> None:
    """One line as a card: status, who, trend, commentary (one block), its open board questions, a link to its
    history."""
    with st.container(border=True):
        st.markdown(ui.line_card_markdown(card), unsafe_allow_html=True)
        ui.question_notes(open_questions.get(card.ref, []))
        st.page_link(
            "app_pages/line_history.py",
            label=f"History of {ui.escape_markdown(card.ref)}",
            icon=":material/history:",
            query_params={**view_params, "line": card.ref},
        )


for objective_ref, objective_text in objectives:
    group = lines.objectives.get(objective_ref)
    st.subheader(f"{ui.escape_markdown(objective_ref)} · {ui.escape_markdown(objective_text)}")
    if group is None:
        st.caption("No lines match the filters for this objective." if ui.filter_caption(filters) else "No lines yet.")
        continue
    st.markdown(
        f"Objective status: {ui.status_badge_html(ui.rollup_status(group.counts))} &nbsp; "
        f"{ui.distribution_text(group.counts)}",
        unsafe_allow_html=True,
    )
    # One form per objective, the line picked in it: a form on every card was seven elements a card, a third of the
    # page's cost when a meeting's sessions open it at once.
    ui.ask_form(
        None,
        filters.quarter,
        key=f"outcome_{objective_ref}",
        label=f"Ask the team about a line of {objective_ref}",
        choices=[(card.ref, textwrap.shorten(card.text, 70, placeholder="…")) for card in group.cards],
    )
    # Lines needing attention come first; a long objective shows the first cards and the rest as one table,
    # because thousands of cards take seconds to render and nobody reads them on one screen.
    show_all = len(group.cards) <= CARD_LIMIT or st.toggle(
        f"Show all {len(group.cards)} lines of {ui.escape_markdown(objective_ref)} in full",
        key=f"all_lines_{objective_ref}",
    )
    for card in group.cards if show_all else group.cards[:CARD_LIMIT]:
        show_line(card)
    if not show_all:
        st.markdown(
            f"**{len(group.rest)} more lines** in {ui.escape_markdown(objective_ref)}, listed below. Narrow them "
            "with the Team or Status filter above, or show them all in full with the switch."
        )
        ui.shared_dataframe(group.rest, hide_index=True, width="stretch")
    strip = group.strip_all if show_all else group.strip_first
    if len(quarters) > 1 and not strip.empty:
        # Drawn only while open (opening it reruns the page): a chart and its table nobody opened are serialised in
        # every run of every session otherwise.
        trends = st.expander(f"Status by quarter for {ui.escape_markdown(objective_ref)}'s lines", on_change="rerun")
        if trends.open:
            with trends:
                title = f"{objective_ref}: status by quarter"
                trend = ui.status_trend_chart(strip, title=title)
                ui.chart_with_data(trend, ui.chart_table(strip, "trend"), title, nested=True)

st.header("Indicators")
panels = ui.load_indicator_panels(filters.outcome, filters.quarter, signed_off_only)
if not panels:
    st.caption("No indicator values reported for this outcome up to this quarter.")
else:
    columns = st.columns(2)
    for position, panel in enumerate(panels):
        latest = panel.latest
        status = latest["status"]
        with columns[position % 2], st.container(border=True):
            badge = ui.status_badge_html(status) if isinstance(status, str) else "no target set"
            direction = latest["direction_text"]
            better = {"higher": "higher is better", "lower": "lower is better"}.get(latest["polarity"], "")
            st.markdown(
                f"**{ui.escape_markdown(latest['name'])}** ({ui.escape_markdown(panel.ref)})\n\n"
                f"Latest ({latest['quarter']}): **{latest['value']:g}** {ui.escape_markdown(latest['unit'])} · "
                f"{badge} · direction of travel: **{direction}** {f'({better})' if better else ''}",
                unsafe_allow_html=True,
            )
            values = panel.values
            ui.chart_with_data(ui.indicator_chart(values), ui.chart_table(values, "indicator"), panel.ref)

with st.expander("What the statuses mean"):
    st.markdown("\n".join(f"- {STATUS_ICONS[s]} **{s}**: {STATUS_MEANINGS[s]}" for s in ALL_STATUSES))
    st.caption(f"Statuses are shown as {', '.join(ui.status_label(s) for s in ALL_STATUSES)}.")
