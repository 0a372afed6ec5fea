"""Submission tracker: per quarter and team, what was expected, what came in, when, from whom, and whether on time.

A return is on time when its *first* version arrived by the deadline (a later correction does not make it
late); the version, time and uploader shown are the current version's. Deadline: the administrator's
``QuarterDeadline`` override, else quarter end plus ``CYP_DEADLINE_DAYS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Literal, get_args

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cyp.framework.plans import plan_covering
from cyp.quarters import Quarter, parse_quarter, today
from cyp.read import queries
from cyp.read.signoff import signoff_states
from cyp.storage.config import get_settings
from cyp.storage.models import Partner, Plan, QuarterDeadline, Return

# Where a team's return for a quarter stands: in by the deadline, in after it, not in and overdue, not due yet.
TrackerState = Literal["On time", "Late", "Missing", "Not due yet"]
TRACKER_STATES: tuple[TrackerState, ...] = get_args(TrackerState)
# A return counts as received once its first version is in, on time or not.
RECEIVED_STATES: tuple[TrackerState, ...] = ("On time", "Late")


@dataclass(frozen=True)
class TrackerRow:
    """One team's return for one quarter (or its absence)."""

    quarter: str
    team_ref: str
    team: str
    lines_expected: int
    lines_returned: int
    version: int | None
    submitted_at: datetime | None
    submitted_by: str | None
    first_submitted_at: datetime | None
    deadline: date
    state: str
    is_demo: bool = False
    # Where sign-off is switched on: "awaiting sign-off", "signed-off" or "returned" (blank otherwise).
    signoff: str = ""


TRACKER_COLUMNS = [field.name for field in fields(TrackerRow)]


def deadlines(session: Session, quarters: Iterable[Quarter]) -> dict[str, date]:
    """{quarter label: due date} with administrators' overrides applied."""
    quarters = list(quarters)
    overrides = dict(
        session.execute(
            select(QuarterDeadline.quarter, QuarterDeadline.due).where(
                QuarterDeadline.quarter.in_([q.label for q in quarters])
            )
        ).all()
    )
    days = get_settings().deadline_days
    return {q.label: overrides.get(q.label, q.end + timedelta(days=days)) for q in quarters}


def _day(moment: datetime) -> date:
    """The UK-agnostic calendar day of a stored timestamp (naive timestamps from SQLite are UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _state(first_submitted: datetime | None, deadline: date, now: date) -> str:
    if first_submitted is not None:
        return "On time" if _day(first_submitted) <= deadline else "Late"
    return "Missing" if now > deadline else "Not due yet"


def _tracker_rows(session: Session, quarters: list[Quarter]) -> list[TrackerRow]:
    labels = [q.label for q in quarters]
    due = deadlines(session, quarters)
    now = today()
    plans = session.execute(select(Plan.ref, Plan.first_year, Plan.last_year)).all()
    expected_by_plan = {
        ref: {row.partner_id: row for row in session.execute(queries.expected_lines_by_team(ref))}
        for ref, _first, _last in plans
    }
    current = {(row.partner_id, row.quarter): row for row in session.execute(queries.current_returns(labels))}
    first_times = {
        (partner_id, quarter): first
        for partner_id, quarter, first in session.execute(
            select(Return.partner_id, Return.quarter, func.min(Return.uploaded_at))
            .where(Return.quarter.in_(labels))
            .group_by(Return.partner_id, Return.quarter)
        )
    }
    partner_ids = {partner_id for partner_id, _quarter in current}
    returned_in: dict[str, list[int]] = {}  # the teams with a current return, per quarter
    for partner_id, quarter in current:
        returned_in.setdefault(quarter, []).append(partner_id)
    names = {
        row.id: (row.ref, row.name)
        for row in session.execute(select(Partner.id, Partner.ref, Partner.name).where(Partner.id.in_(partner_ids)))
    }
    signoff = {label: signoff_states(session, label) for label in labels}
    rows: list[TrackerRow] = []
    for q in quarters:
        label = q.label
        plan = plan_covering(plans, q)
        plan_ref = plan.ref if plan is not None else None
        expected = expected_by_plan.get(plan_ref, {}) if plan_ref else {}
        teams = {pid: (row.ref, row.name, row.lines) for pid, row in expected.items()}
        for partner_id in returned_in.get(label, ()):
            if partner_id not in teams:
                teams[partner_id] = (*names[partner_id], 0)
        for partner_id, (team_ref, team_name, lines) in sorted(teams.items(), key=lambda item: item[1][1]):
            ret = current.get((partner_id, label))
            first = first_times.get((partner_id, label))
            rows.append(
                TrackerRow(
                    quarter=label,
                    team_ref=team_ref,
                    team=team_name,
                    lines_expected=lines,
                    lines_returned=ret.lines_returned if ret else 0,
                    version=ret.version if ret else None,
                    submitted_at=ret.uploaded_at if ret else None,
                    submitted_by=ret.uploaded_by if ret else None,
                    first_submitted_at=first if ret else None,
                    deadline=due[label],
                    state=_state(first if ret else None, due[label], now),
                    is_demo=bool(ret.is_demo) if ret else False,
                    signoff=signoff[label].get(team_ref, "") if ret else "",
                )
            )
    return rows


def submission_tracker(session: Session, quarter: Quarter | str) -> list[TrackerRow]:
    """Every team expected to report in the quarter (it reports lines of the plan covering it), plus any team
    that returned anyway, by team name."""
    return _tracker_rows(session, [parse_quarter(quarter)])


_TRACKER_VALUES = attrgetter(*TRACKER_COLUMNS)


def tracker_frame(rows: Iterable[TrackerRow]) -> pd.DataFrame:
    """Tracker rows as a DataFrame with :data:`TRACKER_COLUMNS`."""
    # Each row's values as a tuple: dataclasses.asdict deep-copies every value, most of this function's time on a
    # plan's whole history (teams x quarters).
    return pd.DataFrame([_TRACKER_VALUES(row) for row in rows], columns=TRACKER_COLUMNS)


def for_team(tracker: pd.DataFrame, team: str | None) -> pd.DataFrame:
    """The rows of a tracker frame for the team named by ref or name, ignoring case (as every view filter matches);
    every row when ``team`` is empty."""
    if not team:
        return tracker
    wanted = team.strip().casefold()
    return tracker[tracker["team_ref"].str.casefold().eq(wanted) | tracker["team"].str.casefold().eq(wanted)]


def returns_received(tracker: pd.DataFrame) -> int:
    """How many teams of a tracker frame (one row per team, a ``state`` column) have returned: on time plus late."""
    return int(tracker["state"].isin(RECEIVED_STATES).sum())


def tracker_table(session: Session, quarters: Iterable[Quarter | str]) -> pd.DataFrame:
    """Tracker rows for several quarters in long form (one row per team and quarter), oldest quarter first."""
    ordered = sorted({parse_quarter(q) for q in quarters})
    return tracker_frame(_tracker_rows(session, ordered))


def tracker_grid(session: Session, quarters: Iterable[Quarter | str]) -> pd.DataFrame:
    """Teams × quarters of state (On time, Late, Missing, Not due yet); blank where a team had nothing to report.

    Index: team name; columns: quarter labels, oldest first.
    """
    ordered = sorted({parse_quarter(q) for q in quarters})
    table = tracker_table(session, ordered)
    labels = [q.label for q in ordered]
    if table.empty:
        return pd.DataFrame(columns=labels)
    grid = table.pivot(index="team", columns="quarter", values="state").reindex(columns=labels)
    grid.columns.name = None
    return grid.fillna("").sort_index()
