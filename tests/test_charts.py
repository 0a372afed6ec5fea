"""The status palette (colour-blind safe, AA contrast, never colour alone) and the chart builders as functions."""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import altair as alt
import pandas as pd
import pytest

from cyp.board.figures import distribution_figure, indicator_figure, nice_ticks
from cyp.read.charts import (
    ACTUAL_COLOUR,
    CHART_TEXT_COLOUR,
    NO_DATA,
    OUTLINE_COLOUR,
    STATUS_COLOURS,
    STATUS_ICONS,
    STATUS_TEXT_COLOURS,
    TARGET_COLOUR,
    chart_table,
    contrast_ratio,
    distribution_description,
    distribution_rows,
    format_number,
    indicator_chart,
    indicator_description,
    indicator_rows,
    status_distribution_chart,
    status_label,
    status_trend_chart,
)
from cyp.status import ALL_STATUSES, NO_RETURN

# Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for Simulation of Color Vision Deficiency",
# severity 1.0 matrices, applied to linear RGB.
MACHADO_2009 = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
    "typical": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}
# CIE76 ΔE: about 2.3 is "just noticeable"; 15 keeps swatches clearly apart at a glance.
MIN_DELTA_E = 15.0


def linear_rgb(colour: str) -> tuple[float, float, float]:
    digits = colour.lstrip("#")
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)  # type: ignore[return-value]


def simulate(colour: str, matrix: tuple[tuple[float, ...], ...]) -> tuple[float, float, float]:
    rgb = linear_rgb(colour)
    return tuple(min(1.0, max(0.0, sum(row[j] * rgb[j] for j in range(3)))) for row in matrix)  # type: ignore[return-value]


def cie_lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """CIELAB (D65) of a linear sRGB colour."""
    r, g, b = rgb
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a: str, b: str, vision: str) -> float:
    matrix = MACHADO_2009[vision]
    return math.dist(cie_lab(simulate(a, matrix)), cie_lab(simulate(b, matrix)))


def test_simulation_sanity() -> None:
    # Red and green are far apart for typical vision and collapse towards each other for deuteranopia.
    assert delta_e("#FF0000", "#00FF00", "typical") > 100
    assert delta_e("#FF0000", "#00FF00", "deuteranopia") < delta_e("#FF0000", "#00FF00", "typical") / 2
    # Greys are unchanged by every simulation (rows of each matrix sum to 1).
    for matrix in MACHADO_2009.values():
        assert simulate("#777777", matrix) == pytest.approx(linear_rgb("#777777"), abs=1e-5)


def test_one_colour_text_colour_and_icon_per_status() -> None:
    for mapping in (STATUS_COLOURS, STATUS_TEXT_COLOURS, STATUS_ICONS):
        assert tuple(mapping) == ALL_STATUSES
    assert len(set(STATUS_COLOURS.values())) == len(ALL_STATUSES)
    assert len(set(STATUS_ICONS.values())) == len(ALL_STATUSES)
    assert set(STATUS_TEXT_COLOURS.values()) <= {"#000000", "#FFFFFF"}


@pytest.mark.parametrize("vision", MACHADO_2009)
def test_status_colours_are_distinguishable(vision: str) -> None:
    for (first, a), (second, b) in itertools.combinations(STATUS_COLOURS.items(), 2):
        assert delta_e(a, b, vision) >= MIN_DELTA_E, f"{first} and {second} look alike with {vision}"


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_text_on_each_status_colour_meets_wcag_aa(status: str) -> None:
    assert contrast_ratio(STATUS_TEXT_COLOURS[status], STATUS_COLOURS[status]) >= 4.5


@pytest.mark.parametrize(
    ("fg", "bg", "expected"),
    [
        ("#000000", "#FFFFFF", 21.0),
        ("#FFFFFF", "#000000", 21.0),
        ("#123456", "#123456", 1.0),
        ("#777777", "#FFFFFF", 4.48),
        ("#767676", "#FFFFFF", 4.54),  # the lightest grey that passes AA on white
        ("#FFF", "#000", 21.0),
        ("#0072B2", "#FFFFFF", 5.19),
    ],
)
def test_contrast_ratio(fg: str, bg: str, expected: float) -> None:
    assert contrast_ratio(fg, bg) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("ink", [ACTUAL_COLOUR, TARGET_COLOUR, OUTLINE_COLOUR])
def test_chart_inks_meet_aa_on_the_white_page(ink: str) -> None:
    assert contrast_ratio(ink, "#FFFFFF") >= 4.5


def test_status_shapes_are_outlined_for_non_text_contrast() -> None:
    for chart, mark in ((status_distribution_chart(DISTRIBUTION), "bar"), (status_trend_chart(TREND), "rect")):
        shape = next(layer for layer in layers(chart) if mark_of(layer) == mark)
        assert shape["mark"]["stroke"] == OUTLINE_COLOUR
        assert shape["encoding"]["color"]["legend"]["symbolStrokeColor"] == OUTLINE_COLOUR


def test_contrast_ratio_rejects_non_colours() -> None:
    with pytest.raises(ValueError):
        contrast_ratio("red", "#FFFFFF")


def test_status_label() -> None:
    assert status_label("Amber") == "▲ Amber"
    assert status_label("Blue") == "✓ Blue"
    assert status_label(NO_RETURN) == "? No return"
    assert status_label("Improving") == "Improving"


def layers(chart: alt.TopLevelMixin) -> list[dict[str, Any]]:
    spec = chart.to_dict()
    return spec.get("layer", [spec])


def mark_of(layer: dict[str, Any]) -> str:
    mark = layer["mark"]
    return mark["type"] if isinstance(mark, dict) else mark


def rows_of(chart: alt.TopLevelMixin, layer: dict[str, Any]) -> list[dict[str, Any]]:
    spec = chart.to_dict()
    data = layer.get("data") or spec["data"]
    return spec["datasets"][data["name"]]


def assert_palette_scale(encoding: dict[str, Any], colours: dict[str, str]) -> None:
    scale = encoding["scale"]
    assert scale["domain"] == [status_label(s) for s in ALL_STATUSES]
    assert scale["range"] == [colours[s] for s in ALL_STATUSES]


DISTRIBUTION = pd.DataFrame(
    {
        "group": ["Safe & Secure", "Safe & Secure", "Family & Belonging", "Family & Belonging", "Safe & Secure"],
        "status": ["Red", "Green", "Blue", NO_RETURN, "Amber"],
        "count": [1, 3, 2, 0, 2],
    }
)


def test_distribution_chart_bars_use_the_palette_and_stack_in_status_order() -> None:
    chart = status_distribution_chart(DISTRIBUTION, title="Lines by outcome")
    spec = chart.to_dict()
    assert spec["title"] == "Lines by outcome"
    bars = next(layer for layer in layers(chart) if mark_of(layer) == "bar")
    assert bars["encoding"]["y"]["field"] == "group"
    assert bars["encoding"]["y"]["sort"] == ["Safe & Secure", "Family & Belonging"]
    assert bars["encoding"]["color"]["field"] == "label"
    assert_palette_scale(bars["encoding"]["color"], STATUS_COLOURS)
    rows = rows_of(chart, bars)
    safe = [(row["status"], row["start"], row["end"]) for row in rows if row["group"] == "Safe & Secure"]
    assert safe == [("Green", 0, 3), ("Amber", 3, 5), ("Red", 5, 6)]
    assert all(row["count"] > 0 for row in rows)  # empty segments are not drawn


def test_distribution_chart_labels_every_segment_with_icon_and_count() -> None:
    chart = status_distribution_chart(DISTRIBUTION)
    text = next(layer for layer in layers(chart) if mark_of(layer) == "text")
    assert text["encoding"]["text"]["field"] == "text"
    assert_palette_scale(text["encoding"]["color"], STATUS_TEXT_COLOURS)
    assert sorted(row["text"] for row in rows_of(chart, text)) == sorted(["✖ 1", "● 3", "▲ 2", "✓ 2"])
    assert chart.to_dict()["resolve"]["scale"]["color"] == "independent"


def test_distribution_chart_describes_itself() -> None:
    description = status_distribution_chart(DISTRIBUTION).to_dict()["description"]
    assert "Safe & Secure: 3 Green, 2 Amber, 1 Red" in description
    assert "Family & Belonging: 2 Blue" in description


def test_distribution_chart_sums_repeated_rows() -> None:
    df = pd.DataFrame({"group": ["A", "A"], "status": ["Green", "Green"], "count": [2, 3]})
    chart = status_distribution_chart(df)
    bars = next(layer for layer in layers(chart) if mark_of(layer) == "bar")
    assert [(row["status"], row["count"]) for row in rows_of(chart, bars)] == [("Green", 5)]


def test_distribution_chart_with_nothing_to_show_says_so() -> None:
    chart = status_distribution_chart(DISTRIBUTION.iloc[0:0])
    assert rows_of(chart, layers(chart)[0]) == [{"text": NO_DATA}]
    assert "no data" in chart.to_dict()["description"]


@pytest.mark.parametrize(
    ("builder", "df", "says"),
    [
        (status_distribution_chart, pd.DataFrame({"group": ["A"], "count": [1]}), "status"),
        (status_distribution_chart, pd.DataFrame({"group": ["A"], "status": ["Purple"], "count": [1]}), "Purple"),
        (status_trend_chart, pd.DataFrame({"quarter": ["2025-26 Q1"]}), "status"),
        (indicator_chart, pd.DataFrame({"quarter": ["2025-26 Q1"], "value": [1]}), "target, unit"),
    ],
)
def test_builders_name_what_is_wrong_with_the_frame(builder: Any, df: pd.DataFrame, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        builder(df)


TREND = pd.DataFrame(
    {"quarter": ["2025-26 Q2", "2025-26 Q1", "2025-26 Q3", "2025-26 Q4"], "status": ["Amber", "Green", "Red", None]}
)


def test_trend_chart_is_a_strip_of_cells_with_icons_in_time_order() -> None:
    chart = status_trend_chart(TREND)
    spec = chart.to_dict()
    assert spec["title"] == "Status by quarter"
    squares = next(layer for layer in layers(chart) if mark_of(layer) == "rect")
    icons = next(layer for layer in layers(chart) if mark_of(layer) == "text")
    assert squares["encoding"]["x"]["sort"] == ["2025-26 Q1", "2025-26 Q2", "2025-26 Q3", "2025-26 Q4"]
    assert_palette_scale(squares["encoding"]["color"], STATUS_COLOURS)
    assert_palette_scale(icons["encoding"]["color"], STATUS_TEXT_COLOURS)
    assert icons["encoding"]["text"]["field"] == "icon"
    assert [(row["quarter"], row["icon"]) for row in rows_of(chart, icons)] == [
        ("2025-26 Q1", "●"),
        ("2025-26 Q2", "▲"),
        ("2025-26 Q3", "✖"),
        ("2025-26 Q4", "?"),
    ]
    assert spec["description"] == (
        "Status by quarter: 2025-26 Q1 Green, 2025-26 Q2 Amber, 2025-26 Q3 Red, 2025-26 Q4 No return."
    )


def test_trend_chart_one_row_per_line_and_optional_legend() -> None:
    df = pd.DataFrame({"line": ["19-SS-1.2", "19-SS-1.1"], "quarter": ["2025-26 Q1"] * 2, "status": ["Blue", "Red"]})
    chart = status_trend_chart(df, legend=False)
    squares = next(layer for layer in layers(chart) if mark_of(layer) == "rect")
    assert squares["encoding"]["y"]["field"] == "line"
    assert squares["encoding"]["y"]["sort"] == ["19-SS-1.2", "19-SS-1.1"]
    assert squares["encoding"]["color"]["legend"] is None
    with_legend = next(layer for layer in layers(status_trend_chart(TREND)) if mark_of(layer) == "rect")
    assert with_legend["encoding"]["color"]["legend"]["orient"] == "bottom"


INDICATOR = pd.DataFrame(
    {
        "quarter": ["2025-26 Q2", "2025-26 Q1", "2025-26 Q3"],
        "value": [140.5, 150, None],
        "target": [130, 130, 130],
        "unit": ["children", "children", "children"],
    }
)


def test_indicator_chart_draws_actual_against_a_dashed_target() -> None:
    chart = indicator_chart(INDICATOR, title="Children subject to a child protection plan")
    spec = chart.to_dict()
    assert spec["title"] == "Children subject to a child protection plan"
    line = next(layer for layer in layers(chart) if mark_of(layer) == "line")
    assert line["encoding"]["y"]["title"] == "Children"  # the unit, as an axis title
    assert line["encoding"]["x"]["sort"] == ["2025-26 Q1", "2025-26 Q2", "2025-26 Q3"]
    dash = line["encoding"]["strokeDash"]
    assert dash["scale"]["domain"] == ["Actual", "Target"]
    assert dash["scale"]["range"][0] == [1, 0] and dash["scale"]["range"][1] != [1, 0]
    series = {(row["series"], row["quarter"], row["amount"]) for row in rows_of(chart, line)}
    assert ("Actual", "2025-26 Q1", 150) in series
    assert ("Target", "2025-26 Q3", 130) in series
    assert not any(row[0] == "Actual" and row[1] == "2025-26 Q3" for row in series)  # no value, no point
    assert {mark_of(layer) for layer in layers(chart)} == {"line", "point", "text"}


def test_indicator_chart_labels_values_and_target() -> None:
    chart = indicator_chart(INDICATOR)
    texts = [layer for layer in layers(chart) if mark_of(layer) == "text"]
    assert all(layer["encoding"]["text"]["field"] == "text" for layer in texts)
    shown = {row["text"] for layer in texts for row in rows_of(chart, layer)}
    assert {"150", "140.5"} <= shown
    dash = next(layer for layer in layers(chart) if mark_of(layer) == "line")["encoding"]["strokeDash"]
    assert "'Target 130'" in dash["legend"]["labelExpr"]  # the target is named in the legend, off the plot
    assert chart.to_dict()["description"] == (
        "Actual against target (Children): 2025-26 Q1 150, 2025-26 Q2 140.5; target 130."
    )


def test_indicator_chart_without_target_or_values() -> None:
    no_target = INDICATOR.assign(target=None)
    chart = indicator_chart(no_target)
    assert "no target set" in chart.to_dict()["description"]
    assert all(row["series"] == "Actual" for row in rows_of(chart, layers(chart)[0]))
    empty = indicator_chart(INDICATOR.assign(value=None, target=None))
    assert rows_of(empty, layers(empty)[0]) == [{"text": NO_DATA}]


def test_charts_render_to_svg() -> None:
    vl_convert = pytest.importorskip("vl_convert")
    for chart in (status_distribution_chart(DISTRIBUTION), status_trend_chart(TREND), indicator_chart(INDICATOR)):
        svg = vl_convert.vegalite_to_svg(chart.to_json())
        assert "<svg" in svg


QUARTERS = [f"20{year}-{year + 1} Q{n}" for year in range(19, 23) for n in range(1, 5)]  # 16 quarters, 2019-23
BIG = pd.DataFrame(
    {"quarter": QUARTERS, "value": [4179 + 5 * i for i in range(16)], "target": [4000] * 16, "unit": ["count"] * 16}
)
STRIP = pd.DataFrame({"quarter": QUARTERS, "status": ["Green", "Amber", "Red", None] * 4})


def every_chart(width: int | None = None) -> list[alt.TopLevelMixin]:
    return [
        status_distribution_chart(DISTRIBUTION, width=width),
        status_trend_chart(STRIP, width=width),
        indicator_chart(BIG, width=width),
        indicator_chart(INDICATOR.assign(value=None, target=None), width=width),  # the "no data" chart
    ]


def text_marks(chart: alt.TopLevelMixin, role: str) -> list[dict[str, Any]]:
    """Text items (text, x, y, font size) the chart draws with ``role`` ("mark", "axis-label"...), rendered by Vega."""
    import vl_convert

    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("marktype") == "text" and node.get("role") == role:
                found.extend({**item, "mark": node.get("name")} for item in node.get("items", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(vl_convert.vegalite_to_scenegraph(chart.to_json()))
    return found


def test_charts_take_their_columns_width_and_fit_all_of_themselves_in_it() -> None:
    # With no width a chart fills its container (Streamlit passes the column's width); axes, title and legend are
    # fitted inside that width rather than added around it, so nothing spills into the next card.
    for chart in every_chart():
        spec = chart.to_dict()
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
        assert "width" not in spec
        assert all("width" not in layer for layer in spec.get("layer", []))


@pytest.mark.parametrize("width", [320, 1920, 3840])
def test_rendered_charts_are_never_wider_than_the_width_they_are_given(width: int) -> None:
    vl_convert = pytest.importorskip("vl_convert")
    for chart in every_chart(width):
        svg = vl_convert.vegalite_to_svg(chart.to_json())
        drawn = float(re.search(r'<svg[^>]* width="([\d.]+)"', svg).group(1))
        assert drawn <= width, (chart.to_dict().get("title"), drawn)


def test_numbers_are_for_people_no_exponents_thousands_separators_units() -> None:
    near = pd.DataFrame(
        {"quarter": QUARTERS[:4], "value": [351, 356, 362, 358], "target": [360] * 4, "unit": ["count"] * 4}
    )
    for chart in (indicator_chart(near, width=360), indicator_chart(BIG, width=360)):
        labels = [item["text"] for item in text_marks(chart, "axis-label")] + [
            item["text"] for item in text_marks(chart, "mark")
        ]
        assert labels and not any("e+" in str(label) or "e-" in str(label) for label in labels), labels
    big_labels = {item["text"] for item in text_marks(indicator_chart(BIG, width=360), "mark")}
    assert "4,254" in big_labels
    assert "Target 4,000" in {item["text"] for item in text_marks(indicator_chart(BIG, width=360), "legend-label")}
    assert any(re.fullmatch(r"\d,\d{3}", str(item["text"])) for item in text_marks(indicator_chart(BIG), "axis-label"))
    percent = INDICATOR.assign(unit="percent", value=[71.6, 70.9, None])
    chart = indicator_chart(percent)
    assert chart.to_dict()["layer"][0]["encoding"]["y"]["title"] == "Per cent (%)"
    assert "2025-26 Q1 70.9%" in chart.to_dict()["description"]
    assert (format_number(3.6e2), format_number(1234567), format_number(12.345)) == ("360", "1,234,567", "12.35")


@pytest.mark.parametrize("width", [320, 700, 1920])
def test_value_labels_never_overlap(width: int) -> None:
    pytest.importorskip("vl_convert")
    for chart in (indicator_chart(BIG, width=width), indicator_chart(BIG)):
        items = sorted(
            (item for item in text_marks(chart, "mark") if item["mark"] == "layer_2_marks"), key=lambda i: i["x"]
        )
        assert len(items) >= 2
        for left, right in itertools.pairwise(items):
            # Helvetica digits are 0.556 em wide: the centres must be at least half of each label apart.
            needed = (len(left["text"]) + len(right["text"])) / 2 * 12 * 0.556
            assert right["x"] - left["x"] >= needed, (left["text"], right["text"])
        assert items[-1]["text"] == "4,254"  # the latest value is always labelled
    segments = text_marks(status_distribution_chart(DISTRIBUTION, width=320), "mark")
    for left, right in itertools.pairwise(sorted(segments, key=lambda i: (i["y"], i["x"]))):
        if left["y"] == right["y"]:
            assert right["x"] - left["x"] >= (len(left["text"]) + len(right["text"])) / 2 * 13 * 0.556


def test_chart_text_meets_aa_on_white() -> None:
    for chart in every_chart():
        config = chart.to_dict()["config"]
        colours = [
            config["axis"]["labelColor"],
            config["axis"]["titleColor"],
            config["legend"]["labelColor"],
            config["legend"]["titleColor"],
            config["title"]["color"],
        ]
        assert all(contrast_ratio(colour, "#FFFFFF") >= 4.5 for colour in colours), colours
    assert contrast_ratio(CHART_TEXT_COLOUR, "#FFFFFF") >= 4.5
    assert contrast_ratio("#808495", "#FFFFFF") < 4.5  # Streamlit's default grey, which the config replaces


def test_the_status_strip_labels_every_quarter() -> None:
    pytest.importorskip("vl_convert")
    chart = status_trend_chart(STRIP, width=320)
    assert chart.to_dict()["layer"][0]["encoding"]["x"]["axis"]["labelOverlap"] is False
    labels = [item["text"] for item in text_marks(chart, "axis-label") if item["text"] in QUARTERS]
    assert labels == QUARTERS


def test_each_chart_s_data_as_a_table() -> None:
    table = chart_table(DISTRIBUTION, "distribution")
    assert list(table.columns) == ["Group", "Blue", "Green", "Amber", "Red", "All lines"]
    assert table.set_index("Group").loc["Safe & Secure"].to_dict() == {
        "Blue": 0,
        "Green": 3,
        "Amber": 2,
        "Red": 1,
        "All lines": 6,
    }
    trend = chart_table(TREND, "trend")
    assert trend.to_dict("records")[0] == {"Quarter": "2025-26 Q1", "Status": "● Green"}
    assert trend["Status"].iloc[-1] == "? No return"
    values = chart_table(INDICATOR, "indicator")
    assert values.to_dict("records") == [
        {"Quarter": "2025-26 Q1", "Actual (Children)": "150", "Target": "130"},
        {"Quarter": "2025-26 Q2", "Actual (Children)": "140.5", "Target": "130"},
        {"Quarter": "2025-26 Q3", "Actual (Children)": "", "Target": "130"},
    ]
    with pytest.raises(ValueError, match="unknown kind"):
        chart_table(TREND, "pie")


def test_an_indicator_table_has_a_row_per_quarter_in_order_the_last_of_a_repeated_quarter_counting() -> None:
    repeated = pd.concat([INDICATOR, INDICATOR.iloc[[0]].assign(value=141.0, target=None)], ignore_index=True)
    table = chart_table(repeated, "indicator")
    assert list(table["Quarter"]) == ["2025-26 Q1", "2025-26 Q2", "2025-26 Q3"]
    # Q2 again with 141 and no target: its actual is the later one, its target the one it had.
    assert table.to_dict("records")[1] == {"Quarter": "2025-26 Q2", "Actual (Children)": "141", "Target": "130"}
    assert {str(dtype) for dtype in table.dtypes} == {"object"}  # text as written, never re-read as numbers
    empty = chart_table(INDICATOR.assign(value=None, target=None), "indicator")
    assert list(empty.columns) == ["Quarter", "Actual (Value)", "Target"] and empty.empty  # no row names a unit


@pytest.mark.parametrize(
    "chart",
    [
        status_distribution_chart(DISTRIBUTION),
        status_trend_chart(TREND),
        indicator_chart(INDICATOR),
        indicator_chart(INDICATOR.iloc[0:0]),  # nothing to show: the message is a layer too
    ],
)
def test_a_layered_chart_holds_its_data_once_for_every_layer(chart: alt.TopLevelMixin) -> None:
    spec = chart.to_dict()
    assert len(spec["datasets"]) == 1 and spec["data"] == {"name": next(iter(spec["datasets"]))}
    assert all("data" not in layer for layer in spec["layer"]) and spec["layer"]


def test_pack_figures_draw_the_same_rows_readably_without_overlap() -> None:
    figure = indicator_figure(BIG, "19-SS-I4 Referrals")
    assert figure.alt == indicator_description(*indicator_rows(BIG)[:2], "19-SS-I4 Referrals")
    texts = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" [^>]*font-size="(\d+)"([^>]*)>([^<]*)</text>', figure.svg)
    # Value labels are the haloed numbers (axis ticks are plain).
    values = sorted(
        (float(x), text) for x, _y, _size, rest, text in texts if "paint-order" in rest and text[:1].isdigit()
    )
    assert values and values[-1][1] == "4,254"
    for (x1, t1), (x2, t2) in itertools.pairwise(values):
        assert x2 - x1 >= (len(t1) + len(t2)) / 2 * 11 * 0.6
    assert all(int(size) >= 10 for _x, _y, size, _rest, _t in texts)  # about 7 pt or more at the printed width
    assert "e+" not in figure.svg
    bars = distribution_figure(DISTRIBUTION, "Lines by outcome")
    assert bars.alt == distribution_description(*distribution_rows(DISTRIBUTION), "Lines by outcome")
    fills = set(re.findall(r'<text[^>]* fill="(#[0-9A-Fa-f]{6})"', bars.svg))
    assert fills <= {CHART_TEXT_COLOUR, *STATUS_TEXT_COLOURS.values()}
    assert "Safe &amp; Secure" in bars.svg  # names are escaped as XML text, never markup


def test_pack_figure_axes_count_lines_in_whole_numbers() -> None:
    one_each = pd.DataFrame({"group": ["23-FB-1", "23-FB-2"], "status": ["Green", "Amber"], "count": [1, 1]})
    ticks = re.findall(r'text-anchor="middle"[^>]*>([\d.,]+)</text>', distribution_figure(one_each, "Lines").svg)
    assert ticks == ["0", "1"]
    assert nice_ticks(0, 7, 6, whole=True) == [0, 2, 4, 6, 8]  # the axis reaches past the longest bar
    assert nice_ticks(135, 155) == [135, 140, 145, 150, 155]


def test_a_quarter_without_a_value_keeps_its_place_on_the_time_axis() -> None:
    gap = BIG[BIG["quarter"] != "2021-22 Q2"]
    chart = indicator_chart(gap, width=640)
    x = next(layer for layer in layers(chart) if mark_of(layer) == "line")["encoding"]["x"]
    assert x["scale"]["domain"] == QUARTERS  # 2021-22 Q2 is on the axis, with no point
    assert "2021-22 Q2" not in chart.to_dict()["description"]
    # The pack's figure names each financial year once past six quarters, with a tick under every quarter: the
    # quarter without a value keeps its tick, evenly spaced with the others.
    svg = indicator_figure(gap, "gap").svg
    ticks = [
        float(x)
        for x, y1, y2 in re.findall(r'<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="([\d.]+)"', svg)
        if round(float(y2) - float(y1), 1) == 4.0
    ]
    assert len(ticks) == len(QUARTERS)
    assert max(b - a for a, b in itertools.pairwise(ticks)) - min(b - a for a, b in itertools.pairwise(ticks)) < 0.2
    assert all(f">{year}</text>" in svg for year in ("2019-20", "2020-21", "2021-22", "2022-23"))


def test_restyling_one_chart_never_restyles_another() -> None:
    # New charts share one config object: the board display's configure_* on its copy must leave the others as made.
    first, second = indicator_chart(INDICATOR), status_trend_chart(TREND)
    made = second.to_dict()["config"]
    assert made == indicator_chart(INDICATOR).to_dict()["config"]
    restyled = first.configure_axis(labelFontSize=16).configure_title(fontSize=18)
    assert restyled.to_dict()["config"]["axis"] == {"labelFontSize": 16}
    assert second.to_dict()["config"] == made == first.to_dict()["config"]
    assert made["axis"]["labelColor"] and made["title"]["anchor"] == "start"


def test_indicator_rows_are_every_actual_then_every_target_in_time_order() -> None:
    values = pd.DataFrame(
        {
            "quarter": ["2025-26 Q3", "2025-26 Q1", "2025-26 Q2", "2025-26 Q4"],
            "value": [12.5, None, 10, None],
            "target": [11, 11, None, None],  # Q4 has neither: it is left out
            "unit": [" ", None, "percent", "number"],
        }
    )
    long, unit, quarters = indicator_rows(values)
    assert (unit, quarters) == ("percent", ["2025-26 Q1", "2025-26 Q2", "2025-26 Q3"])
    assert long.to_dict("records") == [
        {"quarter": "2025-26 Q2", "series": "Actual", "amount": 10.0, "text": "10%"},
        {"quarter": "2025-26 Q3", "series": "Actual", "amount": 12.5, "text": "12.5%"},
        {"quarter": "2025-26 Q1", "series": "Target", "amount": 11.0, "text": "11%"},
        {"quarter": "2025-26 Q3", "series": "Target", "amount": 11.0, "text": "11%"},
    ]
    assert list(long.index) == [0, 1, 2, 3] and str(long["amount"].dtype) == "float64"
    whole = indicator_rows(values.assign(value=[3, 4, 5, 6], target=[1, 2, 3, 4]))[0]
    assert str(whole["amount"].dtype) == "int64" and list(whole["text"][:2]) == ["4%", "5%"]
    empty, unit, quarters = indicator_rows(values.assign(value=None, target=None))
    assert empty.empty and list(empty.columns) == ["quarter", "series", "amount", "text"] and quarters == []


def test_a_wrong_chart_still_fails_when_converted_and_altairs_own_checks_are_left_on() -> None:
    from altair.utils import schemapi

    from cyp.read.charts import _checked_when_converted

    assert schemapi.DEBUG_MODE
    indicator_chart(INDICATOR).to_dict()  # built without the check of every part, checked whole here
    assert schemapi.DEBUG_MODE  # switched back on for everything else
    with pytest.raises(schemapi.SchemaValidationError):  # as made outside a builder: checked at once
        alt.Axis(labelAngle="steep")
    broken = _checked_when_converted(
        lambda: alt.Chart(INDICATOR).mark_point().encode(x=alt.X("quarter:O", axis=alt.Axis(labelAngle="steep")))
    )()
    with pytest.raises(schemapi.SchemaValidationError):
        broken.to_dict()
