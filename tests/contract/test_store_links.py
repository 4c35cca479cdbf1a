"""Store contract, links and named leases: who gets to create a Visma object, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ml_connector.errors import StoreError
from ml_connector.store import LinkKind, LinkState, Store
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


async def test_claim_then_confirm(scratch: ScratchDatabase) -> None:
    """The first claim wins an attempted link; confirming records the Visma id and data."""
    store = scratch.store
    conn = await _connection(store)
    claim = await store.claim_link(conn, LinkKind.VENDOR, "ven_1", "ramp:ven_1", "w1", now=T0)
    assert claim.won
    assert claim.link.state is LinkState.ATTEMPTED
    assert (claim.link.visma_id, claim.link.owner) == (None, "w1")
    again = await store.claim_link(conn, LinkKind.VENDOR, "ven_1", "ramp:ven_1", "w2", now=T0)
    assert not again.won
    assert again.link.id == claim.link.id
    assert again.link.owner == "w1"
    confirmed = await store.confirm_link(conn, LinkKind.VENDOR, "ven_1", "70012", {"name": "Nor"})
    assert (confirmed.state, confirmed.visma_id) == (LinkState.CONFIRMED, "70012")
    assert confirmed.external_ref == "ramp:ven_1"
    stored = await store.get_link(conn, LinkKind.VENDOR, "ven_1")
    assert stored == confirmed
    assert stored is not None
    assert stored.data == {"name": "Nor"}


async def test_links_need_an_existing_connection(scratch: ScratchDatabase) -> None:
    """Foreign keys are enforced on both backends: no link for a connection that is not there."""
    with pytest.raises(StoreError, match="database error"):
        await scratch.store.claim_link(999, LinkKind.VENDOR, "ven_1", "ref", "w1")
    with pytest.raises(StoreError, match="database error"):
        await scratch.store.upsert_record(999, "bill", "b1", reason="webhook")


async def test_confirm_without_claim_creates_the_link(scratch: ScratchDatabase) -> None:
    """A match found by lookup is stored straight away as a confirmed link."""
    store = scratch.store
    conn = await _connection(store)
    link = await store.confirm_link(conn, LinkKind.BILL, "bill_9", "Invoice/000123")
    assert (link.state, link.external_ref, link.data) == (LinkState.CONFIRMED, "bill_9", {})
    found = await store.find_link_by_visma_id(conn, LinkKind.BILL, "Invoice/000123")
    assert found == link
    assert await store.find_link_by_visma_id(conn, LinkKind.VENDOR, "Invoice/000123") is None


async def test_links_are_unique_per_connection_kind_and_ramp_id(scratch: ScratchDatabase) -> None:
    """The same Ramp id can be linked once per kind and per connection, not more."""
    store = scratch.store
    acme, globex = await _connection(store, "acme"), await _connection(store, "globex")
    claims = [
        await store.claim_link(acme, LinkKind.VENDOR, "x1", "r", "w"),
        await store.claim_link(acme, LinkKind.BILL, "x1", "r", "w"),
        await store.claim_link(globex, LinkKind.VENDOR, "x1", "r", "w"),
        await store.claim_link(acme, LinkKind.VENDOR, "x1", "r", "w"),
    ]
    assert [claim.won for claim in claims] == [True, True, True, False]
    assert len(await store.list_links(acme)) == 2
    assert [link.kind for link in await store.list_links(acme, LinkKind.BILL)] == [LinkKind.BILL]
    assert len(await store.list_links(globex)) == 1


async def test_twenty_concurrent_claimers_one_winner(scratch: ScratchDatabase) -> None:
    """Twenty claimers on four separate engines race for one link: exactly one wins."""
    conn = await _connection(scratch.store)
    stores = [scratch.store] + [scratch.open_store() for _ in range(3)]
    claims = await asyncio.gather(
        *(
            stores[n % len(stores)].claim_link(
                conn, LinkKind.VENDOR, "ven_new", "ramp:ven_new", f"worker-{n}"
            )
            for n in range(20)
        )
    )
    winners = [claim for claim in claims if claim.won]
    assert len(winners) == 1
    assert {claim.link.id for claim in claims} == {winners[0].link.id}
    assert {claim.link.owner for claim in claims} == {winners[0].link.owner}
    assert len(await scratch.store.list_links(conn, LinkKind.VENDOR)) == 1


async def test_abandoned_claim_can_be_won_again(scratch: ScratchDatabase) -> None:
    """The claimer may abandon its attempt after a certain failure; the next claim wins."""
    store = scratch.store
    conn = await _connection(store)
    await store.claim_link(conn, LinkKind.VENDOR, "ven_1", "ref", "w1")
    assert not await store.abandon_link(conn, LinkKind.VENDOR, "ven_1", "w2")
    assert await store.abandon_link(conn, LinkKind.VENDOR, "ven_1", "w1")
    assert await store.get_link(conn, LinkKind.VENDOR, "ven_1") is None
    assert (await store.claim_link(conn, LinkKind.VENDOR, "ven_1", "ref", "w2")).won


async def test_confirmed_links_cannot_be_abandoned(scratch: ScratchDatabase) -> None:
    """Once Visma holds the object, the link stays."""
    store = scratch.store
    conn = await _connection(store)
    await store.claim_link(conn, LinkKind.VENDOR, "ven_1", "ref", "w1")
    await store.confirm_link(conn, LinkKind.VENDOR, "ven_1", "70012")
    assert not await store.abandon_link(conn, LinkKind.VENDOR, "ven_1", "w1")
    assert await store.get_link(conn, LinkKind.VENDOR, "ven_1") is not None


async def test_update_link_data(scratch: ScratchDatabase) -> None:
    """Link data can be replaced; a missing link is a StoreError."""
    store = scratch.store
    conn = await _connection(store)
    await store.confirm_link(conn, LinkKind.BILL, "b1", "Invoice/1", {"etag": "1"})
    updated = await store.update_link_data(conn, LinkKind.BILL, "b1", {"etag": "2"})
    assert updated.data == {"etag": "2"}
    with pytest.raises(StoreError):
        await store.update_link_data(conn, LinkKind.BILL, "missing", {})


async def test_lock_is_exclusive_until_it_expires(scratch: ScratchDatabase) -> None:
    """A lock refuses others while its lease runs, re-grants its owner, and expires."""
    store = scratch.store
    assert await store.try_lock("vendor:ven_1", "w1", ttl_s=30, now=T0)
    assert not await store.try_lock("vendor:ven_1", "w2", ttl_s=30, now=T0 + timedelta(seconds=29))
    assert await store.lock_holder("vendor:ven_1", now=T0 + timedelta(seconds=29)) == "w1"
    # Its owner may extend it.
    assert await store.try_lock("vendor:ven_1", "w1", ttl_s=30, now=T0 + timedelta(seconds=20))
    assert not await store.try_lock("vendor:ven_1", "w2", ttl_s=30, now=T0 + timedelta(seconds=45))
    # After the extended lease ends, anyone may take it over.
    assert await store.try_lock("vendor:ven_1", "w2", ttl_s=30, now=T0 + timedelta(seconds=51))
    assert await store.lock_holder("vendor:ven_1", now=T0 + timedelta(seconds=51)) == "w2"


async def test_release_only_by_the_holder(scratch: ScratchDatabase) -> None:
    """A stale owner's release does nothing; the holder's release frees the lock."""
    store = scratch.store
    assert await store.try_lock("L", "w1", ttl_s=10, now=T0)
    assert await store.try_lock("L", "w2", ttl_s=10, now=T0 + timedelta(seconds=11))
    assert not await store.release_lock("L", "w1")
    assert await store.lock_holder("L", now=T0 + timedelta(seconds=12)) == "w2"
    assert await store.release_lock("L", "w2")
    assert await store.lock_holder("L", now=T0 + timedelta(seconds=12)) is None
    assert await store.try_lock("L", "w3", ttl_s=10, now=T0 + timedelta(seconds=12))


async def test_concurrent_lockers_one_winner(scratch: ScratchDatabase) -> None:
    """Ten workers on separate engines try one free lock at once: exactly one gets it."""
    stores = [scratch.store, scratch.open_store(), scratch.open_store()]
    results = await asyncio.gather(
        *(stores[n % 3].try_lock("chart-push", f"w{n}", ttl_s=60, now=T0) for n in range(10))
    )
    assert sum(results) == 1
    winner = f"w{results.index(True)}"
    assert await scratch.store.lock_holder("chart-push", now=T0) == winner
