"""Shared widgets and text for pages: header and demo notice, status badges and tiles, line links, downloads."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cyp.board.data import PDF_MIME, XLSX_MIME, BoardPackError, board_pack_filename
from cyp.problems import Problem
from cyp.read.browse import DEMO_ASSIGNMENT, INDEX_MAPPING_NOTE
from cyp.read.charts import STATUS_COLOURS, STATUS_ICONS, STATUS_TEXT_COLOURS, status_label
from cyp.status import ALL_STATUSES, describe_rule, status_change
from cyp.ui.data import board_pack_bytes, demo_present
from cyp.ui.escaping import escape_markdown

if TYPE_CHECKING:
    from streamlit.elements.lib.column_types import ColumnConfig


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
    background = STATUS_COLOURS.get(status, "#ffffff")
    colour = STATUS_TEXT_COLOURS.get(status, "#000000")
    return (
        f'<span class="cyp-status" role="img" aria-label="Status: {html.escape(status)}" '
        f'style="background:{background};color:{colour};padding:0.1em 0.5em;border-radius:0.4em;'
        f'font-weight:600;font-size:{size};white-space:nowrap;border:1px solid #1a1a1a">'
        f"{html.escape(status_label(status))}</span>"
    )


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
            st.caption(escape_markdown(note))
    return tile


def index_mapping_note() -> None:
    """Says, wherever the index mapping is used, that it is the project's judgement and not the plan's."""
    st.caption(f"**About the index mapping.** {INDEX_MAPPING_NOTE}")


def responsible_text(teams: object, is_demo: object = False) -> str:
    """The responsible teams as markdown-safe text, labelled as a demo assignment when the demo made the line up.

    The 2023–27 plan names no teams: demo lines are given one so the views have something to show, and no page may
    present that team as the plan's.
    """
    names = escape_markdown(teams) or "not assigned"
    return f"{names} ({DEMO_ASSIGNMENT})" if is_demo is True or str(is_demo) == "True" else names


def responsible_column(teams: pd.Series, is_demo: pd.Series) -> pd.Series:
    """A table's Responsible column: team names, with "(demo assignment)" on the lines the demo made up."""
    marked = teams.fillna("").astype(str) + is_demo.map(lambda demo: f" ({DEMO_ASSIGNMENT})" if bool(demo) else "")
    return marked.str.strip()


def rollup_rule_note() -> None:
    """States the roll-up rule under any rolled-up status, as the issue requires."""
    st.caption(f"**Roll-up rule.** {describe_rule()}")


def line_link_url(line_ref: str) -> str:
    """Relative address of a line's history page, for a ``LinkColumn``."""
    return f"/line_history?line={quote(line_ref)}"


LINE_LINK_COLUMN = "History"


def line_link_column() -> ColumnConfig:
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


def problem_list(problems: Iterable[Problem]) -> str:
    """Problems as a markdown list: "- `Return!E14` 'Ambr' is not a RAG status…", every part literal.

    Locations carry sheet names and messages carry cell values, both from the workbook: a location goes in a code
    span (nothing inside one is markup, not even emoji) with any backtick taken out, a message through
    :func:`escape_markdown`.
    """
    return "\n".join(
        f"- `{(problem.location or 'File').replace('`', chr(39))}` {escape_markdown(problem.message)}"
        for problem in problems
    )


def trend_icons(trend: pd.DataFrame) -> str:
    """A line's statuses over quarters as icons with short quarter labels, e.g. "25-26 Q4 ● · 26-27 Q1 ▲"."""
    return " · ".join(f"{row.quarter[2:]} {STATUS_ICONS.get(row.status, '?')}" for row in trend.itertuples(index=False))


def table_height(rows: int) -> int:
    """Pixel height that shows every row of an ``st.dataframe`` without an inner scroll bar."""
    return 38 + 35 * max(rows, 1)


def board_pack_downloads(quarter: str, plan_ref: str, key: str = "board_pack") -> None:
    """A button that prepares the board pack (PDF and Excel), then their download buttons.

    The files are built when asked for, not when the page opens (a council-scale PDF takes seconds), and before the
    download rather than inside it: a file that cannot be built says why on the page instead of failing unseen.
    """
    ready_key = f"{key}_ready"
    if st.session_state.get(ready_key) != (quarter, plan_ref):
        if not st.button("Prepare the board pack", key=f"{key}_prepare", icon=":material/description:"):
            return
        st.session_state[ready_key] = (quarter, plan_ref)
    columns = st.columns(2)
    for column, suffix, mime, label in (
        (columns[0], "pdf", PDF_MIME, "Board pack (PDF)"),
        (columns[1], "xlsx", XLSX_MIME, "Board data (Excel)"),
    ):
        try:
            with column, st.spinner(f"Preparing the {label}…"):
                content = board_pack_bytes(quarter, plan_ref, suffix)
        except BoardPackError as error:
            column.error(f"The {label} could not be built: {escape_markdown(error)}", icon=":material/error:")
            continue
        column.download_button(
            label,
            data=content,
            file_name=board_pack_filename(plan_ref, quarter, suffix),
            mime=mime,
            key=f"{key}_{suffix}",
            on_click="ignore",
            icon=":material/download:",
        )


def chart_with_data(chart: Any, table: pd.DataFrame, name: str, nested: bool = False) -> None:
    """A chart that fills its column, with its data one click away as a table (``nested=True`` inside an
    expander, where Streamlit allows no second expander: the table then follows the chart)."""
    st.altair_chart(chart, width="stretch")
    if nested:
        st.dataframe(table, hide_index=True, width="stretch")
        return
    with st.expander(f"Data for {escape_markdown(name)}", icon=":material/table:"):
        st.dataframe(table, hide_index=True, width="stretch")
