"""Fairness: one connection's backlog never delays another connection's new record.

The worker claims in rounds of weighted round robin (``runtime.fairness``): each connection
claims at most ``concurrency * weight`` due records per round, all in one transaction
(``Store.claim_fair``). These tests drive those rounds against the store on SQLite and
PostgreSQL and check which records each round leased.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from typer.testing import CliRunner

from ml_connector.cli import app
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.fairness import (
    WEIGHT_SETTING,
    WeightedRoundRobin,
    weight_from_settings,
)
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store import ConnectionStatus, Store, SyncRecord, SyncStatus
from ml_connector.store.testing import ScratchDatabase

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BACKLOG = 400
QUANTUM = 8


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _connection(store: Store, name: str) -> int:
    connection = await store.create_connection(
        name,
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=b"x",
    )
    return connection.id


async def _round(
    store: Store, rotation: WeightedRoundRobin, connections: list[int], now: datetime
) -> list[SyncRecord]:
    """One worker round: quotas from the rotation, claimed in one transaction."""
    return await store.claim_fair("w1", rotation.quotas(connections), lease_s=300, now=now)


async def test_new_small_records_are_claimed_in_the_next_round(scratch: ScratchDatabase) -> None:
    """Small connections' records, queued after a 400-record backlog, all go in round one, early."""
    store = scratch.store
    big = await _connection(store, "big")
    small = [await _connection(store, f"small-{n}") for n in range(5)]
    for n in range(BACKLOG):
        await store.upsert_record(big, "bill", f"big-{n:04d}", reason="backfill", now=T0)
    for n, cid in enumerate(small):
        await store.upsert_record(cid, "bill", f"small-{n}", reason="webhook", now=at(1))
    rotation = WeightedRoundRobin(QUANTUM)

    claimed = await _round(store, rotation, [big, *small], at(2))

    by_connection = Counter(r.connection_id for r in claimed)
    assert by_connection == {big: QUANTUM, **dict.fromkeys(small, 1)}
    # Interleaved: every connection's first record comes before the backlog's second.
    assert [r.connection_id for r in claimed[:6]] == [big, *small]
    assert {r.object_id for r in claimed if r.connection_id == big} == {
        f"big-{n:04d}" for n in range(QUANTUM)
    }
    assert all(r.status is SyncStatus.IN_FLIGHT and r.lease_owner == "w1" for r in claimed)
    pending = await store.count_by_status(big)
    assert pending[SyncStatus.PENDING] == BACKLOG - QUANTUM


async def test_records_arriving_mid_backlog_wait_one_round(scratch: ScratchDatabase) -> None:
    """Round after round, a record queued between rounds is claimed by the very next round."""
    store = scratch.store
    big = await _connection(store, "big")
    small = await _connection(store, "small")
    for n in range(BACKLOG):
        await store.upsert_record(big, "bill", f"big-{n:04d}", reason="backfill", now=T0)
    rotation = WeightedRoundRobin(QUANTUM)
    for turn in range(10):
        await store.upsert_record(small, "bill", f"new-{turn}", reason="webhook", now=at(turn))
        claimed = await _round(store, rotation, [big, small], at(turn + 0.5))
        assert [r.object_id for r in claimed if r.connection_id == small] == [f"new-{turn}"]
        assert sum(r.connection_id == big for r in claimed) == QUANTUM
        for record in claimed:
            await store.complete(record.id, "w1", visma_ref=None, now=at(turn + 0.7))
    counts = await store.count_by_status(big)
    assert (counts[SyncStatus.SUCCEEDED], counts[SyncStatus.PENDING]) == (80, BACKLOG - 80)


async def test_weights_share_a_round_in_proportion(scratch: ScratchDatabase) -> None:
    """Two backlogged connections, weights 3 and 1: a round claims 24 and 8 records."""
    store = scratch.store
    heavy = await _connection(store, "heavy")
    light = await _connection(store, "light")
    for n in range(100):
        await store.upsert_record(heavy, "bill", f"h-{n:03d}", reason="backfill", now=T0)
        await store.upsert_record(light, "bill", f"l-{n:03d}", reason="backfill", now=T0)
    rotation = WeightedRoundRobin(QUANTUM, {heavy: 3})

    claimed = await _round(store, rotation, [heavy, light], at(1))

    assert Counter(r.connection_id for r in claimed) == {heavy: 3 * QUANTUM, light: QUANTUM}


async def test_two_claimers_share_a_backlog_without_overlap(scratch: ScratchDatabase) -> None:
    """Two stores claiming rounds in turn never lease one record twice, and skip nothing."""
    first = scratch.store
    second = scratch.open_store()
    big = await _connection(first, "big")
    small = await _connection(first, "small")
    for n in range(60):
        await first.upsert_record(big, "bill", f"big-{n:02d}", reason="backfill", now=T0)
    await first.upsert_record(small, "bill", "only", reason="webhook", now=T0)
    rotation = WeightedRoundRobin(QUANTUM)
    seen: list[str] = []
    for turn in range(8):
        store = first if turn % 2 == 0 else second
        seen += [r.object_id for r in await _round(store, rotation, [big, small], at(turn))]
    assert len(seen) == len(set(seen)) == 61
    assert seen.index("only") < QUANTUM + 1


async def test_paused_connection_gets_nothing(scratch: ScratchDatabase) -> None:
    """A paused connection's records wait, even when the round offers it a quota."""
    store = scratch.store
    active = await _connection(store, "active")
    paused = await _connection(store, "paused")
    await store.upsert_record(active, "bill", "a", reason="webhook", now=T0)
    await store.upsert_record(paused, "bill", "p", reason="webhook", now=T0)
    await store.set_connection_status(paused, ConnectionStatus.PAUSED, "credentials rejected")
    claimed = await _round(store, WeightedRoundRobin(QUANTUM), [active, paused], at(1))
    assert [r.object_id for r in claimed] == ["a"]


def test_weight_setting_is_checked() -> None:
    """claim_weight defaults to 1, accepts 1..100 (also as text), refuses anything else."""
    assert weight_from_settings(ConnectionSettings.parse({})) == 1
    assert weight_from_settings(ConnectionSettings.parse({"claim_weight": 5})) == 5
    assert weight_from_settings(ConnectionSettings.parse({"claim_weight": "100"})) == 100
    for bad in (0, 101, "two", 1.5, True):
        with pytest.raises(ConfigurationError, match="claim_weight"):
            weight_from_settings(ConnectionSettings.parse({"claim_weight": bad}))


def test_quotas_follow_weights() -> None:
    """Each connection's quota is quantum times its weight; unknown connections weigh 1."""
    rotation = WeightedRoundRobin(4, {7: 3})
    assert rotation.quotas([7, 8, 9]) == {7: 12, 8: 4, 9: 4}


def test_connection_set_stores_the_claim_weight(tmp_path: Path) -> None:
    """``connection set --claim-weight 4`` stores 4; 0 and 101 are refused, nothing stored."""
    key = Fernet.generate_key().decode()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        master_key=SecretStr(key),
        master_key_file=tmp_path / "unused.key",
    )

    async def stored(add: bool) -> dict[str, Any]:
        runtime = await Runtime.open(settings)
        try:
            if add:
                await runtime.store.create_connection(
                    "acme",
                    ramp_base_url="https://ramp.example",
                    visma_base_url="https://visma.example",
                    visma_token_url="https://visma.example/token",
                    credentials_ciphertext=b"x",
                )
            return (await runtime.store.get_connection("acme")).settings.as_stored()
        finally:
            await runtime.close()

    asyncio.run(stored(add=True))
    env = {
        "ML_CONNECTOR_DATABASE_URL": settings.database_url,
        "ML_CONNECTOR_MASTER_KEY": key,
        "ML_CONNECTOR_LOG_JSON": "false",
    }

    def run(*args: str) -> int:
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False).exit_code

    assert run("connection", "set", "acme", "--claim-weight", "0") != 0
    assert run("connection", "set", "acme", "--claim-weight", "101") != 0
    assert WEIGHT_SETTING not in asyncio.run(stored(add=False))
    assert run("connection", "set", "acme", "--claim-weight", "4") == 0
    assert weight_from_settings(ConnectionSettings.parse(asyncio.run(stored(add=False)))) == 4
