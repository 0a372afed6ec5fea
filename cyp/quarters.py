"""UK financial-year quarters: parsing what people type, canonical labels, ordering and arithmetic.

Q1 is April–June, Q2 July–September, Q3 October–December, Q4 January–March. The
canonical label is ``2025-26 Q3`` (October to December 2025); labels sort in time
order as plain strings, so they are safe as database keys and URL parameters.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from cyp.storage.config import get_settings

EXAMPLE = "2025-26 Q3"
# First calendar month of Q1..Q4.
_START_MONTH = {1: 4, 2: 7, 3: 10, 4: 1}


class QuarterError(ValueError):
    """Text that is not an unambiguous financial-year quarter; the message says why and shows an accepted form."""


@dataclass(frozen=True, order=True)
class Quarter:
    """A UK financial-year quarter; ``year`` is the financial year's start (2025 for 2025-26)."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise QuarterError(f"Quarter number {self.number} is not 1 to 4; write e.g. '{EXAMPLE}'.")
        if not 1000 <= self.year <= 9998:
            raise QuarterError(f"Financial year {self.year} is out of range; write e.g. '{EXAMPLE}'.")

    @property
    def label(self) -> str:
        """Canonical label, e.g. ``2025-26 Q3``."""
        return f"{self.year}-{(self.year + 1) % 100:02d} Q{self.number}"

    def __str__(self) -> str:
        return self.label

    @property
    def start(self) -> date:
        """First day of the quarter."""
        month = _START_MONTH[self.number]
        return date(self.year + (1 if self.number == 4 else 0), month, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter."""
        start = self.start
        month = start.month + 2
        return date(start.year, month, calendar.monthrange(start.year, month)[1])

    @property
    def months(self) -> str:
        """The months in words, e.g. ``October to December 2025``."""
        start, end = self.start, self.end
        return f"{calendar.month_name[start.month]} to {calendar.month_name[end.month]} {start.year}"

    @property
    def index(self) -> int:
        """A running number (``year * 4 + number - 1``), consecutive across years, for arithmetic."""
        return self.year * 4 + self.number - 1

    @classmethod
    def from_index(cls, i: int) -> Quarter:
        """The quarter whose :attr:`index` is ``i``."""
        return cls(i // 4, i % 4 + 1)

    def shift(self, n: int) -> Quarter:
        """The quarter ``n`` quarters later (earlier when ``n`` is negative)."""
        return Quarter.from_index(self.index + n)

    def next(self) -> Quarter:
        """The following quarter."""
        return self.shift(1)

    def previous(self) -> Quarter:
        """The preceding quarter."""
        return self.shift(-1)


def quarter_of(day: date) -> Quarter:
    """The quarter containing ``day`` (a datetime counts by its date)."""
    if day.month >= 4:
        return Quarter(day.year, (day.month - 4) // 3 + 1)
    return Quarter(day.year - 1, 4)


_MONTHS: dict[str, int] = {}
for _number in range(1, 13):
    _MONTHS[calendar.month_name[_number].lower()] = _number
    _MONTHS[calendar.month_abbr[_number].lower()] = _number
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_FY = r"(?:fy\s*)?(?P<y1>\d{4}|\d{2})\s*[-/]\s*(?P<y2>\d{4}|\d{2})"  # 2025-26, 2025/2026, FY25/26
_Q = r"(?:q|quarter)\s*(?P<q>\d+)"
_SEP = r"\s*[-:,]?\s*"
_FY_Q = [re.compile(rf"^{_FY}{_SEP}{_Q}$"), re.compile(rf"^{_Q}{_SEP}{_FY}$")]
_BARE_YEAR_Q = [
    re.compile(rf"^(?:fy\s*)?(?P<y>\d{{4}}){_SEP}{_Q}$"),
    re.compile(rf"^{_Q}{_SEP}(?:fy\s*)?(?P<y>\d{{4}})$"),
]
_MONTH_RANGE = re.compile(
    rf"^(?P<m1>{_MONTH_RE})\.?\s*(?P<y1>\d{{4}})?\s*(?:-|to|/)\s*(?P<m2>{_MONTH_RE})\.?\s*,?\s*(?P<y2>\d{{4}})$"
)
_ONE_MONTH = re.compile(rf"^(?P<m>{_MONTH_RE})\.?\s*,?\s*(?P<y>\d{{4}})$")
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_UK_DATE = re.compile(r"^(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})$")


def _full_year(text: str) -> int:
    """A four-digit year from two or four digits (two digits are read as 20xx)."""
    return int(text) if len(text) == 4 else 2000 + int(text)


def _checked_quarter_number(text: str, original: str) -> int:
    number = int(text)
    if not 1 <= number <= 4:
        raise QuarterError(
            f"'{original}': there is no Q{number}; financial-year quarters are Q1 (April–June) to Q4 (January–March), "
            f"e.g. '{EXAMPLE}'."
        )
    return number


def _from_financial_year(y1: str, y2: str, original: str) -> int:
    start = _full_year(y1)
    consecutive = (int(y2) == start + 1) if len(y2) == 4 else (int(y2) == (start + 1) % 100)
    if not consecutive:
        raise QuarterError(
            f"'{original}': a financial year runs over two consecutive years (e.g. 2025-26); "
            f"'{y1}-{y2}' is not one. Write e.g. '{EXAMPLE}'."
        )
    return start


def _make_date(year: int, month: int, day: int, original: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise QuarterError(
            f"'{original}' is not a real date (dates are read as YYYY-MM-DD or day first, DD/MM/YYYY); "
            f"or write a quarter, e.g. '{EXAMPLE}'."
        ) from None


def parse_quarter(value: str | date | datetime | Quarter) -> Quarter:
    """Read a quarter from the usual ways people write one; raises :class:`QuarterError` when ambiguous or impossible.

    Accepts ``2025-26 Q3``, ``2025/26 Q3``, ``Q3 25/26``, ``FY2025-26 Q3``, ``Oct-Dec 2025``,
    ``October to December 2025``, a month (``Nov 2025``), and a date in the quarter (a ``date``,
    ``2025-11-14`` or day-first ``14/11/2025``).
    """
    if isinstance(value, Quarter):
        return value
    if isinstance(value, date):  # datetime is a date too
        return quarter_of(value)
    if not isinstance(value, str):
        raise QuarterError(f"{value!r} is not a quarter; write e.g. '{EXAMPLE}'.")
    original = value.strip()
    text = re.sub(r"\s+", " ", original.replace("\u2013", "-").replace("\u2014", "-")).lower()
    if not text:
        raise QuarterError(f"No quarter given; write e.g. '{EXAMPLE}'.")

    for pattern in _FY_Q:
        if match := pattern.match(text):
            number = _checked_quarter_number(match["q"], original)
            return Quarter(_from_financial_year(match["y1"], match["y2"], original), number)

    for pattern in _BARE_YEAR_Q:
        if match := pattern.match(text):
            number = _checked_quarter_number(match["q"], original)
            year = int(match["y"])
            later, earlier = Quarter(year, number), Quarter(year - 1, number)
            raise QuarterError(
                f"'{original}' is ambiguous: {year} alone could mean the financial year {later.label[:7]} or "
                f"{earlier.label[:7]}. Write the financial year, e.g. '{later.label}' ({later.months}) "
                f"or '{earlier.label}' ({earlier.months})."
            )

    if match := _MONTH_RANGE.match(text):
        first, last, year = _MONTHS[match["m1"]], _MONTHS[match["m2"]], int(match["y2"])
        if match["y1"] and int(match["y1"]) != year:
            raise QuarterError(
                f"'{original}': a quarter's months fall in one calendar year; write e.g. 'Oct-Dec 2025' or '{EXAMPLE}'."
            )
        if first not in _START_MONTH.values() or last != first + 2:
            raise QuarterError(
                f"'{original}' is not a quarter's months; quarters are Apr-Jun, Jul-Sep, Oct-Dec and Jan-Mar, "
                f"e.g. 'Oct-Dec 2025' or '{EXAMPLE}'."
            )
        return quarter_of(date(year, first, 1))

    if match := _ONE_MONTH.match(text):
        return quarter_of(date(int(match["y"]), _MONTHS[match["m"]], 1))

    if match := _ISO_DATE.match(text):
        return quarter_of(_make_date(int(match["y"]), int(match["m"]), int(match["d"]), original))

    if match := _UK_DATE.match(text):
        return quarter_of(_make_date(_full_year(match["y"]), int(match["m"]), int(match["d"]), original))

    if re.fullmatch(_Q, text):
        raise QuarterError(f"'{original}' has no financial year; write e.g. '{EXAMPLE}'.")
    raise QuarterError(
        f"'{original}' is not a quarter; write e.g. '{EXAMPLE}', 'Q3 2025/26', 'Oct-Dec 2025' or a date in the quarter."
    )


def today() -> date:
    """Today's date, or the ``CYP_TODAY`` override when set (demonstrations and tests)."""
    override = get_settings().today_override.strip()
    if override:
        try:
            return date.fromisoformat(override)
        except ValueError:
            raise QuarterError(f"CYP_TODAY={override!r} is not an ISO date (YYYY-MM-DD), e.g. '2026-11-23'.") from None
    return date.today()


def current_quarter(day: date | None = None) -> Quarter:
    """The quarter containing ``day``, by default :func:`today`."""
    return quarter_of(day if day is not None else today())


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    """Every quarter from ``first`` to ``last`` inclusive, in order (empty when ``last`` is before ``first``)."""
    return [Quarter.from_index(i) for i in range(first.index, last.index + 1)]


def plan_quarters(first_year: int, last_year: int) -> list[Quarter]:
    """All quarters of a plan covering financial years ``first_year``-.. to ``last_year``-.. (inclusive, as Plan)."""
    return quarter_range(Quarter(first_year, 1), Quarter(last_year, 4))
