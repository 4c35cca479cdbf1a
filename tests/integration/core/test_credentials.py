"""Tokens that expire or are revoked mid-run, and credentials that stop working altogether.

An expired or revoked token costs one refresh (single-flight, however many calls were waiting)
and the run completes. Credentials the vendor rejects pause the connection: the remaining
records wait, nobody asks for a token in a loop, and the message never shows the secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integration.core.company import READY_BILLS
from integration.core.world import (
    INVOICE_PATH,
    VISMA_ID,
    VISMA_SECRET,
    SandboxClock,
    World,
    open_world,
)
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.errors import ConfigurationError
from ml_connector.store import ConnectionStatus, SyncStatus
from support.store_fixtures import backend, world_store

# Every test here runs on SQLite and on PostgreSQL (the world_store fixture).
__all__ = ["backend", "world_store"]


async def test_tokens_expire_and_are_revoked_mid_run(
    tmp_path: Path, world_store: dict[str, Any]
) -> None:
    """Visma's token expires and Ramp's is revoked mid-pass: one refresh each, all synced."""
    clock = SandboxClock()
    async with open_world(tmp_path, visma_clock=clock, **world_store) as world:
        # After the third invoice, Visma's clock jumps past the token's one-hour lifetime.
        world.visma_hooks.after("POST", INVOICE_PATH, 3, lambda: clock.advance(2 * 3600))
        world.ramp_hooks.after("GET", "/developer/v1/bills", 1, world.ramp.revoke_tokens)
        await world.sync()

        assert clock.offset == 2 * 3600  # the expiry really happened mid-run
        rejected = [e for e in world.visma.journal.entries() if e.status == 401]
        assert rejected, "no call saw the expired token"
        assert len(world.token_requests("visma")) == 2
        assert [e for e in world.ramp.journal.entries() if e.status == 401]
        assert len(world.token_requests("ramp")) == 2
        records = await world.records()
        assert {records[b].status for b in READY_BILLS} == {SyncStatus.SUCCEEDED}
        await world.check_exactly_once()
        world.check_synced_in_ramp(READY_BILLS)


async def test_rejected_credentials_pause_the_connection(world: World) -> None:
    """A secret rotated in Visma mid-run pauses the connection; no token storm, no twins."""
    concurrency = 4

    def rotate() -> None:
        world.visma.tokens.add_client(VISMA_ID, "rotated-by-the-customer")
        world.visma.revoke_tokens()

    world.visma_hooks.after("POST", INVOICE_PATH, 2, rotate)
    summary = await world.sync(concurrency=concurrency)

    connection = await world.runtime.store.get_connection(world.name)
    assert connection.status is ConnectionStatus.PAUSED
    assert "invalid_client" in connection.health_message
    assert VISMA_SECRET not in connection.health_message
    # One initial token, then at most one failed fetch per call that was in flight.
    assert len(world.token_requests("visma")) <= 1 + concurrency
    records = await world.records()
    waiting = [records[b] for b in READY_BILLS if records[b].status is not SyncStatus.SUCCEEDED]
    assert waiting, "the rotation came too late to matter"
    assert {r.status for r in waiting} == {SyncStatus.RETRY_WAIT}
    assert {r.error_code for r in waiting} == {"credentials"}
    assert all(VISMA_SECRET not in (r.last_error or "") for r in waiting)
    assert summary.retrying == len(waiting)
    await world.check_exactly_once(allow_retrying=True)

    tokens_before = len(world.token_requests("visma"))
    with pytest.raises(ConfigurationError, match="paused"):
        await world.sync()
    assert len(world.token_requests("visma")) == tokens_before  # a paused pass asks nothing


async def test_resumed_connection_finishes_the_deferred_bills(world: World) -> None:
    """After the credentials work again and the operator resumes, the deferred bills sync."""
    world.visma_hooks.after(
        "POST", INVOICE_PATH, 1, lambda: world.visma.tokens.add_client(VISMA_ID, "rotated")
    )
    world.visma_hooks.after("POST", INVOICE_PATH, 1, world.visma.revoke_tokens)
    await world.sync(concurrency=2)
    connection = await world.runtime.store.get_connection(world.name)
    assert connection.status is ConnectionStatus.PAUSED

    deferred = [
        r.object_id for r in (await world.records()).values() if r.error_code == "credentials"
    ]
    assert deferred

    world.visma.tokens.add_client(VISMA_ID, VISMA_SECRET)  # the customer fixed it
    await admin.resume_connection(
        Actor.local_admin("tests"), world.runtime, world.name
    )  # makes the deferred records due
    summary = await world.sync()

    assert summary.retrying == 0
    records = await world.records()
    assert {records[b].status for b in deferred} == {SyncStatus.SUCCEEDED}

    await world.check_exactly_once()
    world.check_synced_in_ramp(READY_BILLS)


async def test_short_lived_token_is_reused(tmp_path: Path, world_store: dict[str, Any]) -> None:
    """A 50-second Visma token (shorter than the default leeway) serves the whole short pass."""
    async with open_world(tmp_path, visma_token_ttl_s=50, token_leeway_s=5, **world_store) as world:
        await world.sync()

        await world.check_exactly_once()
        assert len(world.token_requests("visma")) == 1
