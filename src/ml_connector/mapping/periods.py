"""Which Visma financial period a date falls in, from Visma's own period table.

Visma.net keeps a table of financial periods (``GET /v1/financialPeriod``; reference §9.9,
``FinancialPeriodDto``), each with a ``startDate`` and an ``endDate``. Its id is ``YYYYPP``:
the financial year and the number of the period within it. Only for a company whose financial
year is the calendar year does that read as a calendar month. A company whose year starts in
July has period ``…01`` in July; whether that year is numbered after the calendar year it
starts or ends in is the company's choice ("Belongs to next year" in GL101000). So the period
of a date is never computed from the date: it is looked up in the table.

Rules of the lookup (pure; ``period_for``):
- the period whose start and end dates contain the date wins;
- adjustment periods (Visma's help: their start and end are the same day, the last day of the
  year) are never chosen for a date;
- should two periods both contain the date (an end date given as the next period's first day),
  the one that starts later wins;
- a period without dates (only in data not read from Visma) is the calendar month its id names;
- no period containing the date needs attention: nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from ml_connector.errors import NeedsAttention

__all__ = ["PeriodSpan", "calendar_month", "period_for", "period_label"]


@dataclass(frozen=True)
class PeriodSpan:
    """A period's first and last day, as the period table gives them."""

    start: date
    end: date

    @property
    def adjustment(self) -> bool:
        return self.start == self.end

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_label(period_id: str) -> str:
    """``"202609"`` → ``"09-2026"``, the way Visma's screens show periods."""
    return f"{period_id[4:]}-{period_id[:4]}"


def calendar_month(period_id: str) -> PeriodSpan | None:
    """The calendar month a ``YYYYMM`` id names; None when it is not one."""
    if len(period_id) != 6 or not period_id.isdigit() or not 1 <= int(period_id[4:]) <= 12:
        return None
    first = date(int(period_id[:4]), int(period_id[4:]), 1)
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return PeriodSpan(first, following - timedelta(days=1))


def period_for(day: date, spans: Mapping[str, PeriodSpan | None], *, what: str) -> str:
    """The id of the period containing ``day`` (module docstring); ``what`` names the date.

    ``spans`` maps each period id of the table to its dates (None: not known).
    Raises NeedsAttention when no period contains the date.
    """
    best: tuple[date, str] | None = None
    for period_id, span in spans.items():
        span = span or calendar_month(period_id)
        if span is None or span.adjustment or not span.contains(day):
            continue
        if best is None or span.start > best[0]:
            best = (span.start, period_id)
    if best is None:
        raise NeedsAttention(
            f"The {what} {day.isoformat()} falls in no financial period in Visma",
            hint="Create the financial year's periods in Visma (General ledger > Financial "
            "periods), or change the date in Ramp, then replay the record.",
            code="period_missing",
        )
    return best[1]
