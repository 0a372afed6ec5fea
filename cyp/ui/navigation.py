"""The app's navigation for whoever is signed in: every page's address resolves, the menu lists the allowed ones."""

from __future__ import annotations

import base64
import copy
import functools
import html
import json
import threading
from collections.abc import Callable

import streamlit as st

from cyp.access.permissions import Principal, viewable_pages
from cyp.storage.config import PROJECT_ROOT
from cyp.ui.engine import refresh_data_tag
from cyp.ui.escaping import escape_markdown
from cyp.ui.signin import current_principal, sign_in, sign_out
from cyp.web import inline_scripts

DEFAULT_PAGE_KEY = "overview"
# The app's own favicon (a material-icon one is fetched from an outside font host), as a data: address made once per
# process: given as a file, Streamlit reads it and registers it with its media files in every run of every session.
# The CSP allows data: images.
FAVICON_URL = "data:image/png;base64," + base64.b64encode(
    (PROJECT_ROOT / "cyp" / "web" / "favicon.png").read_bytes()
).decode("ascii")
# The section of app.py's pages that belong to whoever is signed in: the menu lists them under "Signed in as ...".
ACCOUNT_SECTION = "Account"
MENU_KEY = "_cyp_menu_page"  # session state: the page the board display's "Menu" link goes back to

# Every st.Page this process has made, by what it was made from (see :func:`page`).
_PAGES: dict[tuple[object, ...], st.Page] = {}
_PAGES_LOCK = threading.Lock()


def page(
    script: str | Callable[[], None],
    *,
    title: str,
    icon: str | None = None,
    url_path: str | None = None,
    default: bool = False,
) -> st.Page:
    """``st.Page(script, ...)`` for this run, made once per process and copied for each run.

    Making a page resolves its file on disk and checks its icon: about 0.06 ms a page, 1 ms a run for the app's
    sixteen, on every run of every session. The copy matters: ``st.navigation`` marks the page it returns as
    callable once, and ``Page.run`` clears the mark, so one object shared by two sessions' runs could refuse to run.
    """
    key = (script, title, icon, url_path, default)
    made = _PAGES.get(key)
    if made is None:
        with _PAGES_LOCK:
            made = _PAGES.setdefault(key, st.Page(script, title=title, icon=icon, url_path=url_path, default=default))
    return copy.copy(made)


def _page_key(page: st.Page) -> str:
    """The page's key in data/access.yaml: its URL path (file name), the default page having none."""
    return str(page.url_path or DEFAULT_PAGE_KEY)


def navigation(sections: dict[str, list[st.Page]], public: list[st.Page]) -> st.navigation:  # type: ignore[valid-type]
    """The app's navigation for whoever is signed in; also reads the data's version once for this run's loaders.

    Every page's address always resolves, so a shared link works: signed out, it shows the sign-in form and, once
    signed in, the page itself (query parameters kept); a page the role may not see shows a clear refusal. The menu
    lists only the allowed pages. Hiding a page is presentation: every write checks permissions again in ``cyp``.
    """
    from cyp.ui import websession

    refresh_data_tag()
    principal = websession.refresh()  # every run asks the database who the session cookie is now
    allowed: dict[str, list[st.Page]] = {}
    registered: list[st.Page] = []
    keys = [_page_key(page) for pages in sections.values() for page in pages]
    viewable = viewable_pages(principal, keys) if principal is not None else frozenset()
    for section, pages in sections.items():
        for listed in pages:
            key = _page_key(listed)
            if key in viewable:
                allowed.setdefault(section, []).append(listed)
                registered.append(listed)
                continue
            # A stand-in at the page's address: made once per process, as the pages themselves (see :func:`page`).
            stand_in = _sign_in_page if principal is None else _refusal(listed.title)
            registered.append(page(stand_in, title=listed.title, url_path=key, default=not listed.url_path))
    registered.extend(public)
    allowed_pages = [page for pages in allowed.values() for page in pages]
    if principal is not None and allowed_pages and all(page.url_path for page in allowed_pages):
        # A role without the overview (the meeting-room screen) starts on its own first page instead.
        index = next(i for i, page in enumerate(registered) if not page.url_path)
        start = _go_to(allowed_pages[0])
        registered[index] = page(start, title=registered[index].title, url_path=DEFAULT_PAGE_KEY, default=True)
    # Register first: a page link is checked against the pages registered in this run.
    navigation = st.navigation(registered, position="hidden")
    # The board display hides the sidebar; its "Menu" link returns to the first other page the role may see.
    st.session_state[MENU_KEY] = next((page for page in allowed_pages if page.url_path != "display"), None)
    _accessibility_css()
    _sidebar_menu(principal, allowed, public)
    return navigation


# WCAG 2.2 target size (2.5.8): Streamlit's date field draws day, month and year as ~18 px spin buttons.
# WCAG 2.4.7 / 2.4.13: Streamlit's focus marks are a faint tint on sidebar links (1.09:1), nothing on the file
# uploader's button and a 2.47:1 ring elsewhere. One near-black ring, 3 px and offset onto the page's white or
# light grey, contrasts by 15:1 or more with what is around it; form fields draw it round the whole field.
# And an Outcomes card's "who" row (cyp/ui/widgets.py) stacks on a narrow screen, as Streamlit's columns do.
_ACCESSIBILITY_CSS = """<style>
[data-testid='stDateInput'] [role='spinbutton']
{display:inline-block;min-width:24px;min-height:24px;line-height:24px;text-align:center}
:focus-visible, [data-testid='stSidebar'] a:focus-visible, [data-testid='stPageLink'] a:focus-visible,
[data-testid='stFileUploaderDropzone'] button:focus-visible
{outline:3px solid #0b0c0c !important;outline-offset:2px !important}
[data-baseweb='select'] > div:focus-within, [data-baseweb='input']:focus-within,
[data-baseweb='textarea']:focus-within, [data-baseweb='base-input']:focus-within
{outline:3px solid #0b0c0c !important;outline-offset:2px !important}
[data-baseweb='select'] input:focus-visible, [data-baseweb='input'] input:focus-visible,
[data-baseweb='textarea'] textarea:focus-visible {outline:none !important}
@media (max-width:640px) {.cyp-who {flex-direction:column}}
</style>"""


def _accessibility_css() -> None:
    st.html(_ACCESSIBILITY_CSS)


def menu_link() -> None:
    """A visible "Menu" link back to the app for pages that hide the sidebar (the board display); nothing for a
    role with no other page (the meeting-room screen)."""
    page = st.session_state.get(MENU_KEY)
    if page is not None:
        st.page_link(page, label="Menu", icon=":material/menu:")


def board_keys() -> None:
    """The board display's keys (arrows and Space when no control has focus); the CSP allows the script by hash."""
    st.html(f"<script>{inline_scripts.BOARD_KEYS}</script>", unsafe_allow_javascript=True)


def board_address(params: dict[str, str]) -> None:
    """Rewrite the address in place (no history entry), so a bookmark reopens this slide and Back leaves.

    The script's text is fixed, so the CSP allows it by hash; the parameters travel in an attribute beside it.
    """
    st.html(
        f'<div hidden data-board-address="{html.escape(json.dumps(params))}"></div>'
        f"<script>{inline_scripts.BOARD_ADDRESS}</script>",
        unsafe_allow_javascript=True,
    )


# The stand-ins' bodies are made once per page too (not a new function each run), so :func:`page` finds them.
_GO_TO: dict[str, Callable[[], None]] = {}


def _go_to(target: st.Page) -> Callable[[], None]:
    def go() -> None:
        st.switch_page(target, query_params=st.query_params.to_dict())  # a bookmarked view keeps its filters

    return _GO_TO.setdefault(_page_key(target), go)


def _sign_in_page() -> None:
    if sign_in() is not None:
        st.rerun()


@functools.cache
def _refusal(title: str) -> Callable[[], None]:
    def refuse() -> None:
        st.title(title)
        principal = current_principal()
        role = principal.role if principal else "signed-out"
        st.error(
            f"Your account ({role}) does not give access to this page. "
            "If you need it, ask the performance team (an administrator) to change your role.",
            icon=":material/block:",
        )

    return refuse


# A page link per page, not Streamlit's own sectioned menu (st.navigation position="sidebar"), though that would be
# one message instead of ~20 elements a run: its sections put list items in divs inside the list, which axe refuses
# (rules list and listitem, WCAG 1.3.1).
def _sidebar_menu(principal: Principal | None, allowed: dict[str, list[st.Page]], public: list[st.Page]) -> None:
    with st.sidebar:
        for section, pages in allowed.items():
            if section == ACCOUNT_SECTION:
                continue  # listed under who is signed in, below
            st.caption(section)
            for page in pages:
                st.page_link(page)
        if public:
            st.caption("Share")
            for page in public:
                st.page_link(page)
        if principal is not None:
            # Who is signed in heads their own block (their account page, signing out), as a caption heads a section.
            st.caption(f"Signed in as **{escape_markdown(principal.username)}** ({escape_markdown(principal.role)})")
            for page in allowed.get(ACCOUNT_SECTION, []):
                st.page_link(page)
            st.button("Sign out", on_click=sign_out, icon=":material/logout:")
