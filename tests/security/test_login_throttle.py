"""Issue 14 item 3: logins resist guessing, spraying and lockout games, and are audited."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ml_connector.app.login_throttle import Limit, ThrottlePolicy
from ml_connector.settings import parse_networks
from ml_connector.store.testing import Backend, scratch_database
from ml_connector.web.auth import AuthConfig
from security.security_kit import (
    PASSWORD,
    SecureSite,
    ServeProcess,
    form_field,
    runtime_on,
    secure_site,
    site_settings,
)
from support.store_fixtures import backend

__all__ = ["backend"]

BEHIND_PROXY = parse_networks("127.0.0.1")  # the test client plays the reverse proxy


def _config(throttle: ThrottlePolicy | None = None) -> AuthConfig:
    return AuthConfig(
        throttle=throttle or ThrottlePolicy(), trusted_proxies=BEHIND_PROXY, secure_cookies=False
    )


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[SecureSite]:
    """Default limits, behind a trusted proxy (the client sets X-Forwarded-For)."""
    async with secure_site(tmp_path, _config()) as running:
        yield running


async def _attempt(
    site: SecureSite, email: str, password: str, address: str, device: str | None = None
) -> httpx.Response:
    """One login through the form from a browser at ``address`` (a fresh browser each time)."""
    async with site.client() as client:
        if device is not None:
            client.cookies.set("mlc_device", device, path="/ui/login")
        return await site.login(client, email, password, {"x-forwarded-for": address})


def _email_key(email: str) -> str:
    return hashlib.sha256(f"email:{email}".encode()).hexdigest()


async def test_email_limit_holds_across_addresses(proxied: SecureSite) -> None:
    """Five wrong passwords from five addresses lock the email for every address, and the
    lock writes nothing more however often it is hit."""
    for n in range(5):
        bad = await _attempt(proxied, "viewer@x.test", "wrong password", f"203.0.113.{n}")
        assert bad.status_code == 401
    locked = await _attempt(proxied, "viewer@x.test", PASSWORD, "198.51.100.77")
    assert locked.status_code == 429
    assert 800 <= int(locked.headers["retry-after"]) <= 900
    assert "mlc_session" not in locked.headers.get("set-cookie", "")
    logged = len(await proxied.store.list_security_events(limit=1000))
    for n in range(10):
        again = await _attempt(proxied, "viewer@x.test", PASSWORD, f"198.51.100.{n}")
        assert again.status_code == 429
    assert len(await proxied.store.list_security_events(limit=1000)) == logged
    assert await proxied.store.list_sessions() == []
    other = await _attempt(proxied, "operator@x.test", PASSWORD, "203.0.113.1")
    assert other.status_code == 303
    kinds = [e.kind for e in reversed(await proxied.store.list_security_events(limit=1000))]
    assert kinds == ["login_failed"] * 5 + ["login_locked", "login"]


async def test_address_limit_holds_across_emails(proxied: SecureSite) -> None:
    """Twenty failures from one address, each for another email, lock that address out."""
    for n in range(20):
        bad = await _attempt(proxied, f"guess{n}@x.test", "Winter2026!", "203.0.113.5")
        assert bad.status_code == 401
    refused = await _attempt(proxied, "admin@x.test", PASSWORD, "203.0.113.5")
    assert refused.status_code == 429
    assert await proxied.store.list_sessions() == []
    elsewhere = await _attempt(proxied, "admin@x.test", PASSWORD, "192.0.2.44")
    assert elsewhere.status_code == 303


async def test_global_limit_locks_with_backoff(tmp_path: Path) -> None:
    """A spray from many addresses over many emails hits the global limit; the second lock
    lasts twice as long as the first."""
    policy = ThrottlePolicy(everyone=Limit(6, 60.0))
    async with secure_site(tmp_path, _config(policy)) as site:
        for n in range(6):
            await _attempt(site, f"u{n}@x.test", "Spring2026!", f"203.0.113.{n}")
        first = await _attempt(site, "admin@x.test", PASSWORD, "192.0.2.1")
        assert first.status_code == 429
        assert first.headers["retry-after"] == "60"
        site.clock.advance(61)
        for n in range(6):
            await _attempt(site, f"v{n}@x.test", "Spring2026!", f"198.51.100.{n}")
        second = await _attempt(site, "admin@x.test", PASSWORD, "192.0.2.2")
        assert second.headers["retry-after"] == "120"
        site.clock.advance(121)
        assert (await _attempt(site, "admin@x.test", PASSWORD, "192.0.2.3")).status_code == 303


async def test_a_trusted_browser_cannot_be_locked_out(proxied: SecureSite) -> None:
    """After a stranger locks the email, the user's own browser still logs in; a stolen
    device cookie buys only its own five guesses."""
    first = await _attempt(proxied, "viewer@x.test", PASSWORD, "192.0.2.10")
    device = first.cookies["mlc_device"]
    for n in range(6):
        await _attempt(proxied, "viewer@x.test", "wrong password", f"203.0.113.{n}")
    assert (await _attempt(proxied, "viewer@x.test", PASSWORD, "192.0.2.11")).status_code == 429
    own = await _attempt(proxied, "viewer@x.test", PASSWORD, "192.0.2.10", device)
    assert own.status_code == 303
    stolen = [
        (await _attempt(proxied, "viewer@x.test", "guess", "203.0.113.99", device)).status_code
        for _ in range(6)
    ]
    assert stolen == [401] * 5 + [429]
    other = await _attempt(proxied, "admin@x.test", "guess", "203.0.113.98", device)
    assert other.status_code == 401  # the cookie is bound to its user: no budget for others


async def test_throttle_is_shared_between_processes(
    backend: tuple[Backend, str | None], tmp_path: Path
) -> None:
    """Failures counted by one serve process lock the email in another on the same store."""
    settings = site_settings(tmp_path)
    async with scratch_database(backend[0], directory=tmp_path, postgres_url=backend[1]) as db:
        one, two = runtime_on(db.store, settings), runtime_on(db.open_store(), settings)
        async with (
            secure_site(tmp_path, _config(), runtime=one) as first,
            secure_site(tmp_path, _config(), runtime=two, seed=False) as second,
        ):
            for n in range(5):
                site = first if n % 2 else second
                bad = await _attempt(site, "viewer@x.test", "wrong password", f"203.0.113.{n}")
                assert bad.status_code == 401
            refused = await _attempt(first, "viewer@x.test", PASSWORD, "192.0.2.1")
            also = await _attempt(second, "viewer@x.test", PASSWORD, "192.0.2.2")
        assert (refused.status_code, also.status_code) == (429, 429)
        assert await db.store.list_sessions() == []


async def test_login_without_its_form_token_is_refused_and_stores_nothing(
    proxied: SecureSite,
) -> None:
    """A login posted without the form's token, or with another browser's, is refused before
    the password is checked: no session, no counter, no log entry."""
    fields = {"email": "viewer@x.test", "password": PASSWORD}
    async with proxied.client() as other_browser:
        foreign = form_field((await other_browser.get("/ui/login")).text, "csrf")
    async with proxied.client() as client:
        bare = await client.post("/ui/login", data=fields)
        stolen = await client.post("/ui/login", data={**fields, "csrf": foreign})
        cross_site = await client.post(
            "/ui/login",
            data={**fields, "csrf": foreign},
            headers={"origin": "https://evil.example", "cookie": "mlc_login=attacker-chosen-123"},
        )
    assert [r.status_code for r in (bare, stolen, cross_site)] == [403, 403, 403]
    assert all("mlc_session" not in r.headers.get("set-cookie", "") for r in (bare, stolen))
    assert await proxied.store.list_sessions() == []
    assert await proxied.store.throttle_row("email", _email_key("viewer@x.test")) is None
    assert await proxied.store.list_security_events() == []


async def test_logins_are_audited_with_the_client_address(proxied: SecureSite) -> None:
    """Failed and successful logins land in the security log with the forwarded address."""
    await _attempt(proxied, "operator@x.test", "wrong password", "203.0.113.20")
    await _attempt(proxied, "nobody@x.test", "wrong password", "203.0.113.21")
    await _attempt(proxied, "operator@x.test", PASSWORD, "203.0.113.22")
    events = list(reversed(await proxied.store.list_security_events()))
    assert [(e.kind, e.data["email"], e.data["client"]) for e in events] == [
        ("login_failed", "operator@x.test", "203.0.113.20"),
        ("login_failed", "nobody@x.test", "203.0.113.21"),
        ("login", "operator@x.test", "203.0.113.22"),
    ]
    assert [e.data.get("cause") for e in events[:2]] == ["wrong_password", "unknown_email"]
    assert PASSWORD not in json.dumps([e.data for e in events])
    assert await proxied.store.verify_security_log() == []


@pytest.mark.slow
def test_serve_believes_no_forwarded_header_by_default(tmp_path: Path) -> None:
    """Against the real ``serve``, a client rotating X-Forwarded-For from loopback is still
    one address: it is locked out after 20 failures, and the log shows its real address."""
    serve = ServeProcess(tmp_path)
    added = serve.cli(
        "users", "add", "admin@x.test", "--role", "admin",
        extra={"ML_CONNECTOR_USER_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    serve.start()
    try:
        statuses = []
        for n in range(21):
            email, password = (
                (f"u{n}@x.test", "Autumn2026!") if n < 20 else ("admin@x.test", PASSWORD)
            )
            statuses.append(_plain_login(serve.url, email, password, f"198.51.100.{n}"))
    finally:
        serve.stop()
    assert statuses == [401] * 20 + [429]
    logged = serve.cli("users", "log", "--json", "--limit", "100")
    assert logged.returncode == 0, logged.stderr
    events = [e for e in json.loads(logged.stdout)["events"] if e["kind"].startswith("login")]
    assert {e["client"] for e in events} == {"127.0.0.1"}
    assert [e["kind"] for e in events][:2] == ["login_locked", "login_failed"]


def _plain_login(url: str, email: str, password: str, forwarded: str) -> int:
    """A login as a script would send it to production ``serve`` (Secure cookies over plain
    HTTP: the cookie is handed back by hand)."""
    headers = {"x-forwarded-for": forwarded}
    with httpx.Client(base_url=url, timeout=30) as client:
        form = client.get("/ui/login", headers=headers)
        nonce = form.cookies["mlc_login"]
        response = client.post(
            "/ui/login",
            data={"email": email, "password": password, "csrf": form_field(form.text, "csrf")},
            headers={**headers, "cookie": f"mlc_login={nonce}"},
        )
    return response.status_code
