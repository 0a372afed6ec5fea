"""The view filters in the address bar: read, resolved against the plan, drawn as selectboxes, written back."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cyp.quarters import QuarterError, parse_quarter
from cyp.read.browse import FilterOptions
from cyp.read.charts import status_label
from cyp.read.reports import ViewFilters
from cyp.status import ALL_STATUSES
from cyp.ui.data import load_filter_options, load_plans
from cyp.ui.escaping import escape_markdown

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


def current_filters() -> ViewFilters:
    """The filters in the address bar, as they are (not yet checked against the plan)."""
    return ViewFilters.from_query_params(st.query_params.to_dict())


def resolved_filters(filters: ViewFilters | None = None) -> tuple[ViewFilters, FilterOptions]:
    """Filters with plan and quarter always set: the plan defaults to the current plan, the quarter to the latest
    with returns for that plan; a quarter or outcome/objective outside the plan is dropped."""
    filters = filters or current_filters()
    refs = [ref for ref, _title, _current in load_plans()]
    if not refs:
        st.error("No plan is loaded. Run `python -m cyp init` to load the plan framework.")
        st.stop()
    plan_ref = filters.plan if filters.plan in refs else refs[0]
    options = load_filter_options(plan_ref)
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
        return [(ref, f"{ref} (current)" if current else ref) for ref, _title, current in load_plans()]
    if name == "objective":
        return [(ref, f"{ref} · {text}") for ref, text, _outcome in options.objectives]
    if name == "status":
        return [(status, status_label(status)) for status in ALL_STATUSES]
    return list(getattr(options, {"body": "bodies"}.get(name, name + "s")))


def _widget_key(name: str) -> str:
    """A filter widget's key, one per page: a widget keyed alike on two pages would carry one page's value over."""
    ctx = get_script_run_ctx()
    return f"cyp_filter_{name}:{ctx.page_script_hash if ctx else ''}"


def _follow_address(key: str, current: object, values: list) -> None:
    """Keep a keyed filter widget showing what the address says, without remounting it.

    A widget keeps its identity (and so the keyboard focus) across reruns only when it has a key; a keyed widget
    keeps its own value, so when the address changed from outside since the last run (a link, a pasted URL, a
    choice in another filter that resets this one) its value is set from the address before it is drawn.
    """
    state = st.session_state
    seen = f"{key}:address"
    if key not in state or state[key] not in values or state.get(seen) != current:
        state[key] = current
    state[seen] = current


def outcome_switcher(filters: ViewFilters, options: FilterOptions) -> ViewFilters:
    """One click to any outcome of the plan (pills, wrapping on narrow screens); writes the choice to the URL."""
    names = dict(options.outcomes)
    key = _widget_key("outcome_switcher")
    _follow_address(key, filters.outcome, [None, *names])
    picked = st.pills(
        "Outcome",
        list(names),
        format_func=lambda ref: escape_markdown(names[ref]),
        label_visibility="collapsed",
        key=key,
    )
    # Remember what the pills show: a pill unselected (picked None) is selected again from the address next run.
    st.session_state[f"{key}:address"] = picked
    if picked and picked != filters.outcome:
        filters = filters.replace(outcome=picked, objective=None)
        write_filters(filters)
        st.rerun()  # the focus stays on the pills: the keyed widget is not drawn afresh
    return filters


def filter_bar(names: tuple[str, ...] = ("quarter", "plan"), columns: int = 4) -> ViewFilters:
    """Selectboxes for the named filters, read from and written back to the URL; returns the resolved filters.

    Plan and quarter are always resolved (defaults written to the URL too), so copying the address restores the
    view exactly. Filters a page does not show are kept in the URL untouched. The boxes are laid out in rows and
    drawn row by row, so Tab moves through them in reading order; each is keyed, so it keeps the focus when a
    choice reruns the page.
    """
    filters, options = resolved_filters()
    chosen: dict[str, str | None] = {}
    grid: list = []
    for position, name in enumerate(names):
        if position % columns == 0:
            grid = st.columns(columns)  # one row at a time: the page's order is the reading order
        choices = _choices(name, options)
        if name == "objective" and filters.outcome:
            outcome_objectives = {ref for ref, _text, parent in options.objectives if parent == filters.outcome}
            choices = [choice for choice in choices if choice[0] in outcome_objectives]
        values: list[str | None] = [value for value, _label in choices]
        labels = dict(choices)
        if name not in ("quarter", "plan"):
            values = [None, *values]
        current = getattr(filters, name)
        current = current if current in values else values[0] if values else None
        key = _widget_key(name)
        _follow_address(key, current, values)
        picked = grid[position % columns].selectbox(
            FILTER_LABELS[name],
            values,
            format_func=lambda value, labels=labels: ALL if value is None else labels.get(value, value),
            key=key,
        )
        st.session_state[f"{key}:address"] = picked
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
    parts = [
        f"{FILTER_LABELS[name]} {escape_markdown(getattr(filters, name))}" for name in names if getattr(filters, name)
    ]
    return ("Showing only lines matching: " + "; ".join(parts) + ".") if parts else ""


def line_filters(filters: ViewFilters) -> ViewFilters:
    """Only the filters that narrow lines (quarter and plan are passed separately to the loaders)."""
    return filters.replace(quarter=None, plan=None)


def trend_quarters(quarter: str, options: FilterOptions, count: int = 6) -> tuple[str, ...]:
    """The ``count`` plan quarters up to and including ``quarter``, oldest first, for compact trends."""
    ordered = sorted(label for label in options.quarters if label <= quarter)
    return tuple(ordered[-count:])


def quarter_from_url(default: str) -> str:
    """The ``quarter`` in the address as a canonical label, or ``default`` when it is absent or not a quarter."""
    try:
        return parse_quarter(st.query_params.get("quarter", default)).label
    except QuarterError:
        return default
