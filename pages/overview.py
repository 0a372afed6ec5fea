"""Overview: the plans at a glance."""

import streamlit as st

from cyp import ui
from cyp.framework.browse import plan_summaries

ui.page_header("CYP Plan Monitor", "Barnet's Children and Young People's Plan, quarter by quarter.")

with ui.session() as session:
    plans = plan_summaries(session)

if plans.empty:
    st.error("No plan is loaded. Run `python -m cyp init` to load the plan framework.")
    st.stop()

st.subheader("Plans")
for plan in plans.itertuples():
    with st.container(border=True):
        current = " (current plan)" if plan.is_current else ""
        st.markdown(f"### {plan.title}{current}")
        columns = st.columns(4)
        columns[0].metric("Outcomes" if plan.ref == "2019-23" else "Outcomes / themes", plan.outcomes)
        columns[1].metric("Objectives", plan.objectives)
        columns[2].metric("Actions", plan.actions)
        columns[3].metric("Indicators", plan.indicators)
        st.page_link("pages/framework.py", label=f"Browse the {plan.period} framework", query_params={"plan": plan.ref})
