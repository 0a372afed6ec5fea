"""Altair chart builders (DataFrame in, chart out) and the one status palette every view uses.

Status is never shown by colour alone: every chart puts an icon and a word (or a
count with its icon) on or beside the colour, and the legend reads "▲ Amber".
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cyp.status import ALL_STATUSES, NO_RETURN

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
NO_DATA = "No data for this selection"
# Width and height size the plot itself, with axes, title and legend added around it. Streamlit otherwise fits the
# whole chart into them, which squashes a short bar or strip chart to nothing.
PLOT_SIZED = alt.AutoSizeParams(type="pad")


def status_label(status: str) -> str:
    """Icon and text for a status, e.g. ``▲ Amber``; an unknown status is returned unchanged."""
    icon = STATUS_ICONS.get(status)
    return f"{icon} {status}" if icon else str(status)


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


def _no_data_chart(title: str) -> alt.LayerChart:
    """A chart that says there is nothing to show, rather than an empty frame."""
    message = alt.Chart(pd.DataFrame({"text": [NO_DATA]})).mark_text(fontSize=14, color="#1A1A1A").encode(text="text:N")
    return alt.layer(message).properties(
        title=title, description=f"{title}: {NO_DATA.lower()}.", height=60, autosize=PLOT_SIZED
    )


def status_distribution_chart(df: pd.DataFrame, title: str = "Lines by status") -> alt.LayerChart:
    """Horizontal stacked bar per group (columns ``group``, ``status``, ``count``), each segment labelled icon + count.

    Groups keep their first-appearance order (top to bottom); statuses stack Blue, Green, Amber, Red, No return.
    """
    _check_columns(df, ("group", "status", "count"), "status_distribution_chart")
    _check_statuses(df["status"], "status_distribution_chart")
    groups = list(dict.fromkeys(df["group"].astype(str)))
    data = df.assign(group=df["group"].astype(str), count=pd.to_numeric(df["count"]).fillna(0).astype(int))
    data = data.groupby(["group", "status"], as_index=False, sort=False)["count"].sum()
    data = data[data["count"] > 0]
    if data.empty:
        return _no_data_chart(title)
    data = data.assign(order=data["status"].map(ALL_STATUSES.index))
    data["group_order"] = data["group"].map(groups.index)
    data = data.sort_values(["group_order", "order"]).reset_index(drop=True)
    data["end"] = data.groupby("group")["count"].cumsum()
    data["start"] = data["end"] - data["count"]
    data["middle"] = (data["start"] + data["end"]) / 2
    data["total"] = data.groupby("group")["count"].transform("sum")
    data["label"] = data["status"].map(status_label)
    data["text"] = data["status"].map(STATUS_ICONS) + " " + data["count"].astype(str)

    y = alt.Y("group:N", sort=groups, title=None, axis=alt.Axis(labelLimit=320, labelFontSize=13))
    x_title = "Number of lines"
    base = alt.Chart(data)
    # A dark outline gives every segment 3:1 against the page (WCAG 1.4.11), even the light Amber and grey fills.
    bars = base.mark_bar(stroke=OUTLINE_COLOUR, strokeWidth=0.75).encode(
        y=y,
        x=alt.X("start:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d")),
        x2="end:Q",
        color=_status_scale("label"),
        order=alt.Order("order:Q"),
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("label:N", title="Status"),
            alt.Tooltip("count:Q", title="Lines"),
            alt.Tooltip("total:Q", title="All lines"),
        ],
    )
    labels = base.mark_text(fontSize=13, fontWeight="bold").encode(
        y=y, x=alt.X("middle:Q", title=x_title), text="text:N", color=_text_scale("label")
    )
    summary = "; ".join(
        f"{group}: " + ", ".join(f"{row.count} {row.status}" for row in data[data["group"] == group].itertuples())
        for group in groups
        if group in set(data["group"])
    )
    # Independent colour scales: the labels' scale maps the same statuses to black/white text, not to the fills.
    return (
        alt.layer(bars, labels)
        .resolve_scale(color="independent")
        .properties(
            title=title,
            description=f"{title}, a stacked bar per group. {summary}.",
            height=34 * len(set(data["group"])),
            autosize=PLOT_SIZED,
        )
    )


def status_trend_chart(df: pd.DataFrame, title: str = "Status by quarter", legend: bool = True) -> alt.LayerChart:
    """Compact strip of squares, one per quarter (columns ``quarter``, ``status``), each with its status icon.

    An optional ``line`` column gives one row per line. Quarters are ordered by label (labels sort in time order).
    ``legend=False`` drops the legend for a strip inside a table, where the icons already name each status.
    """
    _check_columns(df, ("quarter", "status"), "status_trend_chart")
    _check_statuses(df["status"], "status_trend_chart")
    data = df.assign(quarter=df["quarter"].astype(str), status=df["status"].fillna(NO_RETURN).astype(str))
    if data.empty:
        return _no_data_chart(title)
    data = data.sort_values("quarter", kind="stable")
    data["label"] = data["status"].map(status_label)
    data["icon"] = data["status"].map(STATUS_ICONS)
    quarters = sorted(data["quarter"].unique())
    x = alt.X("quarter:O", sort=quarters, title=None, axis=alt.Axis(labelAngle=-45, labelFontSize=11))
    encodings: dict[str, object] = {"x": x}
    tooltip = [alt.Tooltip("quarter:N", title="Quarter"), alt.Tooltip("label:N", title="Status")]
    if "line" in data.columns:
        data["line"] = data["line"].astype(str)
        encodings["y"] = alt.Y("line:N", title=None, sort=list(dict.fromkeys(data["line"])))
        tooltip.insert(0, alt.Tooltip("line:N", title="Line"))
    base = alt.Chart(data)
    squares = base.mark_square(size=360, opacity=1, stroke=OUTLINE_COLOUR, strokeWidth=0.75).encode(
        **encodings, color=_status_scale("label", "Status" if legend else None), tooltip=tooltip
    )
    icons = base.mark_text(fontSize=12, fontWeight="bold").encode(
        **encodings, text="icon:N", color=_text_scale("label")
    )
    summary = ", ".join(f"{row.quarter} {row.status}" for row in data.itertuples())
    return (
        alt.layer(squares, icons)
        .resolve_scale(color="independent")
        .properties(
            title=title,
            description=f"{title}: {summary}.",
            width=alt.Step(28),
            height=alt.Step(28) if "line" in data.columns else 28,
            autosize=PLOT_SIZED,
        )
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def indicator_chart(df: pd.DataFrame, title: str = "Actual against target") -> alt.LayerChart:
    """Actual values (line, points and value labels) against the target (dashed), by quarter.

    Columns ``quarter``, ``value``, ``target`` (may be empty) and ``unit``; the unit titles the y axis.
    """
    _check_columns(df, ("quarter", "value", "target", "unit"), "indicator_chart")
    data = df.assign(
        quarter=df["quarter"].astype(str),
        value=pd.to_numeric(df["value"], errors="coerce"),
        target=pd.to_numeric(df["target"], errors="coerce"),
    )
    data = data.dropna(subset=["value", "target"], how="all").sort_values("quarter", kind="stable")
    if data.empty:
        return _no_data_chart(title)
    units = [str(unit) for unit in dict.fromkeys(data["unit"].dropna()) if str(unit).strip()]
    unit = units[0] if units else "Value"
    quarters = sorted(data["quarter"].unique())
    long = pd.concat(
        [
            pd.DataFrame({"quarter": data["quarter"], "series": "Actual", "amount": data["value"]}),
            pd.DataFrame({"quarter": data["quarter"], "series": "Target", "amount": data["target"]}),
        ],
        ignore_index=True,
    ).dropna(subset=["amount"])
    long["text"] = long["amount"].map(_number)
    x = alt.X("quarter:O", sort=quarters, title="Quarter", axis=alt.Axis(labelAngle=-45))
    y = alt.Y("amount:Q", title=unit, scale=alt.Scale(zero=False, padding=24), axis=alt.Axis(format=",~g"))
    series = alt.StrokeDash(
        "series:N",
        title=None,
        scale=alt.Scale(domain=["Actual", "Target"], range=[[1, 0], [6, 4]]),
        legend=alt.Legend(orient="bottom", labelFontSize=13, symbolStrokeWidth=2.5),
    )
    colour = alt.Color(
        "series:N", scale=alt.Scale(domain=["Actual", "Target"], range=[ACTUAL_COLOUR, TARGET_COLOUR]), legend=None
    )
    tooltip = [
        alt.Tooltip("quarter:N", title="Quarter"),
        alt.Tooltip("series:N", title="Series"),
        alt.Tooltip("text:N", title=unit),
    ]
    base = alt.Chart(long)
    lines = base.mark_line(strokeWidth=2.5).encode(x=x, y=y, strokeDash=series, color=colour, tooltip=tooltip)
    actual = base.transform_filter(alt.datum.series == "Actual")
    points = actual.mark_point(filled=True, size=70, color=ACTUAL_COLOUR).encode(x=x, y=y, tooltip=tooltip)
    labels = actual.mark_text(dy=-12, fontSize=12, color=ACTUAL_COLOUR).encode(x=x, y=y, text="text:N")
    layers = [lines, points, labels]
    targets = long[long["series"] == "Target"]
    if not targets.empty:
        # Name the target at its last point so the dashed line is labelled in the chart itself, not only the legend.
        last = targets.iloc[[-1]].assign(text=lambda frame: "Target " + frame["text"])
        layers.append(
            alt.Chart(last)
            .mark_text(align="left", dx=6, dy=10, fontSize=12, color=TARGET_COLOUR)
            .encode(x=x, y=y, text="text:N")
        )
    actual_rows = long[long["series"] == "Actual"]
    described = ", ".join(f"{row.quarter} {row.text}" for row in actual_rows.itertuples()) or "no actual values"
    target_text = f"; target {targets['text'].iloc[-1]}" if not targets.empty else "; no target set"
    return alt.layer(*layers).properties(
        title=title,
        description=f"{title} ({unit}): {described}{target_text}.",
        height=220,
        width=max(260, 70 * len(quarters)),
        autosize=PLOT_SIZED,
    )
