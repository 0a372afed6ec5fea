"""Middleware around every HTTP response: security headers, and the browser cookie that sign-in tickets are bound to.

Both are plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``), so Streamlit's websocket, its streamed
static files and its range requests pass through untouched; only the ``http.response.start`` message is changed.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from http.cookies import SimpleCookie
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cyp.access.sessions import BROWSER_COOKIE, new_token
from cyp.storage.config import get_settings
from cyp.web.inline_scripts import SCRIPTS

HSTS = "max-age=31536000"


def _streamlit_index() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("streamlit")
    if spec is None or spec.origin is None:  # pragma: no cover - Streamlit is a requirement
        raise RuntimeError("Streamlit is not installed")
    return Path(spec.origin).parent / "static" / "index.html"


@cache
def inline_script_hashes(index_html: Path | None = None) -> tuple[str, ...]:
    """CSP hashes of the inline scripts in Streamlit's index.html (one line that sets ``window.prerenderReady``).

    Read from the installed Streamlit, so an upgrade that changes the line keeps working without a code change.
    """
    text = (index_html or _streamlit_index()).read_text(encoding="utf-8")
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", text, flags=re.DOTALL)
    if index_html is None:
        scripts.extend(SCRIPTS)  # the app's own (cyp/web/inline_scripts.py)
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
        for body in scripts
    )


def content_security_policy(frame_ancestors: str) -> str:
    """The Content-Security-Policy the app works under: everything from this origin, nothing from anywhere else.

    Streamlit's styling library writes ``<style>`` elements and style attributes at run time, hence
    ``'unsafe-inline'`` for styles only; scripts run only from this origin plus the hashed inline line, and may
    compile WebAssembly (``'wasm-unsafe-eval'``: Streamlit's table reader is WebAssembly; it allows no JavaScript
    ``eval``). Images and
    media may be ``data:``/``blob:`` URLs (charts, downloads), and ``connect-src 'self'`` covers the websocket.
    """
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(("'self'", "'wasm-unsafe-eval'", *inline_script_hashes())),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "media-src": "'self' data: blob:",
        "worker-src": "'self' blob:",
        "frame-src": "'self' blob: data:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": frame_ancestors,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _frame_options(frame_ancestors: str) -> str | None:
    # The old header for old browsers, where it can say the same as frame-ancestors.
    sources = frame_ancestors.split()
    if sources == ["'self'"]:
        return "SAMEORIGIN"
    if sources == ["'none'"]:
        return "DENY"
    return None


def is_https(scope: Scope) -> bool:
    """Whether the browser reached us over https (uvicorn applies a trusted proxy's X-Forwarded-Proto)."""
    return scope.get("scheme") in ("https", "wss")


def security_headers(scope: Scope) -> dict[str, str]:
    """The headers every response carries (HSTS only over https: over http a browser ignores it anyway)."""
    frame_ancestors = get_settings().frame_ancestors
    headers = {
        "Content-Security-Policy": content_security_policy(frame_ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    frame_options = _frame_options(frame_ancestors)
    if frame_options:
        headers["X-Frame-Options"] = frame_options
    if is_https(scope):
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    """Add :func:`security_headers` to every HTTP response, the app's own and Streamlit's alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def request_cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` in this request, or None."""
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is the browser's problem, not a 500
                continue
            if name in jar:
                return jar[name].value
    return None


def cookie_header(name: str, value: str, *, secure: bool, max_age: int | None = None) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Lax, whole site; Secure over https; ``max_age`` 0 deletes it."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class BrowserCookieMiddleware:
    """Give every browser that loads a page a random ``cyp_browser`` cookie (HttpOnly) if it has none.

    A sign-in ticket records the digest of the cookie of the script run that signed in, and ``/session/claim``
    accepts the ticket only from a request carrying the same cookie: a ticket sent to someone else's browser
    (login CSRF) is refused.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or request_cookie(scope, BROWSER_COOKIE):
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.append("Set-Cookie", cookie_header(BROWSER_COOKIE, new_token(), secure=is_https(scope)))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
