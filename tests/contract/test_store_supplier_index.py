"""Store contract, supplier index: rows by number, key and name; state that only moves forward."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ml_connector.store import IndexedSupplier, Store
from ml_connector.store.testing import ScratchDatabase

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _connection(store: Store, name: str = "acme") -> int:
    connection = await store.create_connection(
        name,
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=b"x",
    )
    return connection.id


def _supplier(number: str, name: str = "Atea AS", **fields: str) -> IndexedSupplier:
    return IndexedSupplier(
        number=number, name=name, name_key=name.lower(), status=fields.pop("status", "Active"),
        **fields,
    )  # fmt: skip


async def test_rows_are_found_by_number_key_or_name(scratch: ScratchDatabase) -> None:
    """One query finds suppliers by number, by organisation or VAT key, or by folded name."""
    store = scratch.store
    conn = await _connection(store)
    other = await _connection(store, "other")
    await store.upsert_indexed_suppliers(
        conn,
        [
            _supplier("50001", "Atea AS", corporate_key="NO:920237126"),
            _supplier("50002", "Posten Norge AS", vat_key="NO:984661185"),
            _supplier("50003", "Elkjop Nordic AS"),
        ],
        now=T0,
    )
    await store.upsert_indexed_suppliers(other, [_supplier("50001", "Atea AS")], now=T0)
    by_key = await store.find_indexed_suppliers(conn, keys=["NO:984661185", "NO:920237126"])
    assert [s.number for s in by_key] == ["50001", "50002"]
    by_name = await store.find_indexed_suppliers(conn, names=["elkjop nordic as"])
    assert [s.number for s in by_name] == ["50003"]
    by_number = await store.find_indexed_suppliers(conn, numbers=["50002"], names=["nobody"])
    assert [s.name for s in by_number] == ["Posten Norge AS"]
    assert await store.find_indexed_suppliers(conn) == []


async def test_an_upsert_replaces_the_row(scratch: ScratchDatabase) -> None:
    """A supplier read again (renamed, blocked) replaces what the index held."""
    store = scratch.store
    conn = await _connection(store)
    await store.upsert_indexed_suppliers(conn, [_supplier("50001", "Atea AS")], now=T0)
    await store.upsert_indexed_suppliers(
        conn, [_supplier("50001", "Atea Norge AS", status="OnHold")], now=T0
    )
    [row] = await store.find_indexed_suppliers(conn, numbers=["50001"])
    assert (row.name, row.status) == ("Atea Norge AS", "OnHold")
    assert await store.indexed_supplier_statuses(conn, ["OnHold", "Inactive"]) == {
        "50001": "OnHold"
    }


async def test_state_only_moves_forward(scratch: ScratchDatabase) -> None:
    """A read that finishes late never winds the watermark or the read time back."""
    store = scratch.store
    conn = await _connection(store)
    assert await store.supplier_index_state(conn) is None
    newer = "2026-03-01T10:00:00.000000"
    older = "2026-03-01T08:00:00.000000"
    await store.mark_supplier_index_read(conn, started_at=T0, watermark=newer, full=True)
    await store.mark_supplier_index_read(
        conn, started_at=T0 - timedelta(minutes=5), watermark=older, full=False
    )
    state = await store.supplier_index_state(conn)
    assert state is not None
    assert (state.watermark, state.read_at, state.full_at) == (newer, T0, T0)
    later = T0 + timedelta(minutes=1)
    await store.mark_supplier_index_read(conn, started_at=later, watermark=None, full=False)
    state = await store.supplier_index_state(conn)
    assert state is not None
    assert (state.watermark, state.read_at, state.full_at) == (newer, later, T0)


async def test_a_full_read_drops_suppliers_it_no_longer_saw(scratch: ScratchDatabase) -> None:
    """Rows nobody wrote since the full read began are gone; rows written meanwhile stay."""
    store = scratch.store
    conn = await _connection(store)
    await store.upsert_indexed_suppliers(conn, [_supplier("50001"), _supplier("50002")], now=T0)
    started = T0 + timedelta(minutes=10)
    await store.upsert_indexed_suppliers(conn, [_supplier("50001")], now=started)
    await store.upsert_indexed_suppliers(  # created by a worker while the read ran
        conn, [_supplier("50003")], now=started + timedelta(seconds=5)
    )
    await store.mark_supplier_index_read(conn, started_at=started, watermark=None, full=True)
    assert await store.indexed_supplier_numbers(conn) == ["50001", "50003"]


async def test_numbers_by_prefix_treat_wildcards_literally(scratch: ScratchDatabase) -> None:
    """A prefix with % or _ matches those characters, not everything."""
    store = scratch.store
    conn = await _connection(store)
    await store.upsert_indexed_suppliers(
        conn,
        [_supplier(n) for n in ("R00001", "R00002", "R_0001", "50001", "RX0001")],
        now=T0,
    )
    assert sorted(await store.indexed_supplier_numbers(conn, "R0")) == ["R00001", "R00002"]
    assert await store.indexed_supplier_numbers(conn, "R_") == ["R_0001"]
    assert await store.indexed_supplier_numbers(conn, "%") == []


async def test_concurrent_writers_of_the_same_rows(scratch: ScratchDatabase) -> None:
    """Two processes upserting overlapping pages at once both succeed (one lock order)."""
    store, second = scratch.store, scratch.open_store()
    conn = await _connection(store)
    pages = [[_supplier(f"{50000 + i}") for i in range(40)] for _ in range(2)]
    await asyncio.gather(
        store.upsert_indexed_suppliers(conn, pages[0], now=T0),
        second.upsert_indexed_suppliers(conn, list(reversed(pages[1])), now=T0),
    )
    assert len(await store.indexed_supplier_numbers(conn)) == 40
