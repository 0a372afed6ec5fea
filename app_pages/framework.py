"""Plan framework: browse outcome → objective → action, and the Family Friendly Index mapping."""

import pandas as pd
import streamlit as st

from cyp import ui
from cyp.read.browse import domain_mappings, index_domains, load_plan_tree, plan_actions, plan_refs

ui.page_header("Plan framework", "Outcomes, objectives and actions of each plan, and how they map to the index.")

with ui.session() as session:
    refs = plan_refs(session)
    if not refs:
        st.error("No plan is loaded. Run `python -m cyp init` to load the plan framework.")
        st.stop()
    chosen = st.query_params.get("plan", refs[0])
    plan_ref = st.selectbox("Plan", refs, index=refs.index(chosen) if chosen in refs else 0)
    st.query_params["plan"] = plan_ref
    plan = load_plan_tree(session, plan_ref, actions=False)
    assert plan is not None
    actions = plan_actions(session, plan_ref)
    actions_of = {ref: frame for ref, frame in actions.groupby("objective_ref", sort=False)}

    st.header(plan.title)
    st.caption(f"Financial years {plan.first_year}-{plan.first_year + 1} to {plan.last_year}-{plan.last_year + 1}")
    if plan.vision:
        st.markdown(f"**Vision.** {plan.vision}")
    if plan.drivers:
        st.subheader("Cross-cutting drivers")
        st.markdown("\n".join(f"- **{driver.name}** ({driver.ref})" for driver in plan.drivers))

    for outcome in plan.outcomes:
        group = f" · {outcome.group}" if outcome.group else ""
        with st.expander(f"{outcome.ref} · {outcome.name}{group}", expanded=False):
            if outcome.description:
                st.markdown(f"*{outcome.description}*")
            for objective in outcome.objectives:
                st.markdown(f"**{objective.ref} · {objective.text}**")
                if objective.ref in actions_of:
                    st.dataframe(
                        actions_of[objective.ref]
                        .drop(columns="objective_ref")
                        .rename(
                            columns={
                                "ref": "Ref",
                                "action": "Action",
                                "responsible": "Responsible",
                                "monitored_by": "Monitored by",
                            }
                        ),
                        hide_index=True,
                        width="stretch",
                    )
                else:
                    st.caption("No actions recorded for this objective yet.")
            if outcome.indicators:
                st.markdown("**What we know (indicators)**")
                st.dataframe(
                    pd.DataFrame(
                        {
                            "Ref": indicator.ref,
                            "Indicator": indicator.name,
                            "Baseline": indicator.baseline_text,
                            "When": indicator.baseline_period or "",
                            "Better when": indicator.polarity or "not stated",
                        }
                        for indicator in outcome.indicators
                    ),
                    hide_index=True,
                    width="stretch",
                )

    st.header("Family Friendly Index")
    mappings = domain_mappings(session)
    for domain in index_domains(session):
        mapped = mappings[mappings.domain_ref == domain.ref]
        with st.expander(f"{domain.ref} · {domain.name} ({len(mapped)} mapped)"):
            if mapped.empty:
                st.caption("Nothing is mapped to this domain yet.")
            else:
                st.dataframe(
                    mapped[["plan", "kind", "ref", "text", "reason"]].rename(columns=str.capitalize),
                    hide_index=True,
                    width="stretch",
                )
