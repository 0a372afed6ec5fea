"""The printed pack's charts as small SVG documents, drawn from the same rows and words as the Altair charts.

The pages draw :mod:`cyp.read.charts` in the browser; the PDF cannot afford a JavaScript chart engine (vl-convert
took 4.7 s and about 130 MB for the 35 charts of a 2019-23 pack), so these draw the same rows
(:func:`cyp.read.charts.distribution_rows`, :func:`cyp.read.charts.indicator_rows`) as plain SVG in a few
milliseconds, in the same palette, icons, number format and label thinning, and describe themselves with the same
words (the PDF's alt text). Sizes are in SVG px at the width the pack prints them, so the type stays readable:
13 px is about 9 pt on the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pandas as pd

from cyp.read.charts import (
    ACTUAL_COLOUR,
    CHART_TEXT_COLOUR,
    GRID_COLOUR,
    OUTLINE_COLOUR,
    STATUS_COLOURS,
    STATUS_TEXT_COLOURS,
    TARGET_COLOUR,
    distribution_description,
    distribution_rows,
    format_number,
    indicator_description,
    indicator_rows,
    labelled_points,
    segment_label_fits,
    status_label,
    text_width_px,
    unit_title,
)
from cyp.status import ALL_STATUSES

FONT = "DejaVu Sans"
HALO = {"stroke": "#FFFFFF", "stroke_width": "3", "paint_order": "stroke", "stroke_linejoin": "round"}


@dataclass(frozen=True)
class Figure:
    """One chart for the pack: the SVG, its alt text (the chart's description) and a caption."""

    svg: str
    alt: str
    caption: str


def _text(x: float, y: float, text: str, size: float = 13, anchor: str = "start", **extra: str) -> str:
    attributes = "".join(
        f' {name.replace("_", "-")}="{escape(value, {chr(34): "&quot;"})}"' for name, value in extra.items()
    )
    fill = extra.get("fill")
    colour = "" if fill else f' fill="{CHART_TEXT_COLOUR}"'
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" text-anchor="{anchor}"{colour}'
        f"{attributes}>{escape(text)}</text>"
    )


def _svg(width: float, height: float, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}"><rect width="100%" height="100%" fill="#FFFFFF"/>'
        + "".join(body)
        + "</svg>"
    )


def nice_ticks(low: float, high: float, count: int = 5, whole: bool = False) -> list[float]:
    """Round tick values covering ``low``..``high`` (1, 2, 2.5 or 5 times a power of ten apart); ``whole`` keeps
    them whole numbers (counts of lines)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high < low:
        low, high = high, low
    span = high - low or abs(high) or 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if raw <= power * m)
    if whole:
        step = max(1.0, step if float(step).is_integer() else math.ceil(step))
    start = math.floor(low / step) * step
    ticks: list[float] = []
    value = start
    while not ticks or ticks[-1] < high - step * 1e-9 or len(ticks) < 2:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _wrap(text: str, width_px: float, size: float, lines: int = 2) -> list[str]:
    """Split a label into at most ``lines`` lines that fit ``width_px``; the last one ends in … if cut."""
    per_line = max(4, int(width_px / (size * 0.62)))
    words, out, current = text.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if len(candidate) <= per_line:
            current = candidate
            continue
        if current:
            out.append(current)
        current = word
        if len(out) == lines:
            break
    if current and len(out) < lines:
        out.append(current)
    if not out:
        return [""]
    shown = " ".join(out)
    if len(shown) < len(" ".join(words)) or any(len(line) > per_line for line in out):
        out = [line[:per_line] for line in out[:lines]]
        out[-1] = out[-1][: max(1, per_line - 1)].rstrip() + "…"
    return out


def _legend(y: float, left: float) -> list[str]:
    body, x = [], left
    for status in ALL_STATUSES:
        label = status_label(status)
        body.append(
            f'<rect x="{x:.1f}" y="{y - 11:.1f}" width="13" height="13" fill="{STATUS_COLOURS[status]}" '
            f'stroke="{OUTLINE_COLOUR}" stroke-width="0.75"/>'
        )
        body.append(_text(x + 18, y, label, 12))
        x += 18 + text_width_px(label, 12) + 14
    return body


def distribution_figure(df: pd.DataFrame, title: str, width: float = 720) -> Figure:
    """A stacked bar per group (``group``, ``status``, ``count`` rows), as :func:`status_distribution_chart`."""
    rows, groups = distribution_rows(df)
    alt_text = distribution_description(rows, groups, title)
    if rows.empty:
        return Figure(_svg(width, 40, [_text(8, 25, "No data for this selection", 13)]), alt_text, title)
    label_width = min(250.0, max(text_width_px(group, 12) for group in groups) + 12)
    left, right, top, row_height = label_width + 8, 16.0, 8.0, 34.0
    plot = width - left - right
    largest = float(rows["total"].max())
    ticks = nice_ticks(0, largest, 6, whole=True)
    scale_max = ticks[-1] or 1.0
    body: list[str] = []
    for tick in ticks:
        x = left + tick / scale_max * plot
        body.append(
            f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + row_height * len(groups):.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="0.5"/>'
        )
    for index, group in enumerate(groups):
        y = top + index * row_height
        lines = _wrap(group, label_width - 8, 12)
        for number, line in enumerate(lines):
            offset = (number - (len(lines) - 1) / 2) * 14
            body.append(_text(left - 8, y + row_height / 2 + 4 + offset, line, 12, "end"))
        for segment in rows[rows["group"] == group].itertuples():
            x0 = left + segment.start / scale_max * plot
            x1 = left + segment.end / scale_max * plot
            body.append(
                f'<rect x="{x0:.1f}" y="{y + 5:.1f}" width="{x1 - x0:.1f}" height="{row_height - 10:.1f}" '
                f'fill="{STATUS_COLOURS[segment.status]}" stroke="{OUTLINE_COLOUR}" stroke-width="0.75"/>'
            )
            if segment_label_fits(segment.count, scale_max, plot, segment.text):
                body.append(
                    _text(
                        (x0 + x1) / 2,
                        y + row_height / 2 + 5,
                        segment.text,
                        13,
                        "middle",
                        fill=STATUS_TEXT_COLOURS[segment.status],
                        font_weight="bold",
                    )
                )
    axis_y = top + row_height * len(groups)
    body.append(
        f'<line x1="{left:.1f}" y1="{axis_y:.1f}" x2="{left + plot:.1f}" y2="{axis_y:.1f}" '
        f'stroke="{CHART_TEXT_COLOUR}" stroke-width="0.75"/>'
    )
    for tick in ticks:
        body.append(_text(left + tick / scale_max * plot, axis_y + 15, format_number(tick), 11, "middle"))
    body.append(_text(left + plot / 2, axis_y + 32, "Number of lines", 12, "middle"))
    body.extend(_legend(axis_y + 56, left))
    return Figure(_svg(width, axis_y + 66, body), alt_text, title)


def indicator_figure(df: pd.DataFrame, title: str, width: float = 360) -> Figure:
    """Actual (solid, labelled) against target (dashed) by quarter, as :func:`cyp.read.charts.indicator_chart`."""
    long, unit, quarters = indicator_rows(df)
    alt_text = indicator_description(long, unit, title)
    if long.empty:
        return Figure(_svg(width, 40, [_text(8, 25, "No data for this selection", 12)]), alt_text, title)
    amounts = long["amount"].astype(float)
    low, high = float(amounts.min()), float(amounts.max())
    padding = (high - low) * 0.12 or max(abs(high) * 0.1, 1.0)
    ticks = nice_ticks(low - padding, high + padding, 5)
    tick_text = [format_number(t) for t in ticks]
    left = 22 + max(text_width_px(t, 11) for t in tick_text) + 6
    # Past six quarters the axis names each financial year once, under its quarters (with a tick per quarter):
    # upright quarter labels were hard to read, and their glyphs, drawn as outlines, were about 5 MB of the
    # typesetter's memory in a 2019-23 pack. The alt text still gives every quarter's value.
    by_year = len(quarters) > 6
    bottom_labels = 44
    top, right, plot_h = 22.0, 12.0, 150.0
    plot_w = width - left - right
    step = plot_w / len(quarters)
    y_of = lambda value: top + plot_h - (value - ticks[0]) / (ticks[-1] - ticks[0] or 1) * plot_h  # noqa: E731
    x_of = lambda quarter: left + (quarters.index(quarter) + 0.5) * step  # noqa: E731
    body: list[str] = []
    for tick, text in zip(ticks, tick_text, strict=True):
        y = y_of(tick)
        body.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="0.5"/>'
        )
        body.append(_text(left - 5, y + 4, text, 11, "end"))
    body.append(
        _text(12, top + plot_h / 2, unit_title(unit), 11, "middle", transform=f"rotate(-90 12 {top + plot_h / 2:.1f})")
    )
    axis_y = top + plot_h
    body.append(
        f'<line x1="{left:.1f}" y1="{axis_y:.1f}" x2="{left + plot_w:.1f}" y2="{axis_y:.1f}" '
        f'stroke="{CHART_TEXT_COLOUR}" stroke-width="0.75"/>'
    )
    years: dict[str, list[float]] = {}
    for quarter in quarters:
        x = x_of(quarter)
        if by_year:
            body.append(
                f'<line x1="{x:.1f}" y1="{axis_y:.1f}" x2="{x:.1f}" y2="{axis_y + 4:.1f}" '
                f'stroke="{CHART_TEXT_COLOUR}" stroke-width="0.75"/>'
            )
            years.setdefault(quarter.split(" ")[0], []).append(x)
        else:
            body.append(_text(x, axis_y + 16, quarter, 10, "middle"))
    for year, xs in years.items():
        body.append(_text((xs[0] + xs[-1]) / 2, axis_y + 16, year, 10, "middle"))
    for series, colour, dash in (("Target", TARGET_COLOUR, "6 4"), ("Actual", ACTUAL_COLOUR, "")):
        points = long[long["series"] == series]
        if points.empty:
            continue
        path = " ".join(f"{x_of(row.quarter):.1f},{y_of(row.amount):.1f}" for row in points.itertuples())
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.2"{dashed}/>')
    actual = long[long["series"] == "Actual"]
    positions = [x_of(q) for q in actual["quarter"]]
    shown = labelled_points(positions, list(actual["text"]), font_px=11)
    for row, keep in zip(actual.itertuples(), shown, strict=True):
        x, y = x_of(row.quarter), y_of(row.amount)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{ACTUAL_COLOUR}"/>')
        if keep:
            # A white halo keeps the number readable where the line runs through it; a label that would reach past
            # either end of the plot is set inside it instead, clear of the axis numbers.
            half = text_width_px(row.text, 11) / 2
            anchor = "start" if x - half < left else "end" if x + half > left + plot_w else "middle"
            label_x = {"start": x - 3, "end": x + 3, "middle": x}[anchor]
            body.append(_text(label_x, y - 8, row.text, 11, anchor, **HALO))
    # The target is named in the legend ("Target 150"), where it can never sit on a value label.
    targets = long[long["series"] == "Target"]
    legend_y = axis_y + bottom_labels + 18
    body.append(
        f'<line x1="{left:.1f}" y1="{legend_y - 4:.1f}" x2="{left + 26:.1f}" y2="{legend_y - 4:.1f}" '
        f'stroke="{ACTUAL_COLOUR}" stroke-width="2.2"/>'
    )
    body.append(_text(left + 31, legend_y, "Actual", 11))
    target_x = left + 31 + text_width_px("Actual", 11) + 16
    if targets.empty:
        return Figure(_svg(width, legend_y + 8, body), alt_text, title)
    body.append(
        f'<line x1="{target_x:.1f}" y1="{legend_y - 4:.1f}" x2="{target_x + 26:.1f}" y2="{legend_y - 4:.1f}" '
        f'stroke="{TARGET_COLOUR}" stroke-width="2.2" stroke-dasharray="6 4"/>'
    )
    body.append(_text(target_x + 31, legend_y, f"Target {targets['text'].iloc[-1]}", 11))
    return Figure(_svg(width, legend_y + 8, body), alt_text, title)
