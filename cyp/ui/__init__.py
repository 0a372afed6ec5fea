"""The one module that imports Streamlit: cached engine and loaders, shared widgets.

Pages call these helpers and ``cyp`` functions; they hold no logic of their own.
Cached reads are cleared with :func:`clear_caches` after every write.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from streamlit.delta_generator import DeltaGenerator

from cyp.access.permissions import Principal
from cyp.bootstrap import initialise_database
from cyp.quarters import Quarter, QuarterError, current_quarter, parse_quarter, quarter_range
from cyp.read.browse import domain_mappings, index_domains, plan_choices
from cyp.read.charts import STATUS_ICONS, status_label
from cyp.read.reports import (
    UnknownPlan,
    ViewFilters,
    domain_summary,
    exceptions,
    indicator_series,
    line_history,
    line_statuses,
    line_trends,
    outcome_summary,
    quarters_with_returns,
    status_report,
)
from cyp.read.tracker import submission_tracker, tracker_frame, tracker_grid
from cyp.status import ALL_STATUSES, describe_rule, status_change
from cyp.storage.config import PROJECT_ROOT, get_settings
from cyp.storage.db import get_engine, read_session
from cyp.storage.models import Action, AuditEvent, Meta, Plan


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


def attempt_write(
    principal: Principal,
    action: Callable[..., Any],
    *args: Any,
    expected: tuple[type[Exception], ...] = (),
    **options: Any,
) -> tuple[bool, Any]:
    """Run ``action(session, principal, *args, **options)`` in its own write transaction: (done, its result).

    A refusal, or one of the ``expected`` errors, is shown on the page and gives (False, None); after a write
    every cached read is forgotten.
    """
    from cyp.access.permissions import PermissionDenied
    from cyp.storage.db import write_session

    try:
        with write_session(engine()) as db_session:
            outcome = action(db_session, principal, *args, **options)
    except PermissionDenied as refusal:
        st.error(str(refusal), icon=":material/block:")
        return False, None
    except expected as error:
        st.error(str(error), icon=":material/error:")
        return False, None
    clear_caches()
    return True, outcome


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
    from cyp.read.charts import STATUS_COLOURS, STATUS_TEXT_COLOURS, status_label

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


PRINCIPAL_KEY = "cyp_principal"


def current_principal() -> Principal | None:
    """Who is signed in to this browser session, if anyone."""
    return st.session_state.get(PRINCIPAL_KEY)


def current_username() -> str:
    """The signed-in user's name, for the audit trail."""
    principal = current_principal()
    return principal.username if principal else "anonymous"


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
    from cyp.access.accounts import first_admin_instruction
    from cyp.access.signin import authenticate, principal_for_oidc
    from cyp.storage.db import write_session
    from cyp.ui import websession

    principal = current_principal()
    if principal is not None:
        return principal
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            email = st.user.get("email")
            with write_session(engine()) as db_session:
                principal = principal_for_oidc(db_session, email)
                _audit_oidc_sign_in(db_session, principal, email)
            if principal is None:
                st.error("Your account has no access to CYP Plan Monitor. Ask the performance team to add you.")
                st.button("Sign out", on_click=st.logout)
                return None
            websession.start(principal, "identity provider")
            return principal
        st.title("CYP Plan Monitor")
        st.button("Sign in with your council account", on_click=st.login, type="primary")
        return None

    st.title("Sign in to CYP Plan Monitor")
    with session() as db_session:
        instruction = first_admin_instruction(db_session)
    if instruction:
        st.info(instruction)
    demo_accounts_notice()
    with st.form("sign_in"):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        with write_session(engine()) as db_session:
            result = authenticate(db_session, username, password)
        if result.ok and result.principal is not None:
            websession.start(result.principal, "password")
            st.rerun()
        st.error(result.message)
    return None


OIDC_REFUSAL_AUDITED = "cyp_oidc_refusal_audited"


def _audit_oidc_sign_in(db_session: Session, principal: Principal | None, email: str | None) -> None:
    """Audit an identity-provider sign-in once per browser session: the principal is kept after this run."""
    from cyp.access import audit

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
    import json

    with session() as db_session:
        stored = db_session.scalar(select(Meta.value).where(Meta.key == "demo_accounts"))
    if not stored:
        return
    rows = "\n".join(f"| {role} | `{username}` | `{password}` |" for username, password, role in json.loads(stored))
    st.info(
        "**Demonstration accounts**, shown only while demo data is loaded:\n\n"
        "| role | username | password |\n| --- | --- | --- |\n" + rows,
        icon=":material/science:",
    )


DEFAULT_PAGE_KEY = "overview"


def _page_key(page: st.Page) -> str:
    """The page's key in data/access.yaml: its URL path (file name), the default page having none."""
    return str(page.url_path or DEFAULT_PAGE_KEY)


def navigation(sections: dict[str, list[st.Page]], public: list[st.Page]) -> st.navigation:  # type: ignore[valid-type]
    """The app's navigation for whoever is signed in.

    Every page's address always resolves, so a shared link works: signed out, it shows the sign-in form and, once
    signed in, the page itself (query parameters kept); a page the role may not see shows a clear refusal. The menu
    lists only the allowed pages. Hiding a page is presentation: every write checks permissions again in ``cyp``.
    """
    from cyp.access.permissions import can_view_page
    from cyp.ui import websession

    principal = websession.refresh()  # every run asks the database who the session cookie is now
    allowed: dict[str, list[st.Page]] = {}
    registered: list[st.Page] = []
    for section, pages in sections.items():
        for page in pages:
            key = _page_key(page)
            if principal is not None and can_view_page(principal, key):
                allowed.setdefault(section, []).append(page)
                registered.append(page)
                continue
            stand_in = _sign_in_page if principal is None else _refusal(page.title)
            registered.append(st.Page(stand_in, title=page.title, url_path=key, default=not page.url_path))
    registered.extend(public)
    allowed_pages = [page for pages in allowed.values() for page in pages]
    if principal is not None and allowed_pages and all(page.url_path for page in allowed_pages):
        # A role without the overview (the meeting-room screen) starts on its own first page instead.
        index = next(i for i, page in enumerate(registered) if not page.url_path)
        registered[index] = st.Page(
            _go_to(allowed_pages[0]), title=registered[index].title, url_path=DEFAULT_PAGE_KEY, default=True
        )
    # Register first: a page link is checked against the pages registered in this run.
    navigation = st.navigation(registered, position="hidden")
    _accessibility_css()
    _sidebar_menu(principal, allowed, public)
    return navigation


# WCAG 2.2 target size (2.5.8): Streamlit's date field draws day, month and year as ~18 px spin buttons.
_ACCESSIBILITY_CSS = (
    "<style>[data-testid='stDateInput'] [role='spinbutton']"
    "{display:inline-block;min-width:24px;min-height:24px;line-height:24px;text-align:center}</style>"
)


def _accessibility_css() -> None:
    st.html(_ACCESSIBILITY_CSS)


def _go_to(page: st.Page):  # type: ignore[no-untyped-def]
    def go() -> None:
        st.switch_page(page, query_params=st.query_params.to_dict())  # a bookmarked view keeps its filters

    return go


def _sign_in_page() -> None:
    if sign_in() is not None:
        st.rerun()


def _refusal(title: str):  # type: ignore[no-untyped-def]
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


def _sidebar_menu(principal: Principal | None, allowed: dict[str, list[st.Page]], public: list[st.Page]) -> None:
    with st.sidebar:
        for section, pages in allowed.items():
            st.caption(section)
            for page in pages:
                st.page_link(page)
        if public:
            st.caption("Share")
            for page in public:
                st.page_link(page)
        if principal is not None:
            st.divider()
            st.caption(f"Signed in as **{principal.username}** ({principal.role})")
            st.button("Sign out", on_click=sign_out, icon=":material/logout:")


FILTER_FIELDS = ("quarter", "plan", "outcome", "objective", "team", "body", "domain", "driver", "status")
FILTER_LABELS = {
    "quarter": "Quarter",
    "plan": "Plan",
    "outcome": "Outcome",
    "objective": "Objective",
    "team": "Team",
    "body": "Monitoring body",
    "domain": "Index domain",
    "driver": "Driver",
    "status": "Status",
}
ALL = "All"


def database_url() -> str:
    """The configured database URL tagged with the data's version: every cached loader takes it as its first argument.

    Two databases never share a cache entry, and since every write anywhere is an audit event, the newest event's id
    changes whenever data changes, in this process or another (the command line, another app instance): the next run
    reads fresh data instead of waiting for a cache to expire.
    """
    url = get_settings().database_url
    with read_session(_initialised_engine(url)) as db_session:
        version = db_session.scalar(select(func.max(AuditEvent.id))) or 0
    return f"{url}#{version}"


@contextmanager
def _session_for(tagged_url: str) -> Iterator[Session]:
    url = tagged_url.split("#", 1)[0]
    with read_session(_initialised_engine(url)) as db_session:
        yield db_session


@dataclass(frozen=True)
class FilterOptions:
    """What each filter can be set to for one plan: (value, label) pairs, plain data so it caches."""

    plan_title: str
    quarters: tuple[str, ...]
    quarters_with_returns: tuple[str, ...]
    outcomes: tuple[tuple[str, str], ...]
    objectives: tuple[tuple[str, str, str], ...]  # (ref, text, outcome ref)
    teams: tuple[tuple[str, str], ...]
    bodies: tuple[tuple[str, str], ...]
    domains: tuple[tuple[str, str], ...]
    drivers: tuple[tuple[str, str], ...]


@st.cache_data(ttl=600, show_spinner=False)
def load_plans(url: str) -> tuple[tuple[str, str, bool], ...]:
    """(ref, title, is current) per plan, the current plan first."""
    with _session_for(url) as db_session:
        return tuple(
            (row.ref, row.title, bool(row.is_current))
            for row in db_session.execute(
                select(Plan.ref, Plan.title, Plan.is_current).order_by(Plan.is_current.desc(), Plan.first_year.desc())
            )
        )


@st.cache_data(ttl=600, show_spinner=False)
def load_filter_options(url: str, plan_ref: str) -> FilterOptions:
    """Every value each filter can take within a plan, with readable labels."""
    with _session_for(url) as db_session:
        plan = plan_choices(db_session, plan_ref)
        if plan is None:
            raise UnknownPlan(f"There is no plan '{plan_ref}'.")
        last = min(Quarter(plan.last_year, 4), current_quarter())
        quarters = tuple(q.label for q in reversed(quarter_range(Quarter(plan.first_year, 1), last)))
        with_returns = tuple(q.label for q in quarters_with_returns(db_session, plan_ref))
        return FilterOptions(
            plan_title=plan.title,
            quarters=quarters,
            quarters_with_returns=with_returns,
            outcomes=plan.outcomes,
            objectives=plan.objectives,
            teams=plan.teams,
            bodies=plan.bodies,
            domains=tuple((d.ref, d.short_name) for d in index_domains(db_session)),
            drivers=plan.drivers,
        )


def _default_plan(url: str) -> str | None:
    plans = load_plans(url)
    return plans[0][0] if plans else None


def current_filters() -> ViewFilters:
    """The filters in the address bar, as they are (not yet checked against the plan)."""
    return ViewFilters.from_query_params(st.query_params.to_dict())


def resolved_filters(filters: ViewFilters | None = None) -> tuple[ViewFilters, FilterOptions]:
    """Filters with plan and quarter always set: the plan defaults to the current plan, the quarter to the latest
    with returns for that plan; a quarter or outcome/objective outside the plan is dropped."""
    filters = filters or current_filters()
    url = database_url()
    refs = [ref for ref, _title, _current in load_plans(url)]
    if not refs:
        st.error("No plan is loaded. Run `python -m cyp init` to load the plan framework.")
        st.stop()
    plan_ref = filters.plan if filters.plan in refs else refs[0]
    options = load_filter_options(url, plan_ref)
    quarter = None
    if filters.quarter:
        try:
            quarter = parse_quarter(filters.quarter).label
        except QuarterError:
            quarter = None
    if quarter not in options.quarters:
        quarter = (options.quarters_with_returns or options.quarters or (None,))[0]
    outcome = filters.outcome if filters.outcome in {ref for ref, _ in options.outcomes} else None
    objectives = {ref: parent for ref, _text, parent in options.objectives}
    objective = filters.objective if filters.objective in objectives else None
    if objective and outcome and objectives[objective] != outcome:
        objective = None
    return filters.replace(plan=plan_ref, quarter=quarter, outcome=outcome, objective=objective), options


def _choices(name: str, options: FilterOptions) -> list[tuple[str, str]]:
    if name == "quarter":
        return [
            (label, label + ("" if label in options.quarters_with_returns else " (no returns)"))
            for label in options.quarters
        ]
    if name == "plan":
        return [(ref, f"{ref} (current)" if current else ref) for ref, _title, current in load_plans(database_url())]
    if name == "objective":
        return [(ref, f"{ref} · {text}") for ref, text, _outcome in options.objectives]
    if name == "status":
        return [(status, status_label(status)) for status in ALL_STATUSES]
    return list(getattr(options, {"body": "bodies"}.get(name, name + "s")))


def outcome_switcher(filters: ViewFilters, options: FilterOptions) -> ViewFilters:
    """One click to any outcome of the plan (pills, wrapping on narrow screens); writes the choice to the URL."""
    names = dict(options.outcomes)
    # No widget key, as in filter_bar: the selection always follows the address.
    picked = st.pills(
        "Outcome",
        list(names),
        default=filters.outcome,
        format_func=lambda ref: names[ref],
        label_visibility="collapsed",
    )
    if picked and picked != filters.outcome:
        filters = filters.replace(outcome=picked, objective=None)
        write_filters(filters)
        st.rerun()
    return filters


def filter_bar(names: tuple[str, ...] = ("quarter", "plan"), columns: int = 4) -> ViewFilters:
    """Selectboxes for the named filters, read from and written back to the URL; returns the resolved filters.

    Plan and quarter are always resolved (defaults written to the URL too), so copying the address restores the
    view exactly. Filters a page does not show are kept in the URL untouched.
    """
    filters, options = resolved_filters()
    chosen: dict[str, str | None] = {}
    grid = st.columns(columns)
    for position, name in enumerate(names):
        choices = _choices(name, options)
        if name == "objective" and filters.outcome:
            outcome_objectives = {ref for ref, _text, parent in options.objectives if parent == filters.outcome}
            choices = [choice for choice in choices if choice[0] in outcome_objectives]
        values: list[str | None] = [value for value, _label in choices]
        labels = dict(choices)
        if name not in ("quarter", "plan"):
            values = [None, *values]
        current = getattr(filters, name)
        # No widget key: the widget's identity follows its default, so whenever the address changes (a link, a
        # pasted URL, a page switch) a fresh widget shows what the address says, and a choice made here is written
        # back to the address below.
        current = current if current in values else values[0] if values else None
        picked = grid[position % columns].selectbox(
            FILTER_LABELS[name],
            values,
            index=values.index(current) if values else None,
            format_func=lambda value, labels=labels: ALL if value is None else labels.get(value, value),
        )
        chosen[name] = picked
    if chosen.get("plan", filters.plan) != filters.plan:
        # Another plan: its quarters, outcomes and objectives differ, so start from that plan's defaults.
        # Rerun so every widget already drawn shows that plan's defaults.
        resolved, _options = resolved_filters(
            filters.replace(**chosen).replace(quarter=None, outcome=None, objective=None)
        )
        write_filters(resolved)
        st.rerun()
    filters = filters.replace(**chosen)
    write_filters(filters)
    return filters


def write_filters(filters: ViewFilters) -> None:
    """Put the filters in the URL (unset ones removed); other query parameters are kept."""
    wanted = filters.to_query_params()
    for name in FILTER_FIELDS:
        if name in wanted:
            if st.query_params.get(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]


def filter_caption(
    filters: ViewFilters, names: tuple[str, ...] = ("team", "body", "domain", "driver", "status")
) -> str:
    """A sentence naming the narrowing filters that are set, e.g. "Showing only: Team family-services."""
    parts = [f"{FILTER_LABELS[name]} {getattr(filters, name)}" for name in names if getattr(filters, name)]
    return ("Showing only lines matching: " + "; ".join(parts) + ".") if parts else ""


def line_filters(filters: ViewFilters) -> ViewFilters:
    """Only the filters that narrow lines (quarter and plan are passed separately to the loaders)."""
    return filters.replace(quarter=None, plan=None)


@st.cache_data(ttl=600, show_spinner=False)
def load_outcome_summary(url: str, quarter: str, plan_ref: str) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.outcome_summary`."""
    with _session_for(url) as db_session:
        return outcome_summary(db_session, quarter, plan_ref)


@st.cache_data(ttl=600, show_spinner=False)
def load_status_report(url: str, quarter: str, plan_ref: str) -> dict:
    """Cached :func:`cyp.read.reports.status_report`."""
    with _session_for(url) as db_session:
        return status_report(db_session, quarter, plan_ref)


@st.cache_data(ttl=600, show_spinner=False)
def load_line_statuses(url: str, quarter: str, plan_ref: str, filters: ViewFilters | None = None) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.line_statuses` (pass :func:`line_filters` so quarter/plan do not split it)."""
    with _session_for(url) as db_session:
        return line_statuses(db_session, quarter, plan_ref, filters)


@st.cache_data(ttl=600, show_spinner=False)
def load_line_trends(url: str, plan_ref: str, quarters: tuple[str, ...]) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.line_trends`."""
    with _session_for(url) as db_session:
        return line_trends(db_session, plan_ref, quarters)


@st.cache_data(ttl=600, show_spinner=False)
def load_domain_summary(url: str, quarter: str, plan_ref: str) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.domain_summary`."""
    with _session_for(url) as db_session:
        return domain_summary(db_session, quarter, plan_ref)


@st.cache_data(ttl=600, show_spinner=False)
def load_indicator_series(
    url: str, indicator_refs: tuple[str, ...] | None = None, outcome_ref: str | None = None
) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.indicator_series`."""
    with _session_for(url) as db_session:
        return indicator_series(db_session, indicator_refs, outcome_ref)


@st.cache_data(ttl=600, show_spinner=False)
def load_exceptions(url: str, quarter: str, plan_ref: str) -> dict[str, pd.DataFrame]:
    """Cached :func:`cyp.read.reports.exceptions`."""
    with _session_for(url) as db_session:
        return exceptions(db_session, quarter, plan_ref)


def load_latest_return_at(url: str, quarter: str, plan_ref: str) -> str:
    """ISO time of the latest current return for the quarter ("" for none).

    Not cached on purpose: it is one aggregate, and the board display polls it to notice a new return at once.
    """
    from cyp.board.data import latest_return_at

    with _session_for(url) as db_session:
        stamp = latest_return_at(db_session, quarter, plan_ref)
    return stamp.isoformat() if stamp else ""


@st.cache_data(ttl=600, show_spinner=False)
def load_board_data(url: str, quarter: str, plan_ref: str, stamp: str):  # type: ignore[no-untyped-def]
    """Cached :func:`cyp.board.data.board_data`; pass :func:`load_latest_return_at` as ``stamp`` so a newly accepted
    return (from this app or the command line) gives a new cache entry without anyone clearing caches."""
    from cyp.board.data import board_data

    with _session_for(url) as db_session:
        return board_data(db_session, quarter, plan_ref)


def board_pack_bytes(quarter: str, plan_ref: str, suffix: str) -> bytes:
    """The board pack as ``pdf`` or ``xlsx`` bytes, built when asked for (a download button's deferred data)."""
    from cyp.board.excel import board_pack_xlsx
    from cyp.board.pdf import board_pack_pdf

    with session() as db_session:
        build = board_pack_pdf if suffix == "pdf" else board_pack_xlsx
        return build(db_session, quarter, plan_ref)


def board_pack_downloads(quarter: str, plan_ref: str, key: str = "board_pack") -> None:
    """Download buttons for the board pack (PDF and Excel); each is built only when clicked."""
    from cyp.board.data import PDF_MIME, XLSX_MIME, board_pack_filename

    columns = st.columns(2)
    for column, suffix, mime, label in (
        (columns[0], "pdf", PDF_MIME, "Board pack (PDF)"),
        (columns[1], "xlsx", XLSX_MIME, "Board data (Excel)"),
    ):
        column.download_button(
            label,
            data=lambda suffix=suffix: board_pack_bytes(quarter, plan_ref, suffix),
            file_name=board_pack_filename(plan_ref, quarter, suffix),
            mime=mime,
            key=f"{key}_{suffix}",
            on_click="ignore",
            icon=":material/download:",
        )


@st.cache_data(ttl=600, show_spinner=False)
def load_tracker(url: str, quarter: str) -> pd.DataFrame:
    """Cached tracker rows for one quarter as a DataFrame."""
    with _session_for(url) as db_session:
        return tracker_frame(submission_tracker(db_session, quarter))


@st.cache_data(ttl=600, show_spinner=False)
def load_tracker_grid(url: str, quarters: tuple[str, ...]) -> pd.DataFrame:
    """Cached :func:`cyp.read.tracker.tracker_grid`."""
    with _session_for(url) as db_session:
        return tracker_grid(db_session, quarters)


@st.cache_data(ttl=600, show_spinner=False)
def load_line_history(url: str, line_ref: str) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.line_history`."""
    with _session_for(url) as db_session:
        return line_history(db_session, line_ref)


@st.cache_data(ttl=600, show_spinner=False)
def load_line_info(url: str, line_ref: str) -> dict[str, str] | None:
    """A line's framework context (plan, outcome, objective, action, teams, bodies), or None for an unknown ref."""
    with _session_for(url) as db_session:
        action = db_session.scalar(select(Action).where(Action.ref == line_ref))
        if action is None:
            return None
        objective = action.objective
        outcome = objective.outcome
        return {
            "ref": action.ref,
            "action": action.text or objective.text,
            "whole_objective": str(action.whole_objective),
            "objective_ref": objective.ref,
            "objective": objective.text,
            "outcome_ref": outcome.ref,
            "outcome": outcome.name,
            "plan": outcome.plan.ref,
            "plan_title": outcome.plan.title,
            "teams": "; ".join(p.name for p in action.partners)
            or (action.reporting_partner.name if action.reporting_partner else ""),
            "bodies": "; ".join(b.name for b in action.bodies),
            "is_demo": str(action.is_demo),
        }


def distribution_text(counts: Mapping[str, int], statuses: tuple[str, ...] = ALL_STATUSES) -> str:
    """A status distribution as text with icons, e.g. "✖ 3 Red · ▲ 5 Amber"; statuses with none left out."""
    parts = [f"{STATUS_ICONS[s]} {int(counts.get(s, 0))} {s}" for s in statuses if int(counts.get(s, 0))]
    return " · ".join(parts) or "no lines"


def status_tile(title: str, status: str | None, counts: Mapping[str, int], note: str | None = None) -> DeltaGenerator:
    """A bordered tile: title, rolled-up status badge, its distribution and an optional note (e.g. the change).

    Returns the tile, so the caller can add a link inside it; tiles in one row stretch to the same height.
    """
    tile = st.container(border=True, height="stretch")
    with tile:
        st.markdown(f"**{escape_markdown(title)}**")
        if isinstance(status, str) and status:
            st.markdown(status_badge_html(status, "1.15rem"), unsafe_allow_html=True)
            st.markdown(distribution_text(counts))
        else:
            st.markdown("*No lines*")
        if note:
            st.caption(note)
    return tile


def rollup_rule_note() -> None:
    """States the roll-up rule under any rolled-up status, as the issue requires."""
    st.caption(f"**Roll-up rule.** {describe_rule()}")


def line_link_url(line_ref: str) -> str:
    """Relative address of a line's history page, for a ``LinkColumn``."""
    return f"/line_history?line={quote(line_ref)}"


LINE_LINK_COLUMN = "History"


def line_link_column() -> st.column_config.LinkColumn:
    """Column config for a table's history links: the cell shows the line ref, the link opens its history."""
    return st.column_config.LinkColumn(
        LINE_LINK_COLUMN, display_text=r"/line_history\?line=(.*)$", help="Open this line's history", width="medium"
    )


def with_line_links(frame: pd.DataFrame, ref_column: str = "ref") -> pd.DataFrame:
    """The frame with a first column linking each row's line to its history."""
    return frame.assign(**{LINE_LINK_COLUMN: frame[ref_column].map(line_link_url)})[[LINE_LINK_COLUMN, *frame.columns]]


def labelled_statuses(series: pd.Series) -> pd.Series:
    """Statuses as icon + text (``▲ Amber``) for tables; blanks stay blank."""
    return series.map(lambda status: status_label(status) if isinstance(status, str) and status else "")


def change_note(status: str | None, previous: str | None) -> str:
    """ "Last quarter: ● Green (worse)" for a tile; says so when there is no earlier quarter in the plan."""
    if previous is None or (isinstance(previous, float) and pd.isna(previous)):
        return "First quarter of the plan: nothing to compare with."
    change = status_change(status, previous)
    if change == "Same":
        return f"Last quarter: {status_label(previous)} (no change)"
    return f"Last quarter: {status_label(previous)}" + (f" ({change.lower()})" if change else "")


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~$:])")


def escape_markdown(text: object) -> str:
    """Text a team typed, safe to put inside ``st.markdown`` (no accidental bold, links, headings or LaTeX)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    # Backslash escapes (CommonMark) also keep "<" and "&" literal where HTML is allowed, e.g. beside a badge.
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).split()))


def trend_icons(trend: pd.DataFrame) -> str:
    """A line's statuses over quarters as icons with short quarter labels, e.g. "25-26 Q4 ● · 26-27 Q1 ▲"."""
    return " · ".join(f"{row.quarter[2:]} {STATUS_ICONS.get(row.status, '?')}" for row in trend.itertuples(index=False))


def trend_quarters(quarter: str, options: FilterOptions, count: int = 6) -> tuple[str, ...]:
    """The ``count`` plan quarters up to and including ``quarter``, oldest first, for compact trends."""
    ordered = sorted(label for label in options.quarters if label <= quarter)
    return tuple(ordered[-count:])


@st.cache_data(ttl=600, show_spinner=False)
def load_domain_indicators(url: str, plan_ref: str) -> tuple[tuple[str, str], ...]:
    """(indicator ref, domain ref) for every indicator of the plan mapped to a Family Friendly Index domain."""
    with _session_for(url) as db_session:
        frame = domain_mappings(db_session)
    indicators = frame[(frame["kind"] == "Indicator") & (frame["plan"] == plan_ref)]
    return tuple(zip(indicators["ref"], indicators["domain_ref"], strict=True))


ACCESSIBILITY_STATEMENT = PROJECT_ROOT / "docs" / "accessibility.md"


@st.cache_data(show_spinner=False)
def accessibility_statement() -> tuple[str, str]:
    """(title, body) of the accessibility statement: docs/accessibility.md, its first ``# `` line as the title."""
    text = ACCESSIBILITY_STATEMENT.read_text(encoding="utf-8")
    first, _newline, body = text.partition("\n")
    return first.removeprefix("# ").strip(), body.strip()


YOUNG_PEOPLE_TEXT = PROJECT_ROOT / "data" / "young-people.yaml"


@st.cache_data(show_spinner=False)
def young_people_words() -> dict:
    """The plain words for the young people's summary, from ``data/young-people.yaml``."""
    with YOUNG_PEOPLE_TEXT.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def suppressed_count(count: int) -> str:
    """A count fit to publish: "none", the number from 6 up, and "fewer than 6" for 1 to 5."""
    words = young_people_words()
    if count <= 0:
        return "none"
    return str(words["suppressed"]) if count <= int(words["suppress_up_to"]) else str(count)


def table_height(rows: int) -> int:
    """Pixel height that shows every row of an ``st.dataframe`` without an inner scroll bar."""
    return 38 + 35 * max(rows, 1)


def _leave_pages_directory_mode() -> None:
    """Make sure every page runs through app.py's navigation, sign-in included.

    Streamlit runs the first session after a server start in its old "pages/ directory" mode until some run has
    called ``st.navigation``: a first visit straight to ``/upload`` would run pages/upload.py on its own, skipping
    sign-in. Every page imports this module, so the first such run switches the mode off and reruns through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()
