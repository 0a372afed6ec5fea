"""Shared widgets and text for pages: header and demo notice, status badges and tiles, line links, downloads."""

from __future__ import annotations

import functools
import hashlib
import html
import pickle
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cyp.board.data import PDF_MIME, XLSX_MIME, BoardPackError, board_pack_filename
from cyp.problems import Problem
from cyp.read import charts
from cyp.read.browse import DEMO_ASSIGNMENT, INDEX_MAPPING_NOTE
from cyp.read.charts import STATUS_COLOURS, STATUS_ICONS, STATUS_TEXT_COLOURS, status_label
from cyp.status import ALL_STATUSES, describe_rule, status_change
from cyp.ui.data import LineCard, board_pack_bytes, demo_present
from cyp.ui.engine import derived, shared_cache
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
        # One block for title, badge and distribution (three paragraphs): each element is a message in every run of
        # every session, and the overview is a page of tiles. The title is escaped; the rest is the app's own words.
        if isinstance(status, str) and status:
            body = f"{status_badge_html(status, '1.15rem')}\n\n{distribution_text(counts)}"
        else:
            body = "*No lines*"
        st.markdown(f"**{escape_markdown(title)}**\n\n{body}", unsafe_allow_html=True)
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
    # Plain lists: tables hold a few dozen rows, where each pandas operation costs more than the rows themselves.
    marked = [
        (("" if pd.isna(team) else str(team)) + (f" ({DEMO_ASSIGNMENT})" if bool(demo) else "")).strip()
        for team, demo in zip(teams, is_demo, strict=True)
    ]
    return pd.Series(marked, index=teams.index, name=teams.name, dtype="str")


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
    """The frame with its ref column replaced by a first column linking each row's line to its history (the link
    shows the ref: :func:`line_link_column`)."""
    links = pd.Series([line_link_url(ref) for ref in frame[ref_column]], index=frame.index, dtype="str")
    table = frame.drop(columns=ref_column)
    table.insert(0, LINE_LINK_COLUMN, links)
    return table


def labelled_statuses(series: pd.Series) -> pd.Series:
    """Statuses as icon + text (``▲ Amber``) for tables; blanks stay blank."""
    labels = [status_label(status) if isinstance(status, str) and status else "" for status in series]
    return pd.Series(labels, index=series.index, name=series.name, dtype="str")


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


# One card's "who" row, side by side as Streamlit's columns of widths 2, 2 and 3 (1rem apart) lay it out; below
# 640 px, where Streamlit stacks columns, the navigation's style sheet stacks these too (``cyp-who``).
_WHO_ROW = '<div class="cyp-who" style="display:flex;gap:1rem;margin-bottom:1rem">{}</div>'
_WHO_CELL = '<div style="flex:{grow} 1 0;min-width:0"><strong>{label}:</strong> {text}</div>'


@functools.lru_cache(maxsize=2048)
def line_card_markdown(card: LineCard) -> str:
    """One line's card on the Outcomes page as one markdown block (``unsafe_allow_html``): its status badge, ref,
    text and any change since last quarter; who is responsible, who monitors it and its trend; its commentary.

    One element instead of ten: drawing each element costs the server more than the text in it. The data is made
    literal as everywhere (:func:`escape_markdown`; HTML entities inside the who row, a raw HTML block). Cards are
    shared values, so each card's text is made once.
    """
    change = f" — **{card.change.lower()} since last quarter**" if card.change else ""
    header = (
        f"{status_badge_html(card.status)} &nbsp; **{escape_markdown(card.ref)}** {escape_markdown(card.text)}{change}"
    )
    names = escape_markdown(card.teams, inside_html=True) or "not assigned"
    who = (
        ("Responsible", 2, f"{names} ({DEMO_ASSIGNMENT})" if card.is_demo else names),
        ("Monitored by", 2, escape_markdown(card.bodies, inside_html=True) or "not recorded"),
        ("Trend", 3, html.escape(trend_text(card.trend))),
    )
    row = _WHO_ROW.format("".join(_WHO_CELL.format(label=label, grow=grow, text=text) for label, grow, text in who))
    if card.status == "No return":
        commentary = ["*No update this quarter.*"]
    else:
        commentary = [
            f"**Progress:** {escape_markdown(card.progress) or '—'}",
            f"**Next steps:** {escape_markdown(card.next_steps) or '—'}",
            f"**Risks and issues:** {escape_markdown(card.risks) or '—'}",
        ]
    return "\n\n".join([header, row, *commentary])


def trend_text(trend: Iterable[tuple[str, str]]) -> str:
    """(quarter, status) pairs as :func:`trend_icons` writes them, e.g. "25-26 Q4 ● · 26-27 Q1 ▲"."""
    return " · ".join(f"{quarter[2:]} {STATUS_ICONS.get(status, '?')}" for quarter, status in trend)


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


# Charts are built once per distinct data and shared by every session: building an Altair chart and turning it into
# Vega-Lite took most of the Outcomes page's time (tens of milliseconds a chart, a dozen charts), once per session
# per run, while the data under them changes only with a new return. The builders are pure functions of their data,
# and Altair's methods return new charts, so a shared chart is never changed by a page that configures it further.
CHART_CACHE_ENTRIES = 2000
CHART_TTL = 600  # seconds, as the data loaders: a new return gives new data and so new entries anyway


def _frame_digest(df: pd.DataFrame) -> str:
    return hashlib.blake2b(pickle.dumps(df, protocol=pickle.HIGHEST_PROTOCOL), digest_size=16).hexdigest()


def _frame_key(df: pd.DataFrame) -> str:
    """A digest of a frame's content (values, index, columns, types) to key a cache on; once per shared frame.

    Streamlit hashes a DataFrame argument row by row (``hash_pandas_object``), several times slower than pickling it
    whole; a frame pickled alike has the same content, and one that pickles differently is at worst a cache miss.
    """
    return derived(_frame_digest, df)


@shared_cache(max_entries=CHART_CACHE_ENTRIES, ttl=CHART_TTL)
def _status_trend_chart(key: str, _df: pd.DataFrame, title: str, legend: bool, width: int | None) -> Any:
    # Keyed on ``key`` (the frame's digest); the frame itself, named with a leading underscore, is not hashed.
    return charts.status_trend_chart(_df, title=title, legend=legend, width=width)


def status_trend_chart(
    df: pd.DataFrame, title: str = "Status by quarter", legend: bool = True, width: int | None = None
) -> Any:
    """:func:`cyp.read.charts.status_trend_chart`, built once per distinct data and shared (do not change it)."""
    return _status_trend_chart(_frame_key(df), df, title, legend, width)


@shared_cache(max_entries=CHART_CACHE_ENTRIES, ttl=CHART_TTL)
def _indicator_chart(key: str, _df: pd.DataFrame, title: str, width: int | None) -> Any:
    return charts.indicator_chart(_df, title=title, width=width)


def indicator_chart(df: pd.DataFrame, title: str = "Actual against target", width: int | None = None) -> Any:
    """:func:`cyp.read.charts.indicator_chart`, built once per distinct data and shared (do not change it)."""
    return _indicator_chart(_frame_key(df), df, title, width)


@shared_cache(max_entries=CHART_CACHE_ENTRIES, ttl=CHART_TTL)
def _chart_table(key: str, _df: pd.DataFrame, kind: str) -> pd.DataFrame:
    return charts.chart_table(_df, kind)


def chart_table(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """:func:`cyp.read.charts.chart_table`, made once per distinct data and shared (do not change it)."""
    return _chart_table(_frame_key(df), df, kind)


_SPECS: OrderedDict[int, tuple[weakref.ref, dict]] = OrderedDict()
_SPECS_LOCK = threading.Lock()
SPEC_MEMO_ENTRIES = 512


def _vega_lite_spec(chart: Any) -> dict | None:
    """The Vega-Lite spec Streamlit's ``st.altair_chart`` would send for ``chart``, remembered per chart object, so
    a shared chart (from the builders above) is converted once; None if this Streamlit has no such converter."""
    try:
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec
    except ImportError:  # pragma: no cover - another Streamlit version: draw the chart as Streamlit does
        return None
    with _SPECS_LOCK:
        found = _SPECS.get(id(chart))
    if found is not None and found[0]() is chart:
        return found[1]
    spec = _convert_altair_to_vega_lite_spec(chart)
    try:
        reference = weakref.ref(chart)
    except TypeError:  # pragma: no cover - not an object a weak reference can follow
        return spec
    with _SPECS_LOCK:
        _SPECS[id(chart)] = (reference, spec)
        while len(_SPECS) > SPEC_MEMO_ENTRIES:
            _SPECS.popitem(last=False)
    return spec


def draw_chart(chart: Any) -> None:
    """``st.altair_chart(chart, width="stretch")``, converting each chart object to Vega-Lite only once."""
    spec = _vega_lite_spec(chart)
    if spec is None:
        st.altair_chart(chart, width="stretch")
    else:
        # The same element st.altair_chart makes from the same spec (it converts, then calls this).
        st.vega_lite_chart(spec, width="stretch")


def _arrow_table(df: pd.DataFrame) -> Any:
    try:
        from streamlit.dataframe_util import convert_pandas_df_to_arrow_table
    except ImportError:  # pragma: no cover - another Streamlit version: it converts the frame itself
        return df
    return convert_pandas_df_to_arrow_table(df)


def shared_dataframe(df: pd.DataFrame, **options: Any) -> None:
    """``st.dataframe(df, **options)`` for a frame every session shares (a cached loader's or chart table's, or
    worked out from one): converted to Arrow once per frame, as ``st.dataframe`` would convert it in every run."""
    st.dataframe(derived(_arrow_table, df), **options)


def chart_with_data(chart: Any, table: pd.DataFrame, name: str, nested: bool = False) -> None:
    """A chart that fills its column, with its data one click away as a table (``nested=True`` inside an
    expander, where Streamlit allows no second expander: the table then follows the chart). ``table`` is shared
    (:func:`chart_table`'s): it is converted for drawing once."""
    draw_chart(chart)
    if nested:
        shared_dataframe(table, hide_index=True, width="stretch")
        return
    # The table is drawn only while its expander is open (opening it reruns the page): closed, it would be serialised
    # and hashed in every run of every session, a tenth of the server's work in a board meeting.
    expander = st.expander(f"Data for {escape_markdown(name)}", icon=":material/table:", on_change="rerun")
    if expander.open:
        with expander:
            shared_dataframe(table, hide_index=True, width="stretch")
