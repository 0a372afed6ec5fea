"""User accounts: list, add, disable or enable, change role or teams, set a password."""

import pandas as pd
import streamlit as st

from cyp import ui
from cyp.access.permissions import ROLES

ui.page_header(
    "User accounts",
    "Who can sign in, with which role, for which teams. Roles and what they allow are set in data/access.yaml.",
)
principal = ui.current_principal()
if principal is None:
    st.stop()


teams = dict(ui.load_team_choices())

add_tab, change_tab = st.tabs(["Add an account", "Change an account"])

with add_tab, st.form("add_user", clear_on_submit=True):
    username = st.text_input("Username", help="Letters, digits, '.', '_', '-' or '@', e.g. j.smith.")
    role = st.selectbox("Role", ROLES, index=ROLES.index("viewer"), key="add_role")
    new_teams = st.multiselect("Teams (for a lead)", list(teams), format_func=teams.get, key="add_teams")
    email = st.text_input("Email (to sign in through the council's identity provider)")
    display_name = st.text_input("Full name")
    password = st.text_input(
        "Password (leave blank for identity-provider sign-in only)", type="password", key="add_password"
    )
    if st.form_submit_button("Add account", type="primary") and username:
        added = ui.create_user(
            principal,
            username,
            role,
            password=password or None,
            email=email or None,
            display_name=display_name or None,
            teams=new_teams,
        )
        if added:
            st.success(f"Added {ui.escape_markdown(username.strip().lower())} ({role}).")


# Read after the add form: a write forgets the cached reads, so an account added above is listed at once.
current = {
    row["username"]: (row["role"], row["teams"].split(", ") if row["teams"] else []) for row in ui.load_accounts()
}

with change_tab:
    if not current:
        st.info("There are no accounts yet.")
    else:
        chosen = st.selectbox("Account", list(current), key="change_user")
        role_now, teams_now = current[chosen]
        role_column, teams_column = st.columns(2)
        with role_column.form("set_role"):
            new_role = st.selectbox("Role", ROLES, index=ROLES.index(role_now), key="change_role")
            if st.form_submit_button("Change role") and ui.set_role(principal, chosen, new_role):
                st.success(f"{ui.escape_markdown(chosen)} is now a {new_role}.")
        with teams_column.form("set_teams"):
            chosen_teams = st.multiselect(
                "Teams", list(teams), default=[t for t in teams_now if t in teams], format_func=teams.get
            )
            if st.form_submit_button("Set teams") and ui.set_teams(principal, chosen, chosen_teams):
                joined = ui.escape_markdown(", ".join(chosen_teams)) or "no team"
                st.success(f"{ui.escape_markdown(chosen)} now belongs to {joined}.")
        with st.form("set_password", clear_on_submit=True):
            new_password = st.text_input("New password", type="password", key="change_password")
            clicked = st.form_submit_button("Set password")
            if clicked and new_password and ui.set_password(principal, chosen, new_password):
                st.success(f"Password set for {ui.escape_markdown(chosen)}.")
        disable_column, enable_column = st.columns(2)
        if disable_column.button("Disable account", key="disable_user") and ui.disable_user(principal, chosen):
            st.success(f"Disabled {ui.escape_markdown(chosen)}: it can no longer sign in or change anything.")
        if enable_column.button("Enable account", key="enable_user") and ui.enable_user(principal, chosen):
            st.success(f"Enabled {ui.escape_markdown(chosen)}.")
        ui.sessions_section(principal, chosen)

st.header("Accounts")
st.dataframe(pd.DataFrame(ui.load_accounts()), hide_index=True, width="stretch")

ui.display_links_section(principal)
