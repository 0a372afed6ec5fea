"""The app's own HTTP routes, beside Streamlit's: health and readiness, and the session cookie's routes.

- ``/healthz``: the process is up (no database touched).
- ``/readyz``: the database answers and its schema is at the newest migration (503 with the reason otherwise).
- ``/session/claim?ticket=…&next=…``: exchange a one-time sign-in ticket for the session cookie, then go to ``next``.
- ``/session/signout?next=…``: end the browser's session and clear the cookie, then go to ``next``.
- ``/display-link/TOKEN?…``: sign a meeting-room screen in with a display link and land on the board display
  (the query, e.g. ``interval=30``, goes with it).

Why GET routes reached by a redirect, and not a form posted to a route: Streamlit's widgets talk over the websocket,
so its forms never post to HTTP; a script run can only send the browser somewhere (the same message ``st.login``
uses). The ticket is what makes that safe: unguessable, usable once, for a minute, and only by the browser whose
``cyp_browser`` cookie it carries, so neither Streamlit's XSRF cookie nor a form is needed. Sign-out acts only on a
navigation from this site (``Sec-Fetch-Site``), so another site cannot sign a user out with a link.

The endpoints are plain functions: Starlette runs them in its thread pool, so database calls never block the
event loop that serves every websocket.
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cyp.access import sessions
from cyp.storage.db import get_engine, write_session
from cyp.storage.models import utcnow
from cyp.web.middleware import cookie_header, is_https, request_cookie

DISPLAY_PAGE = "/display"
SIGNOUT_PATH = "/session/signout"
CLAIM_PATH = "/session/claim"
DISPLAY_LINK_PATH = "/display-link/"


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: a redirect never leaves the app (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(character) < 32 for character in target):
        return "/"
    return target


def claim_url(ticket: str, next_path: str) -> str:
    """The address that exchanges ``ticket`` for the session cookie and then shows ``next_path``."""
    return f"{CLAIM_PATH}?{urlencode({'ticket': ticket, 'next': safe_next(next_path)})}"


def signout_url(next_path: str = "/") -> str:
    """The address that ends the browser's session, clears its cookie and then shows ``next_path``."""
    return f"{SIGNOUT_PATH}?{urlencode({'next': safe_next(next_path)})}"


def healthz(_request: Request) -> Response:
    """The process is up and serving."""
    return JSONResponse({"status": "ok"})


def readiness() -> tuple[bool, dict[str, str | None]]:
    """Whether the database answers and is at the newest migration, with what was found."""
    # Imported here, not at the top: alembic took 0.12 s of the server's start-up (`python -X importtime`, 2-CPU
    # machine), before the first page could be served, and of `python -m cyp display-link`; only /readyz uses it.
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from cyp.storage.schema import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        with get_engine().connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as error:
        reason = f"database unreachable: {type(error).__name__}"
        return False, {"status": "not ready", "reason": reason, "migration": None, "expected": head}
    if current != head:
        reason = "database not initialised" if current is None else "migrations pending"
        detail = f"{reason}; run `python -m cyp init`"
        return False, {"status": "not ready", "reason": detail, "migration": current, "expected": head}
    return True, {"status": "ready", "migration": current, "expected": head}


def readyz(_request: Request) -> Response:
    """200 when the database is reachable and migrated to the newest revision, 503 (with the reason) otherwise."""
    ready, body = readiness()
    return JSONResponse(body, status_code=200 if ready else 503)


def _client(request: Request) -> tuple[str | None, str | None]:
    address = request.client.host if request.client else None
    return address, request.headers.get("user-agent")


def _with_session_cookie(response: Response, request: Request, new: sessions.NewSession) -> Response:
    max_age = max(int((new.expires_at - utcnow()).total_seconds()), 0)
    secure = is_https(request.scope)
    response.headers.append(
        "Set-Cookie", cookie_header(sessions.SESSION_COOKIE, new.token, secure=secure, max_age=max_age)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(message: str) -> Response:
    # A plain page of our own: no script, no style, so it shows under the same CSP as everything else.
    body = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Sign-in link not valid – CYP Plan Monitor"
        f"</title></head><body><main><h1>Sign-in link not valid</h1><p>{message}</p>"
        "<p><a href='/'>Go to the sign-in page</a></p></main></body></html>"
    )
    return HTMLResponse(body, status_code=403, headers={"Cache-Control": "no-store"})


def claim(request: Request) -> Response:
    """Exchange ``ticket`` for the session cookie and redirect to ``next``; a refusal page if it is not valid."""
    address, agent = _client(request)
    browser = request_cookie(request.scope, sessions.BROWSER_COOKIE)
    with write_session() as db_session:
        new = sessions.claim_ticket(
            db_session, request.query_params.get("ticket", ""), browser, client_address=address, user_agent=agent
        )
    if new is None:
        return _refused("This sign-in link has expired, was already used, or was opened in another browser.")
    redirect = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _with_session_cookie(redirect, request, new)


def signout(request: Request) -> Response:
    """End the session in the cookie, clear the cookie and redirect to ``next``; ignored when sent by another site."""
    target = safe_next(request.query_params.get("next"))
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return RedirectResponse("/", status_code=303)
    token = request_cookie(request.scope, sessions.SESSION_COOKIE)
    if token:
        with write_session() as db_session:
            sessions.sign_out(db_session, token)
    response = RedirectResponse(target, status_code=303)
    cleared = cookie_header(sessions.SESSION_COOKIE, "", secure=is_https(request.scope), max_age=0)
    response.headers.append("Set-Cookie", cleared)
    response.headers["Cache-Control"] = "no-store"
    return response


def display_link(request: Request) -> Response:
    """Sign this screen in with the display link in the path and show the board display (query passed on)."""
    address, agent = _client(request)
    with write_session() as db_session:
        new = sessions.open_display_link(
            db_session, request.path_params["token"], client_address=address, user_agent=agent
        )
    if new is None:
        return _refused("This display link is not valid: it may have been revoked. Ask an administrator for a new one.")
    query = request.url.query
    redirect = RedirectResponse(DISPLAY_PAGE + (f"?{query}" if query else ""), status_code=303)
    return _with_session_cookie(redirect, request, new)


def routes() -> list[BaseRoute]:
    """Every route of ours, mounted before Streamlit's own."""
    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route(CLAIM_PATH, claim, methods=["GET"]),
        Route(SIGNOUT_PATH, signout, methods=["GET"]),
        Route(DISPLAY_LINK_PATH + "{token}", display_link, methods=["GET"]),
    ]
