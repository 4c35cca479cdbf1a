"""``backfill --since``: only bills created since the date are queued, each synced once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integration.runtime.conftest import World
from ml_connector.runtime.backfill import backfill
from ml_connector.store import SyncStatus

_OLD = 10  # the first bills of the demo are made to look a month old


def _age_first_bills(world: World) -> tuple[set[str], datetime]:
    """Date the first bills a month back in the Ramp sandbox; return their ids and a cut-off."""
    bills = sorted(world.setup.ramp.state.bills.values(), key=lambda b: b.id)
    earliest = datetime.fromtimestamp(min(b.created_at for b in bills), UTC)
    cutoff = earliest - timedelta(days=1)
    old = bills[:_OLD]
    for bill in old:
        bill.created_at = (cutoff - timedelta(days=30)).timestamp()
    return {b.id for b in old}, cutoff


async def test_backfill_queues_only_bills_created_since_the_date(world: World) -> None:
    """Older bills get no record; each newer ready bill ends with one invoice or a reason."""
    old_ids, cutoff = _age_first_bills(world)
    ready_new = {
        b.id
        for b in world.setup.ramp.state.bills.values()
        if b.id not in old_ids and world.setup.ramp.state.is_sync_ready(b)
    }
    summary = await backfill(world.runtime, world.name, cutoff, settle_s=5.0)
    connection = await world.runtime.store.get_connection(world.name)
    rows = await world.runtime.store.list_records(connection.id, limit=10_000)
    recorded = {r.object_id for r in rows if r.object_type == "bill"}
    assert not recorded & old_ids
    assert recorded == ready_new
    assert summary.bills_queued == len(ready_new)
    assert summary.bills_seen == len(world.setup.ramp.state.bills) - _OLD
    assert world.setup.duplicates() == 0
    notes = [str(inv.get("note")) for inv in world.setup.visma.invoices()]
    assert not any(bill_id in note for note in notes for bill_id in old_ids)
    succeeded = [r for r in rows if r.status == SyncStatus.SUCCEEDED]
    assert summary.visma_invoices_created == len(succeeded) > 0
    assert all(r.status in (SyncStatus.SUCCEEDED, SyncStatus.NEEDS_ATTENTION) for r in rows)


async def test_second_backfill_creates_nothing(world: World) -> None:
    """Running the same backfill again queues no record and writes no invoice."""
    _, cutoff = _age_first_bills(world)
    await backfill(world.runtime, world.name, cutoff, settle_s=5.0)
    invoices_before = len(world.setup.visma.invoices())
    connection = await world.runtime.store.get_connection(world.name)
    records_before = len(await world.runtime.store.list_records(connection.id, limit=10_000))
    again = await backfill(world.runtime, world.name, cutoff, settle_s=5.0)
    assert again.bills_queued == 0
    assert again.visma_invoices_created == 0
    assert len(world.setup.visma.invoices()) == invoices_before
    assert (
        len(await world.runtime.store.list_records(connection.id, limit=10_000)) == records_before
    )
