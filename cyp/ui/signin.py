"""Who is signed in to this browser session, and the sign-in form (local accounts or the identity provider)."""

from __future__ import annotations

from typing import cast

import streamlit as st
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal
from cyp.storage.db import write_session
from cyp.ui.data import load_demo_accounts, load_first_admin_instruction
from cyp.ui.engine import engine
from cyp.ui.escaping import escape_markdown

PRINCIPAL_KEY = "cyp_principal"
OIDC_REFUSAL_AUDITED = "cyp_oidc_refusal_audited"


def current_principal() -> Principal | None:
    """Who is signed in to this browser session, if anyone."""
    return st.session_state.get(PRINCIPAL_KEY)


def may_submit_for(team_ref: str) -> bool:
    """Whether the signed-in user may submit for this team (presentation only: ingest checks again)."""
    principal = current_principal()
    return principal is not None and principal.can_submit_for(team_ref)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all means no identity provider
        return False


def sign_in() -> Principal | None:
    """The signed-in principal; otherwise render the sign-in form (or the identity provider's button) and return None.

    With `[auth]` in `.streamlit/secrets.toml` users sign in through the council's identity provider and get their
    role and teams from the local user table by email; otherwise local accounts sign in with a password.
    """
    principal = current_principal()
    if principal is not None:
        return principal
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            # Imported here: cyp.access.signin hashes a dummy password at import (0.3 s), which neither a signed-in
            # run nor drawing the form needs: the first page a visitor sees comes sooner without it.
            from cyp.access.signin import principal_for_oidc

            # The email claim is a string or absent; streamlit types every claim as the union of all claim types.
            email = cast(str | None, st.user.get("email"))
            with write_session(engine()) as db_session:
                principal = principal_for_oidc(db_session, email)
                _audit_oidc_sign_in(db_session, principal, email)
            if principal is None:
                st.error("Your account has no access to CYP Plan Monitor. Ask the performance team to add you.")
                st.button("Sign out", on_click=st.logout)
                return None
            from cyp.ui import websession

            websession.start(principal, "identity provider")
            return principal
        st.title("CYP Plan Monitor")
        st.button("Sign in with your council account", on_click=st.login, type="primary")
        return None

    st.title("Sign in to CYP Plan Monitor")
    instruction = load_first_admin_instruction()
    if instruction:
        st.info(escape_markdown(instruction))
    demo_accounts_notice()
    with st.form("sign_in"):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        from cyp.access.signin import client_address, sign_in_with_password

        client = client_address(st.context.ip_address, st.context.headers.get("X-Forwarded-For"))
        result = sign_in_with_password(engine(), username, password, client=client)
        if result.ok and result.principal is not None:
            from cyp.ui import websession

            websession.start(result.principal, "password")  # in a browser: the cookie, via /session/claim
            st.rerun()
        st.error(escape_markdown(result.message))
    return None


def _audit_oidc_sign_in(db_session: Session, principal: Principal | None, email: str | None) -> None:
    """Audit an identity-provider sign-in once per browser session: the principal is kept after this run."""
    if principal is not None:
        target = f"user:{principal.username}"
        audit.record(db_session, principal.username, "auth.signin", "ok", target=target, detail="identity provider")
    elif not st.session_state.get(OIDC_REFUSAL_AUDITED):
        # The page keeps showing "no access" on every rerun; one event per browser session is enough.
        st.session_state[OIDC_REFUSAL_AUDITED] = True
        who = (email or "").strip().lower() or "(no email)"
        audit.record(db_session, who, "auth.signin", "refused", target=f"email:{who}", detail="no active account")


def sign_out() -> None:
    """End this browser's session in every tab and clear its cookie (cyp/ui/websession.py)."""
    from cyp.ui import websession

    websession.sign_out()


def demo_accounts_notice() -> None:
    """While demo data is loaded, show the generated demo accounts so a newcomer can look around."""
    accounts = load_demo_accounts()
    if not accounts:
        return
    rows = "\n".join(
        f"| {escape_markdown(role)} | {escape_markdown(username)} | {escape_markdown(password)} |"
        for username, password, role in accounts
    )
    st.info(
        "**Demonstration accounts**, shown only while demo data is loaded:\n\n"
        "| role | username | password |\n| --- | --- | --- |\n" + rows,
        icon=":material/science:",
    )
