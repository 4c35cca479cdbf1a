"""The typed queue views: retry and exclude return RecordSummary models whose ``as_dict()``
is what the admin API answers."""

from __future__ import annotations

from integration.ui.ui_kit import Site
from ml_connector.app import queue
from ml_connector.app.principal import Actor
from ml_connector.app.records import record_summary

BASE = "/api/v1/connections/acme"


def _operator(site: Site) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens['operator@x.test']}"}


async def test_queue_actions_return_the_api_summaries(site: Site) -> None:
    """Retry over the API answers the summaries the models give; exclude returns the same."""
    rt, actor = site.runtime, Actor.local_admin("tests")
    first, second = site.record_ids["acme"][:2]
    connection = await rt.store.get_connection("acme")
    async with site.client() as client:
        answered = await client.post(
            f"{BASE}/retry", json={"record_ids": [first]}, headers=_operator(site)
        )
    assert answered.status_code == 200, answered.text
    after = await rt.store.get_record(first)
    assert answered.json() == [record_summary(rt, after).as_dict()]
    excluded = await queue.exclude(actor, rt, connection, [second], "entered by hand")
    assert [s.id for s in excluded] == [second]
    assert excluded[0].status == "excluded"
    stored = record_summary(rt, await rt.store.get_record(second))
    assert [s.as_dict() for s in excluded] == [stored.as_dict()]
