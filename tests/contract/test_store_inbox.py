"""Store contract, webhook inbox: de-duplicated events, their settling, and rejections."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from ml_connector.errors import StoreError
from ml_connector.store import EventSource, EventStatus, Store
from ml_connector.store.inbox import NewEvent
from ml_connector.store.states import SyncStatus
from ml_connector.store.testing import ScratchDatabase

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def _connection(store: Store, name: str = "acme") -> int:
    connection = await store.create_connection(
        name,
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=b"x",
    )
    return connection.id


def _payload(event_id: str = "evt_1", bill: str = "bill_1") -> dict[str, object]:
    return {"id": event_id, "type": "bills.approved", "object": {"id": bill}}


async def test_insert_is_new_once_then_a_duplicate(scratch: ScratchDatabase) -> None:
    """The first insert of an event id is new; a repeat returns the stored row, not new."""
    store = scratch.store
    conn = await _connection(store)
    first = await store.insert_event(
        conn, EventSource.RAMP, "evt_1", "bills.approved", "bill_1", _payload(), now=T0
    )
    assert first.new
    assert first.event.status is EventStatus.RECEIVED
    assert (first.event.type, first.event.object_id) == ("bills.approved", "bill_1")
    assert first.event.payload == _payload()
    assert first.event.received_at == T0
    again = await store.insert_event(
        conn, EventSource.RAMP, "evt_1", "bills.approved", "bill_1", _payload(), now=T0
    )
    assert not again.new
    assert again.event == first.event
    assert len(await store.list_events(conn)) == 1


async def test_same_event_id_from_another_source_or_connection_is_distinct(
    scratch: ScratchDatabase,
) -> None:
    """Uniqueness is per (connection, source, event id): other sources and tenants are separate."""
    store = scratch.store
    acme, other = await _connection(store), await _connection(store, "other")
    receipts = [
        await store.insert_event(acme, EventSource.RAMP, "e", "bills.created", "b", {}),
        await store.insert_event(acme, EventSource.VISMA, "e", "Supplier.Updated", "1", {}),
        await store.insert_event(other, EventSource.RAMP, "e", "bills.created", "b", {}),
    ]
    assert all(r.new for r in receipts)
    assert len({r.event.id for r in receipts}) == 3
    assert [e.connection_id for e in await store.list_events(other)] == [other]


async def test_racing_inserts_store_one_row(scratch: ScratchDatabase) -> None:
    """Ten concurrent deliveries of one event (two engines) give one row and one new=True."""
    store, second = scratch.store, scratch.open_store()
    conn = await _connection(store)
    receipts = await asyncio.gather(
        *(
            (store if n % 2 else second).insert_event(
                conn, EventSource.RAMP, "evt_race", "bills.approved", "b", _payload("evt_race")
            )
            for n in range(10)
        )
    )
    assert sum(r.new for r in receipts) == 1
    assert {r.event.id for r in receipts} == {receipts[0].event.id}


async def test_mark_event_settles_once(scratch: ScratchDatabase) -> None:
    """received → processed stamps processed_at; repeating it is a no-op; changing it fails."""
    store = scratch.store
    conn = await _connection(store)
    event = (await store.insert_event(conn, EventSource.RAMP, "e", "bills.paid", "b", {})).event
    done = await store.mark_event(event.id, EventStatus.PROCESSED, now=T0)
    assert (done.status, done.processed_at) == (EventStatus.PROCESSED, T0)
    assert await store.mark_event(event.id, EventStatus.PROCESSED) == done
    with pytest.raises(StoreError, match="already processed"):
        await store.mark_event(event.id, EventStatus.IGNORED)
    with pytest.raises(StoreError, match="cannot go back"):
        await store.mark_event(event.id, EventStatus.RECEIVED)
    with pytest.raises(StoreError, match="no inbox event"):
        await store.mark_event(10_000, EventStatus.IGNORED)
    assert await store.get_event(event.id) == done


async def test_every_status_and_source_is_storable(scratch: ScratchDatabase) -> None:
    """Each enum member passes the database's CHECK constraints; other values do not."""
    store = scratch.store
    conn = await _connection(store)
    for n, source in enumerate(EventSource):
        for status in (EventStatus.PROCESSED, EventStatus.IGNORED):
            receipt = await store.insert_event(conn, source, f"{status}-{n}", "t.x", None, {})
            assert (await store.mark_event(receipt.event.id, status)).status is status
        await store.insert_rejection("acme", source, http_status=401, reason="r", body_size=0,
                                     body_sha256=None)  # fmt: skip
    with pytest.raises(IntegrityError):
        await scratch.execute("UPDATE events SET status = 'lost'")
    with pytest.raises(IntegrityError):
        await scratch.execute("UPDATE rejections SET source = 'zapier'")


async def test_list_events_filters_and_pages(scratch: ScratchDatabase) -> None:
    """Filters combine; newest first by default; oldest_first with after_id pages forward."""
    store = scratch.store
    conn = await _connection(store)
    types = ["bills.created", "bills.approved", "purchase_orders.created", "transactions.cleared"]
    for n, event_type in enumerate(types):
        await store.insert_event(
            conn, EventSource.RAMP, f"e{n}", event_type, f"o{n}", {}, now=T0 + timedelta(minutes=n)
        )
    await store.insert_event(conn, EventSource.VISMA, "v1", "Supplier.Updated", "50010", {})
    newest_first = [e.event_id for e in await store.list_events(conn, source=EventSource.RAMP)]
    assert newest_first == ["e3", "e2", "e1", "e0"]
    bills = await store.list_events(conn, type_prefix="bills.", oldest_first=True)
    assert [e.event_id for e in bills] == ["e0", "e1"]
    exact = await store.list_events(conn, event_type="purchase_orders.created")
    assert [e.event_id for e in exact] == ["e2"]
    window = await store.list_events(
        conn,
        source=EventSource.RAMP,
        received_since=T0 + timedelta(minutes=1),
        received_before=T0 + timedelta(minutes=3),
    )
    assert [e.event_id for e in window] == ["e2", "e1"]
    first_page = await store.list_events(conn, oldest_first=True, limit=2)
    rest = await store.list_events(conn, oldest_first=True, after_id=first_page[-1].id)
    assert [e.event_id for e in first_page + rest] == ["e0", "e1", "e2", "e3", "v1"]
    await store.mark_event(bills[0].id, EventStatus.PROCESSED)
    received = await store.list_events(conn, status=EventStatus.RECEIVED, type_prefix="bills.")
    assert [e.event_id for e in received] == ["e1"]


async def test_type_prefix_is_literal(scratch: ScratchDatabase) -> None:
    """A prefix with LIKE wildcards matches them literally, not as patterns."""
    store = scratch.store
    conn = await _connection(store)
    await store.insert_event(conn, EventSource.RAMP, "a", "bills_x", None, {})
    await store.insert_event(conn, EventSource.RAMP, "b", "billsXx", None, {})
    assert [e.event_id for e in await store.list_events(conn, type_prefix="bills_")] == ["a"]


async def test_find_event_by_vendor_id(scratch: ScratchDatabase) -> None:
    """find_event looks up by (connection, source, vendor event id), or returns None."""
    store = scratch.store
    conn = await _connection(store)
    stored = await store.insert_event(conn, EventSource.VISMA, "v-9", "Account.Updated", "4000", {})
    assert await store.find_event(conn, EventSource.VISMA, "v-9") == stored.event
    assert await store.find_event(conn, EventSource.RAMP, "v-9") is None
    with pytest.raises(StoreError, match="no inbox event"):
        await store.get_event(99_999)


async def test_event_fields_are_bounded(scratch: ScratchDatabase) -> None:
    """Empty or over-long ids and types are refused before reaching the database."""
    store = scratch.store
    conn = await _connection(store)
    with pytest.raises(StoreError, match="event id"):
        await store.insert_event(conn, EventSource.RAMP, "", "bills.created", None, {})
    with pytest.raises(StoreError, match="type"):
        await store.insert_event(conn, EventSource.RAMP, "e", "t" * 201, None, {})
    assert await store.list_events(conn) == []


async def test_events_go_with_their_connection(scratch: ScratchDatabase) -> None:
    """Events need an existing connection (foreign key on both backends)."""
    with pytest.raises(StoreError, match="database error"):
        await scratch.store.insert_event(999, EventSource.RAMP, "e", "bills.created", None, {})


async def test_rejections_are_logged_apart_from_the_inbox(scratch: ScratchDatabase) -> None:
    """A rejection row keeps what it is given, under any name; the inbox stays empty."""
    store = scratch.store
    conn = await _connection(store)
    first = await store.insert_rejection(
        "acme", EventSource.RAMP, http_status=401, reason="bad signature", body_size=10,
        body_sha256="a" * 64, now=T0,
    )  # fmt: skip
    await store.insert_rejection(
        "no-such-" + "x" * 300, EventSource.VISMA, http_status=404, reason="unknown",
        body_size=0, body_sha256=None, excerpt=None, now=T0 + timedelta(seconds=1),
    )  # fmt: skip
    await store.insert_rejection(
        "acme", EventSource.RAMP, http_status=400, reason="not JSON", body_size=3,
        body_sha256="b" * 64, excerpt="{x:", now=T0 + timedelta(seconds=2),
    )  # fmt: skip
    assert (first.http_status, first.reason, first.body_size) == (401, "bad signature", 10)
    acme = await store.list_rejections("acme")
    assert [(r.http_status, r.excerpt) for r in acme] == [(400, "{x:"), (401, None)]
    everything = await store.list_rejections()
    assert len(everything) == 3
    assert len(everything[1].connection) == 200
    assert [r.http_status for r in await store.list_rejections(source=EventSource.VISMA)] == [404]
    assert await store.list_events(conn) == []


async def test_prune_keeps_unsettled_events(scratch: ScratchDatabase) -> None:
    """Pruning deletes old settled events and old rejections, never events still received."""
    store = scratch.store
    conn = await _connection(store)
    old_done = await store.insert_event(conn, EventSource.RAMP, "a", "bills.paid", "b", {}, now=T0)
    await store.mark_event(old_done.event.id, EventStatus.PROCESSED)
    await store.insert_event(conn, EventSource.RAMP, "b", "purchase_orders.created", "p", {},
                             now=T0)  # fmt: skip
    late = T0 + timedelta(days=40)
    await store.insert_event(conn, EventSource.RAMP, "c", "bills.paid", "b", {}, now=late)
    await store.insert_rejection("acme", EventSource.RAMP, http_status=415, reason="r",
                                 body_size=0, body_sha256=None, now=T0)  # fmt: skip
    assert await store.prune_inbox(T0 + timedelta(days=30)) == (1, 1)
    assert sorted(e.event_id for e in await store.list_events(conn)) == ["b", "c"]
    assert await store.list_rejections() == []


def _bill(conn: int, event_id: str, bill: str) -> NewEvent:
    return NewEvent(
        conn,
        EventSource.RAMP,
        event_id,
        "bills.approved",
        bill,
        _payload(event_id, bill),
        EventStatus.PROCESSED,
        "bill",
    )


async def test_ingest_stores_queues_audits_and_settles_in_one_batch(
    scratch: ScratchDatabase,
) -> None:
    """A batch: new events stored settled, one record per bill, one audit entry per new event;
    an id repeated in the batch or already stored is a duplicate that changes nothing."""
    store = scratch.store
    conn = await _connection(store)
    await store.insert_event(conn, EventSource.RAMP, "old", "bills.paid", "bill_0", {}, now=T0)
    waiting = NewEvent(conn, EventSource.RAMP, "v1", "webhooks.verification", None, {})
    batch = [
        _bill(conn, "e1", "bill_1"),
        _bill(conn, "e2", "bill_1"),  # the same bill again: one record
        _bill(conn, "e1", "bill_9"),  # the same event id again: a duplicate
        _bill(conn, "old", "bill_0"),  # already in the inbox: a duplicate
        waiting,
    ]
    answers = await store.ingest_events(batch, now=T0)
    assert [a.new for a in answers] == [True, True, False, False, True]
    assert answers[0].record_id == answers[1].record_id is not None
    assert answers[4].record_id is None
    states = {e.event_id: e.status for e in await store.list_events(conn)}
    assert states == {
        "old": EventStatus.RECEIVED,
        "e1": EventStatus.PROCESSED,
        "e2": EventStatus.PROCESSED,
        "v1": EventStatus.RECEIVED,
    }
    assert [(r.object_id, r.status) for r in await store.list_records(conn)] == [
        ("bill_1", SyncStatus.PENDING)
    ]
    audit = await store.list_audit(conn)
    assert [e.data["event_id"] for e in audit] == ["e1", "e2"]
    assert await store.verify_audit(conn) == []


async def test_ingest_replays_existing_records_like_upsert(scratch: ScratchDatabase) -> None:
    """A finished record goes back to pending and an in-flight one is flagged to rerun."""
    store = scratch.store
    conn = await _connection(store)
    done = await store.upsert_record(conn, "bill", "bill_done", reason="poll", now=T0)
    busy = await store.upsert_record(conn, "bill", "bill_busy", reason="poll", now=T0)
    claimed = await store.claim_due("w", limit=2, lease_s=60, now=T0)
    assert {r.id for r in claimed} == {done.id, busy.id}
    await store.complete(done.id, "w", visma_ref="V1", now=T0)
    answers = await store.ingest_events(
        [_bill(conn, "e1", "bill_done"), _bill(conn, "e2", "bill_busy")], now=T0
    )
    assert [a.record_id for a in answers] == [done.id, busy.id]
    requeued = await store.get_record(done.id)
    assert (requeued.status, requeued.attempts, requeued.reason) == (
        SyncStatus.PENDING,
        0,
        "webhook bills.approved",
    )
    flagged = await store.get_record(busy.id)
    assert (flagged.status, flagged.rerun) == (SyncStatus.IN_FLIGHT, True)


async def test_new_event_refuses_bad_keys() -> None:
    """Empty or over-long keys, and work without an object id, are refused up front."""
    with pytest.raises(StoreError):
        NewEvent(1, EventSource.RAMP, "", "bills.approved", "b", {})
    with pytest.raises(StoreError):
        NewEvent(1, EventSource.RAMP, "e", "bills.approved", "b" * 201, {})
    with pytest.raises(StoreError):
        NewEvent(
            1, EventSource.RAMP, "e", "bills.approved", None, {}, EventStatus.PROCESSED, "bill"
        )
