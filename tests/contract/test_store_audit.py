"""Store contract, the audit trail: hash chain, redaction and tamper detection, on both backends."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ml_connector.audit import REDACTED
from ml_connector.store import Store
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


async def _chain(store: Store, conn: int, length: int) -> None:
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    for n in range(length):
        await store.append_audit(
            conn, record.id if n % 2 else None, "api_call", {"n": n}, at=T0 + timedelta(seconds=n)
        )


async def test_chain_links_and_verifies(scratch: ScratchDatabase) -> None:
    """Entries are numbered from 1, each links to the one before, and the chain verifies."""
    store = scratch.store
    conn = await _connection(store)
    record = await store.upsert_record(conn, "bill", "b1", reason="webhook", now=T0)
    first = await store.append_audit(conn, None, "event_received", {"event": "bills.approved"}, T0)
    second = await store.append_audit(
        conn, record.id, "api_call", {"method": "POST", "status": 201}, T0 + timedelta(seconds=1)
    )
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert second.data == {"method": "POST", "status": 201}
    assert second.at == T0 + timedelta(seconds=1)
    assert await store.list_audit(conn) == [first, second]
    assert await store.list_audit(conn, record.id) == [second]
    assert await store.list_audit(conn, after_seq=1) == [second]
    assert await store.verify_audit(conn) == []


async def test_chains_are_per_connection(scratch: ScratchDatabase) -> None:
    """Each connection has its own numbering and its own chain."""
    store = scratch.store
    acme, globex = await _connection(store, "acme"), await _connection(store, "globex")
    await store.append_audit(acme, None, "k", {}, T0)
    other = await store.append_audit(globex, None, "k", {}, T0)
    assert (other.seq, other.prev_hash) == (1, "0" * 64)
    assert await store.verify_audit(acme) == await store.verify_audit(globex) == []
    assert await store.verify_audit(await _connection(store, "empty")) == []


async def test_secret_keys_are_redacted(scratch: ScratchDatabase) -> None:
    """Secret-named keys are replaced at any depth before the entry is written; money keeps its
    digits."""
    store = scratch.store
    conn = await _connection(store)
    entry = await store.append_audit(
        conn,
        None,
        "api_call",
        {
            "request": {
                "headers": {"Authorization": "Bearer abc", "Content-Type": "application/json"},
                "body": {"client_id": "id-1", "client_secret": "s3cr3t", "grant_type": "cc"},
            },
            "response": [{"access_token": "tok", "expires_in": 3600}],
            "visma_client_secret": "s3cr3t",
            "amount": Decimal("10.10"),
        },
        T0,
    )
    stored = (await store.list_audit(conn))[0]
    assert stored == entry
    assert stored.data["request"]["headers"] == {
        "Authorization": REDACTED,
        "Content-Type": "application/json",
    }
    assert stored.data["request"]["body"]["client_secret"] == REDACTED
    assert stored.data["request"]["body"]["client_id"] == "id-1"
    assert stored.data["response"] == [{"access_token": REDACTED, "expires_in": 3600}]
    assert stored.data["visma_client_secret"] == REDACTED
    assert stored.data["amount"] == "10.10"
    assert "s3cr3t" not in json.dumps(stored.data)


async def test_altered_entry_is_detected(scratch: ScratchDatabase) -> None:
    """Changing a stored entry's data with raw SQL breaks the chain at that entry."""
    store = scratch.store
    conn = await _connection(store)
    await _chain(store, conn, 5)
    changed = await scratch.execute(
        "UPDATE audit_entries SET data = :data WHERE connection_id = :c AND seq = 3",
        {"data": '{"n":999}', "c": conn},
    )
    assert changed == 1
    problems = await store.verify_audit(conn)
    assert [p.seq for p in problems] == [3]
    assert "altered" in str(problems[0])


async def test_altered_time_or_kind_is_detected(scratch: ScratchDatabase) -> None:
    """The hash covers every field, not just the data."""
    store = scratch.store
    conn = await _connection(store)
    await _chain(store, conn, 3)
    await scratch.execute("UPDATE audit_entries SET kind = 'other' WHERE seq = 1")
    await scratch.execute("UPDATE audit_entries SET record_id = NULL WHERE seq = 2")
    assert [p.seq for p in await store.verify_audit(conn)] == [1, 2]


async def test_deleted_entry_is_detected(scratch: ScratchDatabase) -> None:
    """Deleting an entry in the middle leaves a gap and a broken link."""
    store = scratch.store
    conn = await _connection(store)
    await _chain(store, conn, 5)
    await scratch.execute(
        "DELETE FROM audit_entries WHERE connection_id = :c AND seq = 2", {"c": conn}
    )
    problems = await store.verify_audit(conn)
    assert {p.seq for p in problems} == {3}
    assert any("missing" in p.message for p in problems)


async def test_deleted_newest_entries_are_detected(scratch: ScratchDatabase) -> None:
    """Removing the newest entries is caught by the chain head."""
    store = scratch.store
    conn = await _connection(store)
    await _chain(store, conn, 5)
    await scratch.execute(
        "DELETE FROM audit_entries WHERE connection_id = :c AND seq >= 4", {"c": conn}
    )
    problems = await store.verify_audit(conn)
    assert [p.seq for p in problems] == [None]
    assert "removed" in str(problems[0])


async def test_concurrent_appends_never_fork_the_chain(scratch: ScratchDatabase) -> None:
    """Thirty appends from three engines at once yield one gapless, valid chain."""
    conn = await _connection(scratch.store)
    stores = [scratch.store, scratch.open_store(), scratch.open_store()]
    await asyncio.gather(
        *(stores[n % 3].append_audit(conn, None, "k", {"n": n}, T0) for n in range(30))
    )
    entries = await scratch.store.list_audit(conn)
    assert [entry.seq for entry in entries] == list(range(1, 31))
    assert sorted(entry.data["n"] for entry in entries) == list(range(30))
    assert await scratch.store.verify_audit(conn) == []
