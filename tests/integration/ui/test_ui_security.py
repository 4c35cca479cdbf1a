"""Admin API and dashboard security: authentication, CSRF, roles, scoping, rate limit, secrets."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from integration.ui.ui_kit import PASSWORD, SECRETS, VISMA_SECRETS, Site, login, post_login
from ml_connector.audit import AuditKind
from ml_connector.store import SyncStatus

API_GETS = [
    "/api/v1/me",
    "/api/v1/connections",
    "/api/v1/connections/acme",
    "/api/v1/connections/acme/records",
    "/api/v1/connections/acme/records/1",
    "/api/v1/connections/acme/exceptions",
    "/api/v1/connections/acme/mappings",
    "/api/v1/connections/acme/chart",
    "/api/v1/connections/acme/chart/status",
    "/api/v1/connections/acme/events",
    "/api/v1/users",
]
UI_GETS = [
    "/ui",
    "/ui/c/acme/records",
    "/ui/c/acme/records/1",
    "/ui/c/acme/exceptions",
    "/ui/c/acme/mappings",
    "/ui/c/acme/chart",
    "/ui/users",
]


@pytest.mark.parametrize("path", API_GETS)
async def test_api_without_credentials_is_401(site: Site, path: str) -> None:
    """Every API route answers 401 to a caller with neither token nor session."""
    async with site.client() as client:
        response = await client.get(path)
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}


async def test_api_actions_without_credentials_are_401(site: Site) -> None:
    """Every action (queue, mappings, chart, credentials, users) answers 401 without them."""
    async with site.client() as client:
        for path in ("replay", "exclude", "retry", "exceptions/abc/retry", "chart/push"):
            response = await client.post(f"/api/v1/connections/acme/{path}", json={})
            assert response.status_code == 401
        calls = [
            await client.put("/api/v1/connections/acme/credentials", json={}),
            await client.put("/api/v1/connections/acme/mappings", json={"rules": []}),
            await client.patch("/api/v1/connections/acme/mappings", json={}),
            await client.post("/api/v1/users", json={}),
            await client.patch("/api/v1/users/1", json={}),
        ]
        assert [r.status_code for r in calls] == [401] * 5


@pytest.mark.parametrize("path", UI_GETS)
async def test_ui_without_session_redirects_to_login(site: Site, path: str) -> None:
    """Every dashboard page redirects a visitor without a session to the login page."""
    async with site.client() as client:
        response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=")


async def test_session_cookie_flags(site: Site) -> None:
    """The session cookie is HttpOnly, Secure and SameSite=Lax."""
    async with site.client() as client:
        response = await post_login(client, "viewer@x.test", PASSWORD)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=lax" in cookie


async def test_forged_cookie_is_no_session(site: Site) -> None:
    """A made-up session cookie is treated as no session at all."""
    async with site.client() as client:
        client.cookies.set("mlc_session", "gAAAAAforged", domain="ui.test")
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_ui_form_without_csrf_is_refused(site: Site) -> None:
    """A dashboard action without the session's CSRF token is refused and changes nothing."""
    rid = site.record_ids["acme"][0]
    async with site.client() as client:
        await login(client, "operator@x.test")
        response = await client.post(
            "/ui/c/acme/exceptions",
            data={"action": "exclude", "record_id": str(rid), "reason": "dup"},
        )
        wrong = await client.post(
            "/ui/c/acme/exceptions",
            data={"action": "exclude", "record_id": str(rid), "reason": "dup", "csrf": "x"},
        )
    assert response.status_code == 403
    assert wrong.status_code == 403
    assert (await site.runtime.store.get_record(rid)).status == SyncStatus.NEEDS_ATTENTION


async def test_api_with_session_needs_csrf_header(site: Site) -> None:
    """An API action made with the session cookie needs X-CSRF-Token; with it, it works."""
    rid = site.record_ids["acme"][0]
    async with site.client() as client:
        csrf = await login(client, "operator@x.test")
        body = {"record_ids": [rid], "reason": "duplicate of another bill"}
        refused = await client.post("/api/v1/connections/acme/exclude", json=body)
        assert refused.status_code == 403
        assert (await site.runtime.store.get_record(rid)).status == SyncStatus.NEEDS_ATTENTION
        done = await client.post(
            "/api/v1/connections/acme/exclude", json=body, headers={"X-CSRF-Token": csrf}
        )
    assert done.status_code == 200, done.text
    assert (await site.runtime.store.get_record(rid)).status == SyncStatus.EXCLUDED


async def test_ui_exclude_with_csrf_is_audited_with_identity(site: Site) -> None:
    """An exclusion through the dashboard lands in the audit trail with the user's email."""
    rid = site.record_ids["acme"][1]
    async with site.client() as client:
        csrf = await login(client, "operator@x.test")
        response = await client.post(
            "/ui/c/acme/exceptions",
            data={
                "action": "exclude",
                "record_id": str(rid),
                "reason": "paid by card",
                "csrf": csrf,
            },
        )
    assert response.status_code == 303
    record = await site.runtime.store.get_record(rid)
    assert record.status == SyncStatus.EXCLUDED
    entries = await site.runtime.store.list_audit(record.connection_id, record_id=rid)
    actions = [e.data for e in entries if e.kind == AuditKind.USER_ACTION.value]
    assert actions == [
        {
            "user": "operator@x.test",
            "role": "operator",
            "via": "session",
            "action": "exclude",
            "reason": "paid by card",
        }
    ]


async def test_scoped_user_cannot_reach_other_connection(site: Site) -> None:
    """A user scoped to globex gets 404 for acme through the API and the dashboard."""
    acme_record = site.record_ids["acme"][0]
    headers = {"Authorization": f"Bearer {site.tokens['scoped@x.test']}"}
    async with site.client() as client:
        listed = await client.get("/api/v1/connections", headers=headers)
        assert [c["name"] for c in listed.json()] == ["globex"]
        for path in ("records", f"records/{acme_record}", "exceptions"):
            response = await client.get(f"/api/v1/connections/acme/{path}", headers=headers)
            assert response.status_code == 404
        # globex's own path cannot reach acme's record either
        response = await client.get(
            f"/api/v1/connections/globex/records/{acme_record}", headers=headers
        )
        assert response.status_code == 404
        await login(client, "scoped@x.test")
        assert (await client.get("/ui/c/acme/records")).status_code == 404
        assert (await client.get(f"/ui/c/acme/records/{acme_record}")).status_code == 404
        overview = await client.get("/ui")
    assert "globex" in overview.text
    assert "acme" not in overview.text


async def test_login_is_rate_limited(site: Site) -> None:
    """After three wrong passwords even the right one is refused with 429 for that email."""
    async with site.client() as client:
        for _ in range(3):
            bad = await post_login(client, "viewer@x.test", "wrong password!")
            assert bad.status_code == 401
        blocked = await post_login(client, "viewer@x.test", PASSWORD)
        assert blocked.status_code == 429
        assert "mlc_session" not in blocked.headers.get("set-cookie", "")
        other = await post_login(client, "operator@x.test", PASSWORD)
    assert other.status_code == 303


async def test_viewer_cannot_replay_or_exclude(site: Site) -> None:
    """A viewer is refused the replay and exclude actions through the API and the dashboard."""
    rid = site.record_ids["acme"][0]
    headers = {"Authorization": f"Bearer {site.tokens['viewer@x.test']}"}
    async with site.client() as client:
        replay = await client.post(
            "/api/v1/connections/acme/replay",
            json={"record_ids": [rid], "dry_run": False},
            headers=headers,
        )
        assert replay.status_code == 403
        csrf = await login(client, "viewer@x.test")
        page = await client.get("/ui/c/acme/exceptions")
        assert 'value="exclude"' not in page.text
        forged = await client.post(
            "/ui/c/acme/exceptions",
            data={"action": "replay", "record_id": str(rid), "csrf": csrf},
        )
    assert forged.status_code == 403
    record = await site.runtime.store.get_record(rid)
    assert record.status == SyncStatus.NEEDS_ATTENTION
    assert record.attempts == 1


async def test_operator_cannot_edit_credentials_admin_can(site: Site) -> None:
    """Credential changes are admin-only and never echo a value back."""
    body = {"ramp_client_secret": "brand-new-secret-value-XYZ"}
    async with site.client() as client:
        operator = await client.put(
            "/api/v1/connections/acme/credentials",
            json=body,
            headers={"Authorization": f"Bearer {site.tokens['operator@x.test']}"},
        )
        admin = await client.put(
            "/api/v1/connections/acme/credentials",
            json=body,
            headers={"Authorization": f"Bearer {site.tokens['admin@x.test']}"},
        )
    assert operator.status_code == 403
    assert admin.status_code == 200
    assert "brand-new-secret-value-XYZ" not in admin.text
    connection = await site.runtime.store.get_connection("acme")
    stored = site.runtime.vault.decrypt(connection.credentials_ciphertext)
    assert stored["ramp_client_secret"] == "brand-new-secret-value-XYZ"


async def test_exceptions_grouped_by_cause(site: Site) -> None:
    """Two closed-period failures of different bills form one group with the fix hint."""
    headers = {"Authorization": f"Bearer {site.tokens['viewer@x.test']}"}
    async with site.client() as client:
        response = await client.get("/api/v1/connections/acme/exceptions", headers=headers)
    (group,) = response.json()
    assert group["count"] == 2
    assert group["error_code"] == "period_closed"
    assert group["hint"] == "Open period 11-2026 in Visma, then retry."
    assert sorted(group["record_ids"]) == sorted(site.record_ids["acme"][:2])


async def test_record_search_by_ramp_id(site: Site) -> None:
    """The records list finds a record by part of its Ramp id."""
    headers = {"Authorization": f"Bearer {site.tokens['viewer@x.test']}"}
    async with site.client() as client:
        response = await client.get(
            "/api/v1/connections/globex/records", params={"q": "bill-2"}, headers=headers
        )
        bad = await client.get(
            "/api/v1/connections/globex/records", params={"state": "nonsense"}, headers=headers
        )
    assert [r["ramp_id"] for r in response.json()] == ["globex-bill-2"]
    assert bad.status_code == 400


async def test_no_secret_in_any_page_or_response(site: Site) -> None:
    """No connection secret appears in any API response or dashboard page, for any role."""
    secrets = [*SECRETS.values(), *VISMA_SECRETS.values()]
    bodies: list[str] = []
    async with site.client() as client:
        headers = {"Authorization": f"Bearer {site.tokens['admin@x.test']}"}
        for path in API_GETS:
            for name in ("acme", "globex"):
                response = await client.get(path.replace("acme", name), headers=headers)
                bodies.append(response.text)
        await login(client, "admin@x.test")
        for path in UI_GETS:
            for name in ("acme", "globex"):
                bodies.append((await client.get(path.replace("acme", name))).text)
        bodies.append((await client.get("/metrics")).text)
        bodies.append((await client.get("/api/v1/openapi.json")).text)
    joined = "\n".join(bodies)
    assert "credentials_set" in joined  # the connection pages did render
    for secret in secrets:
        assert secret not in joined


async def test_metrics_parse(site: Site) -> None:
    """/metrics is valid Prometheus text with records by state and queue depth per connection."""
    async with site.client() as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert (
        samples[("ml_connector_records", (("connection", "acme"), ("state", "needs_attention")))]
        == 2
    )
    assert samples[("ml_connector_queue_depth", (("connection", "acme"),))] == 1
    assert samples[("ml_connector_queue_depth", (("connection", "globex"),))] == 3
    assert samples[("ml_connector_oldest_pending_age_seconds", (("connection", "globex"),))] >= 0


async def test_openapi_document_lists_the_routes(site: Site) -> None:
    """The OpenAPI document is served and names every API path."""
    async with site.client() as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/connections/{name}/replay" in document["paths"]
    assert "/api/v1/connections/{name}/exceptions" in document["paths"]
