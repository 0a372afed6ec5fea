"""The Streamlit side of server-side sessions: read the cookie, resolve the session, start a sign-in, sign out.

Every script run (:func:`refresh`, called by the navigation) reads the ``cyp_session`` cookie the browser sent
when its websocket opened (``st.context.cookies``) and asks the database who it is now (cached two seconds, and
forgotten after any write made through the app), so a reload, a new tab, a shared link or a server restart keeps
the sign-in, and a sign-out, a disabled account or a new password elsewhere ends it at the next interaction.

A script run cannot set a cookie. A sign-in (:func:`start`) stores a one-time ticket and sends the browser to
``/session/claim`` (``cyp/web/routes.py``), which sets the cookie and comes back to the same page; the browser is
sent with the message ``st.login`` itself uses (``auth_redirect``), so no script or link needs to be drawn.

A run with no HTTP request behind it (``AppTest``), or a process started as a bare ``streamlit run app.py`` (no
``/session/claim`` to set a cookie), keeps the principal in ``st.session_state`` as before: it lasts as long as the
browser tab's Streamlit session. Run the app through ``serve.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import pandas as pd
import streamlit as st

from cyp.access import sessions
from cyp.access.permissions import Principal
from cyp.storage.config import database_url
from cyp.storage.db import read_session, write_session
from cyp.ui.engine import attempt_write, clear_caches, engine
from cyp.ui.engine import session as ui_session
from cyp.ui.escaping import escape_markdown
from cyp.ui.signin import PRINCIPAL_KEY, _oidc_configured, current_principal
from cyp.web.lifespan import serving
from cyp.web.routes import DISPLAY_LINK_PATH, claim_url, signout_url

CHECK_SECONDS = 2
STREAMLIT_LOGOUT_PATH = "/auth/logout"


def _browser_client() -> bool:
    """Whether this run serves a browser through serve.py, whose routes set the cookie.

    AppTest runs have no HTTP request behind them; a bare ``streamlit run app.py`` has no ``/session/claim``.
    """
    if not serving():
        return False
    try:
        return bool(st.context.headers)
    except Exception:  # noqa: BLE001 - outside a script run there is no browser at all
        return False


def _cookie(name: str) -> str | None:
    return st.context.cookies.get(name) or None


@st.cache_data(ttl=CHECK_SECONDS, show_spinner=False, max_entries=10_000)
def _checked(url: str, token: str) -> Principal | None:
    """Who the session ``token`` is now (at most CHECK_SECONDS old); writes the end or last-seen it calls for."""
    db_engine = engine()
    with read_session(db_engine) as db_session:
        check = sessions.check_session(db_session, token)
    if check.ended is not None or check.touch:
        with write_session(db_engine) as db_session:
            sessions.apply_check(db_session, check)
    return check.principal


def _identity_provider_signed_in() -> bool:
    return _oidc_configured() and bool(getattr(st.user, "is_logged_in", False))


def redirect(url: str) -> None:
    """Send the browser to ``url`` (a path on this site) at the end of this run: the message ``st.login`` uses."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None:
        return
    message = ForwardMsg()
    message.auth_redirect.url = url
    context.enqueue(message)


def refresh() -> Principal | None:
    """Resolve this run's principal from the session cookie (in a browser) and keep it in ``st.session_state``."""
    if not _browser_client():
        return current_principal()
    token = _cookie(sessions.SESSION_COOKIE)
    principal = _checked(database_url(), token) if token else None
    if principal is None:
        st.session_state.pop(PRINCIPAL_KEY, None)
        if token and _identity_provider_signed_in():
            # The session ended (timeout, disabled, signed out elsewhere): the identity provider's sign-in goes too,
            # or the next run would sign straight back in without asking.
            redirect(signout_url(STREAMLIT_LOGOUT_PATH))
            st.stop()
    else:
        st.session_state[PRINCIPAL_KEY] = principal
    return principal


def _this_page() -> str:
    """The path and query of the page on screen, to come back to after the cookie is set."""
    # st.context.url has the page's path but never its query, which st.query_params has.
    path = urlsplit(st.context.url or "/").path or "/"
    query = urlencode({key: st.query_params.get_all(key) for key in st.query_params}, doseq=True)
    return path + (f"?{query}" if query else "")


def start(principal: Principal, method: str) -> None:
    """Begin a session for ``principal`` who just signed in (password or identity provider); stops the run.

    In a browser: a one-time ticket, and the browser goes to ``/session/claim`` and back to this page with the
    cookie. Without one (AppTest) the principal is kept in session state and the run goes on.
    """
    if not _browser_client():
        st.session_state[PRINCIPAL_KEY] = principal
        return
    try:
        with write_session(engine()) as db_session:
            ticket = sessions.issue_ticket(db_session, principal, method, _cookie(sessions.BROWSER_COOKIE) or "")
    except sessions.SessionError as error:
        st.error(escape_markdown(str(error)), icon=":material/cookie:")
        st.stop()
    st.info("Signing you in…", icon=":material/login:")
    redirect(claim_url(ticket, _this_page()))
    st.stop()


def sign_out() -> None:
    """End this browser's session everywhere (every tab, every instance) and clear its cookie."""
    st.session_state.pop(PRINCIPAL_KEY, None)
    if not _browser_client():
        if _identity_provider_signed_in():
            st.logout()
        return
    token = _cookie(sessions.SESSION_COOKIE)
    if token:
        with write_session(engine()) as db_session:
            sessions.sign_out(db_session, token)
        clear_caches()
    redirect(signout_url(STREAMLIT_LOGOUT_PATH if _identity_provider_signed_in() else "/"))


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def sessions_section(principal: Principal, username: str) -> None:
    """The User accounts page's list of ``username``'s live sessions, with a button to end them all."""
    st.markdown(f"**Signed-in sessions of {escape_markdown(username)}**")
    from cyp.access.permissions import PermissionDenied

    try:
        with ui_session() as db_session:
            found = sessions.list_sessions(db_session, principal, username)
    except (PermissionDenied, sessions.SessionError) as refusal:
        st.error(escape_markdown(str(refusal)), icon=":material/block:")
        return
    if not found:
        st.caption("No live sessions.")
        return
    rows = [
        {
            "session": item.id,
            "signed in": _when(item.created_at),
            "last seen": _when(item.last_seen_at),
            "ends at the latest": _when(item.expires_at),
            "how": item.method,
            "from": item.client_address,
            "browser": item.user_agent[:80],
        }
        for item in found
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if st.button(f"End every session of {username}", key="end_sessions"):
        done, ended = attempt_write(principal, sessions.end_sessions, username, expected=(sessions.SessionError,))
        if done:
            st.success(
                f"Ended {ended} session{'s' if ended != 1 else ''} of {escape_markdown(username)}: "
                "they must sign in again."
            )


def display_links_section(principal: Principal) -> None:
    """The User accounts page's display links: issue one (its address shown once), list them, revoke one."""
    st.subheader("Display links for meeting-room screens")
    st.caption(
        "A display link signs a screen in once with the display role (the board display only) and it stays signed "
        "in across reloads, restarts and nights until the link is revoked. Treat the address like a password."
    )
    with st.form("issue_display_link", clear_on_submit=True):
        label = st.text_input("Where is the screen?", placeholder="Committee room 2")
        issued = st.form_submit_button("Issue a display link")
    if issued:
        done, token = attempt_write(principal, sessions.issue_display_link, label, expected=(sessions.SessionError,))
        if done:
            base = (st.context.url or "").split("/users")[0].rstrip("/")
            st.success("Open this address once on the screen (shown only now; copy it):", icon=":material/tv:")
            st.code(f"{base}{DISPLAY_LINK_PATH}{token}", language=None)
    with ui_session() as db_session:
        links = sessions.list_display_links(db_session)
    if not links:
        st.caption("No display links yet.")
        return
    rows = [
        {
            "link": link.id,
            "screen": link.label,
            "state": link.state,
            "screens signed in": link.live_sessions,
            "issued by": link.created_by,
            "issued": _when(link.created_at),
            "last used": _when(link.last_used_at),
        }
        for link in links
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    active = {link.id: link.label for link in links if link.state == "active"}
    if active:
        with st.form("revoke_display_link"):
            chosen = st.selectbox("Display link", list(active), format_func=lambda key: f"{key}: {active[key]}")
            revoke = st.form_submit_button("Revoke the link and sign its screens out")
        if revoke:
            done, ended = attempt_write(
                principal, sessions.revoke_display_link, chosen, expected=(sessions.SessionError,)
            )
            if done:
                st.success(f"Revoked display link {escape_markdown(chosen)}; {ended} screen(s) signed out.")
