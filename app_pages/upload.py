"""Upload a quarterly return: download the template, upload, see every problem by cell, fix, upload again."""

import streamlit as st

from cyp import ui
from cyp.quarters import QuarterError
from cyp.returns.lines import NothingToReport, UnknownTeam

ui.page_header(
    "Submit a quarterly return",
    "Download your team's template, fill it in, upload it here. Nothing is stored until the whole return is valid.",
)
principal = ui.current_principal()
if principal is None:
    st.stop()

# A lead reports on the quarter just ended, unless the address names another.
quarter = ui.parse_quarter(ui.quarter_from_url(ui.current_quarter().previous().label))
tracker = [row for row in ui.load_tracker_rows(quarter.label) if ui.may_submit_for(row.team_ref)]
due = ui.load_deadline(quarter.label)

teams = {row.team: row for row in tracker}
left, right = st.columns([2, 1])
with left:
    quarter_label = st.text_input(
        "Quarter",
        value=quarter.label,
        help="The quarter this return reports on, e.g. 2026-27 Q2 (July to September 2026).",
    )
    try:
        quarter = ui.parse_quarter(quarter_label)
    except QuarterError as error:
        st.error(ui.escape_markdown(error))
        st.stop()
    st.query_params["quarter"] = quarter.label
with right:
    st.metric("Deadline", due.strftime("%-d %B %Y"))

if not teams:
    if ui.may_decide(principal):
        # An approver submits nothing: the page holds their sign-off list.
        ui.signoff_section(principal)
        st.stop()
    st.info(
        f"No team you report for has lines to report in {quarter.label}. "
        "If that is wrong, ask the performance team to assign your team's lines."
    )
    ui.team_states(set(principal.teams))
    st.stop()

team_names = sorted(teams)
chosen = st.query_params.get("team")
team = st.selectbox(
    "Team", team_names, index=team_names.index(chosen) if chosen in team_names else 0, key="upload_team"
)
st.query_params["team"] = team
row = teams[team]
state = f"version {row.version} submitted by {row.submitted_by}" if row.version else "nothing submitted yet"
if row.signoff:  # sign-off switched on: where the current version stands
    state += f", {ui.state_text(row.signoff)}"
st.markdown(
    f"**{ui.escape_markdown(team)}**, {quarter.label}: {row.lines_expected} lines to report; "
    f"{ui.escape_markdown(state)} (**{ui.escape_markdown(row.state)}**)."
)

st.header("1. Download your template")
try:
    template = ui.load_template(row.team_ref, quarter.label)
    st.download_button(
        f"Download the {quarter.label} template for {ui.escape_markdown(team)}",
        data=template,
        file_name=f"CYP return {row.team_ref} {quarter.label}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        on_click="ignore",  # a download changes nothing on the page: no rerun to move the focus away
    )
    st.caption("Last quarter's accepted answers are already filled in: change what has changed.")
except (NothingToReport, UnknownTeam) as error:
    st.info(ui.escape_markdown(error))

st.header("2. Upload the completed workbook")
upload = st.file_uploader("Completed return (.xlsx)", type=["xlsx", "xlsm"], key="return_file")
acknowledged = st.checkbox(
    "I have checked the queries listed below and want to submit anyway",
    key="acknowledge",
    help="Queries (for example a Red line with no progress update) do not block a return but need your confirmation.",
)
if upload is not None and st.button("Check and submit", type="primary"):
    data = upload.getvalue()
    with st.spinner("Checking every cell…"):
        result = ui.submit_return(data, upload.name, principal, acknowledged)
    if result.status == "accepted":
        st.success(f"Accepted. {ui.escape_markdown(result.summary)}", icon=":material/check_circle:")
        ui.awaiting_note(result.team or team, result.quarter or quarter.label, result.version)
        if result.changes:
            st.markdown(
                "**What changed since your previous version:**\n"
                + "\n".join(f"- {ui.escape_markdown(c)}" for c in result.changes)
            )
    elif result.status == "duplicate":
        st.info(ui.escape_markdown(result.summary), icon=":material/content_copy:")
        if result.reinstatable_version is not None:
            # Offered, not done: storing an earlier version again needs the uploader's confirmation below.
            st.session_state["reinstate"] = (upload.file_id, result.reinstatable_version)
    elif result.status == "refused":
        st.error(ui.escape_markdown(result.summary), icon=":material/block:")
    else:
        errors = [p for p in result.problems if p.severity == "error"]
        queries = [p for p in result.problems if p.severity == "query"]
        if errors:
            st.error(
                f"Not stored: {len(errors)} problem{'s' if len(errors) != 1 else ''} to fix. "
                "Fix them in your workbook and upload it again.",
                icon=":material/error:",
            )
            st.markdown(ui.problem_list(errors))
        if queries:
            st.warning(
                f"{len(queries)} quer{'ies' if len(queries) != 1 else 'y'} to check"
                + (": tick the box above and submit again if they are right." if not errors else "."),
                icon=":material/help:",
            )
            st.markdown(ui.problem_list(queries))
        if any(p.cell for p in result.problems):
            st.download_button(
                "Download your workbook with the problems marked",
                data=ui.annotated_workbook(data, result.problems),
                file_name=f"Problems - {upload.name}",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                icon=":material/download:",
            )

pending = st.session_state.get("reinstate")
offered = upload is not None and pending is not None and pending[0] == upload.file_id
if offered and st.button(f"Make version {pending[1]} current again", key="make_current_again"):
    del st.session_state["reinstate"]
    with st.spinner("Checking every cell…"):
        again = ui.make_current_again(upload.getvalue(), upload.name, principal)
    if again.accepted:
        st.success(ui.escape_markdown(again.summary), icon=":material/check_circle:")
        ui.awaiting_note(again.team or team, again.quarter or quarter.label, again.version)
    else:
        st.error(ui.escape_markdown(again.summary), icon=":material/error:")

# Sign-off (CYP_SIGNOFF=1): where the team's returns stand, and an approver's or administrator's list to decide.
ui.team_states(set(principal.teams))
ui.signoff_section(principal)
