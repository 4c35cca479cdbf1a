"""Store contract, the work queue: claims, leases, transitions and attempts, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ml_connector.errors import StoreError
from ml_connector.store import ConnectionStatus, Store, SyncStatus
from ml_connector.store.claims import _claim_rows, _due_query
from ml_connector.store.states import Transition, advance
from ml_connector.store.testing import ScratchDatabase, scratch_database

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _connection(store: Store, name: str = "acme") -> int:
    connection = await store.create_connection(
        name,
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=b"x",
    )
    return connection.id


async def test_upsert_is_idempotent(scratch: ScratchDatabase) -> None:
    """Duplicate events for one object leave one pending record."""
    store = scratch.store
    conn = await _connection(store)
    first = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    second = await store.upsert_record(conn, "bill", "b1", reason="webhook again", now=at(1))
    assert first == second
    assert (first.status, first.attempts, first.reason) == (SyncStatus.PENDING, 0, "webhook")
    assert await store.find_record(conn, "bill", "b1") == first
    assert (await store.count_by_status(conn))[SyncStatus.PENDING] == 1


async def test_claim_complete_and_attempts(scratch: ScratchDatabase) -> None:
    """A claimed record completes with its Visma ref and payload; both steps are in attempts."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    [claimed] = await store.claim_due("w1", limit=10, lease_s=60, now=at(1))
    assert claimed.id == record.id
    assert (claimed.status, claimed.lease_owner, claimed.attempts) == (
        SyncStatus.IN_FLIGHT,
        "w1",
        1,
    )
    assert claimed.lease_until == at(61)
    payload = {"supplierReference": "INV-7", "amount": Decimal("1250.50"), "lines": [{"n": 1}]}
    done = await store.complete(
        record.id, "w1", visma_ref="Invoice/000123", payload=payload, now=at(2)
    )
    assert done.status is SyncStatus.SUCCEEDED
    assert (done.lease_owner, done.lease_until) == (None, None)
    stored = await store.get_record(record.id)
    assert stored.visma_ref == "Invoice/000123"
    # Money keeps every digit: a Decimal is stored as its exact string, never a float.
    assert stored.payload == {
        "supplierReference": "INV-7",
        "amount": "1250.50",
        "lines": [{"n": 1}],
    }
    attempts = await store.list_attempts(record.id)
    assert [(a.number, a.outcome, a.status, a.owner) for a in attempts] == [
        (1, "claimed", SyncStatus.IN_FLIGHT, "w1"),
        (1, "succeeded", SyncStatus.SUCCEEDED, "w1"),
    ]
    assert (attempts[1].started_at, attempts[1].finished_at) == (at(1), at(2))


async def test_only_due_records_are_claimed(scratch: ScratchDatabase) -> None:
    """Pending records are due; retry_wait ones only once next_at has passed."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    await store.claim_due("w1", limit=1, lease_s=60, now=T0)
    waiting = await store.schedule_retry(
        record.id, "w1", next_at=at(100), error="Visma HTTP 503", error_code="vendor_5xx", now=at(1)
    )
    assert (waiting.status, waiting.next_at, waiting.last_error) == (
        SyncStatus.RETRY_WAIT,
        at(100),
        "Visma HTTP 503",
    )
    assert await store.claim_due("w2", limit=10, lease_s=60, now=at(99)) == []
    [again] = await store.claim_due("w2", limit=10, lease_s=60, now=at(100))
    assert (again.lease_owner, again.attempts, again.next_at) == ("w2", 2, None)


async def test_expired_lease_is_reclaimed(scratch: ScratchDatabase) -> None:
    """A dead worker's record is re-claimable after its lease; the old holder is then refused."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    await store.claim_due("w1", limit=1, lease_s=30, now=T0)
    assert await store.claim_due("w2", limit=1, lease_s=30, now=at(29)) == []
    [taken] = await store.claim_due("w2", limit=1, lease_s=30, now=at(30))
    assert (taken.lease_owner, taken.attempts, taken.lease_until) == ("w2", 2, at(60))
    with pytest.raises(StoreError, match="not leased to 'w1'"):
        await store.complete(record.id, "w1", visma_ref="Invoice/1", now=at(31))
    await store.complete(record.id, "w2", visma_ref="Invoice/1", now=at(31))
    outcomes = [(a.outcome, a.owner) for a in await store.list_attempts(record.id)]
    assert outcomes == [
        ("claimed", "w1"),
        ("lease_expired", "w1"),
        ("claimed", "w2"),
        ("succeeded", "w2"),
    ]


async def test_lease_can_be_extended(scratch: ScratchDatabase) -> None:
    """A heartbeat pushes the lease out, so a slow worker keeps its record."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    await store.claim_due("w1", limit=1, lease_s=30, now=T0)
    extended = await store.extend_lease(record.id, "w1", lease_s=30, now=at(25))
    assert extended.lease_until == at(55)
    assert await store.claim_due("w2", limit=1, lease_s=30, now=at(40)) == []
    with pytest.raises(StoreError):
        await store.extend_lease(record.id, "w2", lease_s=30, now=at(41))


@pytest.mark.parametrize("settle", ["complete", "retry", "attention", "release"])
async def test_settling_needs_the_lease(scratch: ScratchDatabase, settle: str) -> None:
    """No worker may settle a record it does not hold; the record is left as it was."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)

    async def attempt(owner: str) -> object:
        if settle == "complete":
            return await store.complete(record.id, owner, visma_ref="X", now=at(5))
        if settle == "retry":
            return await store.schedule_retry(
                record.id, owner, next_at=at(60), error="e", error_code="c", now=at(5)
            )
        if settle == "attention":
            return await store.mark_needs_attention(
                record.id, owner, error="e", hint="h", error_code="c", now=at(5)
            )
        return await store.release(record.id, owner, now=at(5))

    with pytest.raises(StoreError, match="not leased"):
        await attempt("w1")  # pending: nobody holds it
    await store.claim_due("w1", limit=1, lease_s=60, now=T0)
    with pytest.raises(StoreError, match="not leased"):
        await attempt("w2")  # someone else holds it
    await attempt("w1")
    with pytest.raises(StoreError, match="not leased"):
        await attempt("w1")  # settled already
    assert len(await store.list_attempts(record.id)) == 2


async def test_needs_attention_then_replay(scratch: ScratchDatabase) -> None:
    """needs_attention keeps the message and hint; a replay re-queues with a fresh budget."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    await store.claim_due("w1", limit=1, lease_s=60, now=T0)
    stuck = await store.mark_needs_attention(
        record.id,
        "w1",
        error="Account 6999 is not in Visma",
        hint="Map the Ramp GL account to an active Visma account",
        error_code="unmapped_account",
        now=at(1),
    )
    assert (stuck.status, stuck.error_code) == (SyncStatus.NEEDS_ATTENTION, "unmapped_account")
    assert stuck.hint == "Map the Ramp GL account to an active Visma account"
    assert await store.claim_due("w1", limit=1, lease_s=60, now=at(2)) == []
    # Without replay, a duplicate event does not resurrect it.
    same = await store.upsert_record(conn, "bill", "b1", reason="dup", now=at(3))
    assert same.status is SyncStatus.NEEDS_ATTENTION
    replayed = await store.upsert_record(
        conn, "bill", "b1", reason="replay", replay=True, now=at(4)
    )
    assert (replayed.status, replayed.attempts, replayed.reason) == (
        SyncStatus.PENDING,
        0,
        "replay",
    )
    [again] = await store.claim_due("w1", limit=1, lease_s=60, now=at(5))
    assert again.id == record.id
    outcomes = [a.outcome for a in await store.list_attempts(record.id)]
    assert outcomes == ["claimed", "needs_attention", "requeued", "claimed"]


async def test_replay_of_in_flight_record_runs_it_again(scratch: ScratchDatabase) -> None:
    """An object that changes while in flight goes back to pending after the current attempt."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="created", now=T0)
    await store.claim_due("w1", limit=1, lease_s=60, now=T0)
    flagged = await store.upsert_record(
        conn, "bill", "b1", reason="updated", replay=True, now=at(1)
    )
    assert (flagged.status, flagged.rerun) == (SyncStatus.IN_FLIGHT, True)
    first = await store.complete(record.id, "w1", visma_ref="Invoice/1", now=at(2))
    assert (first.status, first.rerun, first.visma_ref) == (SyncStatus.PENDING, False, "Invoice/1")
    await store.claim_due("w2", limit=1, lease_s=60, now=at(3))
    second = await store.complete(record.id, "w2", visma_ref="Invoice/1", now=at(4))
    assert second.status is SyncStatus.SUCCEEDED


async def test_release_gives_the_attempt_back(scratch: ScratchDatabase) -> None:
    """A graceful shutdown returns the record to pending without using up an attempt."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    await store.claim_due("w1", limit=1, lease_s=60, now=T0)
    released = await store.release(record.id, "w1", now=at(1))
    assert (released.status, released.attempts, released.lease_owner) == (
        SyncStatus.PENDING,
        0,
        None,
    )
    [again] = await store.claim_due("w2", limit=1, lease_s=60, now=at(2))
    assert again.attempts == 1
    history = [(a.number, a.outcome, a.owner) for a in await store.list_attempts(record.id)]
    assert history == [(1, "claimed", "w1"), (1, "released", "w1"), (1, "claimed", "w2")]


async def test_exclude(scratch: ScratchDatabase) -> None:
    """Excluded records are never claimed; only the lease holder may exclude an in-flight one."""
    store = scratch.store
    conn = await _connection(store)
    one = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    two = await store.upsert_record(conn, "bill", "b2", reason="webhook", now=T0)
    excluded = await store.exclude(one.id, reason="bill is not approved", now=at(1))
    assert (excluded.status, excluded.reason) == (SyncStatus.EXCLUDED, "bill is not approved")
    [claimed] = await store.claim_due("w1", limit=5, lease_s=60, now=at(2))
    assert claimed.id == two.id
    with pytest.raises(StoreError):
        await store.exclude(two.id, reason="nope", owner="w2", now=at(3))
    assert (
        await store.exclude(two.id, reason="archived", owner="w1")
    ).status is SyncStatus.EXCLUDED
    with pytest.raises(StoreError, match="illegal"):
        await store.exclude(two.id, reason="twice")


async def test_paused_connections_wait(scratch: ScratchDatabase) -> None:
    """A paused connection's records are not claimed; another connection's are."""
    store = scratch.store
    paused, active = await _connection(store, "paused"), await _connection(store, "active")
    await store.upsert_record(paused, "bill", "b1", reason="webhook", now=T0)
    kept = await store.upsert_record(active, "bill", "b1", reason="webhook", now=T0)
    await store.set_connection_status(paused, ConnectionStatus.PAUSED, "invalid_client")
    claimed = await store.claim_due("w1", limit=10, lease_s=60, now=at(1))
    assert [r.id for r in claimed] == [kept.id]
    await store.set_connection_status(paused, ConnectionStatus.ACTIVE)
    assert len(await store.claim_due("w1", limit=10, lease_s=60, now=at(2))) == 1


async def test_claim_limits_and_connection_filter(scratch: ScratchDatabase) -> None:
    """claim_due honours limit (oldest first) and an optional connection filter."""
    store = scratch.store
    acme, globex = await _connection(store, "acme"), await _connection(store, "globex")
    for n in range(3):
        await store.upsert_record(acme, "bill", f"a{n}", reason="poll", now=T0)
        await store.upsert_record(globex, "bill", f"g{n}", reason="poll", now=T0)
    assert [r.object_id for r in await store.claim_due("w", limit=2, lease_s=9, now=T0)] == [
        "a0",
        "g0",
    ]
    only_globex = await store.claim_due("w", limit=10, lease_s=9, now=T0, connection_id=globex)
    assert [r.object_id for r in only_globex] == ["g1", "g2"]
    assert await store.claim_due("w", limit=0, lease_s=9, now=T0) == []


async def test_two_engines_never_claim_the_same_record(scratch: ScratchDatabase) -> None:
    """Eight claimers on two engines drain 60 records: each record is claimed exactly once."""
    conn = await _connection(scratch.store)
    for n in range(60):
        await scratch.store.upsert_record(conn, "bill", f"b{n}", reason="poll", now=T0)
    engines = [scratch.store, scratch.open_store()]
    claimed: list[tuple[str, int]] = []

    async def drain(store: Store, owner: str) -> None:
        while batch := await store.claim_due(owner, limit=3, lease_s=300, now=at(1)):
            claimed.extend((owner, record.id) for record in batch)

    await asyncio.gather(*(drain(engines[n % 2], f"w{n}") for n in range(8)))
    ids = [record_id for _, record_id in claimed]
    assert len(ids) == len(set(ids)) == 60
    counts = await scratch.store.count_by_status(conn)
    assert counts[SyncStatus.IN_FLIGHT] == 60
    assert counts[SyncStatus.PENDING] == 0


async def test_list_records_filters(scratch: ScratchDatabase) -> None:
    """list_records filters by status, type and time, newest change first, and pages."""
    store = scratch.store
    conn = await _connection(store)
    for n in range(4):
        await store.upsert_record(conn, "bill", f"b{n}", reason="poll", now=at(n))
    await store.upsert_record(conn, "purchase_order", "po1", reason="poll", now=at(10))
    [record] = await store.claim_due("w", limit=1, lease_s=60, now=at(20))
    await store.mark_needs_attention(
        record.id, "w", error="closed period", hint="open it", error_code="closed", now=at(21)
    )
    bills = await store.list_records(conn, object_type="bill")
    assert [r.object_id for r in bills] == ["b0", "b3", "b2", "b1"]
    stuck = await store.list_records(conn, status=SyncStatus.NEEDS_ATTENTION)
    assert [r.object_id for r in stuck] == ["b0"]
    waiting = await store.list_records(None, status=[SyncStatus.PENDING], limit=2, offset=1)
    assert [r.object_id for r in waiting] == ["b3", "b2"]
    recent = await store.list_records(conn, updated_since=at(10))
    assert [r.object_id for r in recent] == ["b0", "po1"]
    counts = await store.count_by_status(conn)
    assert (counts[SyncStatus.PENDING], counts[SyncStatus.NEEDS_ATTENTION]) == (4, 1)
    assert counts[SyncStatus.SUCCEEDED] == 0


async def test_unknown_record_is_a_store_error(scratch: ScratchDatabase) -> None:
    """Asking for, or settling, a record that does not exist raises StoreError."""
    with pytest.raises(StoreError, match="no sync record"):
        await scratch.store.get_record(404)
    with pytest.raises(StoreError, match="no sync record"):
        await scratch.store.complete(404, "w", visma_ref=None)


@pytest.mark.parametrize(
    ("current", "transition", "rerun", "expected"),
    [
        (SyncStatus.PENDING, Transition.CLAIM, False, SyncStatus.IN_FLIGHT),
        (SyncStatus.IN_FLIGHT, Transition.COMPLETE, False, SyncStatus.SUCCEEDED),
        (SyncStatus.IN_FLIGHT, Transition.COMPLETE, True, SyncStatus.PENDING),
        (SyncStatus.IN_FLIGHT, Transition.RETRY, True, SyncStatus.RETRY_WAIT),
        (SyncStatus.IN_FLIGHT, Transition.ATTENTION, True, SyncStatus.PENDING),
        (SyncStatus.RETRY_WAIT, Transition.REQUEUE, False, SyncStatus.PENDING),
        (SyncStatus.SUCCEEDED, Transition.CLAIM, False, None),
        (SyncStatus.PENDING, Transition.COMPLETE, False, None),
        (SyncStatus.EXCLUDED, Transition.EXCLUDE, False, None),
        (SyncStatus.PENDING, Transition.REQUEUE, False, None),
    ],
)
def test_transition_table(
    current: SyncStatus, transition: Transition, rerun: bool, expected: SyncStatus | None
) -> None:
    """The pure transition table allows what the state machine draws and nothing else."""
    if expected is None:
        with pytest.raises(StoreError, match="illegal"):
            advance(current, transition, rerun=rerun)
    else:
        assert advance(current, transition, rerun=rerun) is expected


@pytest.fixture
async def pg_scratch(postgres_url: str) -> AsyncIterator[ScratchDatabase]:
    """A scratch schema on PostgreSQL only (SQLite claimers take turns; no row locks there)."""
    async with scratch_database("postgresql", postgres_url=postgres_url) as db:
        yield db


async def test_an_open_claim_does_not_stall_a_second_claimer(pg_scratch: ScratchDatabase) -> None:
    """While one claim transaction holds its rows, a second claimer gets the others at once."""
    scratch = pg_scratch
    conn = await _connection(scratch.store)
    for n in range(5):
        await scratch.store.upsert_record(conn, "bill", f"b{n}", reason="poll", now=T0)
    second = scratch.open_store()
    # The claim's own transaction, statement and lease, held open between its SELECT and commit.
    async with scratch.store._db.write() as session:
        held = list(await session.scalars(_due_query(at(1)).limit(2)))
        assert [row.object_id for row in held] == ["b0", "b1"]
        # FOR UPDATE without SKIP LOCKED would wait for this transaction: never returns here.
        others = await asyncio.wait_for(
            second.claim_due("w2", limit=10, lease_s=60, now=at(1)), timeout=20
        )
        _claim_rows(session, held, "w1", at(1), 60)
    assert [r.object_id for r in others] == ["b2", "b3", "b4"]
    claimed = await scratch.store.list_records(conn, status=SyncStatus.IN_FLIGHT)
    assert sorted((r.object_id, r.lease_owner) for r in claimed) == [
        ("b0", "w1"),
        ("b1", "w1"),
        ("b2", "w2"),
        ("b3", "w2"),
        ("b4", "w2"),
    ]
