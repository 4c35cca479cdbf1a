"""The receivers' group commit: concurrent requests share transactions, and lose nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence

from integration.webhooks.webhook_kit import Receiving, ramp_event
from ml_connector.store import EventSource, EventStatus
from ml_connector.store.inbox import Ingested, NewEvent
from ml_connector.web.ingest import IngestConfig, Ingestor


async def test_concurrent_distinct_events_are_all_stored_and_batched(rx: Receiving) -> None:
    """200 concurrent bill events: 200 acks, 200 processed rows, 200 records, fewer batches."""
    bodies = [ramp_event(f"evt_{n}", "bills.approved", f"bill_{n}") for n in range(200)]
    responses = await asyncio.gather(*(rx.post_ramp(body) for body in bodies))
    assert [r.status_code for r in responses] == [200] * 200
    assert {r.json()["status"] for r in responses} == {"accepted"}
    store, acme = rx.runtime.store, rx.connections["acme"].id
    events = await store.list_events(acme, limit=1000)
    assert len(events) == 200
    assert {e.status for e in events} == {EventStatus.PROCESSED}
    assert len(await store.list_records(acme, limit=1000)) == 200
    assert len(await store.list_audit(acme)) == 200
    assert await store.verify_audit(acme) == []
    assert rx.receiver is not None
    stats = rx.receiver.ingestor.stats
    assert stats.events == 200
    assert stats.batches < 200  # requests that arrived together were written together


async def test_concurrent_duplicates_store_one_event_and_one_record(rx: Receiving) -> None:
    """100 concurrent deliveries of one event: one accepted, 99 duplicates, one row, one record."""
    body = ramp_event("evt_dup", "bills.approved", "bill_dup")
    responses = await asyncio.gather(*(rx.post_ramp(body) for _ in range(100)))
    assert [r.status_code for r in responses] == [200] * 100
    statuses = [r.json()["status"] for r in responses]
    assert (statuses.count("accepted"), statuses.count("duplicate")) == (1, 99)
    store, acme = rx.runtime.store, rx.connections["acme"].id
    assert len(await store.list_events(acme)) == 1
    assert [r.object_id for r in await store.list_records(acme)] == ["bill_dup"]
    assert len(await store.list_audit(acme)) == 1
    assert rx.wakes == [1]


async def test_failed_batch_answers_503_to_every_waiter_and_writes_nothing(
    rx: Receiving,
) -> None:
    """A batch whose transaction fails half way (the audit table is gone): every request gets
    503 and no event or record of it is left; redelivered later, all are stored."""
    database = rx.runtime.settings.database_url.split("///", 1)[1]
    with sqlite3.connect(database) as raw:
        raw.execute("ALTER TABLE audit_entries RENAME TO audit_entries_away")
    bodies = [ramp_event(f"evt_{n}", "bills.approved", f"bill_{n}") for n in range(50)]
    responses = await asyncio.gather(*(rx.post_ramp(body) for body in bodies))
    assert [r.status_code for r in responses] == [503] * 50
    assert {r.headers["retry-after"] for r in responses} == {"5"}
    store, acme = rx.runtime.store, rx.connections["acme"].id
    assert await store.list_events(acme) == []
    assert await store.list_records(acme) == []
    assert rx.wakes == []

    with sqlite3.connect(database) as raw:
        raw.execute("ALTER TABLE audit_entries_away RENAME TO audit_entries")
    retried = await asyncio.gather(*(rx.post_ramp(body) for body in bodies))
    assert [r.json()["status"] for r in retried] == ["accepted"] * 50
    assert len(await store.list_records(acme, limit=1000)) == 50


async def test_sequential_events_are_not_delayed_into_batches(rx: Receiving) -> None:
    """One request at a time: each is its own batch of one, answered after its own commit."""
    for n in range(3):
        body = ramp_event(f"evt_{n}", "bills.approved", f"bill_{n}")
        assert (await rx.post_ramp(body)).json()["status"] == "accepted"
        assert len(await rx.runtime.store.list_events(rx.connections["acme"].id)) == n + 1
    assert rx.receiver is not None
    stats = rx.receiver.ingestor.stats
    assert (stats.batches, stats.largest_batch) == (3, 1)


def _event(n: int) -> NewEvent:
    return NewEvent(1, EventSource.RAMP, f"evt_{n}", "bills.approved", f"bill_{n}", {"id": n})


class _Recorder:
    """A writer that stores nothing and keeps the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def __call__(self, events: Sequence[NewEvent]) -> list[Ingested]:
        self.batches.append([e.event_id for e in events])
        return [Ingested(n + 1) for n in range(len(events))]


async def test_a_busy_period_waits_for_the_rest_of_the_wave() -> None:
    """Right after a batch of 5, a flush that sees 3 events waits for the next 2 (a long
    linger, so the test does not depend on speed): one batch of 5, not 3 and 2."""
    writer = _Recorder()
    ingestor = Ingestor(writer, IngestConfig(linger_s=60.0, busy_window_s=60.0))
    await asyncio.gather(*(ingestor.submit(_event(n)) for n in range(5)))
    first = [asyncio.create_task(ingestor.submit(_event(n))) for n in range(5, 8)]
    for _ in range(20):  # well past the flusher's gathering rounds
        await asyncio.sleep(0)
    assert writer.batches == [[f"evt_{n}" for n in range(5)]]
    rest = [asyncio.create_task(ingestor.submit(_event(n))) for n in range(8, 10)]
    results = await asyncio.wait_for(asyncio.gather(*first, *rest), timeout=30)
    assert all(result.new for result in results)
    assert writer.batches[1] == [f"evt_{n}" for n in range(5, 10)]


async def test_a_request_after_a_quiet_spell_is_written_at_once() -> None:
    """With no batch in the busy window, a lone event is written without lingering."""
    writer = _Recorder()
    ingestor = Ingestor(writer, IngestConfig(linger_s=60.0, busy_window_s=0.0))
    await asyncio.gather(*(ingestor.submit(_event(n)) for n in range(5)))
    result = await asyncio.wait_for(ingestor.submit(_event(5)), timeout=30)
    assert result.new
    assert writer.batches[-1] == ["evt_5"]
