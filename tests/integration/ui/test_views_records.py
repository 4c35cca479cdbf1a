"""The typed record views: ``as_dict()`` is the JSON the admin API answers, key for key."""

from __future__ import annotations

from integration.ui.ui_kit import DemoSite, Site
from ml_connector.app import records
from ml_connector.app.principal import Actor
from ml_connector.store import EventSource, SyncStatus

_ROW_KEYS = [
    "id",
    "object_type",
    "ramp_id",
    "status",
    "attempts",
    "visma_ref",
    "error",
    "hint",
    "error_code",
    "next_at",
    "updated_at",
]
_SUMMARY_KEYS = [*_ROW_KEYS, "created_at", "invoice_number", "supplier"]
_DETAIL_KEYS = [
    *_SUMMARY_KEYS,
    "connection",
    "ramp_url",
    "visma_url",
    "problem",
    "last_payload",
    "attempt_history",
    "timeline",
    "ramp_write_back",
]
_ADMIN = Actor.local_admin("tests")


async def test_synced_bill_detail_is_the_api_answer(demo_site: DemoSite) -> None:
    """A synced demo bill's detail: typed parts, the API's keys in order, Ramp told."""
    rt = demo_site.runtime
    connection = await rt.store.get_connection(demo_site.name)
    [stored] = await rt.store.list_records(connection.id, status=SyncStatus.SUCCEEDED, limit=1)
    detail = await records.record_detail(_ADMIN, rt, connection, stored.id)
    shown = detail.as_dict()
    assert list(shown) == _DETAIL_KEYS
    assert shown["ramp_id"] == stored.object_id == detail.summary.ramp_id
    assert shown["status"] == "succeeded"
    assert shown["visma_ref"] == stored.visma_ref
    assert shown["updated_at"] == stored.updated_at.isoformat()
    assert shown["problem"] is None
    assert [a["n"] for a in shown["attempt_history"]] == [a.n for a in detail.attempt_history]
    assert [e["kind"] for e in shown["timeline"]] == [e.kind for e in detail.timeline]
    assert shown["ramp_write_back"]["status"] == detail.ramp_write_back.status == "told"
    assert list(shown["ramp_write_back"])[:2] == ["status", "sync_type"]
    token = demo_site.tokens["viewer@x.test"]
    async with demo_site.client() as client:
        answer = await client.get(
            f"/api/v1/connections/{demo_site.name}/records/{stored.id}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.json() == shown


async def test_stopped_record_summary_and_problem(site: Site) -> None:
    """A stopped record lists with the summary keys and its detail explains the problem."""
    rt = site.runtime
    acme = await rt.store.get_connection("acme")
    found = await records.search_records(
        _ADMIN, rt, acme, records.RecordFilter(state=SyncStatus.NEEDS_ATTENTION)
    )
    assert [list(r.as_dict()) for r in found] == [_SUMMARY_KEYS, _SUMMARY_KEYS]
    detail = await records.record_detail(_ADMIN, rt, acme, found[0].id)
    assert detail.problem is not None
    assert detail.as_dict()["problem"] == detail.problem.as_dict()
    assert detail.as_dict()["error_code"] == "period_closed"
    rows = await records.list_records(_ADMIN, rt, "acme", status=None, limit=10)
    assert [list(r.as_dict()) for r in rows] == [_ROW_KEYS] * 3
    await rt.store.insert_event(
        acme.id, EventSource.RAMP, "evt-1", "bills.updated", "acme-bill-0", {"id": "evt-1"}
    )
    [event] = await records.events(_ADMIN, rt, acme)
    assert event.as_dict() == {
        "id": event.id,
        "source": "ramp",
        "event_id": "evt-1",
        "type": "bills.updated",
        "object_id": "acme-bill-0",
        "status": "received",
        "received_at": event.received_at,
    }
