"""CYP Plan Monitor: the Streamlit entrypoint. Page config, navigation, run."""

import streamlit as st

st.set_page_config(page_title="CYP Plan Monitor", page_icon=":material/child_care:", layout="wide")

pages = {
    "Plan": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/framework.py", title="Plan framework", icon=":material/account_tree:"),
    ],
}

st.navigation(pages).run()
