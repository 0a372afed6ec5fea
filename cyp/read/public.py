"""What anyone may read without signing in: the young people's summary as data for the public API.

The figures and words are those of the summary page, built by the one implementation in
:mod:`cyp.read.young_people`: this module only picks the default quarter and plan and shapes
:class:`~cyp.read.young_people.OutcomeNews` as JSON. So the API suppresses what the page suppresses (numbers of
*people* from 1 to ``suppress_up_to``, written as ``suppressed``) and never a count of plan lines or promises, and
it carries no team commentary and no board questions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.quarters import parse_quarter
from cyp.read.reports import UnknownPlan, latest_quarter_with_returns, resolve_plan
from cyp.read.young_people import OutcomeNews, young_people_summary, young_people_words
from cyp.status import describe_rule
from cyp.storage.models import Plan

SIGNED_OFF_ONLY = "signed-off returns only"
CURRENT_VERSIONS = "current returns"


def returns_counted(signed_off_only: bool) -> str:
    """Which return versions a published answer counts, in the words the API says it with."""
    return SIGNED_OFF_ONLY if signed_off_only else CURRENT_VERSIONS


def suppression_note(words: Mapping[str, Any]) -> str:
    """What the summary suppresses, and what it never does, from ``data/young-people.yaml``."""
    return (
        f"Numbers of people (indicators that count children, young people or families) from 1 to "
        f"{words['suppress_up_to']} are shown as '{words['suppressed']}'. Counts of plan lines and promises are "
        f"about the council's work, so they are always shown as they are."
    )


def outcome_json(outcome: OutcomeNews, words: Mapping[str, Any]) -> dict[str, Any]:
    """One outcome of the summary as the API publishes it."""
    return {
        "ref": outcome.ref,
        "name": outcome.name,
        "status": outcome.status,
        "in_plain_words": str(words["statuses"][outcome.status]),
        "we_said_we_would": [promise.text for promise in outcome.promises],
        "promises": [
            {"text": p.text, "status": p.status, "in_plain_words": str(words["statuses"][p.status])}
            for p in outcome.promises
        ],
        "counts": dict(outcome.line_counts),
        "headline": outcome.headline,
        "work": list(outcome.work),
        "numbers": [{"name": n.name, "value": n.value, "quarter": n.quarter} for n in outcome.numbers],
    }


def young_people_answer(
    session: Session, quarter: str | None = None, plan_ref: str | None = None, *, signed_off_only: bool = False
) -> dict[str, Any]:
    """The young people's summary of a quarter (default: the latest with returns of the plan) of a plan (default:
    the current one, or the plan covering the quarter), as JSON.

    Raises UnknownPlan (no such plan, no plan loaded, no returns yet) or QuarterError like the status report.
    ``signed_off_only`` counts signed-off returns only (sign-off switched on), and the answer says so.
    """
    if quarter is None:
        ref = plan_ref or session.scalar(select(Plan.ref).where(Plan.is_current))
        if ref is None:
            raise UnknownPlan("No plan is loaded yet.")
        if session.scalar(select(Plan.id).where(Plan.ref == ref)) is None:
            raise UnknownPlan(f"There is no plan '{ref}'.")
        latest = latest_quarter_with_returns(session, ref)
        if latest is None:
            raise UnknownPlan(f"There is no news to share for plan {ref} yet: no team has sent a return.")
        quarter, plan_ref = latest.label, ref
    q = parse_quarter(quarter)
    plan = resolve_plan(session, q, plan_ref)
    words = young_people_words()
    news = young_people_summary(session, q.label, plan.ref, words, signed_off_only=signed_off_only)
    return {
        "quarter": q.label,
        "plan": plan.ref,
        "plan_title": plan.title,
        "rule": describe_rule(),
        "suppressed": suppression_note(words),
        "returns_counted": returns_counted(signed_off_only),
        "outcomes": [outcome_json(outcome, words) for outcome in news],
    }
