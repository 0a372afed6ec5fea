"""Plan framework: browse outcome → objective → action, and the Family Friendly Index mapping."""

import pandas as pd
import streamlit as st

from cyp import ui

ui.page_header("Plan framework", "Outcomes, objectives and actions of each plan, and how they map to the index.")

refs = [ref for ref, _title, _current in ui.load_plans()]
if not refs:
    st.error("No plan is loaded. Run `python -m cyp init` to load the plan framework.")
    st.stop()
chosen = st.query_params.get("plan", refs[0])
plan_ref = st.selectbox("Plan", refs, index=refs.index(chosen) if chosen in refs else 0)
st.query_params["plan"] = plan_ref
plan = ui.load_plan_outline(plan_ref)
assert plan is not None
actions = ui.load_plan_actions(plan_ref)
# Each objective's table, made once for the whole plan and split by objective (a plan can have thousands of lines).
tables = (
    actions.assign(responsible=ui.responsible_column(actions["responsible"], actions["is_demo"]))
    .drop(columns=["objective_ref", "is_demo"])
    .rename(columns={"ref": "Ref", "action": "Action", "responsible": "Responsible", "monitored_by": "Monitored by"})
)
actions_of = {ref: frame for ref, frame in tables.groupby(actions["objective_ref"], sort=False)}

st.header(ui.escape_markdown(plan.title))
st.caption(f"Financial years {plan.first_year}-{plan.first_year + 1} to {plan.last_year}-{plan.last_year + 1}")
if plan.vision:
    st.markdown(f"**Vision.** {ui.escape_markdown(plan.vision)}")
if plan.drivers:
    st.subheader("Cross-cutting drivers")
    st.markdown(
        "\n".join(f"- **{ui.escape_markdown(name)}** ({ui.escape_markdown(ref)})" for ref, name in plan.drivers)
    )

for outcome in plan.outcomes:
    group = f" · {ui.escape_markdown(outcome.group)}" if outcome.group else ""
    with st.expander(f"{ui.escape_markdown(outcome.ref)} · {ui.escape_markdown(outcome.name)}{group}", expanded=False):
        if outcome.description:
            st.markdown(f"*{ui.escape_markdown(outcome.description)}*")
        for objective_ref, objective_text in outcome.objectives:
            st.markdown(f"**{ui.escape_markdown(objective_ref)} · {ui.escape_markdown(objective_text)}**")
            if objective_ref in actions_of:
                st.dataframe(actions_of[objective_ref], hide_index=True, width="stretch")
            else:
                st.caption("No actions recorded for this objective yet.")
        if outcome.indicators:
            st.markdown("**What we know (indicators)**")
            st.dataframe(pd.DataFrame(outcome.indicators), hide_index=True, width="stretch")

st.header("Family Friendly Index")
ui.index_mapping_note()
# This plan's mappings only: the counts and lists are of the plan chosen above.
mappings = ui.load_domain_mappings(plan_ref)
for domain_ref, domain_name in ui.load_index_domains():
    mapped = mappings[mappings.domain_ref == domain_ref]
    label = f"{ui.escape_markdown(domain_ref)} · {ui.escape_markdown(domain_name)}"
    with st.expander(f"{label} ({len(mapped)} mapped in {ui.escape_markdown(plan_ref)})"):
        if mapped.empty:
            st.caption("Nothing of this plan is mapped to this domain yet.")
        else:
            st.dataframe(
                mapped[["plan", "kind", "ref", "text", "reason"]].rename(
                    columns={
                        "plan": "Plan",
                        "kind": "Kind",
                        "ref": "Ref",
                        "text": "Text",
                        "reason": "Why it is mapped (the project's judgement)",
                    }
                ),
                hide_index=True,
                width="stretch",
            )
