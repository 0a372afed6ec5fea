"""Altair chart builders (DataFrame in, chart out) and the one status palette every view uses.

Status is never shown by colour alone: every chart puts an icon and a word (or a
count with its icon) on or beside the colour, and the legend reads "▲ Amber".
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import pandas as pd

from cyp.quarters import QuarterError, parse_quarter, quarter_range
from cyp.status import ALL_STATUSES, NO_RETURN

if TYPE_CHECKING:  # Altair (about 25 MB) is imported by the builders that draw, not by the board pack's SVG charts
    import altair as alt

# Okabe–Ito colours (Okabe & Ito 2008, "Color Universal Design"), chosen to stay apart under colour-blindness:
# blue, bluish green, orange and vermillion, plus a neutral grey for "No return". Checked by tests/test_charts.py:
# every pair differs by CIE76 ΔE ≥ 15 after simulating protanopia, deuteranopia and tritanopia (Machado, Oliveira
# & Fernandes 2009, severity 1.0), and the text colour below meets WCAG 2.2 AA (≥ 4.5:1) on each.
STATUS_COLOURS: dict[str, str] = {
    "Blue": "#0072B2",
    "Green": "#009E73",
    "Amber": "#E69F00",
    "Red": "#D55E00",
    NO_RETURN: "#BBBBBB",
}

# Black or white, whichever meets AA on the status colour (white on blue 5.2:1; black on the others 5.4:1 or more).
STATUS_TEXT_COLOURS: dict[str, str] = {
    "Blue": "#FFFFFF",
    "Green": "#000000",
    "Amber": "#000000",
    "Red": "#000000",
    NO_RETURN: "#000000",
}

# Shapes that differ in outline as well as meaning; all are in DejaVu Sans, Segoe UI Symbol and Apple's system fonts.
STATUS_ICONS: dict[str, str] = {
    "Blue": "✓",
    "Green": "●",
    "Amber": "▲",
    "Red": "✖",
    NO_RETURN: "?",
}

# Neutral inks for indicator charts, so they never borrow a status colour's meaning.
ACTUAL_COLOUR = "#1A1A1A"
TARGET_COLOUR = "#595959"
# Outline of every status shape (bars, squares, legend swatches): 17:1 on white.
OUTLINE_COLOUR = "#1A1A1A"
# Every word a chart draws (axis labels and titles, legend, chart title): 17:1 on white. Streamlit's theme would
# otherwise draw them #808495, 3.72:1, below WCAG AA.
CHART_TEXT_COLOUR = "#1A1A1A"
# Grid and axis lines: decoration, but kept visible (3:1 on white is not required of them, 2.3:1 is what this gives).
GRID_COLOUR = "#A6A6A6"
NO_DATA = "No data for this selection"
# The whole chart (axes, title and legend too) fits the width it is given, so a chart never spills out of its column;
# the height sizes the plot alone, so a short bar or strip chart keeps its height. With no width, Streamlit gives the
# chart its container's width (``st.altair_chart(chart, width="stretch")``).
FITS_WIDTH = {"type": "fit-x", "contains": "padding"}  # Altair's AutoSizeParams
# An indicator chart never assumes more room than a phone's column (320 CSS px less the page's padding) when it
# decides which value labels fit without overlapping.
NARROWEST_PLOT_PX = 230
# Average advance of a digit or letter in the chart font, as a share of the font size (Vega measures text in
# Helvetica/Arial-like fonts; DejaVu Sans is wider, so 0.62 errs on the side of room).
CHAR_WIDTH_EM = 0.62
UNIT_TITLES = {"count": "Number", "percent": "Per cent (%)", "rank": "Rank (1 = best)"}


def status_label(status: str) -> str:
    """Icon and text for a status, e.g. ``▲ Amber``; an unknown status is returned unchanged."""
    icon = STATUS_ICONS.get(status)
    return f"{icon} {status}" if icon else str(status)


def format_number(value: float) -> str:
    """A number for people: thousands separators, no exponent, at most two decimals (``1,234``, ``12.5``)."""
    number = float(value)
    if number.is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def value_text(value: float, unit: str | None) -> str:
    """A value with its unit where the unit is a symbol: ``45%`` for percent, ``1,234`` for a count."""
    text = format_number(value)
    return f"{text}%" if str(unit or "").strip().lower() in ("percent", "%") else text


def unit_title(unit: str | None) -> str:
    """The axis title for a unit: ``Per cent (%)`` for percent, ``Number`` for count, the unit itself otherwise."""
    cleaned = " ".join(str(unit or "").split())
    return UNIT_TITLES.get(cleaned.lower(), cleaned[:1].upper() + cleaned[1:] if cleaned else "Value")


def _shared_config(config: Any = None) -> Any:
    """``config`` (or, without one, the one config every new chart shares) with the text colours every chart shares:
    what the configure_axis, _legend, _title, _text and _view chain would set, without its five copies of the chart
    (each rebuilds a layered chart)."""
    import altair as alt

    if config is None or config is alt.Undefined:
        return _new_chart_config()
    return _with_shared_colours(config.copy(deep=False))


@functools.cache
def _new_chart_config() -> Any:
    # Built once (Altair validates every part as it is made): charts hold it without changing it, and Altair's
    # configure_* methods change a deep copy of a chart's config, never the config itself.
    import altair as alt

    return _with_shared_colours(alt.Config())


def _with_shared_colours(config: Any) -> Any:
    import altair as alt

    config["axis"] = alt.AxisConfig(
        labelColor=CHART_TEXT_COLOUR, titleColor=CHART_TEXT_COLOUR, gridColor=GRID_COLOUR, tickColor=GRID_COLOUR
    )
    config["legend"] = alt.LegendConfig(labelColor=CHART_TEXT_COLOUR, titleColor=CHART_TEXT_COLOUR)
    config["title"] = alt.TitleConfig(color=CHART_TEXT_COLOUR, subtitleColor=CHART_TEXT_COLOUR, anchor="start")
    config["text"] = alt.MarkConfig(color=CHART_TEXT_COLOUR)
    config["view"] = alt.ViewConfig(stroke=GRID_COLOUR)
    return config


def readable(chart: alt.TopLevelMixin, width: int | None = None, **properties: Any) -> alt.TopLevelMixin:
    """Apply the text colours and the fit-to-width sizing every chart shares; ``width`` in CSS px, else the container's.

    ``properties`` (title, description, height...) are set in the same copy of the chart. A caller may still
    ``.configure_*`` the result (the board display sets larger type).
    """
    # Any: Altair's stubs give TopLevelMixin no ``config``, though every top-level chart has one.
    sized: Any = chart.properties(**properties, autosize=FITS_WIDTH, **({"width": int(width)} if width else {}))
    sized.config = _shared_config(sized.config)  # on the one copy made above
    return sized


def readable_layer(*layers: Any, width: int | None = None, **properties: Any) -> alt.LayerChart:
    """``readable(alt.layer(*layers, ...), width, ...)`` built in one go: the layered chart is made once, with its
    properties (``resolve``, title, height...), sizing and shared config, not copied for each.

    Pass the data as ``data=`` here, with layers made from ``alt.Chart()``: the spec is the same as with the data on
    every layer (Altair lifts shared data to the top), but Altair then hashes each layer's data as text first.
    """
    import altair as alt

    sizing = {"autosize": FITS_WIDTH, **({"width": int(width)} if width else {})}
    # alt.layer is typed LayerChart | FacetChart; without facet arguments it is always a LayerChart.
    return cast("alt.LayerChart", alt.layer(*layers, **properties, **sizing, config=_shared_config()))


def _channel(value: int) -> float:
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.04045 else ((scaled + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#RRGGBB`` (or ``#RGB``) colour."""
    hex_digits = colour.strip().lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    if len(hex_digits) != 6:
        raise ValueError(f"{colour!r} is not a #RRGGBB colour")
    red, green, blue = (_channel(int(hex_digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.x contrast ratio between two colours, from 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _status_scale(field: str, title: str | None = "Status") -> alt.Color:
    """Colour encoding over status labels (icon + word), so the legend carries the icon too."""
    import altair as alt

    return alt.Color(
        f"{field}:N",
        title=title,
        scale=alt.Scale(
            domain=[status_label(s) for s in ALL_STATUSES], range=[STATUS_COLOURS[s] for s in ALL_STATUSES]
        ),
        legend=alt.Legend(orient="bottom", direction="horizontal", labelFontSize=13, symbolStrokeColor=OUTLINE_COLOUR)
        if title
        else None,
    )


def _text_scale(field: str) -> alt.Color:
    import altair as alt

    return alt.Color(
        f"{field}:N",
        scale=alt.Scale(
            domain=[status_label(s) for s in ALL_STATUSES], range=[STATUS_TEXT_COLOURS[s] for s in ALL_STATUSES]
        ),
        legend=None,
    )


def _check_columns(df: pd.DataFrame, required: tuple[str, ...], builder: str) -> None:
    if missing := [column for column in required if column not in df.columns]:
        raise ValueError(f"{builder}: the DataFrame lacks column(s) {', '.join(missing)}")


def _check_statuses(statuses: pd.Series, builder: str) -> None:
    if unknown := sorted(set(statuses.dropna().astype(str)) - set(ALL_STATUSES)):
        raise ValueError(f"{builder}: unknown status(es) {', '.join(unknown)}; expected {', '.join(ALL_STATUSES)}")


def _no_data_chart(title: str, width: int | None = None) -> alt.TopLevelMixin:
    """A chart that says there is nothing to show, rather than an empty frame."""
    import altair as alt

    message = alt.Chart().mark_text(fontSize=14, color="#1A1A1A").encode(text="text:N")
    return readable_layer(
        message,
        data=pd.DataFrame({"text": [NO_DATA]}),
        width=width,
        title=title,
        description=f"{title}: {NO_DATA.lower()}.",
        height=60,
    )


def text_width_px(text: str, font_px: float) -> float:
    """A generous estimate of how wide ``text`` draws at ``font_px`` (used to keep labels from overlapping)."""
    return len(str(text)) * font_px * CHAR_WIDTH_EM


def distribution_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The segments of :func:`status_distribution_chart` (group, status, count, start, end, middle, total, label,
    text), empty ones dropped, with the groups in first-appearance order. Shared with the printed pack's charts."""
    _check_columns(df, ("group", "status", "count"), "status_distribution_chart")
    _check_statuses(df["status"], "status_distribution_chart")
    groups = list(dict.fromkeys(df["group"].astype(str)))
    data = df.assign(group=df["group"].astype(str), count=pd.to_numeric(df["count"]).fillna(0).astype(int))
    data = data.groupby(["group", "status"], as_index=False, sort=False)["count"].sum()
    data = data[data["count"] > 0]
    if data.empty:
        return data.assign(start=0, end=0, middle=0.0, total=0, label="", text="", order=0), []
    data = data.assign(order=data["status"].map(ALL_STATUSES.index))
    data["group_order"] = data["group"].map(groups.index)
    data = data.sort_values(["group_order", "order"]).reset_index(drop=True)
    data["end"] = data.groupby("group")["count"].cumsum()
    data["start"] = data["end"] - data["count"]
    data["middle"] = (data["start"] + data["end"]) / 2
    data["total"] = data.groupby("group")["count"].transform("sum")
    data["label"] = data["status"].map(status_label)
    data["text"] = data["status"].map(STATUS_ICONS) + " " + data["count"].map(format_number)
    present = set(data["group"])
    return data.drop(columns="group_order"), [group for group in groups if group in present]


def distribution_description(rows: pd.DataFrame, groups: list[str], title: str) -> str:
    """The words for a status distribution chart: every group's count per status."""
    if rows.empty:
        return f"{title}: {NO_DATA.lower()}."
    summary = "; ".join(
        f"{group}: " + ", ".join(f"{row.count} {row.status}" for row in rows[rows["group"] == group].itertuples())
        for group in groups
    )
    return f"{title}, a stacked bar per group. {summary}."


def segment_label_fits(count: float, largest_total: float, plot_px: float, text: str, font_px: float = 13) -> bool:
    """Whether a segment of ``count`` lines is wide enough for its label at the given plot width."""
    if largest_total <= 0:
        return False
    return count / largest_total * plot_px >= text_width_px(text, font_px) + 6


_P = ParamSpec("_P")
_T = TypeVar("_T")
_BUILDING = threading.RLock()  # re-entrant: a builder may build another


def _checked_when_converted(builder: Callable[_P, _T]) -> Callable[_P, _T]:
    """Build a chart without Altair checking every part against the schema as it is made (its "debug mode": a
    chart's hundreds of parts each converted and checked): the whole chart is still checked once, when it is
    converted (``to_dict``, which Streamlit and vl-convert call), so a wrong chart still fails there.

    The switch is Altair's one global; the lock keeps one builder at a time setting and restoring it.
    """

    @functools.wraps(builder)
    def build(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        from altair.utils.schemapi import debug_mode

        with _BUILDING, debug_mode(False):
            return builder(*args, **kwargs)

    return build


@_checked_when_converted
def status_distribution_chart(
    df: pd.DataFrame, title: str = "Lines by status", width: int | None = None
) -> alt.TopLevelMixin:
    """Horizontal stacked bar per group (columns ``group``, ``status``, ``count``), each segment labelled icon + count
    where it is wide enough for the label (the tooltip, the description and the data table carry every count).

    Groups keep their first-appearance order (top to bottom); statuses stack Blue, Green, Amber, Red, No return.
    ``width`` is the whole chart's width in CSS px; without it the chart takes its container's width.
    """
    import altair as alt

    data, groups = distribution_rows(df)
    if data.empty:
        return _no_data_chart(title, width)
    # Labels are decided for the narrowest plot the chart may get (a phone), so they can never overlap.
    plot_px = max(NARROWEST_PLOT_PX, (width or 0) - 200) - 60
    largest = float(data["total"].max())
    data = data.assign(shown=[segment_label_fits(row.count, largest, plot_px, row.text) for row in data.itertuples()])
    y = alt.Y("group:N", sort=groups, title=None, axis=alt.Axis(labelLimit=200, labelFontSize=13))
    x_title = "Number of lines"
    base = alt.Chart()  # the data goes on the layered chart (see readable_layer)
    # A dark outline gives every segment 3:1 against the page (WCAG 1.4.11), even the light Amber and grey fills.
    bars = base.mark_bar(stroke=OUTLINE_COLOUR, strokeWidth=0.75).encode(
        y=y,
        x=alt.X("start:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format=",d")),
        x2="end:Q",
        color=_status_scale("label"),
        order=alt.Order("order:Q"),
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("label:N", title="Status"),
            alt.Tooltip("count:Q", title="Lines", format=",d"),
            alt.Tooltip("total:Q", title="All lines", format=",d"),
        ],
    )
    labels = (
        base.transform_filter(alt.datum.shown)
        .mark_text(fontSize=13, fontWeight="bold")
        .encode(y=y, x=alt.X("middle:Q", title=x_title), text="text:N", color=_text_scale("label"))
    )
    # Independent colour scales: the labels' scale maps the same statuses to black/white text, not to the fills.
    return readable_layer(
        bars,
        labels,
        data=data,
        width=width,
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(color="independent")),
        title=title,
        description=distribution_description(data, groups, title),
        height=34 * len(groups),
    )


@_checked_when_converted
def status_trend_chart(
    df: pd.DataFrame, title: str = "Status by quarter", legend: bool = True, width: int | None = None
) -> alt.TopLevelMixin:
    """Compact strip, one cell per quarter (columns ``quarter``, ``status``), each with its status icon.

    An optional ``line`` column gives one row per line. Quarters are ordered by label (labels sort in time order),
    and every quarter is labelled (no label is dropped to make room: they turn upright when there are many).
    ``legend=False`` drops the legend for a strip inside a table, where the icons already name each status.
    """
    import altair as alt

    _check_columns(df, ("quarter", "status"), "status_trend_chart")
    _check_statuses(df["status"], "status_trend_chart")
    data = df.assign(quarter=df["quarter"].astype(str), status=df["status"].fillna(NO_RETURN).astype(str))
    if data.empty:
        return _no_data_chart(title, width)
    data = data.sort_values("quarter", kind="stable")
    data["label"] = data["status"].map(status_label)
    data["icon"] = data["status"].map(STATUS_ICONS)
    quarters = sorted(data["quarter"].unique())
    x = alt.X(
        "quarter:O",
        sort=quarters,
        title=None,
        scale=alt.Scale(paddingInner=0.12),
        axis=alt.Axis(labelAngle=-90 if len(quarters) > 6 else -45, labelFontSize=11, labelOverlap=False),
    )
    encodings: dict[str, object] = {"x": x}
    tooltip = [alt.Tooltip("quarter:N", title="Quarter"), alt.Tooltip("label:N", title="Status")]
    if "line" in data.columns:
        data["line"] = data["line"].astype(str)
        encodings["y"] = alt.Y(
            "line:N", title=None, sort=list(dict.fromkeys(data["line"])), scale=alt.Scale(paddingInner=0.12)
        )
        tooltip.insert(0, alt.Tooltip("line:N", title="Line"))
    base = alt.Chart()
    # Cells fill their band, so the strip narrows with its column instead of spilling out of it.
    cells = base.mark_rect(opacity=1, stroke=OUTLINE_COLOUR, strokeWidth=0.75).encode(
        **encodings, color=_status_scale("label", "Status" if legend else None), tooltip=tooltip
    )
    icons = base.mark_text(fontSize=12, fontWeight="bold").encode(
        **encodings, text="icon:N", color=_text_scale("label")
    )
    summary = ", ".join(f"{row.quarter} {row.status}" for row in data.itertuples())
    return readable_layer(
        cells,
        icons,
        data=data,
        width=width,
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(color="independent")),
        title=title,
        description=f"{title}: {summary}.",
        height=alt.Step(26) if "line" in data.columns else 26,
    )


def _every_quarter(labels: list[str]) -> list[str]:
    """Every quarter from the first label to the last, so a quarter without a value shows as a gap in time."""
    if not labels:
        return labels
    try:
        span = [q.label for q in quarter_range(parse_quarter(labels[0]), parse_quarter(labels[-1]))]
    except QuarterError:
        return labels
    return span if set(labels) <= set(span) else labels


def indicator_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, str, list[str]]:
    """Long rows (quarter, series Actual/Target, amount, text) of an indicator, its unit and its quarters in order.

    Shared by :func:`indicator_chart` and the printed pack's charts, so both draw and describe the same numbers.
    """
    _check_columns(df, ("quarter", "value", "target", "unit"), "indicator_chart")
    # Plain lists, then one frame: an indicator has a row a quarter, and a frame per step cost more than the chart.
    value = pd.to_numeric(df["value"], errors="coerce")
    target = pd.to_numeric(df["target"], errors="coerce")
    rows = [
        row
        for row in zip(
            df["quarter"].astype(str).tolist(),
            value.tolist(),
            target.tolist(),
            value.isna().tolist(),
            target.isna().tolist(),
            df["unit"].tolist(),
            strict=True,
        )
        if not (row[3] and row[4])  # a quarter with neither a value nor a target
    ]
    rows.sort(key=lambda row: row[0])  # stable: a repeated quarter keeps its rows' order
    units = [str(unit) for unit in dict.fromkeys(row[5] for row in rows if not pd.isna(row[5])) if str(unit).strip()]
    unit = units[0] if units else ""
    quarters = _every_quarter(sorted({row[0] for row in rows}))
    # Every actual value, then every target, each in time order (the series the chart draws).
    points = [(row[0], "Actual", row[1]) for row in rows if not row[3]]
    points += [(row[0], "Target", row[2]) for row in rows if not row[4]]
    # The amounts keep the type the two columns share (as one column of both would).
    amounts = pd.concat([value.iloc[0:0], target.iloc[0:0]], ignore_index=True)
    if not points:  # nothing to draw: the empty frame, with the types it always had
        empty = pd.DataFrame({"quarter": df["quarter"].iloc[0:0].astype(str), "series": "Actual", "amount": amounts})
        empty["text"] = []
        return empty, unit, quarters
    long = pd.DataFrame(
        {
            "quarter": [point[0] for point in points],
            "series": [point[1] for point in points],
            "amount": pd.Series([point[2] for point in points], dtype=amounts.dtype),
            "text": [value_text(point[2], unit) for point in points],
        }
    )
    return long, unit, quarters


def indicator_description(long: pd.DataFrame, unit: str, title: str) -> str:
    """The words for an indicator chart: every actual value by quarter and the latest target."""
    if long.empty:
        return f"{title}: {NO_DATA.lower()}."
    actual = long[long["series"] == "Actual"]
    targets = long[long["series"] == "Target"]
    described = ", ".join(f"{row.quarter} {row.text}" for row in actual.itertuples()) or "no actual values"
    target_text = f"; target {targets['text'].iloc[-1]}" if not targets.empty else "; no target set"
    return f"{title} ({unit_title(unit)}): {described}{target_text}."


def labelled_points(positions: list[float], texts: list[str], font_px: float, gap: float = 4) -> list[bool]:
    """Which value labels to draw so that none overlaps another: the latest value always, then each earlier one
    whose label clears the last one kept. ``positions`` are label centres in px, in time order."""
    keep = [False] * len(positions)
    last: tuple[float, float] | None = None
    for index in range(len(positions) - 1, -1, -1):
        half = text_width_px(texts[index], font_px) / 2
        if last is None or last[0] - positions[index] >= last[1] + half + gap:
            keep[index] = True
            last = (positions[index], half)
    return keep


@_checked_when_converted
def indicator_chart(
    df: pd.DataFrame, title: str = "Actual against target", width: int | None = None
) -> alt.TopLevelMixin:
    """Actual values (line, points and value labels) against the target (dashed), by quarter.

    Columns ``quarter``, ``value``, ``target`` (may be empty) and ``unit``; the unit titles the y axis. Value labels
    are thinned so none overlaps another at the narrowest width the chart may get (every value is in the tooltip,
    the description and the data table). ``width`` is the whole chart's width in CSS px, else the container's.
    """
    import altair as alt

    long, unit, quarters = indicator_rows(df)
    if long.empty:
        return _no_data_chart(title, width)
    plot_px = max(NARROWEST_PLOT_PX, (width or 0) - 120)
    step = plot_px / len(quarters)
    actual_rows = long[long["series"] == "Actual"]
    positions = [(quarters.index(q) + 0.5) * step for q in actual_rows["quarter"]]
    shown = labelled_points(positions, list(actual_rows["text"]), font_px=12)
    long = long.assign(shown=False)
    long.loc[actual_rows.index, "shown"] = shown
    x = alt.X(
        "quarter:O",
        sort=quarters,
        scale=alt.Scale(domain=quarters),
        title="Quarter",
        axis=alt.Axis(labelAngle=-90 if len(quarters) > 6 else -45, labelOverlap=False, labelFontSize=11),
    )
    # ",~f": fixed notation at the precision the tick step needs (never "3.6e+2"), with thousands separators.
    y = alt.Y("amount:Q", title=unit_title(unit), scale=alt.Scale(zero=False, padding=24), axis=alt.Axis(format=",~f"))
    # The target is named in the legend ("Target 150"), where it can never sit on a value label. The text is a
    # formatted number (digits, commas, a point, %), so it is safe inside the quoted Vega expression.
    targets = long[long["series"] == "Target"]
    target_name = f"Target {targets['text'].iloc[-1]}" if not targets.empty else "Target"
    drawn = ["Actual", "Target"] if not targets.empty else ["Actual"]  # no target, no target in the legend
    legend = alt.Legend(
        orient="bottom",
        labelFontSize=13,
        symbolStrokeWidth=2.5,
        labelExpr=f"datum.label == 'Target' ? '{target_name}' : datum.label",
    )
    series = alt.StrokeDash(
        "series:N", title=None, scale=alt.Scale(domain=drawn, range=[[1, 0], [6, 4]][: len(drawn)]), legend=legend
    )
    # The same legend on colour and dash, so Vega merges them into one (a legend-less colour hid both).
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=drawn, range=[ACTUAL_COLOUR, TARGET_COLOUR][: len(drawn)]),
        legend=legend,
    )
    tooltip = [
        alt.Tooltip("quarter:N", title="Quarter"),
        alt.Tooltip("series:N", title="Series"),
        alt.Tooltip("text:N", title=unit_title(unit)),
    ]
    base = alt.Chart()
    lines = base.mark_line(strokeWidth=2.5).encode(x=x, y=y, strokeDash=series, color=colour, tooltip=tooltip)
    actual = base.transform_filter(alt.datum.series == "Actual")
    points = actual.mark_point(filled=True, size=70, color=ACTUAL_COLOUR).encode(x=x, y=y, tooltip=tooltip)
    labels = (
        actual.transform_filter(alt.datum.shown)
        .mark_text(dy=-12, fontSize=12, color=ACTUAL_COLOUR)
        .encode(x=x, y=y, text="text:N")
    )
    layers = [lines, points, labels]
    description = indicator_description(long, unit, title)
    return readable_layer(*layers, data=long, width=width, title=title, description=description, height=220)


def chart_table(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A chart's data as a table for people (the "show the data" view beside a chart): ``kind`` is
    ``"distribution"``, ``"trend"`` or ``"indicator"``, ``df`` the frame the chart was built from."""
    if kind == "distribution":
        rows, groups = distribution_rows(df)
        table = rows.pivot_table(index="group", columns="status", values="count", aggfunc="sum", fill_value=0)
        table = table.reindex(index=groups, columns=[s for s in ALL_STATUSES if s in table.columns], fill_value=0)
        table["All lines"] = table.sum(axis=1)
        return table.rename_axis(index="Group", columns=None).reset_index()
    if kind == "trend":
        _check_columns(df, ("quarter", "status"), "status_trend_chart")
        columns = [c for c in ("line", "quarter", "status") if c in df.columns]
        table = df[columns].assign(status=df["status"].fillna(NO_RETURN).map(status_label))
        table = table.sort_values([c for c in ("line", "quarter") if c in columns], kind="stable")
        return table.rename(columns={"line": "Line", "quarter": "Quarter", "status": "Status"}).reset_index(drop=True)
    if kind == "indicator":
        long, unit, _quarters = indicator_rows(df)
        # One row per quarter (in order) with its actual and target as written; the last of a repeated one counts.
        # Built from the rows directly: a pivot_table costs more than the chart's own rows.
        texts: dict[str, dict[str, str]] = {}
        for quarter, series, text in zip(long["quarter"], long["series"], long["text"], strict=True):
            texts.setdefault(quarter, {})[series] = text
        quarters = sorted(texts)
        wide = {
            "Quarter": quarters,
            f"Actual ({unit_title(unit)})": [texts[quarter].get("Actual", "") for quarter in quarters],
            "Target": [texts[quarter].get("Target", "") for quarter in quarters],
        }
        return pd.DataFrame(wide, dtype=object)
    raise ValueError(f"chart_table: unknown kind {kind!r}; expected distribution, trend or indicator")
