"""The view filters in the address bar: read, resolved against the plan, drawn as selectboxes, written back."""

from __future__ import annotations

import streamlit as st

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


def outcome_switcher(filters: ViewFilters, options: FilterOptions) -> ViewFilters:
    """One click to any outcome of the plan (pills, wrapping on narrow screens); writes the choice to the URL."""
    names = dict(options.outcomes)
    # No widget key, as in filter_bar: the selection always follows the address.
    picked = st.pills(
        "Outcome",
        list(names),
        default=filters.outcome,
        format_func=lambda ref: escape_markdown(names[ref]),
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
