"""The young people's summary: what the plan promised and how it is going, in plain words.

It carries no team commentary at all, and no small numbers: a count from 1 up to ``suppress_up_to`` (in
data/young-people.yaml) is published as the words of ``suppressed`` ("fewer than 6"), so no child can be
picked out from a count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cyp.read.browse import plan_choices
from cyp.read.reports import UnknownPlan, outcome_summary
from cyp.status import ALL_STATUSES
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import load_data_file

YOUNG_PEOPLE_TEXT = PROJECT_ROOT / "data" / "young-people.yaml"


def young_people_words() -> dict[str, Any]:
    """The plain words for the summary, from ``data/young-people.yaml``."""
    return load_data_file(YOUNG_PEOPLE_TEXT)


def publishable_count(count: int, words: Mapping[str, Any]) -> str:
    """A count fit to publish: "none" for 0, the ``suppressed`` words from 1 to ``suppress_up_to``, else the count."""
    if count <= 0:
        return "none"
    return str(words["suppressed"]) if count <= int(words["suppress_up_to"]) else str(count)


@dataclass(frozen=True)
class OutcomeNews:
    """One outcome for the summary: what was promised (its objectives) and publishable counts per status."""

    ref: str
    name: str
    status: str
    promises: tuple[str, ...]
    counts: tuple[tuple[str, str], ...]  # (status, publishable count) in status order


def young_people_summary(
    session: Session, quarter: str, plan_ref: str, words: Mapping[str, Any] | None = None
) -> list[OutcomeNews]:
    """Each outcome of the plan in the quarter, in plan order, with its objectives and its counts made publishable."""
    words = words if words is not None else young_people_words()
    plan = plan_choices(session, plan_ref)
    if plan is None:
        raise UnknownPlan(f"There is no plan '{plan_ref}'.")
    summary = outcome_summary(session, quarter, plan_ref)
    return [
        OutcomeNews(
            ref=row["outcome_ref"],
            name=row["outcome"],
            status=row["status"],
            promises=tuple(text for _ref, text, parent in plan.objectives if parent == row["outcome_ref"]),
            counts=tuple((status, publishable_count(int(row[status]), words)) for status in ALL_STATUSES),
        )
        for row in summary.to_dict("records")
    ]
