"""Store contract, mapping versions, the mapping catalog and the chart map, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ml_connector.store import ChartEntry, Store
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


def _doc(account: str) -> dict[str, object]:
    return {
        "rules": [{"source": "@default", "value": "*", "target": "account", "visma_value": account}]
    }


async def test_every_save_is_a_new_numbered_version(scratch: ScratchDatabase) -> None:
    """Versions count 1, 2, 3 per connection; old ones stay readable unchanged."""
    store = scratch.store
    cid = await _connection(store)
    other = await _connection(store, "other")
    assert await store.current_mapping(cid) is None
    first = await store.save_mapping_version(cid, _doc("7790"), author="ops", note="start", now=T0)
    second = await store.save_mapping_version(cid, _doc("6800"), now=T0 + timedelta(minutes=1))
    elsewhere = await store.save_mapping_version(other, _doc("1000"), now=T0)
    assert (first.version, second.version, elsewhere.version) == (1, 2, 1)
    current = await store.current_mapping(cid)
    assert current is not None
    assert current.version == 2
    assert current.document == _doc("6800")
    old = await store.get_mapping_version(cid, 1)
    assert old is not None
    assert old.document == _doc("7790")
    assert (old.author, old.note, old.created_at) == ("ops", "start", T0)
    assert [v.version for v in await store.list_mapping_versions(cid)] == [1, 2]
    assert await store.get_mapping_version(cid, 3) is None


async def test_concurrent_saves_get_distinct_versions(scratch: ScratchDatabase) -> None:
    """Saves racing from two engines never share or skip a version number."""
    store = scratch.store
    cid = await _connection(store)
    second = scratch.open_store()
    saved = await asyncio.gather(
        *((store if i % 2 else second).save_mapping_version(cid, _doc(str(i))) for i in range(8))
    )
    assert sorted(v.version for v in saved) == list(range(1, 9))


async def test_catalog_is_replaced_on_each_pull(scratch: ScratchDatabase) -> None:
    """A second pull overwrites the first catalog."""
    store = scratch.store
    cid = await _connection(store)
    assert await store.get_mapping_catalog(cid) is None
    await store.save_mapping_catalog(cid, {"ramp": {"a": ["1"]}}, now=T0)
    await store.save_mapping_catalog(cid, {"ramp": {"a": ["2"]}}, now=T0 + timedelta(hours=1))
    catalog = await store.get_mapping_catalog(cid)
    assert catalog is not None
    assert catalog.data == {"ramp": {"a": ["2"]}}
    assert catalog.pulled_at == T0 + timedelta(hours=1)


async def test_chart_entries_upsert_by_kind_scope_and_visma_id(scratch: ScratchDatabase) -> None:
    """Recording an entry again overwrites it; the same Visma id in two scopes is two entries."""
    store = scratch.store
    cid = await _connection(store)
    await store.record_chart_entries(
        cid,
        [
            ChartEntry("gl_account", "", "6800", "r-1", "h1"),
            ChartEntry("option", "subaccount-1", "100", "r-2", "h2"),
            ChartEntry("option", "subaccount-2", "100", "r-3", "h3"),
            ChartEntry("vendor", "", "50001", None, "h4", error="refused"),
        ],
        now=T0,
    )
    await store.record_chart_entries(
        cid, [ChartEntry("gl_account", "", "6800", "r-1", "h9", active=False)], now=T0
    )
    entries = {e.key: e for e in await store.list_chart_entries(cid)}
    assert len(entries) == 4
    account = entries[("gl_account", "", "6800")]
    assert (account.content_hash, account.active, account.updated_at) == ("h9", False, T0)
    assert entries[("vendor", "", "50001")].error == "refused"
    options = await store.list_chart_entries(cid, "option", "subaccount-2")
    assert [(e.visma_id, e.ramp_id) for e in options] == [("100", "r-3")]


async def test_chart_map_takes_a_large_batch(scratch: ScratchDatabase) -> None:
    """Twelve hundred entries are recorded in one call and read back in Visma id order."""
    store = scratch.store
    cid = await _connection(store)
    entries = [ChartEntry("gl_account", "", f"{4000 + i}", f"r-{i}", "h") for i in range(1200)]
    await store.record_chart_entries(cid, entries)
    stored = await store.list_chart_entries(cid, "gl_account")
    assert [e.visma_id for e in stored] == [f"{4000 + i}" for i in range(1200)]


async def test_deleting_a_connection_removes_its_mapping_rows(scratch: ScratchDatabase) -> None:
    """Mapping versions, catalog and chart map go with their connection (no orphans)."""
    store = scratch.store
    cid = await _connection(store)
    await store.save_mapping_version(cid, _doc("7790"))
    await store.save_mapping_catalog(cid, {})
    await store.record_chart_entries(cid, [ChartEntry("vendor", "", "1", "r", "h")])
    await scratch.execute("DELETE FROM connections WHERE id = :id", {"id": cid})
    assert await store.list_mapping_versions(cid) == []
    assert await store.get_mapping_catalog(cid) is None
    assert await store.list_chart_entries(cid) == []
