"""Store contract, the calls one bill's unit of work makes: batched link reads, a claim that
carries its data, and a timeline append that reads nothing back; on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from ml_connector.store import LinkKind, LinkState, Store
from ml_connector.store.audit import canonical_json, entry_hash
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


async def test_get_links_reads_named_links_and_whole_kinds(scratch: ScratchDatabase) -> None:
    """One call returns the named links that exist plus every link of the kinds asked for."""
    store = scratch.store
    conn = await _connection(store)
    other = await _connection(store, "other")
    await store.confirm_link(conn, LinkKind.VENDOR, "ven_1", "70012")
    await store.claim_link(conn, LinkKind.BILL, "bill_1", "ramp-bill:bill_1", "w1")
    await store.confirm_link(conn, LinkKind.PURCHASE_ORDER, "po_1", "PO1", {"vendor_id": "ven_1"})
    await store.confirm_link(conn, LinkKind.PURCHASE_ORDER, "po_2", "PO2", {"vendor_id": "ven_2"})
    await store.confirm_link(other, LinkKind.PURCHASE_ORDER, "po_9", "PO9")
    await store.confirm_link(other, LinkKind.VENDOR, "ven_1", "99999")

    found = await store.get_links(
        conn,
        [(LinkKind.BILL, "bill_1"), (LinkKind.VENDOR, "ven_1"), (LinkKind.BILL, "missing")],
        all_of=[LinkKind.PURCHASE_ORDER],
    )

    assert set(found) == {
        (LinkKind.BILL, "bill_1"),
        (LinkKind.VENDOR, "ven_1"),
        (LinkKind.PURCHASE_ORDER, "po_1"),
        (LinkKind.PURCHASE_ORDER, "po_2"),
    }
    assert found[(LinkKind.VENDOR, "ven_1")].visma_id == "70012"
    assert found[(LinkKind.BILL, "bill_1")].state is LinkState.ATTEMPTED
    assert found[(LinkKind.PURCHASE_ORDER, "po_1")].data == {"vendor_id": "ven_1"}
    assert await store.get_links(conn, []) == {}


async def test_claim_carries_its_data_and_only_the_winner_writes_it(
    scratch: ScratchDatabase,
) -> None:
    """A claim stores its data with the attempted row; a losing claim leaves the row alone."""
    store = scratch.store
    conn = await _connection(store)
    first = await store.claim_link(
        conn, LinkKind.BILL, "b1", "ramp-bill:b1", "w1", data={"posted_hash": "aa"}, now=T0
    )
    second = await store.claim_link(
        conn, LinkKind.BILL, "b1", "ramp-bill:b1", "w2", data={"posted_hash": "bb"}, now=T0
    )
    assert (first.won, second.won) == (True, False)
    stored = await store.get_link(conn, LinkKind.BILL, "b1")
    assert stored is not None
    assert (stored.owner, stored.data) == ("w1", {"posted_hash": "aa"})
    assert stored.created_at == T0
    assert second.link == stored


async def test_concurrent_claims_with_data_have_one_winner(scratch: ScratchDatabase) -> None:
    """However many claims race, one wins, and the row holds the winner's data."""
    store = scratch.store
    conn = await _connection(store)
    claims = await asyncio.gather(
        *(
            store.claim_link(conn, LinkKind.BILL, "b1", "ref", f"w{n}", data={"n": n})
            for n in range(8)
        )
    )
    winners = [c for c in claims if c.won]
    assert len(winners) == 1
    stored = await store.get_link(conn, LinkKind.BILL, "b1")
    assert stored is not None
    assert stored.data == winners[0].link.data
    assert stored.owner == winners[0].link.owner


async def test_confirm_and_update_return_the_stored_row(scratch: ScratchDatabase) -> None:
    """Confirm and data updates answer with the row as stored, and the row says the same."""
    store = scratch.store
    conn = await _connection(store)
    await store.claim_link(conn, LinkKind.BILL, "b1", "ramp-bill:b1", "w1", data={"x": 1})
    confirmed = await store.confirm_link(
        conn, LinkKind.BILL, "b1", "Invoice/1", {"payload_hash": "h"}
    )
    assert (confirmed.state, confirmed.visma_id) == (LinkState.CONFIRMED, "Invoice/1")
    assert confirmed.external_ref == "ramp-bill:b1"
    updated = await store.update_link_data(
        conn, LinkKind.BILL, "b1", {"payload_hash": "h", "attached": ["k"]}
    )
    assert updated.data == {"payload_hash": "h", "attached": ["k"]}
    assert await store.get_link(conn, LinkKind.BILL, "b1") == updated
    kept = await store.confirm_link(conn, LinkKind.BILL, "b1", "Invoice/1")
    assert kept.data == {"payload_hash": "h", "attached": ["k"]}


async def test_record_audit_extends_the_chain_that_verifies(scratch: ScratchDatabase) -> None:
    """Timeline appends (no ids read back) and returning appends share one verifiable chain."""
    store = scratch.store
    conn = await _connection(store)
    data = {"amount": Decimal("12.50"), "text": "Ærlig søknad", "nested": {"list": [1, None]}}
    assert await store.record_audit(conn, [(None, "decision", data, T0)] * 3) == 3
    [entry] = await store.append_audit_many(conn, [(None, "result", {"ok": True}, T0)])
    assert await store.record_audit(conn, []) == 0
    await asyncio.gather(
        *(store.record_audit(conn, [(None, "api_call", {"n": n}, None)]) for n in range(5))
    )

    entries = await store.list_audit(conn)
    assert [e.seq for e in entries] == list(range(1, 10))
    assert entry.seq == 4
    assert entries[0].data == {
        "amount": "12.50",
        "text": "Ærlig søknad",
        "nested": {"list": [1, None]},
    }
    assert await store.verify_audit(conn) == []
    first = entries[0]
    assert first.hash == entry_hash(
        first.prev_hash,
        connection_id=conn,
        seq=1,
        record_id=None,
        kind="decision",
        data_json=canonical_json(first.data),
        at=first.at,
    )
