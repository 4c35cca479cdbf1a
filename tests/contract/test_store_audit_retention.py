"""Store contract, audit retention: pruning a chain's oldest entries keeps it verifiable."""

from __future__ import annotations

from datetime import timedelta

from contract.test_store_audit import T0, _chain, _connection
from ml_connector.store.testing import ScratchDatabase


async def test_prune_keeps_the_rest_verifiable(scratch: ScratchDatabase) -> None:
    """Entries older than the cut-off go; the survivors verify from the stored anchor."""
    store = scratch.store
    conn = await _connection(store)
    await _chain(store, conn, 10)
    pruned = await store.prune_audit(conn, before=T0 + timedelta(seconds=4))
    assert pruned == 4
    assert [e.seq for e in await store.list_audit(conn)] == [5, 6, 7, 8, 9, 10]
    assert await store.verify_audit(conn) == []
    appended = await store.append_audit(conn, None, "result", {"ok": True}, T0)
    assert appended.seq == 11
    assert await store.verify_audit(conn) == []


async def test_prune_everything_then_nothing(scratch: ScratchDatabase) -> None:
    """Pruning a whole chain leaves it verifiable; pruning again deletes nothing."""
    store = scratch.store
    conn = await _connection(store)
    await _chain(store, conn, 3)
    assert await store.prune_audit(conn, before=T0 + timedelta(days=1)) == 3
    assert await store.list_audit(conn) == []
    assert await store.verify_audit(conn) == []
    assert await store.prune_audit(conn, before=T0 + timedelta(days=1)) == 0
    assert (await store.append_audit(conn, None, "result", {"n": 3}, T0)).seq == 4
    assert await store.verify_audit(conn) == []


async def test_tampering_after_a_prune_is_detected(scratch: ScratchDatabase) -> None:
    """Altering or deleting a surviving entry after a prune breaks verification."""
    store = scratch.store
    conn = await _connection(store)
    await _chain(store, conn, 8)
    await store.prune_audit(conn, before=T0 + timedelta(seconds=3))
    await scratch.execute(
        "UPDATE audit_entries SET data = :data WHERE connection_id = :c AND seq = 6",
        {"data": '{"n":99}', "c": conn},
    )
    problems = await store.verify_audit(conn)
    assert [p.seq for p in problems] == [6]
    await scratch.execute(
        "DELETE FROM audit_entries WHERE connection_id = :c AND seq = 4", {"c": conn}
    )
    problems = await store.verify_audit(conn)
    assert 5 in {p.seq for p in problems}


async def test_prune_leaves_other_connections_alone(scratch: ScratchDatabase) -> None:
    """One connection's retention never touches another's chain."""
    store = scratch.store
    first, second = await _connection(store, "one"), await _connection(store, "two")
    await _chain(store, first, 4)
    await _chain(store, second, 4)
    await store.prune_audit(first, before=T0 + timedelta(days=1))
    assert len(await store.list_audit(second)) == 4
    assert await store.verify_audit(second) == []
