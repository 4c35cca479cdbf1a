"""The typed connection overview: ``as_dict()`` is the JSON the admin API answers, key for key."""

from __future__ import annotations

from integration.ui.ui_kit import DemoSite
from ml_connector.app import connections
from ml_connector.app.principal import Actor

_KEYS = [
    "id",
    "name",
    "status",
    "health_message",
    "credentials",
    "ramp_base_url",
    "visma_base_url",
    "credentials_set",
    "settings",
    "counts",
    "oldest_pending_at",
    "oldest_pending_age_s",
    "last_success_at",
    "rate_limit",
]


async def test_demo_overview_is_the_api_answer(demo_site: DemoSite) -> None:
    """The synced demo connection's overview: credentials state, counts, rate limits, as JSON."""
    rt = demo_site.runtime
    actor = Actor.local_admin("tests")
    connection = await rt.store.get_connection(demo_site.name)
    overview = await connections.connection_overview(actor, rt, connection)
    shown = overview.as_dict()
    assert list(shown) == _KEYS
    assert shown["name"] == demo_site.name
    assert shown["credentials"] == overview.credentials == "ok"
    assert shown["counts"]["needs_attention"] == 6
    assert shown["counts"] == overview.counts
    assert shown["last_success_at"] is not None
    assert shown["rate_limit"] == {
        "source": overview.rate_limit.source,
        "systems": overview.rate_limit.systems,
        "last_429_at": overview.rate_limit.last_429_at,
    }
    assert list(shown["rate_limit"]) == ["source", "systems", "last_429_at"]
    [listed] = await connections.connection_overviews(actor, rt)
    assert listed.as_dict()["counts"] == shown["counts"]
    token = demo_site.tokens["viewer@x.test"]
    async with demo_site.client() as client:
        answer = await client.get(
            f"/api/v1/connections/{demo_site.name}", headers={"Authorization": f"Bearer {token}"}
        )
    body = answer.json()
    assert list(body) == _KEYS
    assert {k: v for k, v in body.items() if k != "oldest_pending_age_s"} == {
        k: v for k, v in shown.items() if k != "oldest_pending_age_s"
    }
