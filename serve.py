"""The web server's entry point: Streamlit's ASGI app around app.py, with our routes, middleware and lifespan.

    streamlit run serve.py            # what scripts/run.sh does (Streamlit's own flags work, e.g. --server.port)
    uvicorn serve:app --port 8501     # under uvicorn directly, e.g. behind a reverse proxy (see the README)

`streamlit run` recognises an ASGI app by reading this file for an ``app = st.App(...)`` assignment, so the call
is spelled out here; what goes into it is in cyp/web/app.py.
"""

import streamlit as st

from cyp.web.app import SCRIPT, app_options

app = st.App(SCRIPT, **app_options())
