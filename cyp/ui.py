"""The one module that imports Streamlit: cached engine and loaders, shared widgets.

Pages call these helpers and ``cyp`` functions; they hold no logic of their own.
Cached reads are cleared with :func:`clear_caches` after every write.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cyp.bootstrap import initialise_database
from cyp.config import get_settings
from cyp.db import get_engine, read_session
from cyp.models import Meta


def engine() -> Engine:
    """The process's engine for the configured database, initialised once per process."""
    return _initialised_engine(get_settings().database_url)


@st.cache_resource(show_spinner=False)
def _initialised_engine(url: str) -> Engine:
    db_engine = get_engine(url)
    initialise_database(db_engine)
    return db_engine


@contextmanager
def session() -> Iterator[Session]:
    """A read session on the app's database."""
    with read_session(engine()) as db_session:
        yield db_session


def clear_caches() -> None:
    """Forget every cached read; call after a write so every page shows the new data."""
    st.cache_data.clear()


@st.cache_data(ttl=60, show_spinner=False)
def demo_present() -> bool:
    """Whether generated demo data is loaded (every page says so while it is)."""
    with session() as db_session:
        return db_session.scalar(select(Meta.value).where(Meta.key == "demo")) is not None


def demo_banner() -> None:
    """A visible notice on every page while demo data is loaded."""
    if demo_present():
        st.warning(
            "**Demonstration data.** The returns shown here are generated for demonstration, not real "
            "reports from Barnet's partners. An administrator removes them with `python -m cyp demo --clear`.",
            icon=":material/science:",
        )


def page_header(title: str, caption: str | None = None) -> None:
    """Page title, an optional one-line caption and the demo notice."""
    st.title(title)
    if caption:
        st.caption(caption)
    demo_banner()


def status_badge_html(status: str, size: str = "1rem") -> str:
    """An inline badge: icon and text on the status colour, so status is never colour alone."""
    from cyp.charts import STATUS_COLOURS, STATUS_TEXT_COLOURS, status_label

    background = STATUS_COLOURS.get(status, "#ffffff")
    colour = STATUS_TEXT_COLOURS.get(status, "#000000")
    return (
        f'<span class="cyp-status" role="img" aria-label="Status: {html.escape(status)}" '
        f'style="background:{background};color:{colour};padding:0.1em 0.5em;border-radius:0.4em;'
        f'font-weight:600;font-size:{size};white-space:nowrap;border:1px solid #1a1a1a">'
        f"{html.escape(status_label(status))}</span>"
    )


def status_badge(status: str, size: str = "1rem") -> None:
    """Render a status badge."""
    st.markdown(status_badge_html(status, size), unsafe_allow_html=True)
