"""Financial-year quarters: parsing what people type, labels, ordering and arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cyp.quarters import (
    Quarter,
    QuarterError,
    current_quarter,
    parse_quarter,
    plan_quarters,
    quarter_of,
    quarter_range,
    today,
)

quarters = st.builds(Quarter, year=st.integers(2000, 2099), number=st.integers(1, 4))
days = st.dates(min_value=date(2000, 4, 1), max_value=date(2100, 3, 31))

Q3 = Quarter(2025, 3)


@pytest.mark.parametrize(
    "text",
    [
        "2025-26 Q3",
        "2025/26 Q3",
        "2025-2026 Q3",
        "2025/2026 Q3",
        "Q3 2025-26",
        "Q3 25/26",
        "q3 25-26",
        "2025-26 q3",
        "FY2025-26 Q3",
        "FY 25/26 Q3",
        "Q3 FY2025/26",
        "2025-26 Quarter 3",
        "Quarter 3 2025/26",
        "  2025 - 26   Q3 ",
        "2025-26: Q3",
        "2025–26 Q3",
        "Oct-Dec 2025",
        "oct - dec 2025",
        "October to December 2025",
        "Oct–Dec 2025",
        "October–December 2025",
        "Oct 2025 - Dec 2025",
        "Nov 2025",
        "November 2025",
        "2025-11-14",
        "2025-10-01",
        "2025-12-31",
        "2025-11-14 00:00:00",
        "2025-11-14T09:30",
        "14/11/2025",
        "1/10/2025",
        "31.12.2025",
        "14/11/25",
    ],
)
def test_accepted_forms_all_mean_2025_26_q3(text: str) -> None:
    assert parse_quarter(text) == Q3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jan-Mar 2026", Quarter(2025, 4)),
        ("January to March 2026", Quarter(2025, 4)),
        ("Apr-Jun 2025", Quarter(2025, 1)),
        ("Jul-Sep 2025", Quarter(2025, 2)),
        ("Jul-Sept 2025", Quarter(2025, 2)),
        ("2026-03-31", Quarter(2025, 4)),
        ("2026-04-01", Quarter(2026, 1)),
        ("31/03/2026", Quarter(2025, 4)),
        ("2099-00 Q4", Quarter(2099, 4)),
        ("Q1 99/00", Quarter(2099, 1)),
        (date(2026, 2, 1), Quarter(2025, 4)),
        (datetime(2025, 7, 1, 0, 0), Quarter(2025, 2)),
        (Quarter(2019, 1), Quarter(2019, 1)),
    ],
)
def test_accepted_values_with_exact_results(value: object, expected: Quarter) -> None:
    assert parse_quarter(value) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Q5 2025-26", "there is no Q5"),
        ("2025-26 Q0", "there is no Q0"),
        ("2025-27 Q1", "consecutive"),
        ("2025-24 Q1", "consecutive"),
        ("Q3 25/27", "consecutive"),
        ("Q3 2025", "ambiguous"),
        ("2025 Q3", "ambiguous"),
        ("Nov-Jan 2025", "not a quarter's months"),
        ("Oct-Nov 2025", "not a quarter's months"),
        ("Oct 2024 - Dec 2025", "one calendar year"),
        ("", "No quarter given"),
        ("   ", "No quarter given"),
        ("Q3", "has no financial year"),
        ("31/02/2025", "not a real date"),
        ("11/14/2025", "not a real date"),
        ("next quarter", "not a quarter"),
        ("2025-26", "not a quarter"),
    ],
)
def test_rejected_forms_say_why_and_show_an_accepted_form(text: str, says: str) -> None:
    with pytest.raises(QuarterError) as raised:
        parse_quarter(text)
    message = str(raised.value)
    assert says in message
    assert "2025-26 Q3" in message or "Oct-Dec 2025" in message


def test_bare_year_message_offers_both_financial_years() -> None:
    with pytest.raises(QuarterError, match=r"'2025-26 Q3' \(October to December 2025\) or '2024-25 Q3'"):
        parse_quarter("Q3 2025")


def test_non_text_is_rejected() -> None:
    with pytest.raises(QuarterError):
        parse_quarter(20253)  # type: ignore[arg-type]


def test_quarter_error_is_a_value_error() -> None:
    assert issubclass(QuarterError, ValueError)


def test_properties_of_a_quarter() -> None:
    assert Q3.label == str(Q3) == "2025-26 Q3"
    assert (Q3.start, Q3.end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert Q3.months == "October to December 2025"
    assert Quarter(2025, 4).months == "January to March 2026"
    assert (Quarter(2025, 4).start, Quarter(2025, 4).end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert Quarter(2023, 4).end == date(2024, 3, 31)
    assert Quarter(2025, 1).label == "2025-26 Q1"
    assert Quarter(2099, 2).label == "2099-00 Q2"
    assert Q3.index == 2025 * 4 + 2


def test_impossible_quarter_cannot_be_built() -> None:
    with pytest.raises(QuarterError):
        Quarter(2025, 5)


def test_next_and_previous_cross_the_financial_year() -> None:
    assert Quarter(2025, 4).next() == Quarter(2026, 1)
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Q3.shift(-7) == Quarter(2023, 4)


def test_ranges_and_plan_periods() -> None:
    assert quarter_range(Quarter(2025, 3), Quarter(2026, 2)) == [
        Quarter(2025, 3),
        Quarter(2025, 4),
        Quarter(2026, 1),
        Quarter(2026, 2),
    ]
    assert quarter_range(Quarter(2026, 1), Quarter(2025, 1)) == []
    quarters_2019 = plan_quarters(2019, 2022)
    assert len(quarters_2019) == 16
    assert (quarters_2019[0].label, quarters_2019[-1].label) == ("2019-20 Q1", "2022-23 Q4")


def test_today_honours_cyp_today(monkeypatch: pytest.MonkeyPatch) -> None:
    assert today() == date(2026, 11, 23)  # set by the isolated_settings fixture
    assert current_quarter() == Quarter(2026, 3)
    assert current_quarter(date(2026, 4, 1)) == Quarter(2026, 1)
    monkeypatch.setenv("CYP_TODAY", "")
    assert today() == date.today()
    monkeypatch.setenv("CYP_TODAY", "23/11/2026")
    with pytest.raises(QuarterError, match="CYP_TODAY"):
        today()


@given(quarters)
def test_label_parses_back_to_the_same_quarter(quarter: Quarter) -> None:
    assert parse_quarter(quarter.label) == quarter
    assert parse_quarter(f"Q{quarter.number} {quarter.label[:7].replace('-', '/')}") == quarter
    assert parse_quarter(quarter.months) == quarter


@given(days)
def test_date_falls_within_its_quarter(day: date) -> None:
    quarter = quarter_of(day)
    assert quarter.start <= day <= quarter.end
    assert parse_quarter(day.isoformat()) == quarter
    assert parse_quarter(day.strftime("%d/%m/%Y")) == quarter


@given(quarters)
def test_quarters_tile_time(quarter: Quarter) -> None:
    assert quarter.next().previous() == quarter
    assert quarter.previous().next() == quarter
    assert quarter.next().start == quarter.end + timedelta(days=1)
    assert Quarter.from_index(quarter.index) == quarter
    assert quarter_of(quarter.start) == quarter_of(quarter.end) == quarter


@given(quarters, quarters)
def test_ordering_matches_start_dates_and_labels(a: Quarter, b: Quarter) -> None:
    assert (a < b) == (a.start < b.start) == (a.label < b.label)
    assert (a == b) == (a.label == b.label)


@given(quarters, st.integers(-200, 200))
def test_shift_is_arithmetic_on_index(quarter: Quarter, n: int) -> None:
    assert quarter.shift(n).index == quarter.index + n
    assert quarter.shift(n).shift(-n) == quarter


def test_every_label_from_2000_to_2099_round_trips_and_sorts() -> None:
    every = quarter_range(Quarter(2000, 1), Quarter(2099, 4))
    assert len(every) == 400
    assert [parse_quarter(q.label) for q in every] == every
    assert sorted(q.label for q in every) == [q.label for q in every]
