"""The flows read the wall clock only through the runtime's injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

from integration.core.company import BILL_KAFFE_2
from integration.core.world import World
from ml_connector.flows.bills import plan_bill


def _next_month_15th() -> datetime:
    """A fixed instant in next month: an open period of the core company, not today's."""
    today = date.today()
    year, month = today.year + (today.month == 12), today.month % 12 + 1
    return datetime(year, month, 15, 9, 30, tzinfo=UTC)


async def test_bill_without_an_issue_date_takes_the_clocks_date(world: World) -> None:
    """No issue or accounting date in Ramp: the invoice is dated, and booked, on the clock's day."""
    fixed = _next_month_15th()
    world.runtime.clock = lambda: fixed
    world.runtime.forget(world.connection_id)
    connection = await world.runtime.store.get_connection(world.name)
    ctx = await world.runtime.context(connection)
    bill = await ctx.ramp.get_bill(BILL_KAFFE_2)
    undated = bill.model_copy(update={"issued_at": None, "accounting_date": None})

    payload = await plan_bill(ctx, undated)

    assert payload["date"] == fixed.date().isoformat()
    assert payload["financial_period"] == f"{fixed.year:04d}{fixed.month:02d}"
    dated = await plan_bill(ctx, bill)
    assert dated["date"] == bill.issued_at.isoformat()[:10] != payload["date"]
