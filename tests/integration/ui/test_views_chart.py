"""The typed chart views: ``as_dict()`` is what the admin API answers for the demo company."""

from __future__ import annotations

from integration.ui.ui_kit import DemoSite
from ml_connector.app import chart
from ml_connector.app.principal import Actor

BASE = "/api/v1/connections/nordlys"


async def test_demo_chart_views_are_the_api_answers(demo_site: DemoSite) -> None:
    """Pending changes, the status and a push's outcome serialise to the API's JSON."""
    rt, actor = demo_site.runtime, Actor.local_admin("tests")
    connection = await rt.store.get_connection(demo_site.name)
    headers = demo_site.bearer("operator@x.test")
    pending = await chart.chart_pending(actor, rt, connection)
    async with demo_site.client() as client:
        answered = await client.get(f"{BASE}/chart/pending", headers=headers)
    assert pending
    assert answered.json() == [change.as_dict() for change in pending]
    assert {"action", "kind", "visma_id"} <= set(pending[-1].as_dict())
    outcome = await chart.chart_push(actor, rt, connection)
    assert list(outcome.as_dict()) == ["ok", "applied", "adopted", "failures"]
    assert outcome.ok is True
    assert sum(outcome.applied.values()) > 0
    view = await chart.chart_view(actor, rt, connection)
    async with demo_site.client() as client:
        status = await client.get(f"{BASE}/chart/status", headers=headers)
        again = await client.get(f"{BASE}/chart/pending", headers=headers)
    assert status.json() == view.as_dict()
    assert again.json() == [c.as_dict() for c in await chart.chart_pending(actor, rt, connection)]
