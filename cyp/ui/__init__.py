"""The only Streamlit code outside the pages: engine and caches, sign-in, navigation, filters, cached data, widgets.

Pages use this package alone (``from cyp import ui``): every piece of data through the cached loaders of
:mod:`cyp.ui.data`, every write through :func:`attempt_write` or :func:`submit_return`, and the few pure domain
helpers they draw with (charts, status labels, the roll-up rule) as re-exported here. Constants and types may come
from ``cyp`` directly. tests/test_layering.py keeps it so.

Modules: :mod:`~cyp.ui.engine` (engine, sessions, the data tag, writes), :mod:`~cyp.ui.signin`,
:mod:`~cyp.ui.navigation`, :mod:`~cyp.ui.filters` (URL filters), :mod:`~cyp.ui.data` (cached loaders),
:mod:`~cyp.ui.widgets`,
:mod:`~cyp.ui.escaping` (the one function that makes data literal in markdown).
"""

from __future__ import annotations

from cyp.quarters import current_quarter, parse_quarter
from cyp.read.charts import chart_table, indicator_chart, status_label, status_trend_chart
from cyp.read.tracker import returns_received
from cyp.status import describe_rule, rollup_status
from cyp.ui.data import (
    accessibility_statement,
    framework_workbook,
    load_accounts,
    load_audit_csv,
    load_audit_events,
    load_audit_filter_choices,
    load_board_data,
    load_deadline,
    load_deadline_table,
    load_domain_indicators,
    load_domain_mappings,
    load_domain_summary,
    load_exceptions,
    load_filter_options,
    load_index_domains,
    load_indicator_series,
    load_latest_return_at,
    load_line_assignments,
    load_line_history,
    load_line_info,
    load_line_statuses,
    load_line_trends,
    load_objective_choices,
    load_outcome_summary,
    load_plan_actions,
    load_plan_outline,
    load_plan_summaries,
    load_plans,
    load_status_report,
    load_team_choices,
    load_template,
    load_tracker,
    load_tracker_grid,
    load_tracker_rows,
    load_young_people_summary,
    young_people_rule,
    young_people_words,
)
from cyp.ui.engine import (
    attempt_write,
    clear_caches,
    refreshing_fragment,
    submit_return,
)
from cyp.ui.escaping import escape_markdown
from cyp.ui.filters import (
    current_filters,
    filter_bar,
    filter_caption,
    line_filters,
    outcome_switcher,
    quarter_from_url,
    resolved_filters,
    trend_quarters,
    write_filters,
)
from cyp.ui.navigation import menu_link, navigation
from cyp.ui.signin import PRINCIPAL_KEY, current_principal, may_submit_for
from cyp.ui.websession import display_links_section, sessions_section
from cyp.ui.widgets import (
    DEMO_ASSIGNMENT,
    LINE_LINK_COLUMN,
    board_pack_downloads,
    change_note,
    chart_with_data,
    distribution_text,
    index_mapping_note,
    labelled_statuses,
    line_link_column,
    page_header,
    problem_list,
    responsible_column,
    responsible_text,
    rollup_rule_note,
    status_badge_html,
    status_tile,
    table_height,
    trend_icons,
    with_line_links,
)


def annotated_workbook(data: bytes, problems: list) -> bytes:  # type: ignore[type-arg]
    """The uploaded workbook with its problem cells marked (:func:`cyp.returns.annotate.annotate_workbook`)."""
    from cyp.returns.annotate import annotate_workbook  # openpyxl styles: only a failed upload needs them

    return annotate_workbook(data, problems)


__all__ = [
    "DEMO_ASSIGNMENT",
    "LINE_LINK_COLUMN",
    "PRINCIPAL_KEY",
    "accessibility_statement",
    "annotated_workbook",
    "attempt_write",
    "board_pack_downloads",
    "change_note",
    "chart_table",
    "chart_with_data",
    "clear_caches",
    "current_filters",
    "current_principal",
    "current_quarter",
    "describe_rule",
    "display_links_section",
    "distribution_text",
    "escape_markdown",
    "filter_bar",
    "index_mapping_note",
    "filter_caption",
    "framework_workbook",
    "indicator_chart",
    "labelled_statuses",
    "line_filters",
    "line_link_column",
    "load_accounts",
    "load_audit_csv",
    "load_audit_events",
    "load_audit_filter_choices",
    "load_board_data",
    "load_deadline",
    "load_deadline_table",
    "load_domain_indicators",
    "load_domain_mappings",
    "load_domain_summary",
    "load_exceptions",
    "load_filter_options",
    "load_index_domains",
    "load_indicator_series",
    "load_latest_return_at",
    "load_line_assignments",
    "load_line_history",
    "load_line_info",
    "load_line_statuses",
    "load_line_trends",
    "load_objective_choices",
    "load_outcome_summary",
    "load_plan_actions",
    "load_plan_outline",
    "load_plan_summaries",
    "load_plans",
    "load_status_report",
    "load_team_choices",
    "load_template",
    "load_tracker",
    "load_tracker_grid",
    "load_tracker_rows",
    "load_young_people_summary",
    "may_submit_for",
    "menu_link",
    "navigation",
    "outcome_switcher",
    "page_header",
    "parse_quarter",
    "problem_list",
    "quarter_from_url",
    "refreshing_fragment",
    "responsible_column",
    "responsible_text",
    "resolved_filters",
    "returns_received",
    "rollup_rule_note",
    "sessions_section",
    "rollup_status",
    "status_badge_html",
    "status_label",
    "status_tile",
    "status_trend_chart",
    "submit_return",
    "table_height",
    "trend_icons",
    "trend_quarters",
    "with_line_links",
    "write_filters",
    "young_people_rule",
    "young_people_words",
]
