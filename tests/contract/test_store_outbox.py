"""Store contract, Ramp write-back outbox: stored with the link, claimed once, keyed per POST,
settled; plus the inbox guard (pruned events' keys, counted rejections). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from ml_connector.errors import StoreError
from ml_connector.store import (
    UNKNOWN_SCOPE,
    EventSource,
    EventStatus,
    LinkKind,
    OutboxKind,
    OutboxState,
    Settlement,
    Store,
    WriteBackItem,
)
from ml_connector.store.inbox import NewEvent
from ml_connector.store.testing import ScratchDatabase

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BILL, PAY = "BILL_SYNC", "BILL_PAYMENT_SYNC"


def key_of(cid: int, sync_type: str, kind: OutboxKind, members: Sequence[tuple[str, str]]) -> str:
    """A readable stand-in for the flows' key: the objects of the batch, sorted."""
    return f"{sync_type}:{kind.value}:" + ",".join(sorted(o for o, _ in members))


async def _connection(store: Store, name: str = "acme") -> int:
    connection = await store.create_connection(
        name,
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=b"x",
    )
    return connection.id


def _success(bill: str, sync_type: str = BILL) -> WriteBackItem:
    return WriteBackItem(sync_type, bill, reference_id=f"ref-{bill}")


async def _claim(store: Store, cid: int, *, now: datetime = T0, **options: int) -> list[str]:
    claimed = await store.claim_writebacks("w1", [cid], key_of=key_of, now=now, **options)
    return sorted(f"{e.object_id}/{e.kind.value}" for e in claimed)


async def test_confirm_link_stores_the_write_back_in_the_same_transaction(
    scratch: ScratchDatabase,
) -> None:
    """The link's confirmation carries its write-back: both are there, or (on failure) neither."""
    store = scratch.store
    cid = await _connection(store)
    await store.claim_link(cid, LinkKind.BILL, "b1", "ramp-bill:b1", "w1")
    await store.confirm_link(cid, LinkKind.BILL, "b1", "Invoice/7", outbox=[_success("b1")])
    [row] = await store.list_writebacks(cid)
    assert (row.object_id, row.reference_id, row.state) == ("b1", "ref-b1", OutboxState.PENDING)
    assert (row.sync_type, row.kind, row.batch_key) == (BILL, OutboxKind.SUCCESS, None)

    await scratch.execute("DROP TABLE ramp_outbox")  # the second insert must fail …
    with pytest.raises(StoreError):
        await store.confirm_link(cid, LinkKind.BILL, "b2", "Invoice/8", outbox=[_success("b2")])
    assert await store.get_link(cid, LinkKind.BILL, "b2") is None  # … and take the link along


async def test_claim_keys_batches_and_a_second_claim_gets_nothing(scratch: ScratchDatabase) -> None:
    """Due rows are claimed with a lease, in batches of the given size, each with its key."""
    store = scratch.store
    cid = await _connection(store)
    await store.enqueue_writebacks(cid, [_success(f"b{n}") for n in range(5)], now=T0)
    claimed = await store.claim_writebacks("w1", [cid], key_of=key_of, batch_size=2, now=T0)
    keys = sorted({e.batch_key or "" for e in claimed})
    assert keys == ["BILL_SYNC:success:b0,b1", "BILL_SYNC:success:b2,b3", "BILL_SYNC:success:b4"]
    assert {e.attempts for e in claimed} == {1}
    assert await _claim(store, cid) == []  # leased
    assert len(await _claim(store, cid, now=T0 + timedelta(minutes=5))) == 5  # lease ran out


async def test_retry_keeps_the_key_and_sent_rows_are_done(scratch: ScratchDatabase) -> None:
    """A transient failure makes the rows due later under the same key; sent rows stay sent."""
    store = scratch.store
    cid = await _connection(store)
    await store.enqueue_writebacks(cid, [_success("b1"), _success("b2")], now=T0)
    [one, two] = await store.claim_writebacks("w1", [cid], key_of=key_of, batch_size=1, now=T0)
    later = T0 + timedelta(seconds=30)
    await store.settle_writebacks(
        [
            Settlement((one.id,), OutboxState.SENT, sync_id="sync-1"),
            Settlement((two.id,), OutboxState.PENDING, next_at=later, error="503"),
        ],
        now=T0,
    )
    assert await _claim(store, cid, now=T0 + timedelta(seconds=29)) == []
    [again] = await store.claim_writebacks("w1", [cid], key_of=key_of, now=later)
    assert (again.id, again.batch_key, again.attempts) == (two.id, two.batch_key, 2)
    [sent] = await store.list_writebacks(cid, state=OutboxState.SENT)
    assert (sent.sync_id, sent.sent_at) == ("sync-1", T0)


async def test_newer_rows_supersede_older_ones(scratch: ScratchDatabase) -> None:
    """Of unposted rows for one bill, the newest success wins over an older success and over a
    failure it overtook; a failure after a success stays (it is posted after it)."""
    store = scratch.store
    cid = await _connection(store)
    failed = WriteBackItem(BILL, "b1", message="period closed")
    await store.enqueue_writebacks(cid, [failed, _success("b1"), _success("b1")], now=T0)
    await store.enqueue_writebacks(
        cid, [_success("b2"), WriteBackItem(BILL, "b2", message="locked")], now=T0
    )
    assert await _claim(store, cid) == ["b1/success", "b2/failure", "b2/success"]
    superseded = await store.list_writebacks(cid, state=OutboxState.SUPERSEDED)
    assert sorted(r.kind.value for r in superseded) == ["failure", "success"]


async def test_payment_sync_waits_while_its_bill_sync_is_pending(scratch: ScratchDatabase) -> None:
    """Ramp takes a payment sync only after the bill's: the payment row is not claimed before."""
    store = scratch.store
    cid = await _connection(store)
    await store.enqueue_writebacks(cid, [_success("b1"), _success("b1", PAY)], now=T0)
    [bill] = await store.claim_writebacks("w1", [cid], key_of=key_of, now=T0)
    assert bill.sync_type == BILL
    await store.settle_writebacks([Settlement((bill.id,), OutboxState.SENT, sync_id="s")])
    [payment] = await store.claim_writebacks("w1", [cid], key_of=key_of, now=T0)
    assert payment.sync_type == PAY


async def test_concurrent_claimers_get_disjoint_rows(scratch: ScratchDatabase) -> None:
    """Two engines (two processes) claiming at once never both get a row."""
    store, other = scratch.store, scratch.open_store()
    cid = await _connection(store)
    await store.enqueue_writebacks(cid, [_success(f"b{n}") for n in range(40)], now=T0)
    results = await asyncio.gather(
        *(
            s.claim_writebacks(owner, [cid], key_of=key_of, limit=7, now=T0)
            for s, owner in [(store, "a"), (other, "b")] * 4
        )
    )
    ids = [e.id for batch in results for e in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_backlog_and_prune(scratch: ScratchDatabase) -> None:
    """The backlog counts pending rows per connection; pruning drops old settled rows only."""
    store = scratch.store
    cid = await _connection(store)
    await store.enqueue_writebacks(cid, [_success("b1"), _success("b2")], now=T0)
    [first, _] = await store.claim_writebacks("w1", [cid], key_of=key_of, batch_size=1, now=T0)
    await store.settle_writebacks([Settlement((first.id,), OutboxState.SENT, sync_id="s")])
    backlog = await store.writeback_backlog()
    assert backlog[cid][0] == 1
    assert backlog[cid][1] == T0
    assert await store.prune_writebacks(T0 + timedelta(days=1)) == 1
    assert [r.state for r in await store.list_writebacks(cid)] == [OutboxState.PENDING]


async def test_pruned_events_leave_keys_that_mark_replays_stale(scratch: ScratchDatabase) -> None:
    """Pruning an event keeps its key: the same event ingested again (when it must be checked)
    is answered stale and stored nowhere; keys older than ``seen_before`` go too."""
    store = scratch.store
    cid = await _connection(store)

    def event(check: bool) -> NewEvent:
        return NewEvent(
            cid, EventSource.VISMA, "sha256:abc", "Supplier", "50010", {}, EventStatus.PROCESSED,
            check_seen=check,
        )  # fmt: skip

    [stored] = await store.ingest_events([event(True)], now=T0)
    assert stored.new
    assert await store.prune_inbox(T0 + timedelta(days=31)) == (1, 0)
    [stale] = await store.ingest_events([event(True)], now=T0 + timedelta(days=32))
    assert (stale.new, stale.stale) == (False, True)
    assert await store.list_events(cid) == []
    [unchecked] = await store.ingest_events([event(False)], now=T0 + timedelta(days=32))
    assert unchecked.new  # a signed time vouches for it instead (the receiver checks that)
    await store.prune_inbox(T0, seen_before=datetime.now(UTC) + timedelta(days=1))
    [fresh] = await store.ingest_events([event(True)], now=T0 + timedelta(days=33))
    assert not fresh.stale


async def test_poll_hints_are_stamped_for_new_and_repeated_events(
    scratch: ScratchDatabase,
) -> None:
    """An event with a poll hint stamps its cursor, whether it is new or a duplicate."""
    store = scratch.store
    cid = await _connection(store)
    hint = NewEvent(cid, EventSource.VISMA, "e1", "Supplier", None, {}, poll_hint="chart:hint")
    await store.ingest_events([hint], now=T0)
    assert (await store.list_cursors(cid))["chart:hint"] == T0.isoformat()
    [again] = await store.ingest_events([hint], now=T0 + timedelta(seconds=5))
    assert not again.new
    later = (T0 + timedelta(seconds=5)).isoformat()
    assert (await store.list_cursors(cid))["chart:hint"] == later


async def test_rejection_tallies_add_up(scratch: ScratchDatabase) -> None:
    """Counted rejections accumulate per (scope, source, status), first and last time kept."""
    store = scratch.store
    await store.add_rejection_tallies({(UNKNOWN_SCOPE, "ramp", 404): 3}, now=T0)
    later = T0 + timedelta(hours=1)
    await store.add_rejection_tallies(
        {(UNKNOWN_SCOPE, "ramp", 404): 2, ("acme", "visma", 401): 1}, now=later
    )
    tallies = {(t.scope, t.source, t.http_status): t for t in await store.list_rejection_tallies()}
    unknown = tallies[(UNKNOWN_SCOPE, "ramp", 404)]
    assert (unknown.count, unknown.first_at, unknown.last_at) == (5, T0, later)
    assert tallies[("acme", "visma", 401)].count == 1
