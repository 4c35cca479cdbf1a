"""Replay (dry run and real) and the audit trail, on a synced small demo company."""

from __future__ import annotations

import json

from integration.runtime.conftest import World
from ml_connector.app import audit_trail, replay
from ml_connector.app.principal import Actor
from ml_connector.runtime.sync import sync_once
from ml_connector.store import SyncRecord, SyncStatus

ADMIN = Actor.local_admin("tester")


async def _closed_period_records(world: World) -> list[SyncRecord]:
    connection = await world.runtime.store.get_connection(world.name)
    attention = await world.runtime.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION
    )
    return [r for r in attention if r.error_code == "period_closed"]


async def test_closed_period_bills_need_attention_with_a_reason(world: World) -> None:
    """Bills dated in a closed period stop before any write, with a finance-readable reason."""
    summary = await sync_once(world.runtime, world.name)
    closed = await _closed_period_records(world)
    assert summary.needs_attention == 6
    assert len(closed) == 3
    assert all("is closed in the supplier ledger" in (r.last_error or "") for r in closed)
    assert all("Reopen the period" in (r.hint or "") for r in closed)


async def test_dry_run_shows_a_diff_and_changes_nothing(world: World) -> None:
    """A dry-run replay previews the payload and sends nothing to Visma."""
    await sync_once(world.runtime, world.name)
    connection = await world.runtime.store.get_connection(world.name)
    done = await world.runtime.store.list_records(connection.id, status=SyncStatus.SUCCEEDED)
    posts_before = len(world.setup.visma.journal.entries(method="POST"))
    items = await replay.replay(ADMIN, world.runtime, world.name, done[:2], dry_run=True)
    assert [i.status_after for i in items] == ["unchanged", "unchanged"]
    assert all(i.diff == "(no change)" for i in items)
    assert len(world.setup.visma.journal.entries(method="POST")) == posts_before


async def test_replay_after_the_cause_is_fixed_succeeds(world: World) -> None:
    """Reopening the period and replaying turns the needs-attention records into invoices."""
    await sync_once(world.runtime, world.name)
    closed = await _closed_period_records(world)
    preview = await replay.replay(ADMIN, world.runtime, world.name, closed, dry_run=True)
    assert all("closed" in item.error for item in preview)
    for period in world.dataset.periods:
        if period.closed_in_supplier_ledger:
            world.setup.visma.set_period_closed(period.period_id, False)
    items = await replay.replay(ADMIN, world.runtime, world.name, closed, dry_run=False)
    assert {i.status_after for i in items} == {"succeeded"}
    notes = [str(inv.get("note")) for inv in world.setup.visma.invoices()]
    assert all(sum(r.object_id in n for n in notes) == 1 for r in closed)


async def test_audit_export_and_tamper_detection(world: World) -> None:
    """The exported timeline verifies; altering one stored row is detected."""
    await sync_once(world.runtime, world.name)
    rows = await audit_trail.audit_rows(ADMIN, world.runtime, world.name)
    exported = audit_trail.export_audit(rows, "jsonl").splitlines()
    kinds = {json.loads(line)["kind"] for line in exported}
    assert {"api_call", "mapped_payload", "result"} <= kinds
    assert audit_trail.export_audit(rows, "csv").startswith("seq,at,record_id,kind,data")
    connection = await world.runtime.store.get_connection(world.name)
    assert await world.runtime.store.verify_audit(connection.id) == []
    engine = world.runtime.store._db.engine  # raw access, as an attacker with the file would have
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE audit_entries SET data = '{\"forged\": true}' WHERE seq = 5"
        )
    problems = await world.runtime.store.verify_audit(connection.id)
    assert problems
    assert any("5" in str(p) for p in problems)


async def test_audit_rows_are_the_exported_lines(world: World) -> None:
    """Each exported JSON line is one AuditRow's as_dict(), oldest first."""
    await sync_once(world.runtime, world.name)
    rows = await audit_trail.audit_rows(ADMIN, world.runtime, world.name)
    exported = [json.loads(line) for line in audit_trail.export_audit(rows, "jsonl").splitlines()]
    assert exported == [json.loads(json.dumps(row.as_dict(), default=str)) for row in rows]
    assert [row.seq for row in rows] == sorted(row.seq for row in rows)
