"""Family Friendly Index: the nine domains with the status of their mapped lines, their indicators and the gaps."""

import pandas as pd
import streamlit as st

from cyp import ui
from cyp.status import ALL_STATUSES

# Indicator charts per domain, and on the whole page, before the rest wait for a click (each costs ~0.1 s).
CHART_LIMIT = 3
CHART_BUDGET = 6

ui.page_header(
    "Family Friendly Index",
    "How we monitor progress: the nine domains, the lines and indicators mapped to each, and where data is missing.",
)
filters = ui.filter_bar(("quarter", "plan", "domain"), columns=3)
if filters.quarter is None:
    st.info("This plan has no quarters to show yet.")
    st.stop()

signed_off_only = ui.view_switch(filters.quarter)  # sign-off on: signed-off returns unless switched
domains = ui.load_domain_summary(filters.quarter, filters.plan, filters.domain, signed_off_only)

st.header(f"Mapped lines by domain, {filters.quarter}")
ui.index_mapping_note()
ui.rollup_rule_note()
columns = st.columns(3)
for position, domain in enumerate(domains.to_dict("records")):
    counts = {status: domain[status] for status in ALL_STATUSES}
    with columns[position % 3]:
        ui.status_tile(f"{domain['domain_ref']} · {domain['domain']}", domain["status"], counts)

gaps = domains[domains["gaps"].map(bool)]
st.header("Gaps")
if gaps.empty:
    st.success("Every domain has lines, indicators and current data.", icon=":material/check_circle:")
else:
    st.markdown(
        "\n".join(
            f"- **{ui.escape_markdown(row['domain_ref'])} · {ui.escape_markdown(row['domain'])}**: "
            f"{ui.escape_markdown(', '.join(row['gaps']))}"
            for row in gaps.to_dict("records")
        )
    )

st.header("Domains")
series = ui.load_indicator_series(signed_off_only=signed_off_only)
series = series[series["quarter"] <= filters.quarter]
mapped = ui.load_domain_indicators(filters.plan)
charts_left = CHART_BUDGET
for domain in domains.to_dict("records"):
    counts = {status: domain[status] for status in ALL_STATUSES}
    with st.container(border=True):
        st.subheader(f"{ui.escape_markdown(domain['domain_ref'])} · {ui.escape_markdown(domain['name'])}")
        status = domain["status"]
        if isinstance(status, str):
            st.markdown(
                f"{ui.status_badge_html(status, '1.15rem')} &nbsp; {ui.distribution_text(counts)}",
                unsafe_allow_html=True,
            )
        else:
            st.markdown("*No lines mapped to this domain.*")
        st.caption(
            f"{domain['indicators']} indicator(s) mapped, {domain['indicators_with_data']} with data this quarter."
            + (f" Gaps: {ui.escape_markdown(', '.join(domain['gaps']))}." if domain["gaps"] else "")
        )
        st.page_link(
            "app_pages/exceptions.py",
            label=f"Exceptions in {ui.escape_markdown(domain['name'])}",
            icon=":material/priority_high:",
            query_params=filters.replace(domain=domain["domain_ref"]).to_query_params(),
        )
        refs = [ref for ref, domain_ref in mapped if domain_ref == domain["domain_ref"]]
        shown = series[series["ref"].isin(refs)]
        if shown.empty:
            continue
        # Each chart costs ~0.1 s to build and render: the page charts its first few indicators, lists every
        # indicator's latest value in a table, and charts the rest of a domain only when asked.
        groups = list(shown.groupby("ref", sort=False))
        charted = groups[: min(CHART_LIMIT, charts_left)]
        if len(charted) < len(groups):
            st.dataframe(
                pd.DataFrame([values.iloc[-1] for _, values in groups])[
                    ["ref", "name", "quarter", "value", "unit", "status", "direction"]
                ].rename(
                    columns={
                        "ref": "Indicator",
                        "name": "Name",
                        "quarter": "Latest quarter",
                        "value": "Value",
                        "unit": "Unit",
                        "status": "Status",
                        "direction": "Direction of travel",
                    }
                ),
                hide_index=True,
                width="stretch",
            )
            if st.toggle(
                f"Chart all {len(groups)} indicators of {ui.escape_markdown(domain['domain_ref'])}",
                key=f"charts_{domain['domain_ref']}",
            ):
                charted = groups
        charts_left -= len(charted)
        if not charted:
            continue
        columns = st.columns(min(3, len(charted)))
        for position, (ref, values) in enumerate(charted):
            latest = values.iloc[-1]
            with columns[position % len(columns)]:
                direction = latest["direction_text"]
                st.markdown(
                    f"**{ui.escape_markdown(latest['name'])}** · direction of travel: **{direction}**"
                    + (f" · {ui.status_badge_html(latest['status'])}" if isinstance(latest["status"], str) else ""),
                    unsafe_allow_html=True,
                )
                ui.chart_with_data(
                    ui.indicator_chart(pd.DataFrame(values), title=ref), ui.chart_table(values, "indicator"), ref
                )
