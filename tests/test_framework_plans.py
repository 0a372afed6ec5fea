"""Which plan covers a quarter (cyp/framework/plans.py): the one rule, on plans already loaded."""

from __future__ import annotations

from typing import NamedTuple

from cyp.framework.plans import plan_covering
from cyp.quarters import Quarter


class Period(NamedTuple):
    """A plan row as the read side loads it: its ref and years."""

    ref: str
    first_year: int
    last_year: int


def covering(quarter: Quarter, *plans: Period) -> str | None:
    plan = plan_covering(plans, quarter)
    return plan.ref if plan is not None else None


def test_the_plan_covering_a_quarter_and_the_later_one_in_an_overlap() -> None:
    plans = (Period("2019-2023", 2019, 2022), Period("2023-2027", 2023, 2026))
    assert covering(Quarter(2019, 1), *plans) == "2019-2023"
    assert covering(Quarter(2022, 4), *plans) == "2019-2023"
    assert covering(Quarter(2023, 1), *plans) == "2023-2027"
    assert covering(Quarter(2026, 4), *plans) == "2023-2027"
    assert covering(Quarter(2027, 1), *plans) is None
    assert covering(Quarter(2018, 4), *plans) is None
    assert covering(Quarter(2023, 1), Period("old", 2019, 2023), Period("new", 2023, 2026)) == "new"
    assert covering(Quarter(2023, 1), Period("new", 2023, 2026), Period("old", 2019, 2023)) == "new"  # in any order
