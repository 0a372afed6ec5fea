"""The board pack as a PDF: cover, contents, overview, a section per outcome with charts, exceptions, submissions."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from cyp.board.data import (
    BoardData,
    board_data,
    clean_text,
    counts_sentence,
    day_text,
    number_text,
    objective_chart_frame,
    outcome_chart_frame,
    when_text,
)
from cyp.read.charts import STATUS_ICONS, indicator_chart, status_distribution_chart, status_label
from cyp.status import ALL_STATUSES

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core: has ✓ ● ▲ ✖, £, – and ’


def chart_png(chart: Any, scale: float = 2) -> bytes:
    """An Altair chart as PNG bytes, rendered by vl-convert (no browser)."""
    import vl_convert

    return vl_convert.vegalite_to_png(chart.to_json(), scale=scale)


def _unicode_font() -> Path | None:
    regular = FONT_DIR / "DejaVuSans.ttf"
    return regular if regular.exists() and (FONT_DIR / "DejaVuSans-Bold.ttf").exists() else None


def _latin1(text: str) -> str:
    """Fallback for the core fonts (no DejaVu installed): icons dropped, typography simplified, never an error."""
    for icon in STATUS_ICONS.values():
        text = text.replace(f"{icon} ", "")
    table = {"–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...", "·": "-"}
    text = "".join(table.get(char, char) for char in text)
    return text.encode("latin-1", "replace").decode("latin-1")


class _Pack:
    """A small wrapper over fpdf2 with the pack's type scale and text fallback."""

    def __init__(self, data: BoardData) -> None:
        from fpdf import FPDF

        self.data = data
        footer_text = f"CYP Plan {data.plan_ref} · Board pack {data.quarter}"

        class Document(FPDF):
            def footer(inner) -> None:  # type: ignore[no-untyped-def]
                inner.set_y(-12)
                inner.set_font(self.font, size=8)
                inner.set_text_color(60, 60, 60)
                inner.cell(0, 6, self.text(f"{footer_text} · page {inner.page_no()} of {{nb}}"), align="C")
                inner.set_text_color(0, 0, 0)

        self.pdf = Document(orientation="P", unit="mm", format="A4")
        font = _unicode_font()
        if font is not None:
            self.pdf.add_font("DejaVu", "", str(font))
            self.pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
            self.font = "DejaVu"
            self.text: Callable[[str], str] = lambda text: text
        else:
            self.font = "Helvetica"
            self.text = _latin1
        self.pdf.set_title(f"CYP Plan {data.plan_ref} board pack, {data.quarter}")
        self.pdf.set_subject(f"Children and Young People's Plan: {data.plan_title}")
        self.pdf.set_author("CYP Plan Monitor")
        self.pdf.set_creator("CYP Plan Monitor (python -m cyp export)")
        self.pdf.set_lang("en-GB")
        self.pdf.set_auto_page_break(auto=True, margin=16)
        self.pdf.set_margins(15, 15, 15)

    def heading(self, text: str, level: int = 0) -> None:
        """A heading that is also an outline entry (a PDF bookmark and a line in the contents)."""
        size = {0: 18, 1: 14, 2: 12}[level]
        if level == 0 or self.pdf.get_y() > self.pdf.h - 50:
            self.pdf.add_page()
        self.pdf.set_font(self.font, "B", size)
        self.pdf.start_section(self.text(text), level=level, strict=False)
        self.pdf.multi_cell(0, size * 0.5, self.text(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)

    def subheading(self, text: str) -> None:
        """A bold run-in heading that is not in the outline."""
        if self.pdf.get_y() > self.pdf.h - 40:
            self.pdf.add_page()
        self.pdf.set_font(self.font, "B", 11)
        self.pdf.multi_cell(0, 6, self.text(text), new_x="LMARGIN", new_y="NEXT")

    def para(self, text: str, size: float = 10, bold: bool = False) -> None:
        """A paragraph of real text."""
        self.pdf.set_font(self.font, "B" if bold else "", size)
        self.pdf.multi_cell(0, size * 0.5, self.text(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def table(self, headings: list[str], rows: list[list[str]], widths: tuple[float, ...], size: float = 8.5) -> None:
        """A table with a repeated heading row; statuses go in as text (icon and word)."""
        if not rows:
            self.para("None.", size=9)
            return
        from fpdf import FontFace

        self.pdf.set_font(self.font, "", size)
        with self.pdf.table(
            col_widths=widths,
            line_height=size * 0.5,
            text_align="LEFT",
            headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
            repeat_headings=1,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row([self.text(h) for h in headings])
            for row in rows:
                table.row([self.text(cell) for cell in row])
        self.pdf.ln(3)

    def image(self, png: bytes, width: float = 180) -> None:
        """A chart image, scaled to ``width`` mm, on a new page if it would not fit."""
        from PIL import Image

        with Image.open(io.BytesIO(png)) as picture:
            height = width * picture.height / picture.width
        if self.pdf.get_y() + height > self.pdf.h - 18:
            self.pdf.add_page()
        self.pdf.image(io.BytesIO(png), w=width)
        self.pdf.ln(2)

    def images(self, pngs: list[bytes], per_row: int = 2) -> None:
        """Charts side by side, ``per_row`` to a row, each row on a new page if it would not fit."""
        from PIL import Image

        gap = 4
        width = (self.pdf.epw - gap * (per_row - 1)) / per_row
        for start in range(0, len(pngs), per_row):
            row = pngs[start : start + per_row]
            heights = []
            for png in row:
                with Image.open(io.BytesIO(png)) as picture:
                    heights.append(min(width * picture.height / picture.width, 90))
            if self.pdf.get_y() + max(heights) > self.pdf.h - 18:
                self.pdf.add_page()
            top = self.pdf.get_y()
            for position, png in enumerate(row):
                x = self.pdf.l_margin + position * (width + gap)
                self.pdf.image(io.BytesIO(png), x=x, y=top, w=width, h=heights[position], keep_aspect_ratio=True)
            self.pdf.set_y(top + max(heights) + gap)


def _render_contents(pack: _Pack) -> Callable[[Any, list[Any]], None]:
    def render(pdf, outline) -> None:  # type: ignore[no-untyped-def]
        pdf.set_font(pack.font, "B", 18)
        pdf.cell(0, 10, "Contents", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for section in outline:
            pdf.set_font(pack.font, "B" if section.level == 0 else "", 11 if section.level == 0 else 10)
            indent = 8 * section.level
            link = pdf.add_link(page=section.page_number)
            pdf.set_x(pdf.l_margin + indent)
            pdf.cell(pdf.epw - indent - 15, 6.5, section.name, link=link)
            pdf.cell(15, 6.5, str(section.page_number), align="R", link=link, new_x="LMARGIN", new_y="NEXT")

    return render


def _status_cell(status: Any) -> str:
    return status_label(str(status)) if isinstance(status, str) and status else ""


def _cover(pack: _Pack) -> None:
    data, pdf = pack.data, pack.pdf
    pdf.add_page()
    pdf.ln(40)
    pack.para("Barnet Children and Young People's Plan", size=14)
    pack.para(f"Board pack: {data.quarter}", size=26, bold=True)
    pack.para(data.plan_title, size=16)
    pdf.ln(6)
    pack.para(f"Generated {data.generated_at.strftime('%d %B %Y at %H:%M')} (UTC) by CYP Plan Monitor.", size=11)
    latest = when_text(data.latest_return_at)
    pack.para(
        f"Latest return for this quarter accepted {latest} (UTC)." if latest else "No return has been accepted yet.",
        size=11,
    )
    pack.para(f"Status rules: {data.rule}", size=9)
    if data.demo:
        pdf.ln(4)
        pdf.set_fill_color(255, 243, 205)
        pdf.set_font(pack.font, "B", 12)
        pdf.multi_cell(
            0,
            7,
            pack.text(
                "Demonstration data: the returns in this pack are generated for demonstration, not real reports "
                "from Barnet's partners."
            ),
            fill=True,
            border=1,
            new_x="LMARGIN",
            new_y="NEXT",
        )


def _overview(pack: _Pack) -> None:
    data = pack.data
    pack.heading("Overview")
    totals = data.totals()
    pack.para(f"All lines in {data.quarter}: {counts_sentence(totals)}.", size=10)
    rows = [
        [
            f"{o['ref']} {o['name']}",
            _status_cell(o["status"]),
            *(str(int(o["counts"].get(s, 0))) for s in ALL_STATUSES),
            str(sum(int(v) for v in o["counts"].values())),
        ]
        for o in data.outcomes
    ]
    pack.table(["Outcome", "Status", *ALL_STATUSES, "Lines"], rows, (52, 24, 15, 15, 15, 15, 20, 14))
    pack.para(f"How the overall status is worked out: {data.rule}", size=8.5)
    pack.image(chart_png(status_distribution_chart(outcome_chart_frame(data), "Lines by status, per outcome")))


def _indicator_charts(indicators: pd.DataFrame) -> list[bytes]:
    """One PNG per indicator of an outcome (rendered one by one: a concatenated chart is many times slower)."""
    return [
        chart_png(indicator_chart(frame, title=f"{ref} {frame['name'].iloc[0]}"[:70]))
        for ref, frame in indicators.groupby("ref", sort=False)
    ]


def _outcome_section(pack: _Pack, outcome: dict[str, Any]) -> None:
    data = pack.data
    ref = outcome["ref"]
    pack.heading(f"{ref} {outcome['name']}")
    pack.para(
        f"Overall status: {status_label(outcome['status'])}. Lines: {counts_sentence(outcome['counts'])}.", bold=True
    )
    pack.image(chart_png(status_distribution_chart(objective_chart_frame(data, ref), "Lines by status, per objective")))

    lines = data.lines[data.lines["outcome_ref"] == ref]
    objectives = data.objectives[data.objectives["outcome_ref"] == ref]
    pack.heading("Objectives and lines", level=1)
    for _i, objective in objectives.iterrows():
        counts = {status: int(objective[status]) for status in ALL_STATUSES}
        pack.subheading(f"{objective['objective_ref']} {clean_text(objective['objective'])}")
        pack.para(f"Status {status_label(objective['status'])}: {counts_sentence(counts)}.", size=9)
        rows = [
            [
                line["ref"],
                _status_cell(line["status"]),
                clean_text(line["action"]) or "(the whole objective)",
                line["teams"],
            ]
            for _j, line in lines[lines["objective_ref"] == objective["objective_ref"]].iterrows()
        ]
        pack.table(["Line", "Status", "Action", "Teams"], rows, (22, 24, 88, 46))

    pack.heading("Commentary on Red and Amber lines", level=1)
    flagged = lines[lines["status"].isin(["Red", "Amber"])]
    if flagged.empty:
        pack.para("No line is Red or Amber this quarter.", size=9)
    for _i, line in flagged.iterrows():
        pack.subheading(f"{line['ref']} {status_label(line['status'])} · {line['teams']}")
        pack.para(clean_text(line["action"]) or clean_text(line["objective"]), size=9)
        for label, column in (("Progress", "progress"), ("Next steps", "next_steps"), ("Risks", "risks")):
            text = clean_text(line[column])
            pack.para(f"{label}: {text or 'none given'}", size=9)

    pack.heading("Indicators", level=1)
    indicators = data.indicators[data.indicators["outcome_ref"] == ref]
    if indicators.empty:
        pack.para("No indicator values have been reported for this outcome up to this quarter.", size=9)
        return
    latest = indicators.groupby("ref", sort=False).tail(1)
    rows = [
        [
            row["ref"],
            clean_text(row["name"]),
            row["quarter"],
            number_text(row["value"], row["unit"]),
            number_text(row["target"], row["unit"]),
            _status_cell(row["status"]) or "no target",
            clean_text(row["direction"]),
        ]
        for _i, row in latest.iterrows()
    ]
    pack.table(
        ["Indicator", "Name", "Latest", "Value", "Target", "Status", "Direction"], rows, (20, 62, 20, 20, 20, 22, 16)
    )
    pack.images(_indicator_charts(indicators))


def _exceptions(pack: _Pack) -> None:
    found = pack.data.exceptions
    pack.heading("Exceptions")

    def line_rows(frame: pd.DataFrame, with_change: bool = False) -> list[list[str]]:
        return [
            [
                line["ref"],
                _status_cell(line["status"]) + (f" (was {line['previous_status']})" if with_change else ""),
                line["teams"],
                clean_text(line["progress"]) or "no update",
            ]
            for _i, line in frame.iterrows()
        ]

    sections = (
        ("Red lines", found["red"], False),
        ("Worse than last quarter", found["worse"], True),
        ("No return this quarter", found["no_return"], False),
    )
    for title, frame, with_change in sections:
        pack.heading(f"{title} ({len(frame)})", level=1)
        pack.table(["Line", "Status", "Teams", "Progress"], line_rows(frame, with_change), (22, 34, 44, 80))
    late = found["late"]
    pack.heading(f"Teams late or missing ({len(late)})", level=1)
    pack.table(
        ["Team", "State", "Due", "Submitted"],
        [
            [row["team"], row["state"], day_text(row["deadline"]), when_text(row["submitted_at"])]
            for _i, row in late.iterrows()
        ],
        (80, 30, 30, 40),
    )


def _submissions(pack: _Pack) -> None:
    tracker = pack.data.tracker
    pack.heading("Submission status")
    states = tracker["state"].value_counts()
    pack.para(
        f"{len(tracker)} teams expected: " + ", ".join(f"{int(states.get(s, 0))} {s.lower()}" for s in states.index)
        if len(tracker)
        else "No team is expected to report this quarter.",
        size=10,
    )
    rows = [
        [
            row["team"],
            row["state"],
            f"{int(row['lines_returned'])} of {int(row['lines_expected'])}",
            day_text(row["deadline"]),
            when_text(row["submitted_at"]),
            clean_text(row["submitted_by"]),
            "" if pd.isna(row["version"]) else str(int(row["version"])),
        ]
        for _i, row in tracker.iterrows()
    ]
    pack.table(
        ["Team", "State", "Lines", "Due", "Submitted (UTC)", "By", "Version"], rows, (50, 20, 18, 24, 30, 26, 12)
    )


def board_pack_pdf(session: Session, quarter: str, plan_ref: str | None = None) -> bytes:
    """The board pack for a quarter as PDF bytes: cover, contents, overview, a section per outcome, the exceptions
    and the submission status. Raises :class:`cyp.read.reports.UnknownPlan` or ``QuarterError`` for bad input."""
    return render_pack_pdf(board_data(session, quarter, plan_ref))


def render_pack_pdf(data: BoardData) -> bytes:
    """The board pack PDF from already gathered :class:`BoardData` (the app reuses what it has cached)."""
    pack = _Pack(data)
    _cover(pack)
    pack.pdf.insert_toc_placeholder(_render_contents(pack), pages=1, allow_extra_pages=True)
    _overview(pack)
    for outcome in data.outcomes:
        _outcome_section(pack, outcome)
    _exceptions(pack)
    _submissions(pack)
    return bytes(pack.pdf.output())
