"""What anyone may read without signing in: the young people's summary, as data for the public API.

The same figures as the young people's summary page, in the same plain words (``data/young-people.yaml``):
each outcome's promises (objectives), its overall status and how many lines have each status, with no
commentary at all and no count from 1 to ``suppress_up_to`` (those are ``None``: too few to publish).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.quarters import parse_quarter
from cyp.read.reports import UnknownPlan, latest_quarter_with_returns, outcome_summary, resolve_plan
from cyp.status import ALL_STATUSES, describe_rule
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import load_data_file
from cyp.storage.models import Objective, Outcome, Plan

YOUNG_PEOPLE_TEXT = PROJECT_ROOT / "data" / "young-people.yaml"


@cache
def young_people_words(path: Path = YOUNG_PEOPLE_TEXT) -> dict[str, Any]:
    """The plain words and the suppression rule of ``data/young-people.yaml``."""
    return load_data_file(path)


def publishable_count(count: int) -> int | None:
    """``count`` if it may be published; None for 1 to ``suppress_up_to`` (too few: someone could be recognised)."""
    return None if 0 < count <= int(young_people_words()["suppress_up_to"]) else count


def young_people_summary(session: Session, quarter: str | None = None, plan_ref: str | None = None) -> dict[str, Any]:
    """The young people's summary of a quarter (default: the latest with returns) of a plan (default: the current
    one, or the plan covering the quarter); raises UnknownPlan or QuarterError like the status report."""
    if quarter is None:
        ref = plan_ref or session.scalar(select(Plan.ref).where(Plan.is_current))
        if ref is None:
            raise UnknownPlan("No plan is loaded yet.")
        latest = latest_quarter_with_returns(session, ref)
        if latest is None:
            raise UnknownPlan(f"There is no news to share for plan {ref} yet: no team has sent a return.")
        quarter, plan_ref = latest.label, ref
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    words = young_people_words()
    promises: dict[str, list[str]] = {}
    rows = session.execute(
        select(Outcome.ref, Objective.text)
        .join(Objective, Objective.outcome_id == Outcome.id)
        .where(Outcome.plan_id == plan.id)
        .order_by(Outcome.position, Objective.position)
    )
    for outcome_ref, text in rows:
        promises.setdefault(outcome_ref, []).append(text)
    outcomes = [
        {
            "ref": row["outcome_ref"],
            "name": row["outcome"],
            "we_said_we_would": promises.get(row["outcome_ref"], []),
            "status": row["status"],
            "in_plain_words": words["statuses"][row["status"]],
            "counts": {status: publishable_count(int(row[status])) for status in ALL_STATUSES},
        }
        for row in outcome_summary(session, q, plan.ref).to_dict("records")
    ]
    return {
        "quarter": q.label,
        "plan": plan.ref,
        "plan_title": plan.title,
        "rule": describe_rule(),
        "suppressed": f"Counts from 1 to {words['suppress_up_to']} are null (shown as '{words['suppressed']}').",
        "outcomes": outcomes,
    }
