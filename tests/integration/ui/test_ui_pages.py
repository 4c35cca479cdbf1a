"""Dashboard pages and admin-API actions on the vendor-free site: health, records, the queue."""

from __future__ import annotations

import re

from integration.ui.ui_kit import Site, form_csrf, login
from ml_connector.audit import AuditKind
from ml_connector.store import ConnectionStatus, SyncStatus


def _bearer(site: Site, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[email]}"}


async def test_overview_shows_health_counts_and_oldest_waiting(site: Site) -> None:
    """Each connection shows credentials, sync state, rate limits, counts and oldest waiting."""
    acme = await site.runtime.store.get_connection("acme")
    await site.runtime.store.set_connection_status(
        acme.id, ConnectionStatus.PAUSED, "visma rejected the client id or secret"
    )
    async with site.client() as client:
        api = await client.get("/api/v1/connections", headers=_bearer(site, "viewer@x.test"))
        await login(client, "viewer@x.test")
        page = await client.get("/ui")
    by_name = {c["name"]: c for c in api.json()}
    assert by_name["acme"]["status"] == "paused"
    assert by_name["acme"]["credentials"] == "rejected"
    assert by_name["globex"]["credentials"] == "ok"
    assert by_name["acme"]["counts"]["needs_attention"] == 2
    assert by_name["globex"]["counts"]["pending"] == 3
    assert by_name["globex"]["oldest_pending_age_s"] >= 0
    assert by_name["globex"]["rate_limit"] == {
        "source": "store",
        "systems": {},
        "last_429_at": None,
    }
    assert "visma rejected the client id or secret" in page.text
    assert 'class="cred-rejected"' in page.text
    assert "not limited" in page.text


async def test_records_api_pages_without_overlap(site: Site) -> None:
    """Paging the records list returns every record exactly once."""
    headers = _bearer(site, "viewer@x.test")
    async with site.client() as client:
        first = await client.get(
            "/api/v1/connections/globex/records", params={"limit": 2}, headers=headers
        )
        second = await client.get(
            "/api/v1/connections/globex/records",
            params={"limit": 2, "offset": 2},
            headers=headers,
        )
        bad = await client.get(
            "/api/v1/connections/globex/records", params={"limit": "many"}, headers=headers
        )
    ids = [r["id"] for r in first.json()] + [r["id"] for r in second.json()]
    assert sorted(ids) == sorted(site.record_ids["globex"])
    assert bad.status_code == 400


async def test_records_page_filters_by_state_and_date(site: Site) -> None:
    """The records page filters by state, and an inclusive date range keeps today's records."""
    async with site.client() as client:
        await login(client, "viewer@x.test")
        attention = await client.get("/ui/c/acme/records", params={"state": "needs_attention"})
        future = await client.get("/ui/c/acme/records", params={"since": "2999-01-01"})
        today = await client.get(
            "/ui/c/acme/records", params={"until": "2999-01-01", "type": "bill"}
        )
    assert attention.text.count("acme-bill-") == 2
    assert "No records match." in future.text
    assert today.text.count("acme-bill-") == 3


async def test_record_page_links_and_explains(site: Site) -> None:
    """A stopped record links to Ramp (configurable) and states the problem and the fix."""
    acme = await site.runtime.store.get_connection("acme")
    await site.runtime.store.update_connection_settings(
        acme.id, {**acme.settings.as_stored(), "ramp_app_url": "https://ramp.example"}
    )
    rid = site.record_ids["acme"][0]
    async with site.client() as client:
        detail = await client.get(
            f"/api/v1/connections/acme/records/{rid}", headers=_bearer(site, "viewer@x.test")
        )
        await login(client, "viewer@x.test")
        page = await client.get(f"/ui/c/acme/records/{rid}")
    body = detail.json()
    assert body["ramp_url"] == "https://ramp.example/bills/acme-bill-0"
    assert body["visma_url"] is None
    assert body["problem"]["fix"] == "Open period 11-2026 in Visma, then retry."
    assert 'href="https://ramp.example/bills/acme-bill-0"' in page.text
    assert "How to fix:" in page.text
    assert 'value="retry"' not in page.text  # a viewer gets no action button


async def test_retry_group_queues_the_group_and_audits_who(site: Site) -> None:
    """ "Retry group" puts every record of the group back in the queue, audited with the user."""
    async with site.client() as client:
        csrf = await login(client, "operator@x.test")
        page = await client.get("/ui/c/acme/exceptions")
        assert "Retry group" in page.text
        assert "2 bills:" in page.text
        key = re.search(r'name="group" value="([0-9a-f]+)"', page.text)
        assert key is not None
        done = await client.post(
            "/ui/c/acme/exceptions",
            data={"action": "retry_group", "group": key[1], "csrf": csrf},
        )
        after = await client.get(done.headers["location"])
    assert done.status_code == 303
    assert "2 record(s) queued for retry" in after.text
    assert "Nothing needs attention." in after.text
    for rid in site.record_ids["acme"][:2]:
        record = await site.runtime.store.get_record(rid)
        assert record.status == SyncStatus.PENDING
        assert record.attempts == 0
        entries = await site.runtime.store.list_audit(record.connection_id, record_id=rid)
        actions = [e.data for e in entries if e.kind == AuditKind.USER_ACTION.value]
        assert actions == [
            {"user": "operator@x.test", "role": "operator", "via": "session", "action": "retry"}
        ]


async def test_viewer_gets_no_queue_actions_and_is_refused(site: Site) -> None:
    """A viewer sees no action buttons; the form post and the API call are both refused."""
    rids = site.record_ids["acme"][:2]
    async with site.client() as client:
        groups = await client.get(
            "/api/v1/connections/acme/exceptions", headers=_bearer(site, "viewer@x.test")
        )
        key = groups.json()[0]["key"]
        api = await client.post(
            f"/api/v1/connections/acme/exceptions/{key}/retry",
            headers=_bearer(site, "viewer@x.test"),
        )
        api_retry = await client.post(
            "/api/v1/connections/acme/retry",
            json={"record_ids": rids},
            headers=_bearer(site, "viewer@x.test"),
        )
        csrf = await login(client, "viewer@x.test")
        page = await client.get("/ui/c/acme/exceptions")
        form = await client.post(
            "/ui/c/acme/exceptions", data={"action": "retry_group", "group": key, "csrf": csrf}
        )
    assert api.status_code == 403
    assert api_retry.status_code == 403
    assert form.status_code == 403
    for text in ("Retry group", "Mark resolved", "Exclude from sync", "Preview retry"):
        assert text not in page.text
    for rid in rids:
        assert (await site.runtime.store.get_record(rid)).status == SyncStatus.NEEDS_ATTENTION


async def test_mark_resolved_needs_a_reason(site: Site) -> None:
    """ "Mark resolved" without a reason changes nothing; with one, the record is parked."""
    rid = site.record_ids["acme"][0]
    headers = _bearer(site, "operator@x.test")
    async with site.client() as client:
        empty = await client.post(
            "/api/v1/connections/acme/exclude",
            json={"record_ids": [rid], "reason": "  ", "resolved": True},
            headers=headers,
        )
        assert empty.status_code == 400
        assert (await site.runtime.store.get_record(rid)).status == SyncStatus.NEEDS_ATTENTION
        csrf = await login(client, "operator@x.test")
        done = await client.post(
            "/ui/c/acme/exceptions",
            data={
                "action": "resolve",
                "record_id": str(rid),
                "reason": "entered in Visma by hand",
                "csrf": csrf,
            },
        )
    assert done.status_code == 303
    record = await site.runtime.store.get_record(rid)
    assert record.status == SyncStatus.EXCLUDED
    assert record.reason == "Resolved: entered in Visma by hand"


async def test_new_forms_refuse_posts_without_csrf(site: Site) -> None:
    """The mapping editor, the chart push and the users page refuse a form without CSRF."""
    async with site.client() as client:
        await login(client, "admin@x.test")
        posts = [
            await client.post(
                "/ui/c/acme/mappings",
                data={"action": "save", "default_account": "6800"},
            ),
            await client.post("/ui/c/acme/chart", data={}),
            await client.post(
                "/ui/users",
                data={"action": "add", "email": "x@x.test", "password": "long enough pw"},
            ),
            await client.post("/ui/c/acme/chart", data={"csrf": "not-the-token"}),
        ]
    assert [p.status_code for p in posts] == [403, 403, 403, 403]
    acme = await site.runtime.store.get_connection("acme")
    assert await site.runtime.store.current_mapping(acme.id) is None
    assert await site.runtime.store.find_user("x@x.test") is None


async def test_viewer_cannot_edit_mappings_or_push(site: Site) -> None:
    """A viewer sees the mapping editor read-only and is refused edits and pushes."""
    headers = _bearer(site, "viewer@x.test")
    async with site.client() as client:
        patch = await client.patch(
            "/api/v1/connections/acme/mappings",
            json={"defaults": {"account": "6800"}},
            headers=headers,
        )
        push = await client.post("/api/v1/connections/acme/chart/push", headers=headers)
        await login(client, "viewer@x.test")
        editor = await client.get("/ui/c/acme/mappings")
        chart = await client.get("/ui/c/acme/chart")
        csrf = form_csrf(editor.text)
        form = await client.post(
            "/ui/c/acme/mappings", data={"action": "save", "default_account": "6800", "csrf": csrf}
        )
        pushed = await client.post("/ui/c/acme/chart", data={"csrf": csrf})
    assert patch.status_code == 403
    assert push.status_code == 403
    assert form.status_code == 403
    assert pushed.status_code == 403
    assert "Save mappings" not in editor.text
    assert "Push now" not in chart.text
    acme = await site.runtime.store.get_connection("acme")
    assert await site.runtime.store.current_mapping(acme.id) is None


async def test_scoped_user_cannot_reach_other_connections_pages(site: Site) -> None:
    """A user scoped to globex gets 404 for acme's mapping and chart pages and API."""
    headers = _bearer(site, "scoped@x.test")
    async with site.client() as client:
        api = [
            await client.get("/api/v1/connections/acme/mappings", headers=headers),
            await client.get("/api/v1/connections/acme/chart/status", headers=headers),
            await client.post("/api/v1/connections/acme/chart/push", headers=headers),
            await client.patch(
                "/api/v1/connections/acme/mappings", json={"set": []}, headers=headers
            ),
        ]
        await login(client, "scoped@x.test")
        pages = [
            await client.get("/ui/c/acme/mappings"),
            await client.get("/ui/c/acme/chart"),
            await client.get("/ui/users"),
        ]
    assert [r.status_code for r in api] == [404, 404, 404, 404]
    assert [r.status_code for r in pages] == [404, 404, 403]


async def test_chart_page_without_a_push(site: Site) -> None:
    """The chart page says no push happened yet, and offers the pending diff and a push."""
    async with site.client() as client:
        await login(client, "operator@x.test")
        page = await client.get("/ui/c/acme/chart")
        status = await client.get("/api/v1/connections/acme/chart/status")
    assert "No push recorded yet." in page.text
    assert "Show pending changes" in page.text
    assert "Push now" in page.text
    assert status.json()["last_push"] is None


async def test_unknown_api_route_is_a_json_404(site: Site) -> None:
    """A path under /api/v1 that names no route answers 404 in the API's error shape."""
    async with site.client() as client:
        response = await client.get("/api/v1/nothing/here", headers=_bearer(site, "viewer@x.test"))
    assert response.status_code == 404
    assert response.json() == {"error": "no such API route"}
