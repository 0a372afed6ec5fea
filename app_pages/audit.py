"""The audit trail: every write, refusal and sign-in, filtered and exported. Nothing here changes an event."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from cyp import ui

SHOWN = 1000
ALL = "All"

ui.page_header(
    "Audit trail",
    "Who did what, when, to which record, and with what outcome. Events are never edited or deleted.",
)

choices = ui.load_audit_filter_choices()

actor_column, action_column, outcome_column, dates_column = st.columns([1, 1, 1, 2])
actor = actor_column.selectbox("Who", [ALL, *choices["actor"]], key="audit_actor")
action = action_column.selectbox("Action", [ALL, *choices["action"]], key="audit_action")
outcome = outcome_column.selectbox("Outcome", [ALL, *choices["outcome"]], key="audit_outcome")
dates = dates_column.date_input(
    "From and to (UTC days, inclusive)",
    # Events carry the real clock's time (not CYP_TODAY), so the default range does too.
    value=(datetime.now(UTC).date() - timedelta(days=90), datetime.now(UTC).date()),
    key="audit_dates",
    format="DD/MM/YYYY",
)
since, until = (dates[0], dates[-1]) if isinstance(dates, tuple) and dates else (None, None)
filters = {
    "actor": None if actor == ALL else actor,
    "action": None if action == ALL else action,
    "outcome": None if outcome == ALL else outcome,
    "since": since,
    "until": until,
}

events = ui.load_audit_events(limit=SHOWN + 1, **filters)

if events.empty:
    st.info("No events match these filters.")
else:
    shown = events.head(SHOWN)
    more = " (the newest; the download has them all)" if len(events) > SHOWN else ""
    st.caption(f"{len(shown)} events, newest first{more}. Times are UTC.")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={"at": st.column_config.DatetimeColumn("at", format="YYYY-MM-DD HH:mm:ss")},
    )
st.download_button(
    "Download these events (CSV)",
    data=ui.audit_csv_download(**filters),  # made when pressed, not in every run
    file_name="cyp-audit-trail.csv",
    mime="text/csv",
    icon=":material/download:",
    key="audit_csv",
    # No rerun on press: a rerun starting while the file is made drops Streamlit's reply (it clears the queue of
    # messages to the browser), and the download never comes (seen in Chromium on a busy machine).
    on_click="ignore",
)
