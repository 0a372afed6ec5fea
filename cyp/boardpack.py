"""Board meetings: the data behind the board display and the board pack (PDF and Excel) for a quarter.

:func:`board_data` gathers everything once, through the same read side as the pages (:mod:`cyp.reports`,
:mod:`cyp.tracker`), so the screen, the PDF and the spreadsheet can never disagree. Charts are the same Altair
builders the pages use, rendered to PNG by vl-convert (no browser).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cyp import queries
from cyp.charts import STATUS_ICONS, indicator_chart, status_distribution_chart, status_label
from cyp.models import Action, Meta, Partner, Plan, Return
from cyp.quarters import parse_quarter
from cyp.reports import exceptions_from, indicator_series, line_statuses, resolve_plan, status_report
from cyp.status import ALL_STATUSES, rollup_status, status_counts
from cyp.tracker import submission_tracker, tracker_frame

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core: has ✓ ● ▲ ✖, £, – and ’
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MIME = "application/pdf"
# A spreadsheet treats a cell starting with one of these as a formula (CSV/formula injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BoardData:
    """Everything a board meeting sees for one plan and quarter (plain data, so a page can cache it).

    ``outcomes`` are :func:`cyp.reports.status_report` outcomes (ref, name, status, counts); ``lines`` has
    :data:`cyp.reports.LINE_COLUMNS`; ``objectives`` one row per objective with its rolled-up status;
    ``indicators`` the plan's indicator values up to and including the quarter; ``exceptions`` as
    :func:`cyp.reports.exceptions`; ``tracker`` the submission tracker rows for the quarter.
    """

    plan_ref: str
    plan_title: str
    quarter: str
    rule: str
    outcomes: list[dict[str, Any]]
    lines: pd.DataFrame
    objectives: pd.DataFrame
    indicators: pd.DataFrame
    exceptions: dict[str, pd.DataFrame]
    tracker: pd.DataFrame
    demo: bool
    latest_return_at: datetime | None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def totals(self) -> dict[str, int]:
        """Lines per status across the whole plan."""
        totals = {status: 0 for status in ALL_STATUSES}
        for outcome in self.outcomes:
            for status, count in outcome["counts"].items():
                totals[status] = totals.get(status, 0) + int(count)
        return totals

    def outcome(self, ref: str) -> dict[str, Any]:
        """One outcome of :attr:`outcomes` by ref (KeyError when unknown)."""
        for outcome in self.outcomes:
            if outcome["ref"] == ref:
                return outcome
        raise KeyError(ref)


def latest_return_at(session: Session, quarter: str, plan_ref: str | None = None) -> datetime | None:
    """When the latest current return for the quarter (of the plan) was accepted; None when none has been.

    Cheap (one aggregate), so the board display polls it to notice a return accepted during the meeting.
    """
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    stamp = session.scalar(
        select(func.max(Return.uploaded_at)).where(
            Return.is_current, Return.quarter == q.label, Return.plan_id == plan.id
        )
    )
    if stamp is not None and stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)  # SQLite drops the zone; everything is stored in UTC
    return stamp


def objective_statuses(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per objective (plan order) with counts per status, lines and the rolled-up status."""
    rows = []
    for (outcome_ref, objective_ref, objective), group in lines.groupby(
        ["outcome_ref", "objective_ref", "objective"], sort=False
    ):
        counts = status_counts(group["status"])
        rows.append(
            {
                "outcome_ref": outcome_ref,
                "objective_ref": objective_ref,
                "objective": objective,
                **counts,
                "lines": len(group),
                "status": rollup_status(counts),
            }
        )
    columns = ["outcome_ref", "objective_ref", "objective", *ALL_STATUSES, "lines", "status"]
    return pd.DataFrame(rows, columns=columns)


def board_data(session: Session, quarter: str, plan_ref: str | None = None) -> BoardData:
    """Gather the board's view of a quarter; the plan defaults to the plan covering the quarter."""
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    report = status_report(session, q, plan.ref)
    lines = line_statuses(session, q, plan.ref)
    tracker = tracker_frame(submission_tracker(session, q))
    series = [indicator_series(session, outcome_ref=outcome["ref"]) for outcome in report["outcomes"]]
    indicators = pd.concat(series, ignore_index=True) if series else indicator_series(session, [])
    indicators = indicators[indicators["quarter"] <= q.label].reset_index(drop=True)
    outcome_of = {}
    for outcome, frame in zip(report["outcomes"], series, strict=True):
        outcome_of.update(dict.fromkeys(frame["ref"], outcome["ref"]))
    indicators = indicators.assign(outcome_ref=indicators["ref"].map(outcome_of))
    return BoardData(
        plan_ref=plan.ref,
        plan_title=plan.title,
        quarter=q.label,
        rule=report["rule"],
        outcomes=report["outcomes"],
        lines=lines,
        objectives=objective_statuses(lines),
        indicators=indicators,
        exceptions=exceptions_from(lines, tracker),
        tracker=tracker,
        demo=session.scalar(select(Meta.value).where(Meta.key == "demo")) is not None,
        latest_return_at=latest_return_at(session, q.label, plan.ref),
    )


def distribution_frame(groups: Iterable[tuple[str, dict[str, int]]]) -> pd.DataFrame:
    """Long (group, status, count) rows for :func:`cyp.charts.status_distribution_chart`."""
    return pd.DataFrame(
        [
            {"group": group, "status": status, "count": int(counts.get(status, 0))}
            for group, counts in groups
            for status in ALL_STATUSES
        ],
        columns=["group", "status", "count"],
    )


def outcome_chart_frame(data: BoardData) -> pd.DataFrame:
    """Status distribution per outcome, for the overview chart."""
    return distribution_frame((outcome["name"], outcome["counts"]) for outcome in data.outcomes)


def objective_chart_frame(data: BoardData, outcome_ref: str) -> pd.DataFrame:
    """Status distribution per objective of one outcome, for the outcome's chart."""
    objectives = data.objectives[data.objectives["outcome_ref"] == outcome_ref]
    return distribution_frame(
        (row["objective_ref"], {status: row[status] for status in ALL_STATUSES}) for _i, row in objectives.iterrows()
    )


def counts_sentence(counts: dict[str, int]) -> str:
    """ "4 Blue, 4 Green, 3 Amber, 0 Red, 0 No return (11 lines)": every status named, so the text reads alone."""
    total = sum(int(counts.get(status, 0)) for status in ALL_STATUSES)
    parts = ", ".join(f"{int(counts.get(status, 0))} {status}" for status in ALL_STATUSES)
    return f"{parts} ({total} line{'s' if total != 1 else ''})"


def chart_png(chart: Any, scale: float = 2) -> bytes:
    """An Altair chart as PNG bytes, rendered by vl-convert (no browser)."""
    import vl_convert

    return vl_convert.vegalite_to_png(chart.to_json(), scale=scale)


def _when(moment: datetime | None) -> str:
    if moment is None or (isinstance(moment, float) and pd.isna(moment)) or pd.isna(moment):
        return ""
    return pd.Timestamp(moment).strftime("%d %b %Y %H:%M")


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return " ".join(str(value).split())


# ------------------------------------------------------------------------------------------------------------- PDF


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
    latest = _when(data.latest_return_at)
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
        pack.subheading(f"{objective['objective_ref']} {_clean(objective['objective'])}")
        pack.para(f"Status {status_label(objective['status'])}: {counts_sentence(counts)}.", size=9)
        rows = [
            [
                line["ref"],
                _status_cell(line["status"]),
                _clean(line["action"]) or "(the whole objective)",
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
        pack.para(_clean(line["action"]) or _clean(line["objective"]), size=9)
        for label, column in (("Progress", "progress"), ("Next steps", "next_steps"), ("Risks", "risks")):
            text = _clean(line[column])
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
            _clean(row["name"]),
            row["quarter"],
            _number(row["value"], row["unit"]),
            _number(row["target"], row["unit"]),
            _status_cell(row["status"]) or "no target",
            _clean(row["direction"]),
        ]
        for _i, row in latest.iterrows()
    ]
    pack.table(
        ["Indicator", "Name", "Latest", "Value", "Target", "Status", "Direction"], rows, (20, 62, 20, 20, 20, 22, 16)
    )
    pack.images(_indicator_charts(indicators))


def _number(value: Any, unit: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    number = f"{float(value):,.0f}" if float(value).is_integer() else f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return f"{number} {_clean(unit)}".strip() if _clean(unit) not in ("", "number") else number


def _exceptions(pack: _Pack) -> None:
    found = pack.data.exceptions
    pack.heading("Exceptions")

    def line_rows(frame: pd.DataFrame, with_change: bool = False) -> list[list[str]]:
        return [
            [
                line["ref"],
                _status_cell(line["status"]) + (f" (was {line['previous_status']})" if with_change else ""),
                line["teams"],
                _clean(line["progress"]) or "no update",
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
        [[row["team"], row["state"], _day(row["deadline"]), _when(row["submitted_at"])] for _i, row in late.iterrows()],
        (80, 30, 30, 40),
    )


def _day(value: Any) -> str:
    return pd.Timestamp(value).strftime("%d %b %Y") if value is not None and not pd.isna(value) else ""


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
            _day(row["deadline"]),
            _when(row["submitted_at"]),
            _clean(row["submitted_by"]),
            "" if pd.isna(row["version"]) else str(int(row["version"])),
        ]
        for _i, row in tracker.iterrows()
    ]
    pack.table(
        ["Team", "State", "Lines", "Due", "Submitted (UTC)", "By", "Version"], rows, (50, 20, 18, 24, 30, 26, 12)
    )


def board_pack_pdf(session: Session, quarter: str, plan_ref: str | None = None) -> bytes:
    """The board pack for a quarter as PDF bytes: cover, contents, overview, a section per outcome, the exceptions
    and the submission status. Raises :class:`cyp.reports.UnknownPlan` or ``QuarterError`` for bad input."""
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


# ------------------------------------------------------------------------------------------------------------ Excel


def escape_cell(value: Any) -> Any:
    """A value safe to put in a spreadsheet cell: text that would start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _submissions_by_line(session: Session, plan_ref: str, quarter: str) -> dict[str, dict[str, Any]]:
    """{line ref: team, version, submitted by/at} of the update that counts for each line in the quarter."""
    counted = queries.current_update_ids(quarter).subquery()
    from cyp.models import LineUpdate

    statement = (
        select(Action.ref, Partner.name, Return.version, Return.uploaded_by, Return.uploaded_at)
        .join(counted, counted.c.action_id == Action.id)
        .join(LineUpdate, LineUpdate.id == counted.c.update_id)
        .join(Return, Return.id == LineUpdate.return_id)
        .join(Partner, Partner.id == Return.partner_id)
        .join(Plan, Plan.id == Return.plan_id)
        .where(Plan.ref == plan_ref)
    )
    return {
        ref: {"team": team, "version": version, "by": by, "at": at}
        for ref, team, version, by, at in session.execute(statement)
    }


def _indicator_submissions(session: Session, quarter: str) -> dict[str, dict[str, Any]]:
    """{indicator ref: team, version, submitted by/at} of the value that counts in the quarter."""
    from cyp.models import Indicator, IndicatorValue

    latest = (
        select(IndicatorValue.indicator_id, func.max(IndicatorValue.id).label("value_id"))
        .join(Return, Return.id == IndicatorValue.return_id)
        .where(Return.is_current, IndicatorValue.quarter == quarter)
        .group_by(IndicatorValue.indicator_id)
        .subquery()
    )
    statement = (
        select(Indicator.ref, Partner.name, Return.version, Return.uploaded_by, Return.uploaded_at)
        .join(latest, latest.c.indicator_id == Indicator.id)
        .join(IndicatorValue, IndicatorValue.id == latest.c.value_id)
        .join(Return, Return.id == IndicatorValue.return_id)
        .join(Partner, Partner.id == Return.partner_id)
    )
    return {
        ref: {"team": team, "version": version, "by": by, "at": at}
        for ref, team, version, by, at in session.execute(statement)
    }


LINE_SHEET_COLUMNS = [
    "Plan",
    "Quarter",
    "Outcome ref",
    "Outcome",
    "Objective ref",
    "Objective",
    "Line ref",
    "Line",
    "Teams",
    "Monitoring bodies",
    "Status",
    "Last quarter",
    "Progress",
    "Next steps",
    "Risks",
    "Reported by team",
    "Version",
    "Submitted by",
    "Submitted at (UTC)",
    "Demo",
]
INDICATOR_SHEET_COLUMNS = [
    "Plan",
    "Quarter",
    "Outcome ref",
    "Outcome",
    "Indicator ref",
    "Indicator",
    "Unit",
    "Value",
    "Target",
    "Status",
    "Direction",
    "Commentary",
    "Reported by team",
    "Version",
    "Submitted by",
    "Submitted at (UTC)",
]


def _sheet(workbook: Any, title: str, headings: list[str], rows: list[list[Any]], widths: dict[str, int]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    sheet.append(headings)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([escape_cell(value) for value in row])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headings))}{max(1, len(rows) + 1)}"
    for position, heading in enumerate(headings, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = widths.get(heading, 14)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str) and len(cell.value) > 40)


def _naive(moment: Any) -> Any:
    """Excel has no time zones: UTC times are written without one (the heading says UTC)."""
    if moment is None or (not isinstance(moment, datetime) and pd.isna(moment)):
        return None
    stamp = pd.Timestamp(moment)
    return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp).to_pydatetime()


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value


def board_pack_xlsx(session: Session, quarter: str, plan_ref: str | None = None) -> bytes:
    """Every line's update and every indicator value for the quarter, one row each with its framework context.

    Sheets "Lines" (every line of the plan, "No return" where none came in), "Indicators" and "About"; header
    frozen, autofilter on; text that would start a formula is escaped with a leading ``'``.
    """
    from openpyxl import Workbook

    data = board_data(session, quarter, plan_ref)
    submitted = _submissions_by_line(session, data.plan_ref, data.quarter)
    bodies = data.lines.set_index("ref")["bodies"].to_dict() if len(data.lines) else {}
    line_rows = []
    for _i, line in data.lines.iterrows():
        sub = submitted.get(line["ref"], {})
        line_rows.append(
            [
                data.plan_ref,
                data.quarter,
                line["outcome_ref"],
                line["outcome"],
                line["objective_ref"],
                _clean(line["objective"]),
                line["ref"],
                _clean(line["action"]) or "(the whole objective)",
                line["teams"],
                bodies.get(line["ref"], ""),
                line["status"],
                _value(line["previous_status"]),
                _value(line["progress"]),
                _value(line["next_steps"]),
                _value(line["risks"]),
                sub.get("team"),
                sub.get("version"),
                sub.get("by"),
                _naive(sub.get("at")),
                "yes" if bool(line["is_demo"]) else "",
            ]
        )
    indicator_subs = _indicator_submissions(session, data.quarter)
    names = {outcome["ref"]: outcome["name"] for outcome in data.outcomes}
    this_quarter = data.indicators[data.indicators["quarter"] == data.quarter]
    indicator_rows = []
    for _i, row in this_quarter.iterrows():
        sub = indicator_subs.get(row["ref"], {})
        indicator_rows.append(
            [
                data.plan_ref,
                data.quarter,
                row["outcome_ref"],
                names.get(row["outcome_ref"], ""),
                row["ref"],
                _clean(row["name"]),
                row["unit"],
                _value(row["value"]),
                _value(row["target"]),
                _value(row["status"]),
                _value(row["direction"]),
                _value(row["commentary"]),
                sub.get("team"),
                sub.get("version"),
                sub.get("by"),
                _naive(sub.get("at")),
            ]
        )
    workbook = Workbook()
    workbook.remove(workbook.active)
    wide = {"Outcome": 24, "Objective": 40, "Line": 40, "Teams": 28, "Monitoring bodies": 28, "Indicator": 40}
    wide |= {"Progress": 60, "Next steps": 40, "Risks": 40, "Commentary": 50, "Submitted at (UTC)": 18}
    _sheet(workbook, "Lines", LINE_SHEET_COLUMNS, line_rows, wide)
    _sheet(workbook, "Indicators", INDICATOR_SHEET_COLUMNS, indicator_rows, wide)
    about = [
        ["Plan", f"{data.plan_ref} {data.plan_title}"],
        ["Quarter", data.quarter],
        ["Generated (UTC)", _naive(data.generated_at)],
        ["Status rule", data.rule],
        ["Lines", counts_sentence(data.totals())],
        ["Demo data", "Yes: generated for demonstration, not real returns" if data.demo else "No"],
    ]
    _sheet(workbook, "About", ["Item", "Value"], about, {"Item": 18, "Value": 100})
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def board_pack_filename(data_or_plan: BoardData | str, quarter: str | None = None, suffix: str = "pdf") -> str:
    """A file name like ``cyp-board-pack-2019-23-2022-23-Q4.pdf``."""
    if isinstance(data_or_plan, BoardData):
        plan, quarter = data_or_plan.plan_ref, data_or_plan.quarter
    else:
        plan = data_or_plan
    return f"cyp-board-pack-{plan}-{str(quarter).replace(' ', '-')}.{suffix}"
