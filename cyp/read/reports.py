"""The read side for pages, exports and the CLI: status reports, summaries and filters, built on
:mod:`cyp.read.queries`.

:func:`status_report` is the public JSON interface (documented in ``docs/report-json.md``);
the DataFrame builders feed the pages. Everything is aggregated in SQL; nothing reads a whole table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from tabulate import tabulate

from cyp.framework.plans import plan_covering, plan_covers
from cyp.quarters import Quarter, parse_quarter
from cyp.read import queries
from cyp.status import (
    ALL_STATUSES,
    NO_RETURN,
    describe_rule,
    direction_of_travel,
    direction_text,
    indicator_status,
    rollup_status,
    status_change,
)
from cyp.storage.models import Outcome, Plan

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported inside the DataFrame builders, not here: the status report (`python -m cyp report`, the data
# API) builds none, and importing pandas cost 0.19 s of the command's 0.74 s (`python -X importtime`, 2-CPU machine).


class UnknownPlan(LookupError):
    """No plan has the ref given, or no plan covers the quarter asked for."""


@dataclass(frozen=True)
class ViewFilters:
    """What a view is narrowed to; round-trips through URL query parameters so a link restores the view.

    Every field is optional text: quarter label, plan ref, outcome ref, objective ref, and team, monitoring
    body, index domain and driver by ref or name; status is one of the statuses or "No return".
    """

    quarter: str | None = None
    plan: str | None = None
    outcome: str | None = None
    objective: str | None = None
    team: str | None = None
    body: str | None = None
    domain: str | None = None
    driver: str | None = None
    status: str | None = None

    def to_query_params(self) -> dict[str, str]:
        """The filters that are set, as query parameters (unset ones are left out)."""
        return {key: value for key, value in asdict(self).items() if value}

    @classmethod
    def from_query_params(cls, mapping: Mapping[str, Any]) -> ViewFilters:
        """Filters from query parameters; unknown keys are ignored, a list value counts by its first item."""
        values: dict[str, str | None] = {}
        for field in fields(cls):
            value = mapping.get(field.name)
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            text = str(value).strip() if value is not None else ""
            values[field.name] = text or None
        return cls(**values)

    def replace(self, **changes: str | None) -> ViewFilters:
        """A copy with some filters changed (None clears one)."""
        return ViewFilters(**(asdict(self) | changes))


def resolve_plan(session: Session, quarter: Quarter, plan_ref: str | None = None) -> Plan:
    """The plan asked for, else the plan whose period covers the quarter; raises :class:`UnknownPlan`."""
    if plan_ref:
        plan = session.scalar(select(Plan).where(Plan.ref == plan_ref))
        if plan is None:
            known = ", ".join(session.scalars(select(Plan.ref).order_by(Plan.first_year)))
            raise UnknownPlan(f"There is no plan '{plan_ref}'; plans are: {known or 'none loaded'}.")
        return plan
    plan = plan_covering(session.scalars(select(Plan)), quarter)
    if plan is None:
        raise UnknownPlan(f"No plan covers {quarter.label}; give a plan with --plan.")
    return plan


def _empty_counts() -> dict[str, int]:
    return {status: 0 for status in ALL_STATUSES}


# The read side's column-only statements run on the session's connection (same transaction): the ORM's result
# handling adds nothing to plain rows and costs a quarter of the time on a plan's few thousand lines; all() fetches
# them in one go (iterating the result fetches one row at a time).


def _counts(session: Session, statement: Select[Any]) -> dict[str, dict[str, int]]:
    """{group ref: {status: lines}} from a (ref, status, lines) statement."""
    counts: dict[str, dict[str, int]] = defaultdict(_empty_counts)
    for ref, status, lines in session.connection().execute(statement).all():
        counts[ref][status] = counts[ref].get(status, 0) + lines
    return counts


def _names(session: Session, statement: Select[Any]) -> dict[int, list[str]]:
    """{action id: [names]} from an (action id, name) statement."""
    names: dict[int, list[str]] = defaultdict(list)
    for action_id, name in session.connection().execute(statement).all():
        names[action_id].append(name)
    return names


def _outcomes(session: Session, plan: Plan) -> list[tuple[str, str]]:
    return list(
        session.execute(select(Outcome.ref, Outcome.name).where(Outcome.plan_id == plan.id).order_by(Outcome.position))
    )


def _outcome_statuses(session: Session, plan: Plan, q: Quarter, signed_off_only: bool) -> list[dict[str, Any]]:
    counts = _counts(session, queries.status_counts_by_outcome(plan.ref, q.label, signed_off_only=signed_off_only))
    outcomes = []
    for ref, name in _outcomes(session, plan):
        outcome_counts = counts.get(ref, _empty_counts())
        outcomes.append(
            {"ref": ref, "name": name, "status": rollup_status(outcome_counts), "counts": dict(outcome_counts)}
        )
    return outcomes


def outcome_statuses(
    session: Session, quarter: Quarter | str, plan_ref: str | None = None, *, signed_off_only: bool = False
) -> list[dict[str, Any]]:
    """The ``outcomes`` of :func:`status_report` (ref, name, rolled-up status, counts per status), in plan order,
    without its line-by-line list (the board's view reads its lines through :func:`line_statuses`)."""
    q = parse_quarter(quarter)
    return _outcome_statuses(session, resolve_plan(session, q, plan_ref), q, signed_off_only)


def status_report(
    session: Session, quarter: Quarter | str, plan_ref: str | None = None, *, signed_off_only: bool = False
) -> dict[str, Any]:
    """Every line's status for a quarter, and every outcome's rolled-up status and distribution.

    The public JSON interface of ``python -m cyp report --format json``; see ``docs/report-json.md``.
    The plan defaults to the plan covering the quarter. ``signed_off_only`` counts signed-off versions only
    (sign-off switched on; see :mod:`cyp.read.signoff`), as do the other functions here that take it.
    """
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    outcomes = _outcome_statuses(session, plan, q, signed_off_only)
    teams = _names(session, queries.line_teams(plan.ref))
    lines = [
        {
            "ref": row.ref,
            "outcome": row.outcome_ref,
            "objective": row.objective_ref,
            "teams": teams.get(row.action_id) or ([row.reporting_team] if row.reporting_team else []),
            "status": row.status,
            "progress": row.progress,
        }
        for row in session.connection()
        .execute(queries.line_status_rows(plan.ref, q.label, signed_off_only=signed_off_only))
        .all()
    ]
    return {"quarter": q.label, "plan": plan.ref, "rule": describe_rule(), "outcomes": outcomes, "lines": lines}


def _cut(cell: Any, cap: int | None) -> Any:
    text = str(cell)
    return text[: cap - 1] + "…" if cap is not None and len(text) > cap else cell


def _table(headings: list[str], rows: list[list[Any]], caps: dict[int, int] | None = None) -> list[str]:
    """Text columns (counts right-aligned); ``caps`` limits a column's width, cutting longer text with an ellipsis."""
    caps = caps or {}
    cells = [[_cut(cell, caps.get(i)) for i, cell in enumerate(row)] for row in rows]
    # Cells are never read as numbers (a ref such as 2019-23 stays as written); only counts are right-aligned.
    align = [
        "right" if cells and all(isinstance(row[i], int) for row in cells) else "left" for i in range(len(headings))
    ]
    return tabulate(cells, headers=headings, tablefmt="simple", disable_numparse=True, colalign=align).splitlines()


def format_report_table(report: Mapping[str, Any]) -> str:
    """A status report as readable fixed-width text for a terminal: outcomes with distributions, then lines."""
    out = [f"CYP Plan {report['plan']}: line status for {report['quarter']}", f"Roll-up rule: {report['rule']}", ""]
    outcome_rows = [
        [
            o["ref"],
            o["name"],
            o["status"],
            *(o["counts"].get(s, 0) for s in ALL_STATUSES),
            sum(o["counts"].values()),
        ]
        for o in report["outcomes"]
    ]
    out += _table(["Outcome", "Name", "Status", *ALL_STATUSES, "Lines"], outcome_rows, {1: 40})
    totals = _empty_counts()
    for line in report["lines"]:
        totals[line["status"]] = totals.get(line["status"], 0) + 1
    out += ["", "All lines: " + ", ".join(f"{s} {totals[s]}" for s in ALL_STATUSES) + f" (of {len(report['lines'])})"]
    if report["lines"]:
        line_rows = [
            [line["ref"], line["status"], "; ".join(line["teams"]), " ".join((line["progress"] or "").split())]
            for line in report["lines"]
        ]
        out += ["", *_table(["Line", "Status", "Teams", "Progress"], line_rows, {2: 30, 3: 60})]
    return "\n".join(out) + "\n"


def _previous_statuses(
    session: Session, plan: Plan, quarter: Quarter, signed_off_only: bool = False
) -> dict[str, str] | None:
    """{line ref: status} for the quarter before, or None when it is before the plan began."""
    previous = quarter.previous()
    if not plan_covers(plan, previous):
        return None
    statement = queries.line_status_by_ref(plan.ref, previous.label, signed_off_only=signed_off_only)
    return dict(session.connection().execute(statement).all())


def outcome_summary(
    session: Session, quarter: Quarter | str, plan_ref: str | None = None, *, signed_off_only: bool = False
) -> pd.DataFrame:
    """One row per outcome: counts per status, lines, rolled-up status, last quarter's rolled-up status and change.

    Columns: outcome_ref, outcome, Blue, Green, Amber, Red, No return, lines, status, previous_status, change
    (previous_status and change are None in a plan's first quarter).
    """
    import pandas as pd

    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    now = _counts(session, queries.status_counts_by_outcome(plan.ref, q.label, signed_off_only=signed_off_only))
    before = (
        _counts(
            session, queries.status_counts_by_outcome(plan.ref, q.previous().label, signed_off_only=signed_off_only)
        )
        if plan_covers(plan, q.previous())
        else None
    )
    rows = []
    for ref, name in _outcomes(session, plan):
        counts = now.get(ref, _empty_counts())
        status = rollup_status(counts)
        previous = rollup_status(before.get(ref, _empty_counts())) if before is not None else None
        rows.append(
            {
                "outcome_ref": ref,
                "outcome": name,
                **counts,
                "lines": sum(counts.values()),
                "status": status,
                "previous_status": previous,
                "change": status_change(status, previous) if previous is not None else None,
            }
        )
    columns = ["outcome_ref", "outcome", *ALL_STATUSES, "lines", "status", "previous_status", "change"]
    return pd.DataFrame(rows, columns=columns)


LINE_COLUMNS = [
    "ref",
    "action",
    "whole_objective",
    "is_demo",
    "outcome_ref",
    "outcome",
    "objective_ref",
    "objective",
    "teams",
    "reporting_team",
    "bodies",
    "drivers",
    "domains",
    "status",
    "progress",
    "next_steps",
    "risks",
    "previous_status",
    "change",
]


def line_statuses(
    session: Session,
    quarter: Quarter | str,
    plan_ref: str | None = None,
    filters: ViewFilters | None = None,
    *,
    signed_off_only: bool = False,
) -> pd.DataFrame:
    """One row per line (narrowed by ``filters``): framework context, status and commentary, last quarter's status.

    Columns are :data:`LINE_COLUMNS`; teams, bodies, drivers and domains are "; "-separated names.
    ``filters.quarter`` and ``filters.plan`` are ignored here: pass the quarter and plan explicitly.
    """
    import pandas as pd

    filters = filters or ViewFilters()
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    statement = queries.filter_lines(
        queries.line_status_rows(plan.ref, q.label, status=filters.status, signed_off_only=signed_off_only),
        outcome=filters.outcome,
        objective=filters.objective,
        team=filters.team,
        body=filters.body,
        domain=filters.domain,
        driver=filters.driver,
    )
    result = session.connection().execute(statement)
    columns, rows = list(result.keys()), result.all()
    teams = _names(session, queries.line_teams(plan.ref))
    bodies = _names(session, queries.line_bodies(plan.ref))
    drivers = _names(session, queries.line_drivers(plan.ref))
    domains = _names(session, queries.line_domains(plan.ref))
    previous = _previous_statuses(session, plan, q, signed_off_only)
    # Column by column rather than a dict per row: a quarter at council scale has thousands of lines.
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns)
    if frame.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    action_ids = frame["action_id"].tolist()
    frame["teams"] = [
        "; ".join(teams.get(action_id) or ([reporting] if reporting else []))
        for action_id, reporting in zip(action_ids, frame["reporting_team"].tolist(), strict=True)
    ]
    for column, names in (("bodies", bodies), ("drivers", drivers), ("domains", domains)):
        frame[column] = ["; ".join(names.get(action_id, [])) for action_id in action_ids]
    before = [previous.get(ref) if previous is not None else None for ref in frame["ref"].tolist()]
    frame["previous_status"] = before
    frame["change"] = [
        status_change(status, earlier) if earlier is not None else None
        for status, earlier in zip(frame["status"].tolist(), before, strict=True)
    ]
    return frame.reindex(columns=LINE_COLUMNS)


# The columns of a line's history, for the pages, the exports and the data API alike.
LINE_HISTORY_COLUMNS = [
    "quarter",
    "version",
    "is_current",
    "team",
    "uploaded_by",
    "uploaded_at",
    "is_demo",
    "status",
    "progress",
    "next_steps",
    "risks",
]


def line_history(session: Session, action_ref: str) -> pd.DataFrame:
    """Every update of one line across all quarters and all versions, oldest first, current versions flagged.

    Columns: quarter, version, is_current, team, uploaded_by, uploaded_at, is_demo, status, progress,
    next_steps, risks.
    """
    import pandas as pd

    rows = session.connection().execute(queries.line_history(action_ref)).mappings().all()
    return pd.DataFrame([dict(row) for row in rows], columns=LINE_HISTORY_COLUMNS)


def line_trends(
    session: Session, plan_ref: str, quarters: Iterable[Quarter | str], *, signed_off_only: bool = False
) -> pd.DataFrame:
    """Each line's status in each quarter given (long form: ref, quarter, status; "No return" filled in)."""
    import pandas as pd

    labels = [parse_quarter(q).label for q in quarters]
    connection = session.connection()
    statement = queries.line_status_by_quarter(plan_ref, labels, signed_off_only=signed_off_only)
    reported = {(ref, quarter): status for ref, quarter, status in connection.execute(statement).all()}
    refs = [row.ref for row in connection.execute(queries.plan_lines(plan_ref)).all()]
    if not refs or not labels:
        return pd.DataFrame(columns=["ref", "quarter", "status"])
    # Column by column: a plan at council scale has thousands of lines times the quarters.
    return pd.DataFrame(
        {
            "ref": [ref for ref in refs for _ in labels],
            "quarter": labels * len(refs),
            "status": [reported.get((ref, label), NO_RETURN) for ref in refs for label in labels],
        },
        columns=["ref", "quarter", "status"],
    )


def domain_summary(
    session: Session,
    quarter: Quarter | str,
    plan_ref: str | None = None,
    domain: str | None = None,
    *,
    signed_off_only: bool = False,
) -> pd.DataFrame:
    """The nine Family Friendly Index domains (or the one ``domain`` names by ref, short name or name, ignoring case,
    as every view filter matches): status distribution of mapped lines, roll-up, indicators and gaps.

    Columns: domain_ref, domain (short name), name, Blue … No return, lines, status (None with no lines),
    indicators, indicators_with_data, gaps (a list of "no lines", "no indicators", "no current data").
    """
    import pandas as pd

    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    counts = _counts(session, queries.status_counts_by_domain(plan.ref, q.label, signed_off_only=signed_off_only))
    rows = []
    for row in session.connection().execute(queries.domain_coverage(plan.ref, q.label)).mappings().all():
        domain_counts = counts.get(row["domain_ref"], _empty_counts())
        gaps = []
        if not row["lines"]:
            gaps.append("no lines")
        if not row["indicators"]:
            gaps.append("no indicators")
        if not row["indicators_with_data"] and (not row["lines"] or domain_counts[NO_RETURN] == row["lines"]):
            gaps.append("no current data")
        rows.append(
            {
                "domain_ref": row["domain_ref"],
                "domain": row["short_name"],
                "name": row["name"],
                **domain_counts,
                "lines": row["lines"],
                "status": rollup_status(domain_counts) if row["lines"] else None,
                "indicators": row["indicators"],
                "indicators_with_data": row["indicators_with_data"],
                "gaps": gaps,
            }
        )
    columns = [
        "domain_ref",
        "domain",
        "name",
        *ALL_STATUSES,
        "lines",
        "status",
        "indicators",
        "indicators_with_data",
        "gaps",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    if domain:
        wanted = domain.strip().casefold()
        names = (frame[column].str.casefold().eq(wanted) for column in ("domain_ref", "domain", "name"))
        frame = frame[pd.concat(list(names), axis=1).any(axis=1)]
    return frame


def indicator_series(
    session: Session,
    indicator_refs: Iterable[str] | None = None,
    outcome_ref: str | None = None,
    *,
    signed_off_only: bool = False,
) -> pd.DataFrame:
    """Reported values per indicator and quarter, oldest first, with status against target and direction of travel.

    Give indicator refs, an outcome ref, or both. Columns: ref, name, unit, polarity, quarter, value, target,
    baseline, status, direction, direction_text (the direction or why there is none), commentary.
    """
    import pandas as pd

    statement = queries.indicator_values(
        list(indicator_refs) if indicator_refs is not None else None,
        outcome_ref=outcome_ref,
        signed_off_only=signed_off_only,
    )
    records = []
    previous_value: dict[str, float | None] = {}
    for row in session.connection().execute(statement).mappings().all():
        ref = row["ref"]
        before = previous_value.get(ref)
        records.append(
            {
                "ref": ref,
                "name": row["name"],
                "unit": row["unit"],
                "polarity": row["polarity"],
                "quarter": row["quarter"],
                "value": row["value"],
                "target": row["target"],
                "baseline": row["baseline_value"],
                "status": indicator_status(row["value"], row["target"], row["polarity"], row["tolerance"]),
                "direction": direction_of_travel(row["value"], before, row["polarity"]),
                "direction_text": direction_text(row["value"], before, row["polarity"]),
                "commentary": row["commentary"],
            }
        )
        previous_value[ref] = row["value"]
    columns = [
        "ref",
        "name",
        "unit",
        "polarity",
        "quarter",
        "value",
        "target",
        "baseline",
        "status",
        "direction",
        "direction_text",
        "commentary",
    ]
    return pd.DataFrame(records, columns=columns)


def exceptions(
    session: Session,
    quarter: Quarter | str,
    plan_ref: str | None = None,
    filters: ViewFilters | None = None,
    *,
    signed_off_only: bool = False,
) -> dict[str, pd.DataFrame]:
    """The board's agenda for a quarter: ``red`` lines, lines ``worse`` than last quarter, ``no_return`` lines,
    and ``late`` teams (tracker rows whose state is Late or Missing).

    ``filters`` narrow the lines by outcome, team, body, domain and driver (objective and status do not apply: the
    agenda is itself a choice by status) and the late teams by team. Line frames have :data:`LINE_COLUMNS`; the late
    frame has the tracker's columns.
    """
    from cyp.read.tracker import for_team, submission_tracker, tracker_frame

    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    narrowed = (filters or ViewFilters()).replace(quarter=None, plan=None, objective=None, status=None)
    tracker = for_team(tracker_frame(submission_tracker(session, q)), narrowed.team)
    return exceptions_from(line_statuses(session, q, plan.ref, narrowed, signed_off_only=signed_off_only), tracker)


def exceptions_from(lines: pd.DataFrame, tracker: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """:func:`exceptions` from a quarter's :func:`line_statuses` and tracker frame already read."""
    return {
        "red": lines[lines["status"] == "Red"].reset_index(drop=True),
        "worse": lines[lines["change"] == "Worse"].reset_index(drop=True),
        "no_return": lines[lines["status"] == NO_RETURN].reset_index(drop=True),
        "late": tracker[tracker["state"].isin(["Late", "Missing"])].reset_index(drop=True),
    }


def latest_quarter_with_returns(session: Session, plan_ref: str | None = None) -> Quarter | None:
    """The latest quarter holding any current return (of the plan, when given), or None."""
    label = session.scalar(queries.quarters_with_returns(plan_ref).limit(1))
    return parse_quarter(label) if label else None


def quarters_with_returns(session: Session, plan_ref: str | None = None) -> list[Quarter]:
    """Every quarter holding any current return (of the plan, when given), latest first."""
    return [parse_quarter(label) for label in session.scalars(queries.quarters_with_returns(plan_ref))]
