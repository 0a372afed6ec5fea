"""Submission tracker: which teams have returned, which are late, which are missing; versions and who submitted."""

import pandas as pd
import streamlit as st

from cyp import ui
from cyp.read.tracker import TRACKER_STATES

ui.page_header("Submission tracker", "Teams × quarters: On time, Late, Missing or Not due yet.")
filters = ui.filter_bar(("quarter", "plan", "team"), columns=3)
_resolved, options = ui.resolved_filters(filters)
if filters.quarter is None:
    st.info("This plan has no quarters to show yet.")
    st.stop()

detail = ui.load_tracker(filters.quarter, filters.team)
states = detail["state"].value_counts()
st.header(f"{filters.quarter} in detail")
columns = st.columns(len(TRACKER_STATES))
for column, state in zip(columns, TRACKER_STATES, strict=True):
    column.metric(state, int(states.get(state, 0)))
if ui.signoff_on() and not detail.empty:
    signoff = detail["signoff"].map(ui.state_text).replace("", "nothing to sign off yet").value_counts()
    st.markdown(
        "**Sign-off:** " + " · ".join(f"{count} {ui.escape_markdown(state)}" for state, count in signoff.items())
    )
if detail.empty:
    st.caption("No team is expected to report in this quarter.")
else:
    st.caption(
        f"Deadline: {detail['deadline'].iloc[0]:%d %B %Y}. A return is on time when its first version arrived by then."
    )
    st.dataframe(
        pd.DataFrame(
            {
                "Team": detail["team"],
                "State": detail["state"],
                "Lines returned": detail["lines_returned"].astype(str) + " of " + detail["lines_expected"].astype(str),
                "Version": detail["version"].map(lambda v: "" if pd.isna(v) else f"v{int(v)}"),
                "Submitted by": detail["submitted_by"].fillna(""),
                "Submitted at": detail["submitted_at"],
                "First version at": detail["first_submitted_at"],
                "Demo": detail["is_demo"].map({True: "demo", False: ""}),
                # Sign-off switched on: the state in words, never a colour alone.
                **({"Sign-off": detail["signoff"].map(ui.state_text)} if ui.signoff_on() else {}),
            }
        ),
        hide_index=True,
        width="stretch",
        height=ui.table_height(len(detail)),
        column_config={
            "Submitted at": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm"),
            "First version at": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm"),
        },
    )

st.header("Every quarter of the plan")
quarters = tuple(sorted(options.quarters))
grid = ui.load_tracker_grid(quarters)
if filters.team:
    grid = grid[grid.index.isin(set(detail["team"]))]
grid = grid.replace("", "—")
st.dataframe(grid.rename_axis("Team"), width="stretch", height=ui.table_height(len(grid)))
st.caption("— means the team had no lines to report in that quarter.")
