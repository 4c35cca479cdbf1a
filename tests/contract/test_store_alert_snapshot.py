"""The alert pass's snapshot on both backends: records needing attention are grouped per
connection and error code, with the records of that code still being retried beside them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ml_connector.store import Store
from ml_connector.store.alerts import AlertPlan, AlertSnapshot
from ml_connector.store.testing import ScratchDatabase

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _connection(store: Store) -> int:
    connection = await store.create_connection(
        "acme",
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=b"x",
    )
    return connection.id


async def _settle(store: Store, conn: int, bill: str, *, attention: bool) -> int:
    record = await store.upsert_record(conn, "bill", bill, reason="webhook", now=T0)
    await store.claim_due("w", limit=1, lease_s=60, now=T0)
    if attention:
        await store.mark_needs_attention(
            record.id, "w", error="period closed", hint="open it", error_code="closed_period"
        )
    else:
        await store.schedule_retry(
            record.id,
            "w",
            next_at=T0 + timedelta(hours=1),
            error="period closed",
            error_code="closed_period",
        )
    return record.id


async def test_the_snapshot_groups_attention_and_retries_by_error_code(
    scratch: ScratchDatabase,
) -> None:
    """Two bills needing attention and one being retried with the same code: one group of
    two, the newest as its example, one outstanding (PostgreSQL once refused this query)."""
    store = scratch.store
    conn = await _connection(store)
    await _settle(store, conn, "b1", attention=True)
    await _settle(store, conn, "b2", attention=True)
    await _settle(store, conn, "b3", attention=False)
    seen: list[AlertSnapshot] = []

    def plan(snapshot: AlertSnapshot) -> AlertPlan:
        seen.append(snapshot)
        return AlertPlan()

    await store.run_alert_pass(plan, now=T0)
    group = seen[0].attention[(conn, "closed_period")]
    assert (group.count, group.object_id, group.outstanding) == (2, "b2", 1)
