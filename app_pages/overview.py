"""Overview: the plan at a glance for a quarter: a tile per outcome, the index domains, returns in, both plans."""

import streamlit as st

from cyp import ui
from cyp.status import ALL_STATUSES

ui.page_header("CYP Plan Monitor", "Barnet's Children and Young People's Plan, quarter by quarter.")
filters = ui.filter_bar(("quarter", "plan"), columns=2)

if filters.quarter is None:
    st.info("This plan has no quarters to show yet.")
else:
    signed_off_only = ui.view_switch(filters.quarter)  # sign-off on: signed-off returns unless switched
    summary = ui.load_outcome_summary(filters.quarter, filters.plan, signed_off_only)
    st.header(f"Outcomes in {filters.quarter}")
    ui.rollup_rule_note()
    outcomes = summary.to_dict("records")
    per_row = 4
    for start in range(0, len(outcomes), per_row):
        columns = st.columns(per_row)
        for column, outcome in zip(columns, outcomes[start : start + per_row], strict=False):
            counts = {status: outcome[status] for status in ALL_STATUSES}
            with column:
                tile = ui.status_tile(
                    f"{outcome['outcome_ref']} · {outcome['outcome']}",
                    outcome["status"],
                    counts,
                    ui.change_note(outcome["status"], outcome["previous_status"]),
                )
                tile.page_link(
                    "app_pages/outcome.py",
                    # A link's name says where it goes (WCAG 2.4.4).
                    label=f"Open {ui.escape_markdown(outcome['outcome'])}",
                    icon=":material/arrow_forward:",
                    query_params=filters.replace(outcome=outcome["outcome_ref"]).to_query_params(),
                )

    st.header("Family Friendly Index at a glance")
    ui.index_mapping_note()
    domains = ui.load_domain_summary(filters.quarter, filters.plan, signed_off_only=signed_off_only)
    columns = st.columns(3)
    for position, domain in enumerate(domains.to_dict("records")):
        counts = {status: domain[status] for status in ALL_STATUSES}
        gaps = "Gaps: " + ", ".join(domain["gaps"]) if domain["gaps"] else None
        with columns[position % 3]:
            ui.status_tile(f"{domain['domain_ref']} · {domain['domain']}", domain["status"], counts, gaps)
    st.page_link(
        "app_pages/index_domains.py",
        label="Family Friendly Index in detail",
        icon=":material/arrow_forward:",
        query_params=filters.to_query_params(),
    )

    st.header("Returns in")
    tracker = ui.load_tracker(filters.quarter)
    states = tracker["state"].value_counts()
    columns = st.columns(4)
    columns[0].metric("Returns received", f"{ui.returns_received(tracker)} of {len(tracker)}")
    columns[1].metric("On time", int(states.get("On time", 0)))
    columns[2].metric("Late", int(states.get("Late", 0)))
    columns[3].metric("Missing", int(states.get("Missing", 0)))
    if states.get("Not due yet", 0):
        st.caption(f"{int(states['Not due yet'])} team(s) are not due yet.")
    st.page_link(
        "app_pages/tracker.py",
        label="Submission tracker",
        icon=":material/arrow_forward:",
        query_params=filters.to_query_params(),
    )

st.header("Plans")
plans = ui.load_plan_summaries()
for plan in plans.itertuples():
    with st.container(border=True):
        current = " (current plan)" if plan.is_current else ""
        # The heading (h3 under the h2 "Plans": no skipped level) and the counts in one block: as four metrics in
        # four columns they were 9 elements more, and every session opening the Overview draws them.
        st.markdown(
            f"### {ui.escape_markdown(plan.title)}{current}\n\n"
            f"**{plan.outcomes}** {ui.escape_markdown(plan.outcomes_label.lower())} · "
            f"**{plan.objectives}** objectives · **{plan.actions}** actions · **{plan.indicators}** indicators"
        )
        st.page_link(
            "app_pages/framework.py",
            label=f"Browse the {ui.escape_markdown(plan.period)} framework",
            query_params={"plan": plan.ref},
        )
