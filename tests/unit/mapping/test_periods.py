"""The period of a date comes from Visma's period table, never from the calendar month."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.errors import NeedsAttention
from ml_connector.mapping.master_data import MasterData, PeriodInfo, period_at
from ml_connector.mapping.periods import PeriodSpan, calendar_month, period_for, period_label
from ml_connector.sandbox.visma.fiscal import FiscalCalendar


def _month_after(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def july_year(fiscal_year: int, *, belongs_to_next: bool) -> dict[str, PeriodSpan | None]:
    """Twelve monthly periods of a financial year that starts in July."""
    start_year = fiscal_year - 1 if belongs_to_next else fiscal_year
    spans: dict[str, PeriodSpan | None] = {}
    first = date(start_year, 7, 1)
    for number in range(1, 13):
        following = _month_after(first)
        spans[f"{fiscal_year}{number:02d}"] = PeriodSpan(first, following - timedelta(days=1))
        first = following
    return spans


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 7, 1), "202601"),
        (date(2025, 7, 31), "202601"),
        (date(2025, 12, 15), "202606"),
        (date(2026, 1, 1), "202607"),
        (date(2026, 6, 30), "202612"),
    ],
)
def test_july_year_belonging_to_the_next_year(day: date, expected: str) -> None:
    """A year from July 2025 numbered 2026: July is 202601, January 202607, June 202612."""
    spans = july_year(2026, belongs_to_next=True)
    assert period_for(day, spans, what="accounting date") == expected


def test_july_year_numbered_by_its_start() -> None:
    """Without "belongs to next year" July 2025 is 202501, and 202507 is January 2026."""
    spans = july_year(2025, belongs_to_next=False)
    assert period_for(date(2025, 7, 4), spans, what="accounting date") == "202501"
    assert period_for(date(2026, 1, 20), spans, what="accounting date") == "202507"


def test_a_date_outside_every_period_needs_attention() -> None:
    """No period contains the date: the record stops, naming the date; nothing is guessed."""
    spans = july_year(2026, belongs_to_next=True)
    with pytest.raises(NeedsAttention) as caught:
        period_for(date(2026, 7, 1), spans, what="accounting date")
    assert caught.value.code == "period_missing"
    assert "accounting date 2026-07-01" in caught.value.message
    assert "Financial periods" in caught.value.hint


def test_adjustment_period_is_never_chosen_for_a_date() -> None:
    """An adjustment period (start = end = the year's last day) does not take that day."""
    spans = july_year(2026, belongs_to_next=True)
    spans["202613"] = PeriodSpan(date(2026, 6, 30), date(2026, 6, 30))
    assert period_for(date(2026, 6, 30), spans, what="payment date") == "202612"


def test_end_date_given_as_next_first_day_picks_the_later_period() -> None:
    """Periods whose end is the next period's first day: that day belongs to the next one."""
    spans: dict[str, PeriodSpan | None] = {
        "202601": PeriodSpan(date(2025, 7, 1), date(2025, 8, 1)),
        "202602": PeriodSpan(date(2025, 8, 1), date(2025, 9, 1)),
    }
    assert period_for(date(2025, 8, 1), spans, what="accounting date") == "202602"
    assert period_for(date(2025, 7, 31), spans, what="accounting date") == "202601"


def test_a_period_without_dates_is_its_calendar_month() -> None:
    """Only data not read from Visma lacks dates; then YYYYMM is read as the month."""
    assert period_for(date(2026, 3, 9), {"202603": None}, what="accounting date") == "202603"
    assert calendar_month("202613") is None
    assert calendar_month("202602") == PeriodSpan(date(2026, 2, 1), date(2026, 2, 28))


def test_period_at_reads_the_master_data_period_table() -> None:
    """MasterData carries each period's dates; the lookup uses them, closed or not."""
    master = MasterData(
        periods={
            "202601": PeriodInfo(False, True, date(2025, 7, 1), date(2025, 7, 31)),
            "202602": PeriodInfo(True, True, date(2025, 8, 1), date(2025, 8, 31)),
        }
    )
    assert period_at(master, date(2025, 8, 12), what="accounting date") == "202602"
    assert period_label("202602") == "02-2026"


@given(
    start_month=st.integers(min_value=1, max_value=12),
    belongs_to_next=st.booleans(),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31)),
)
def test_every_day_falls_in_exactly_the_period_the_calendar_names(
    start_month: int, belongs_to_next: bool, day: date
) -> None:
    """For any financial year layout the table lookup agrees with the year's own numbering."""
    if start_month == 1 and belongs_to_next:
        belongs_to_next = False
    calendar = FiscalCalendar(start_month, belongs_to_next)
    expected = calendar.period_id_of(day)
    fiscal_year = int(expected[:4])
    spans: dict[str, PeriodSpan | None] = {}
    for year in (fiscal_year - 1, fiscal_year, fiscal_year + 1):
        for number in range(1, 13):
            period_id = f"{year:04d}{number:02d}"
            _, first, last = calendar.bounds(period_id)
            spans[period_id] = PeriodSpan(first, last)
    assert period_for(day, spans, what="accounting date") == expected
    _, first, last = calendar.bounds(expected)
    assert first <= day <= last
