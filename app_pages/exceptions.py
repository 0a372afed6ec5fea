"""Exceptions: the board's agenda for a quarter: Red lines, lines that got worse, lines with no return, late teams."""

import pandas as pd
import streamlit as st

from cyp import ui

ui.page_header("Exceptions", "What needs the board's attention this quarter.")
filters = ui.filter_bar(("quarter", "plan", "outcome", "team", "body", "domain", "driver"), columns=4)
if filters.quarter is None:
    st.info("This plan has no quarters to show yet.")
    st.stop()

# Only the lines (and late teams) the filters select.
signed_off_only = ui.view_switch(filters.quarter)  # sign-off on: signed-off returns unless switched
found = ui.load_exceptions(filters.quarter, filters.plan, ui.line_filters(filters), signed_off_only)
if caption := ui.filter_caption(filters, ("outcome", "team", "body", "domain", "driver")):
    st.info(caption, icon=":material/filter_alt:")

columns = st.columns(4)
columns[0].metric("✖ Red lines", len(found["red"]))
columns[1].metric("Got worse since last quarter", len(found["worse"]))
columns[2].metric("? Lines with no return", len(found["no_return"]))
columns[3].metric("Teams late or missing", len(found["late"]))


def line_table(frame: pd.DataFrame, with_change: bool = False) -> None:
    """Lines with status, last quarter's status, teams and commentary, each linked to its history."""
    if frame.empty:
        st.success("None this quarter.", icon=":material/check_circle:")
        return
    table = pd.DataFrame(
        {
            "ref": frame["ref"],
            "Status": ui.labelled_statuses(frame["status"]),
            **({"Last quarter": ui.labelled_statuses(frame["previous_status"])} if with_change else {}),
            "Outcome": frame["outcome"],
            "Line": frame["action"].where(frame["action"].astype(bool), frame["objective"]),
            "Responsible": ui.responsible_column(frame["teams"], frame["is_demo"]),
            "Progress": frame["progress"].fillna(""),
            "Risks and issues": frame["risks"].fillna(""),
        }
    )
    st.dataframe(
        ui.with_line_links(table),
        hide_index=True,
        width="stretch",
        column_config={ui.LINE_LINK_COLUMN: ui.line_link_column()},
    )


st.header("Red: off track, needs intervention")
line_table(found["red"])
st.header("Got worse since last quarter")
line_table(found["worse"], with_change=True)
st.header("No return this quarter")
line_table(found["no_return"].assign(progress="", risks=""))
st.header("Teams late or missing")
late = found["late"]
if late.empty:
    st.success("Every team due has returned on time.", icon=":material/check_circle:")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "Team": late["team"],
                "State": late["state"],
                "Deadline": late["deadline"],
                "Lines expected": late["lines_expected"],
                "Submitted": late["submitted_at"].map(
                    lambda moment: "" if pd.isna(moment) else f"{moment:%d %b %Y %H:%M}"
                ),
                "By": late["submitted_by"].fillna(""),
            }
        ),
        hide_index=True,
        width="stretch",
    )


def show_questions() -> None:
    """The board's open questions (any quarter's) on the lines the filters select, with an administrator's form to
    close one with a reason."""
    st.header("Board questions open")
    ui.closed_note()
    rows = list(ui.load_questions(filters.plan, outcome_ref=filters.outcome))
    if rows:  # the lines the filters select, read only when some question could be on one
        lines = ui.load_line_statuses(filters.quarter, filters.plan, ui.line_filters(filters), signed_off_only)
        selected = set(lines["ref"])
        rows = [row for row in rows if row.line_ref in selected]
    if not rows:
        st.success("No board question is waiting for an answer.", icon=":material/check_circle:")
        return
    overdue = sum(row.overdue for row in rows)
    st.markdown(f"{len(rows)} open, {overdue} overdue (past the date the board asked for an answer).")
    table = pd.DataFrame(
        {
            "ref": [row.line_ref for row in rows],
            "Asked": [f"{row.kind.capitalize()} {row.id}" for row in rows],
            "Text": [row.text for row in rows],
            "Asked by": [f"{row.asked_by}, {ui.day_text(row.asked_at)}" for row in rows],
            "Quarter": [row.quarter for row in rows],
            "Due by": [ui.day_text(row.due_by) if row.due_by else "" for row in rows],
            "Overdue": ["overdue" if row.overdue else "" for row in rows],
            "Responsible": [row.team or "" for row in rows],
        }
    )
    st.dataframe(
        ui.with_line_links(table),
        hide_index=True,
        width="stretch",
        column_config={ui.LINE_LINK_COLUMN: ui.line_link_column()},
    )
    if ui.may_close():
        for row in rows:
            ui.close_form(row, key=f"exceptions_{row.id}")


show_questions()
st.page_link(
    "app_pages/tracker.py",
    label="Submission tracker",
    icon=":material/fact_check:",
    query_params=filters.to_query_params(),
)
