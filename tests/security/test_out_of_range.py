"""Issue 14 item 10: out-of-range paging, filters and ids get 400 with a message, never 500."""

from __future__ import annotations

from typing import Any

from security.security_kit import SecureSite

HUGE = "9" * 30
PAST_MAX_ID = str(2**63)
RECORDS = "/api/v1/connections/acme/records"

API_QUERIES = [
    {"limit": "0"},
    {"limit": "1001"},
    {"limit": "-1"},
    {"limit": "ten"},
    {"limit": HUGE},
    {"limit": "1e3"},
    {"offset": "-1"},
    {"offset": "1000001"},
    {"offset": HUGE},
    {"since": "0001-01-01"},
    {"since": "9999-12-31"},
    {"until": "9999-12-31"},
    {"since": "10000-01-01"},
    {"since": "2026-13-45"},
    {"since": "2026-01-01T00:00:00+25:00"},
    {"since": "2026-02-01", "until": "2026-01-01"},
    {"state": "nonsense"},
    {"type": "bill\x00"},
    {"type": "invoice"},
    {"q": "x" * 201},
    {"vendor": "v\x00"},
]
UI_QUERIES = [
    {"page": "0"},
    {"page": "-3"},
    {"page": "two"},
    {"page": HUGE},
    {"page": "20001"},
    {"until": "9999-12-31"},
    {"since": "1899-12-31"},
    {"state": "nonsense"},
    {"type": "vendor"},
]


async def _state(site: SecureSite) -> dict[str, Any]:
    acme = await site.store.get_connection("acme")
    return {
        "records": [(r.id, r.status, r.attempts) for r in await site.store.list_records(acme.id)],
        "audit": len(await site.store.list_audit(acme.id)),
        "users": [(u.id, u.role, u.disabled) for u in await site.store.list_users()],
    }


async def test_api_filters_out_of_range_are_400(site: SecureSite) -> None:
    """Each out-of-range record filter a viewer sends is answered 400 with a message."""
    async with site.client() as client:
        for query in API_QUERIES:
            response = await client.get(RECORDS, params=query, headers=site.bearer("viewer@x.test"))
            assert response.status_code == 400, (query, response.text)
            assert response.json()["error"], query


async def test_api_ids_and_limits_out_of_range_are_400(site: SecureSite) -> None:
    """Ids past what a row can hold, in paths and bodies, and event limits: 400, nothing done."""
    before = await _state(site)
    admin = site.bearer("admin@x.test")
    async with site.client() as client:
        answers = [
            await client.get(f"{RECORDS}/{PAST_MAX_ID}", headers=admin),
            await client.get(f"{RECORDS}/{HUGE}", headers=admin),
            await client.get("/api/v1/connections/acme/events?limit=0", headers=admin),
            await client.get("/api/v1/connections/acme/events?limit=5000", headers=admin),
            await client.patch(f"/api/v1/users/{HUGE}", json={"disabled": True}, headers=admin),
        ]
        for action in ("retry", "replay", "exclude"):
            for ids in ([2**63], [-1], list(range(1, 10_002))):
                body = {"record_ids": ids, "reason": "x", "dry_run": False}
                answers.append(
                    await client.post(
                        f"/api/v1/connections/acme/{action}", json=body, headers=admin
                    )
                )
    assert [r.status_code for r in answers] == [400] * len(answers), [r.text for r in answers]
    assert all(r.json()["error"] for r in answers)
    assert await _state(site) == before


async def test_dashboard_filters_out_of_range_are_400(site: SecureSite) -> None:
    """The records page answers each out-of-range page or filter with a 400 page saying why."""
    cookie, _ = await site.session("viewer@x.test")
    async with site.client(cookie=f"mlc_session={cookie}") as client:
        for query in UI_QUERIES:
            response = await client.get("/ui/c/acme/records", params=query)
            assert response.status_code == 400, (query, response.text[:300])
            assert any(w in response.text for w in ("must", "out of range", " not ")), query


async def test_dashboard_ids_out_of_range_are_400(site: SecureSite) -> None:
    """A record page or an action naming an impossible record id is 400, and changes nothing."""
    before = await _state(site)
    cookie, csrf = await site.session("operator@x.test")
    async with site.client(cookie=f"mlc_session={cookie}") as client:
        page = await client.get(f"/ui/c/acme/records/{PAST_MAX_ID}")
        actions = [
            await client.post(
                "/ui/c/acme/exceptions",
                data={"action": action, "record_id": HUGE, "reason": "x", "csrf": csrf},
            )
            for action in ("retry", "preview", "replay", "exclude")
        ]
    assert page.status_code == 400
    assert [r.status_code for r in actions] == [400] * 4
    assert "record id" in actions[0].text
    assert await _state(site) == before
