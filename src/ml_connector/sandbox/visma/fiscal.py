"""A company's financial year: which period a date falls in, and what a period id means.

Visma.net ERP keeps a table of financial periods (``GET /v1/financialPeriod``, screen GL201000),
each with its own start and end date. A period id is ``YYYYPP``: the financial year, then the
number of the period within that year (the spec's ``greaterThanValue`` for that endpoint says
"format YYYY or YYYYPP", and ``period`` is "the period no and the year"). For a calendar-year
company PP is the month, which is why ``YYYYMM`` works there and nowhere else.

A financial year that starts in another month takes its number from the calendar year it
starts in, unless the company ticked **Belongs to next year** in Financial year (GL101000):
then it takes the number of the year it ends in (Visma's help, "About the financial year and
financial periods": a year running 1 October 2019 to 30 September 2020 is financial year 2020
with that option). So a year starting 1 July 2025 is ``2025`` (periods ``202501`` = July 2025
… ``202512`` = June 2026) by default, and ``2026`` (``202601`` = July 2025) with the option.

The sandbox generates twelve monthly periods per year (period type "Month"); adjustment
periods and custom lengths are not simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["FiscalCalendar"]


@dataclass(frozen=True)
class FiscalCalendar:
    """Monthly periods of a financial year starting on day 1 of ``start_month``."""

    start_month: int = 1
    belongs_to_next_year: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"start_month must be 1 to 12, not {self.start_month}")
        if self.belongs_to_next_year and self.start_month == 1:
            raise ValueError("a financial year starting in January cannot belong to the next year")

    def _start_year(self, fiscal_year: int) -> int:
        """The calendar year in which ``fiscal_year`` starts."""
        return fiscal_year - 1 if self.belongs_to_next_year else fiscal_year

    def period_id_of(self, day: date) -> str:
        """The ``YYYYPP`` id of the period ``day`` falls in."""
        offset = (day.month - self.start_month) % 12
        start_year = day.year if day.month >= self.start_month else day.year - 1
        fiscal_year = start_year + 1 if self.belongs_to_next_year else start_year
        return f"{fiscal_year:04d}{offset + 1:02d}"

    def bounds(self, period_id: str) -> tuple[int, date, date]:
        """(financial year, first day, last day) of a ``YYYYPP`` period id."""
        if len(period_id) != 6 or not period_id.isdigit():
            raise ValueError(f"period id {period_id!r} is not YYYYPP")
        fiscal_year, number = int(period_id[:4]), int(period_id[4:])
        if not 1 <= number <= 12:
            raise ValueError(f"period {period_id}: a year has periods 01 to 12")
        months = self.start_month - 1 + number - 1
        first = date(self._start_year(fiscal_year) + months // 12, months % 12 + 1, 1)
        following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        return fiscal_year, first, following - timedelta(days=1)
