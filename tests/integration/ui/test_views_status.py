"""The typed status report: ``as_dict()`` is the JSON ``status --json`` prints, key for key."""

from __future__ import annotations

from datetime import UTC, datetime

from integration.ui.ui_kit import DemoSite
from ml_connector.app.principal import Actor
from ml_connector.app.status import connection_status
from ml_connector.store import SyncStatus

_KEYS = [
    "connection",
    "connection_status",
    "health_message",
    "counts",
    "by_type",
    "oldest_pending",
    "oldest_pending_record",
    "last_error",
    "last_error_record",
    "bills_synced",
    "vendor_calls",
    "calls_per_bill",
    "alerts_firing",
]


async def test_demo_status_report(demo_site: DemoSite) -> None:
    """The synced demo's report: counts per state and type, the newest error, calls per bill."""
    rt = demo_site.runtime
    report = await connection_status(
        Actor.local_admin("tests"), rt, demo_site.name, now=datetime.now(UTC)
    )
    shown = report.as_dict()
    assert list(shown) == _KEYS
    assert shown["connection"] == demo_site.name
    assert shown["counts"]["needs_attention"] == 6
    assert list(shown["by_type"])[:3] == ["bill", "purchase_order", "payment"]
    assert shown["by_type"]["bill"]["needs_attention"] == 6
    newest = report.last_error_record
    assert newest is not None
    [stored] = await rt.store.list_records(
        (await rt.store.get_connection(demo_site.name)).id,
        status=SyncStatus.NEEDS_ATTENTION,
        limit=1,
    )
    assert shown["last_error_record"] == {
        "id": stored.id,
        "object_type": "bill",
        "object_id": stored.object_id,
        "code": stored.error_code,
        "hint": stored.hint,
        "at": stored.updated_at.isoformat(),
    }
    assert shown["last_error"] == stored.last_error
    assert shown["bills_synced"] == report.bills_synced > 0
    assert set(shown["calls_per_bill"]) == set(report.calls_per_bill)
    assert shown["alerts_firing"] == [a.as_dict() for a in report.alerts_firing]
