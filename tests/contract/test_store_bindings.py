"""Store contract, field binding versions, on both backends: numbered, never edited, and a save
based on a version that is no longer the newest writes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ml_connector.store import Store
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


def _doc(target: str) -> dict[str, object]:
    return {"bindings": [{"field": "dim_kst", "target": target, "decided_by": "person"}]}


async def test_every_save_is_a_new_numbered_version(scratch: ScratchDatabase) -> None:
    """Versions count 1, 2 per connection; old ones read back unchanged with author and note."""
    store = scratch.store
    cid = await _connection(store)
    other = await _connection(store, "other")
    assert await store.current_bindings(cid) is None
    first = await store.save_binding_version(
        cid, _doc("segment:1"), base=None, author="discovery", note="found", now=T0
    )
    assert first is not None
    second = await store.save_binding_version(
        cid, _doc("segment:2"), base=1, author="kari", now=T0 + timedelta(minutes=1)
    )
    elsewhere = await store.save_binding_version(other, _doc("vat"), base=None)
    assert second is not None
    assert elsewhere is not None
    assert (first.version, second.version, elsewhere.version) == (1, 2, 1)
    current = await store.current_bindings(cid)
    assert current is not None
    assert (current.version, current.document, current.author) == (2, _doc("segment:2"), "kari")
    old = await store.get_binding_version(cid, 1)
    assert old is not None
    assert (old.document, old.author, old.note, old.created_at) == (
        _doc("segment:1"),
        "discovery",
        "found",
        T0,
    )
    assert [v.version for v in await store.list_binding_versions(cid)] == [1, 2]
    assert await store.get_binding_version(cid, 3) is None


async def test_a_save_on_a_stale_version_writes_nothing(scratch: ScratchDatabase) -> None:
    """Discovery that read version 1 cannot overwrite the person's version 2."""
    store = scratch.store
    cid = await _connection(store)
    await store.save_binding_version(cid, _doc("segment:1"), base=None)
    person = await store.save_binding_version(cid, _doc("segment:2"), base=1, author="kari")
    stale = await store.save_binding_version(cid, _doc("segment:1"), base=1, author="discovery")
    assert person is not None
    assert stale is None
    current = await store.current_bindings(cid)
    assert current is not None
    assert (current.version, current.author) == (2, "kari")
    assert await store.save_binding_version(cid, _doc("vat"), base=None) is None


async def test_racing_saves_on_one_base_let_exactly_one_win(scratch: ScratchDatabase) -> None:
    """Eight saves from two engines all based on version 1: one lands as version 2."""
    store = scratch.store
    cid = await _connection(store)
    await store.save_binding_version(cid, _doc("segment:1"), base=None)
    second = scratch.open_store()
    saved = await asyncio.gather(
        *(
            (store if i % 2 else second).save_binding_version(cid, _doc(f"segment:{i + 2}"), base=1)
            for i in range(8)
        )
    )
    landed = [v for v in saved if v is not None]
    assert [v.version for v in landed] == [2]
    assert [v.version for v in await store.list_binding_versions(cid)] == [1, 2]


async def test_versions_go_with_their_connection(scratch: ScratchDatabase) -> None:
    """Deleting a connection deletes its binding versions."""
    store = scratch.store
    cid = await _connection(store)
    await store.save_binding_version(cid, _doc("vat"), base=None)
    await scratch.execute("DELETE FROM connections WHERE id = :id", {"id": cid})
    assert await store.list_binding_versions(cid) == []
