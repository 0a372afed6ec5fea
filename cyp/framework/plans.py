"""Which plan covers a quarter: the one rule, used by returns, the read side and the reminders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.quarters import Quarter
from cyp.storage.models import Plan


class PlanPeriod(Protocol):
    """What the rules below need of a plan: a :class:`Plan` record, or a plain row with its years."""

    @property
    def first_year(self) -> int: ...

    @property
    def last_year(self) -> int: ...


P = TypeVar("P", bound=PlanPeriod)


def plan_for_quarter(session: Session, quarter: Quarter) -> Plan | None:
    """The plan whose period covers the quarter (the later one if two overlap)."""
    return plan_covering(session.scalars(select(Plan)), quarter)


def plan_covers(plan: PlanPeriod, quarter: Quarter) -> bool:
    """Whether the plan's period (financial years ``first_year`` to ``last_year``) includes the quarter."""
    return plan.first_year <= quarter.year <= plan.last_year


def plan_covering(plans: Iterable[P], quarter: Quarter) -> P | None:
    """Of ``plans`` already loaded, the one whose period covers the quarter (the later one if two overlap)."""
    covering = [plan for plan in plans if plan_covers(plan, quarter)]
    return max(covering, key=lambda plan: plan.first_year, default=None)


def plan_period(plan: PlanPeriod) -> str:
    """A plan's period as quarter labels, e.g. "2019-20 Q1 to 2022-23 Q4"."""
    first, last = plan.first_year, plan.last_year
    return f"{first}-{(first + 1) % 100:02d} Q1 to {last}-{(last + 1) % 100:02d} Q4"
