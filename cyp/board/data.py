"""What a board meeting reads for a quarter: the data behind the board display, the PDF pack and the Excel export.

:func:`board_data` gathers everything once, through the same read side as the pages (:mod:`cyp.read.reports`,
:mod:`cyp.read.tracker`), so the screen, the PDF and the spreadsheet can never disagree. Charts are the same Altair
builders the pages use, rendered to PNG by vl-convert (no browser).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cyp.quarters import parse_quarter
from cyp.read.browse import DEMO_ASSIGNMENT, domain_mappings
from cyp.read.changes import PlanChanges, changes_from_lines
from cyp.read.questions import QuestionRow, list_questions
from cyp.read.reports import (
    domain_summary,
    exceptions_from,
    indicator_series,
    line_statuses,
    outcome_statuses,
    resolve_plan,
)
from cyp.read.signoff import SignoffRow, awaiting_signoff, counted_return, signoff_enabled
from cyp.read.tracker import submission_tracker, tracker_frame
from cyp.status import ALL_STATUSES, describe_rule, rollup_status, status_counts
from cyp.storage.models import Meta, Return

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


PDF_MIME = "application/pdf"


# A spreadsheet treats a cell starting with one of these as a formula (CSV/formula injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class BoardPackError(Exception):
    """A board pack could not be built; the message says why in words a page can show as it is."""


@dataclass(frozen=True)
class BoardData:
    """Everything a board meeting sees for one plan and quarter (plain data, so a page can cache it).

    ``outcomes`` are :func:`cyp.read.reports.status_report` outcomes (ref, name, status, counts); ``lines`` has
    :data:`cyp.read.reports.LINE_COLUMNS`; ``objectives`` one row per objective with its rolled-up status;
    ``indicators`` the plan's indicator values up to and including the quarter; ``exceptions`` as
    :func:`cyp.read.reports.exceptions`; ``tracker`` the submission tracker rows for the quarter; ``domains`` the
    Family Friendly Index domains (:func:`cyp.read.reports.domain_summary`) and ``domain_map`` which of the plan's
    objectives and indicators count towards each (:func:`cyp.read.browse.domain_mappings`: the project's
    judgement, :data:`cyp.read.browse.INDEX_MAPPING_NOTE`, never presented as the plan's).
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
    domains: pd.DataFrame = field(default_factory=pd.DataFrame)
    domain_map: pd.DataFrame = field(default_factory=pd.DataFrame)
    changes: PlanChanges | None = None
    # Whether the pack counts signed-off returns only (sign-off switched on), and then what awaits an approver.
    signed_off_only: bool = False
    awaiting: list[SignoffRow] = field(default_factory=list)
    # Board questions still open that were asked in this quarter or before, in plan order.
    questions: list[QuestionRow] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def totals(self) -> dict[str, int]:
        """Lines per status across the whole plan."""
        totals: dict[str, int] = {status: 0 for status in ALL_STATUSES}
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


def latest_return_at(
    session: Session, quarter: str, plan_ref: str | None = None, *, signed_off_only: bool = False
) -> datetime | None:
    """When the latest current (or, ``signed_off_only``, signed-off) return for the quarter (of the plan) was
    accepted; None when none has been.

    Cheap (one aggregate), so the board display polls it to notice a return accepted during the meeting.
    """
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    stamp = session.scalar(
        select(func.max(Return.uploaded_at)).where(
            counted_return(signed_off_only), Return.quarter == q.label, Return.plan_id == plan.id
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


def board_data(
    session: Session,
    quarter: str,
    plan_ref: str | None = None,
    *,
    signed_off_only: bool | None = None,
    with_index: bool = True,
) -> BoardData:
    """Gather the board's view of a quarter; the plan defaults to the plan covering the quarter.

    ``signed_off_only`` (by default: whether sign-off is switched on) counts each team's latest signed-off return
    instead of its current one, in every status, count, change and indicator value of the pack, and lists the
    returns awaiting sign-off for the quarter. ``with_index=False`` leaves out the Family Friendly Index (``domains``
    and ``domain_map`` are empty frames): only the printed pack and the spreadsheet show it, not the board display.
    """
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    signed = signoff_enabled() if signed_off_only is None else signed_off_only
    # The outcomes of status_report without its list of lines: the lines come from line_statuses, just below.
    outcomes = outcome_statuses(session, q, plan.ref, signed_off_only=signed)
    lines = line_statuses(session, q, plan.ref, signed_off_only=signed)
    tracker = tracker_frame(submission_tracker(session, q))
    series = [indicator_series(session, outcome_ref=outcome["ref"], signed_off_only=signed) for outcome in outcomes]
    indicators = pd.concat(series, ignore_index=True) if series else indicator_series(session, [])
    indicators = indicators[indicators["quarter"] <= q.label].reset_index(drop=True)
    outcome_of = {}
    for outcome, frame in zip(outcomes, series, strict=True):
        outcome_of.update(dict.fromkeys(frame["ref"], outcome["ref"]))
    indicators = indicators.assign(outcome_ref=indicators["ref"].map(outcome_of))
    return BoardData(
        plan_ref=plan.ref,
        plan_title=plan.title,
        quarter=q.label,
        rule=describe_rule(),
        outcomes=outcomes,
        lines=lines,
        objectives=objective_statuses(lines),
        indicators=indicators,
        exceptions=exceptions_from(lines, tracker),
        tracker=tracker,
        demo=session.scalar(select(Meta.value).where(Meta.key == "demo")) is not None,
        latest_return_at=latest_return_at(session, q.label, plan.ref, signed_off_only=signed),
        domains=domain_summary(session, q, plan.ref, signed_off_only=signed) if with_index else pd.DataFrame(),
        domain_map=domain_mappings(session, plan.ref) if with_index else pd.DataFrame(),
        changes=changes_from_lines(session, plan.ref, q, lines, signed_off_only=signed),
        signed_off_only=signed,
        awaiting=awaiting_signoff(session, q.label) if signed else [],
        questions=[
            question
            for question in list_questions(session, open_only=True, plan_ref=plan.ref)
            if question.quarter <= q.label  # labels sort in time order
        ],
    )


def team_text(teams: Any, is_demo: Any) -> str:
    """The teams of a line as the pack shows them: "(demo assignment)" after a team the demo generator gave a line
    it made up (the 2023-27 plan names no teams), so no team reads as the plan's when it is not."""
    names = clean_text(teams)
    return f"{names} ({DEMO_ASSIGNMENT})" if names and str(is_demo) == "True" else names  # bool, numpy or text


def distribution_frame(groups: Iterable[tuple[str, dict[str, int]]]) -> pd.DataFrame:
    """Long (group, status, count) rows for :func:`cyp.read.charts.status_distribution_chart`."""
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


def when_text(moment: datetime | None) -> str:
    if moment is None or (isinstance(moment, float) and pd.isna(moment)) or pd.isna(moment):
        return ""
    return pd.Timestamp(moment).strftime("%d %b %Y %H:%M")


def clean_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return " ".join(str(value).split())


def number_text(value: Any, unit: Any) -> str:
    """A value for people with its unit: ``1,234`` (a count), ``71.6%``, ``rank 12``, ``123.4 per 100,000``."""
    if value is None or pd.isna(value):
        return ""
    from cyp.read.charts import format_number, value_text

    unit_text = clean_text(unit)
    lowered = unit_text.lower()
    if lowered in ("", "number", "count", "percent", "%"):
        return value_text(float(value), lowered)
    if lowered == "rank":
        return f"rank {format_number(float(value))}"
    return f"{format_number(float(value))} {unit_text.removeprefix('rate ')}"


def day_text(value: Any) -> str:
    return pd.Timestamp(value).strftime("%d %b %Y") if value is not None and not pd.isna(value) else ""


def board_pack_filename(data_or_plan: BoardData | str, quarter: str | None = None, suffix: str = "pdf") -> str:
    """A file name like ``cyp-board-pack-2019-23-2022-23-Q4.pdf``."""
    if isinstance(data_or_plan, BoardData):
        plan, quarter = data_or_plan.plan_ref, data_or_plan.quarter
    else:
        plan = data_or_plan
    return f"cyp-board-pack-{plan}-{str(quarter).replace(' ', '-')}.{suffix}"
