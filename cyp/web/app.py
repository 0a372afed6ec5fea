"""The web application: Streamlit's ASGI app (``st.App``, Starlette underneath) around ``app.py``.

It adds our routes (``cyp/web/routes.py``) before Streamlit's, our middleware outside Streamlit's (security headers
and the browser cookie, ``cyp/web/middleware.py``) and our lifespan (``cyp/web/lifespan.py``). The one module of
``cyp/web`` that imports Streamlit. Started by ``serve.py`` (``streamlit run serve.py``, or ``uvicorn serve:app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from cyp.storage.config import PROJECT_ROOT
from cyp.web import api, lifespan, routes
from cyp.web.middleware import BrowserCookieMiddleware, SecurityHeadersMiddleware

SCRIPT = PROJECT_ROOT / "app.py"


def app_routes() -> list[BaseRoute]:
    """Every HTTP route of ours: health, sessions, display links, and the data API under ``/api/v1``."""
    return [*routes.routes(), Mount(api.PREFIX, routes=api.api_routes())]


def app_options() -> dict[str, Any]:
    """The keyword arguments of ``st.App`` for this app: routes, middleware (outermost first) and lifespan."""
    return {
        "routes": app_routes(),
        "middleware": [Middleware(SecurityHeadersMiddleware), Middleware(BrowserCookieMiddleware)],
        "lifespan": lifespan.lifespan,
    }


def build_app(script: Path | str = SCRIPT) -> st.App:
    """A new ASGI app serving the Streamlit script ``script`` (one per process: Streamlit's runtime is a singleton)."""
    return st.App(script, **app_options())
