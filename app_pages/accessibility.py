"""Accessibility statement: what meets WCAG 2.2 AA, what does not yet, how to report a problem, enforcement.

Public (no sign-in), as the Public Sector Bodies Accessibility Regulations 2018 require. The words live in
docs/accessibility.md so they are reviewed with the code and the tests that check them.
"""

import streamlit as st

from cyp import ui

title, body = ui.accessibility_statement()
ui.page_header(title)
st.markdown(body)
