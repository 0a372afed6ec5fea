"""CYP Plan Monitor: the Streamlit entrypoint. Page config, sign-in, navigation for the user's role, run.

The web server around it (routes, middleware, lifespan) is serve.py / cyp/web/app.py.
"""

import streamlit as st

from cyp import ui

APP_TITLE = "CYP Plan Monitor"

# Before the navigation: set first, the app's own icon stays the favicon (a page's material icon would be fetched
# from an outside font host, which the CSP blocks).
st.set_page_config(page_title=APP_TITLE, page_icon=ui.FAVICON_URL, layout="wide")

# Every page, by section. Which of them a role sees is set in data/access.yaml (`pages:`). ui.page is st.Page made
# once per process (it resolves the file on disk) and copied for each run.
SECTIONS = {
    "Plan": [
        ui.page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        ui.page("app_pages/outcome.py", title="Outcomes", icon=":material/flag:"),
        ui.page("app_pages/index_domains.py", title="Family Friendly Index", icon=":material/family_restroom:"),
        ui.page("app_pages/exceptions.py", title="Exceptions", icon=":material/priority_high:"),
        ui.page("app_pages/line_history.py", title="Line history", icon=":material/history:"),
        ui.page("app_pages/framework.py", title="Plan framework", icon=":material/account_tree:"),
    ],
    "Board": [
        ui.page("app_pages/display.py", title="Board display", icon=":material/present_to_all:"),
        ui.page("app_pages/board_pack.py", title="Board pack", icon=":material/picture_as_pdf:"),
    ],
    "Returns": [
        ui.page("app_pages/tracker.py", title="Submission tracker", icon=":material/fact_check:"),
        ui.page("app_pages/upload.py", title="Submit a return", icon=":material/upload_file:"),
    ],
    "Administration": [
        ui.page("app_pages/admin.py", title="Administration", icon=":material/settings:"),
        ui.page("app_pages/users.py", title="User accounts", icon=":material/group:"),
        ui.page("app_pages/audit.py", title="Audit trail", icon=":material/policy:"),
    ],
    ui.ACCOUNT_SECTION: [  # listed under "Signed in as ..."
        ui.page("app_pages/account.py", title="Your account", icon=":material/account_circle:"),
    ],
}
# Shown to everyone, signed in or not: the plan's promise to share progress with children and families.
PUBLIC = [
    ui.page("app_pages/young_people.py", title="Young people's summary", icon=":material/diversity_3:"),
    ui.page("app_pages/accessibility.py", title="Accessibility statement", icon=":material/accessibility_new:"),
]

page = ui.navigation(SECTIONS, PUBLIC)
# Each page its own document title (WCAG 2.4.2); signed out, a protected address shows the sign-in form.
signed_out = ui.current_principal() is None and not any(page is public for public in PUBLIC)
st.set_page_config(page_title=f"{'Sign in' if signed_out else page.title} – {APP_TITLE}")
page.run()
