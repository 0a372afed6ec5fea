"""Sign in: local account or the council's identity provider."""

import streamlit as st

from cyp import ui

if ui.sign_in() is not None:
    st.rerun()
