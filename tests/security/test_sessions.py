"""Issue 14 items 1-2: sessions end, and a stale cookie never becomes anyone's session."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from ml_connector.store.users import Role
from security.security_kit import PASSWORD, SecureSite, form_field

# Routes that need no session by design: probes, metrics, the API's own description, the
# login form, and the API's catch-all 404. Everything else must refuse a stale cookie.
PUBLIC = {
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/metrics", "GET"),
    ("/api/v1/openapi.json", "GET"),
    ("/ui/login", "GET"),
    ("/ui/login", "POST"),
}
CATCH_ALL = "/api/v1/{rest:path}"


def _protected_calls(site: SecureSite) -> list[tuple[str, str]]:
    """Every (method, concrete path) of the app that needs a caller, from its route table."""
    values = {
        "name": "acme",
        "record_id": str(site.record_ids[0]),
        "user_id": str(site.users["viewer@x.test"].id),
        "key": "period_closed",
        "field": "dim_kst",
    }
    calls = []
    for route in site.app.routes:
        if not isinstance(route, Route) or route.path == CATCH_ALL:
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if (route.path, method) not in PUBLIC:
                calls.append((method, path))
    return calls


async def _state(site: SecureSite) -> dict[str, Any]:
    """What an attacker's request could change: users, tokens, records, the audit trail."""
    store = site.store
    acme = await store.get_connection("acme")
    return {
        "users": [(u.id, u.email, u.role, u.disabled) for u in await store.list_users()],
        "tokens": await store.count_api_tokens(),
        "records": [(r.id, r.status, r.attempts) for r in await store.list_records(acme.id)],
        "audit": len(await store.list_audit(acme.id)),
        "sessions": len(await store.list_sessions()),
        "mapping": (await store.get_connection("acme")).settings,
        "bindings": len(await store.list_binding_versions(acme.id)),
    }


async def _assert_refused_everywhere(site: SecureSite, cookie: str, csrf: str) -> None:
    """The cookie (with its old CSRF token) gets 401, or the login page, on every route."""
    before = await _state(site)
    calls = _protected_calls(site)
    assert len(calls) >= 25  # the route table was read, not a hand-picked list
    headers = {"cookie": f"mlc_session={cookie}", "x-csrf-token": csrf}
    form = {"csrf": csrf, "action": "add", "email": "evil@x.test", "password": "p" * 12}
    form |= {"role": "admin", "record_id": str(site.record_ids[0]), "reason": "x"}
    async with site.client() as client:
        for method, path in calls:
            if path.startswith("/api/"):
                response = await client.request(
                    method, path, headers=headers, json={"email": "evil@x.test", "role": "admin"}
                )
                assert response.status_code == 401, (method, path, response.text)
                assert response.json() == {"error": "authentication required"}
            else:
                response = await client.request(method, path, headers=headers, data=form)
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/ui/login?next=")
    assert await _state(site) == before


async def test_logged_out_cookie_is_refused_on_every_route(site: SecureSite) -> None:
    """After logout the old cookie is refused by every route of the app, and changes nothing."""
    cookie, csrf = await site.session("admin@x.test")
    async with site.client() as client:
        alive = await client.get("/api/v1/me", headers={"cookie": f"mlc_session={cookie}"})
        assert alive.status_code == 200
        out = await client.post(
            "/ui/logout", data={"csrf": csrf}, headers={"cookie": f"mlc_session={cookie}"}
        )
    assert out.status_code == 303
    assert await site.store.list_sessions(site.users["admin@x.test"].id) == []
    await _assert_refused_everywhere(site, cookie, csrf)
    (entry, *_) = await site.store.list_security_events(kinds=["logout"])
    assert entry.data["email"] == "admin@x.test"
    assert entry.data["client"] == "127.0.0.1"


@pytest.mark.parametrize("change", ["disable", "remove", "role"])
async def test_access_changes_end_the_users_sessions(site: SecureSite, change: str) -> None:
    """Disabling, removing or re-roling a user ends their session on every route at once."""
    victim = site.users["operator@x.test"]
    cookie, csrf = await site.session("operator@x.test")
    if change == "remove":  # users are removed with the CLI
        result = await site.cli("users", "remove", "operator@x.test")
        assert result.returncode == 0, result.stderr
    else:
        body = {"disabled": True} if change == "disable" else {"role": "viewer"}
        async with site.client() as client:
            response = await client.patch(
                f"/api/v1/users/{victim.id}", json=body, headers=site.bearer("admin@x.test")
            )
        assert response.status_code == 200, response.text
    assert await site.store.list_sessions(victim.id) == []
    await _assert_refused_everywhere(site, cookie, csrf)


async def test_removed_users_cookie_never_signs_in_as_the_next_user(site: SecureSite) -> None:
    """A removed admin's cookie stays dead after a new admin is created (with a new id)."""
    victim = site.users["viewer@x.test"]
    await site.store.update_user(victim.id, role=Role.ADMIN)
    cookie, csrf = await site.session("viewer@x.test")
    removed = await site.cli("users", "remove", "viewer@x.test")
    assert removed.returncode == 0, removed.stderr
    async with site.client() as client:
        created = await client.post(
            "/api/v1/users",
            json={"email": "new-admin@x.test", "password": PASSWORD, "role": "admin"},
            headers=site.bearer("admin@x.test"),
        )
        assert created.status_code == 200, created.text
        assert created.json()["id"] > victim.id
        me = await client.get("/api/v1/me", headers={"cookie": f"mlc_session={cookie}"})
        forged = await client.post(
            "/api/v1/users",
            json={"email": "evil@x.test", "password": PASSWORD, "role": "admin"},
            headers={"cookie": f"mlc_session={cookie}", "x-csrf-token": csrf},
        )
    assert me.status_code == 401
    assert forged.status_code == 401
    assert await site.store.find_user("evil@x.test") is None


async def test_sessions_expire_idle_and_at_their_lifetime(site: SecureSite) -> None:
    """A session idle for 31 minutes ends; a busy one ends 8 hours after login."""
    idle, _ = await site.session("viewer@x.test")
    busy, _ = await site.session("operator@x.test")
    async with site.client() as client:
        for _ in range(16):  # 7 h 44 min of steady use
            site.clock.advance(29 * 60)
            ok = await client.get("/api/v1/me", headers={"cookie": f"mlc_session={busy}"})
            assert ok.status_code == 200
        stale = await client.get("/api/v1/me", headers={"cookie": f"mlc_session={idle}"})
        site.clock.advance(29 * 60)
        over = await client.get("/api/v1/me", headers={"cookie": f"mlc_session={busy}"})
    assert stale.status_code == 401
    assert over.status_code == 401
    assert await site.store.list_sessions() == []


async def test_last_seen_is_written_at_most_once_a_minute(site: SecureSite) -> None:
    """Requests within a minute leave last-seen alone; the first after it moves it."""
    cookie, _ = await site.session("viewer@x.test")
    uid = site.users["viewer@x.test"].id
    (start,) = await site.store.list_sessions(uid)
    async with site.client(cookie=f"mlc_session={cookie}") as client:
        for _ in range(5):
            site.clock.advance(10)
            assert (await client.get("/api/v1/me")).status_code == 200
        (quiet,) = await site.store.list_sessions(uid)
        site.clock.advance(15)
        assert (await client.get("/api/v1/me")).status_code == 200
    (moved,) = await site.store.list_sessions(uid)
    assert quiet.last_seen_at == start.last_seen_at
    assert moved.last_seen_at == site.clock.now


async def test_cookie_is_random_signed_and_stored_only_as_a_hash(site: SecureSite) -> None:
    """The cookie holds 256 random bits and a tag; the database holds neither the id nor the
    user id in it, and a cookie with a changed id or tag is refused."""
    cookie, _ = await site.session("viewer@x.test")
    session_id, tag = cookie.split(".")
    assert len(session_id) >= 43
    assert len(tag) == 43
    path = Path(site.runtime.settings.database_url.split("///", 1)[1])
    database = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # and -wal
    assert session_id.encode() not in database
    assert hashlib.sha256(session_id.encode()).hexdigest().encode() in database
    flipped = ("A" if session_id[0] != "A" else "B") + session_id[1:]
    async with site.client() as client:
        for forged in (f"{flipped}.{tag}", f"{session_id}.{tag[:-1]}x", session_id):
            response = await client.get("/api/v1/me", headers={"cookie": f"mlc_session={forged}"})
            assert response.status_code == 401


async def test_session_cookie_is_not_the_login_pages_token(site: SecureSite) -> None:
    """The session's CSRF token differs from the login form's and from the cookie itself."""
    async with site.client() as client:
        page = await client.get("/ui/login")
        login_token = form_field(page.text, "csrf")
        await site.login(client, "viewer@x.test")
        csrf = form_field((await client.get("/ui")).text, "csrf")
        cookie = client.cookies["mlc_session"]
    assert len({login_token, csrf, cookie}) == 3


async def test_cli_logout_ends_every_session_of_the_user(site: SecureSite) -> None:
    """``users logout`` ends the user's sessions on every device, and no one else's."""
    laptop, _ = await site.session("operator@x.test")
    phone, _ = await site.session("operator@x.test")
    other, _ = await site.session("viewer@x.test")
    result = await site.cli("users", "logout", "operator@x.test")
    assert result.returncode == 0, result.stderr
    async with site.client() as client:
        statuses = [
            (await client.get("/api/v1/me", headers={"cookie": f"mlc_session={c}"})).status_code
            for c in (laptop, phone, other)
        ]
    assert statuses == [401, 401, 200]
    (entry, *_) = await site.store.list_security_events(kinds=["user_action"])
    assert entry.data["action"] == "sessions ended"
    assert entry.data["sessions"] == 2
