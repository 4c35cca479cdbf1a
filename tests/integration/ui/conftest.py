"""The sites the dashboard and admin-API tests run against.

``site``: two connections with records, four users, and the admin routes (no vendors).
``demo_site``: the demo company in both sandboxes, synced once, with admin, operator, viewer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.applications import Starlette

from integration.ui.ui_kit import PASSWORD, DemoSite, Site, add_connection, small_demo
from ml_connector.app.login_throttle import Limit, ThrottlePolicy
from ml_connector.runtime.sync import sync_once
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store.users import Role
from ml_connector.web.admin import admin_routes
from ml_connector.web.auth import Auth, AuthConfig, hash_password, new_api_token
from support.demo_world import open_demo_world

# Three failed logins per email and minute: the rate-limit test stays short.
_THREE_FAILURES = AuthConfig(throttle=ThrottlePolicy(email=Limit(3, 60.0)))


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """acme (two closed-period exceptions) and globex; admin, operator, viewer, scoped users."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=tmp_path / "unused.key",
    )
    rt = await Runtime.open(settings)
    acme = await add_connection(rt, "acme")
    globex = await add_connection(rt, "globex")
    record_ids: dict[str, list[int]] = {"acme": [], "globex": []}
    for cid, name in ((acme, "acme"), (globex, "globex")):
        for n in range(3):
            rec = await rt.store.upsert_record(cid, "bill", f"{name}-bill-{n}", reason="test")
            record_ids[name].append(rec.id)
    for _ in range(2):  # claims go oldest first: bills 0 and 1 fail, bill 2 stays pending
        (claimed,) = await rt.store.claim_due("t", limit=1, lease_s=60, connection_id=acme)
        await rt.store.mark_needs_attention(
            claimed.id,
            "t",
            error=f"Period 11-2026 is closed (Ramp bill {uuid.uuid4()})",
            hint="Open period 11-2026 in Visma, then retry.",
            error_code="period_closed",
        )
    password_hash = hash_password(PASSWORD)
    tokens: dict[str, str] = {}
    for email, role, scope in (
        ("admin@x.test", Role.ADMIN, None),
        ("operator@x.test", Role.OPERATOR, None),
        ("viewer@x.test", Role.VIEWER, None),
        ("scoped@x.test", Role.OPERATOR, frozenset({globex})),
    ):
        user = await rt.store.create_user(
            email, password_hash=password_hash, role=role, connection_ids=scope
        )
        token, digest = new_api_token()
        await rt.store.add_api_token(user.id, digest)
        tokens[email] = token
    auth = Auth(rt.store, rt.vault, _THREE_FAILURES)
    app = Starlette(routes=admin_routes(rt, auth))
    yield Site(rt, app, record_ids, tokens)
    await rt.close()


async def _users(rt: Runtime) -> dict[str, str]:
    password_hash = hash_password(PASSWORD)
    tokens: dict[str, str] = {}
    for email, role in (
        ("admin@x.test", Role.ADMIN),
        ("operator@x.test", Role.OPERATOR),
        ("viewer@x.test", Role.VIEWER),
    ):
        user = await rt.store.create_user(email, password_hash=password_hash, role=role)
        token, digest = new_api_token()
        await rt.store.add_api_token(user.id, digest)
        tokens[email] = token
    return tokens


@pytest.fixture
async def demo_site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    """The small demo company in both sandboxes, synced once (6 bills need attention)."""
    opened = await open_demo_world(tmp_path, small_demo())
    setup, rt = opened.setup, opened.runtime
    await sync_once(rt, "nordlys")
    tokens = await _users(rt)
    auth = Auth(rt.store, rt.vault, _THREE_FAILURES)
    app = Starlette(routes=admin_routes(rt, auth))
    yield DemoSite(setup, rt, app, tokens)
    await rt.close()
