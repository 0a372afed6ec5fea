"""Administration: the plan framework as a spreadsheet, who reports which line, quarter deadlines, demo data."""

import streamlit as st

from cyp import ui

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ui.page_header(
    "Administration",
    "Keep the plan framework, line assignments and deadlines current. Every change is checked and audited.",
)
principal = ui.current_principal()
if principal is None:
    st.stop()


plans = [ref for ref, _title, _current in ui.load_plans()]
teams = dict(ui.load_team_choices())
if not plans:
    st.error("No plan is loaded. Run `python -m cyp init` to load the plan framework.")
    st.stop()

framework_tab, lines_tab, deadlines_tab, demo_tab = st.tabs(["Framework", "Assignments", "Deadlines", "Demo data"])

with framework_tab:
    st.header("Export")
    st.caption("The whole framework as a workbook: edit it in Excel (its Read me sheet explains every column).")
    st.download_button(
        "Download the framework workbook",
        # A callable: the workbook is built only when the button is clicked (seconds on a large history).
        data=ui.framework_workbook,
        file_name="cyp-framework.xlsx",
        mime=XLSX,
        icon=":material/download:",
        on_click="ignore",  # as the audit trail's: a rerun while the file is made would drop Streamlit's reply
    )
    st.header("Import")
    st.caption("The whole workbook is checked first; if anything is wrong nothing changes and every problem is listed.")
    upload = st.file_uploader("Edited framework workbook (.xlsx)", type=["xlsx"], key="framework_file")
    if upload is not None and st.button("Check and import", type="primary", key="framework_import"):
        result = ui.import_framework(principal, upload, upload.name)
        if result is not None and result.ok:
            st.success(ui.escape_markdown(result.summary()), icon=":material/check_circle:")
        elif result is not None:
            st.error(ui.escape_markdown(result.summary()), icon=":material/error:")
            st.markdown(ui.problem_list(result.problems))

with lines_tab:
    plan_ref = st.selectbox("Plan", plans, key="assign_plan")
    team_refs = list(teams)
    st.header("Assign a line to a team")
    lines = ui.load_line_assignments(plan_ref)
    objectives = ui.load_objective_choices(plan_ref)
    with st.form("assign_line"):
        line_labels = {row.ref: f"{row.ref} · {row.line[:90]}" for row in lines.itertuples()}
        line_ref = st.selectbox("Line", list(line_labels), format_func=line_labels.get, key="line_ref")
        line_team = st.selectbox("Reporting team", team_refs, format_func=teams.get, key="line_team")
        assign_clicked = st.form_submit_button("Assign line")
        if assign_clicked and line_ref and ui.assign_line(principal, line_ref, line_team):
            st.success(f"{ui.escape_markdown(line_ref)} is now reported by {ui.escape_markdown(teams[line_team])}.")
    st.header("Assign a whole objective to a team")
    st.caption(
        "For objectives with no actions (the 2023–27 plan gives only objectives): the team reports on the objective "
        "itself, through a line whose ref ends in .W."
    )
    assignable = [o for o in objectives if not o.action_lines]
    if assignable:
        with st.form("assign_objective"):
            objective_labels = {
                o.ref: f"{o.ref} · {o.text[:80]}" + (f" (now {o.team})" if o.team else "") for o in assignable
            }
            objective_ref = st.selectbox(
                "Objective", list(objective_labels), format_func=objective_labels.get, key="objective_ref"
            )
            objective_team = st.selectbox("Reporting team", team_refs, format_func=teams.get, key="objective_team")
            clicked = st.form_submit_button("Assign objective")
            if clicked and objective_ref and ui.assign_objective(principal, objective_ref, objective_team):
                st.success(
                    f"{ui.escape_markdown(objective_ref)} is now reported by "
                    f"{ui.escape_markdown(teams[objective_team])}."
                )
    else:
        st.info("Every objective of this plan has action lines: assign those above.")
    st.dataframe(ui.load_line_assignments(plan_ref), hide_index=True, width="stretch")

with deadlines_tab:
    st.caption(
        "A quarter's returns are due its last day plus `CYP_DEADLINE_DAYS` days unless a date is set here. "
        "The submission tracker and the upload page use these dates."
    )
    deadline_plan = st.selectbox("Plan", plans, key="deadline_plan")
    table = ui.load_deadline_table(deadline_plan)
    with st.form("set_deadline"):
        quarter_label = st.selectbox("Quarter", list(table["quarter"]), key="deadline_quarter")
        current = table.set_index("quarter").loc[quarter_label, "deadline"] if quarter_label else None
        due = st.date_input("Due by", value=current, key="deadline_due", format="DD/MM/YYYY")
        set_clicked = st.form_submit_button("Set deadline")
        clear_clicked = st.form_submit_button("Use the default again")
    if set_clicked and quarter_label and due and ui.set_deadline(principal, quarter_label, due):
        st.success(f"Returns for {quarter_label} are now due by {due:%-d %B %Y}.")
    if clear_clicked and quarter_label and ui.clear_deadline(principal, quarter_label):
        st.success(f"{quarter_label} uses the default deadline again.")
    st.dataframe(ui.load_deadline_table(deadline_plan), hide_index=True, width="stretch")

with demo_tab:
    st.caption(
        "Demo data is generated returns for every team and one account per role, labelled as demo on every page. "
        "Clearing it removes exactly the demo records; real returns are never touched."
    )
    load_column, clear_column = st.columns(2)
    if load_column.button("Load demo data", key="demo_load"):
        loaded = ui.add_demo_data(principal)
        if loaded is not None:
            counts, accounts = loaded
            st.success(
                "Generated demo data: "
                + ui.escape_markdown(", ".join(f"{count} {kind}" for kind, count in counts.items()))
            )
            st.markdown(
                "Demo accounts (also shown on the sign-in page while demo data is loaded):\n\n"
                "| role | username | password |\n| --- | --- | --- |\n"
                + "\n".join(
                    f"| {ui.escape_markdown(role)} | {ui.escape_markdown(name)} | {ui.escape_markdown(password)} |"
                    for name, password, role in accounts
                )
            )
    if clear_column.button("Clear demo data", key="demo_clear"):
        removed = ui.clear_demo_data(principal)
        if removed is not None:
            st.success(
                "Removed demo data: "
                + ui.escape_markdown(", ".join(f"{count} {kind}" for kind, count in removed.items()))
            )
