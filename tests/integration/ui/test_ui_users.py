"""User management: the admin-only page and API, the audit trail, and ``ml-connector users``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from typer.testing import CliRunner

from integration.ui.ui_kit import PASSWORD, Site, add_connection, form_csrf, login, post_login
from ml_connector.audit import AuditKind
from ml_connector.cli import app
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store.users import Role


async def _user_actions(site: Site, connection: str) -> list[dict[str, object]]:
    found = await site.runtime.store.get_connection(connection)
    entries = await site.runtime.store.list_audit(found.id)
    return [
        e.data
        for e in entries
        if e.kind == AuditKind.USER_ACTION.value and str(e.data["action"]).startswith("user")
    ]


async def test_only_admins_reach_user_management(site: Site) -> None:
    """Operators and viewers get 403 from the users page and the users API."""
    async with site.client() as client:
        for email in ("operator@x.test", "viewer@x.test"):
            headers = {"Authorization": f"Bearer {site.tokens[email]}"}
            assert (await client.get("/api/v1/users", headers=headers)).status_code == 403
            added = await client.post(
                "/api/v1/users",
                json={"email": "new@x.test", "password": PASSWORD, "role": "admin"},
                headers=headers,
            )
            assert added.status_code == 403
        csrf = await login(client, "operator@x.test")
        page = await client.get("/ui/users")
        form = await client.post(
            "/ui/users",
            data={"action": "add", "email": "new@x.test", "password": PASSWORD, "csrf": csrf},
        )
    assert page.status_code == 403
    assert form.status_code == 403
    assert await site.runtime.store.find_user("new@x.test") is None


async def test_admin_adds_a_scoped_user_through_the_page(site: Site) -> None:
    """An admin adds a viewer scoped to globex; only globex's trail records it, with the admin."""
    async with site.client() as client:
        await login(client, "admin@x.test")
        page = await client.get("/ui/users")
        assert 'for="new-email"' in page.text
        added = await client.post(
            "/ui/users",
            data={
                "csrf": form_csrf(page.text),
                "action": "add",
                "email": "Auditor@X.test",
                "password": PASSWORD,
                "role": "viewer",
                "connections": "globex",
            },
        )
        listed = await client.get(added.headers["location"])
    assert "Added Auditor@X.test." in listed.text
    user = await site.runtime.store.find_user("auditor@x.test")
    assert user is not None
    assert user.role == Role.VIEWER
    globex = await site.runtime.store.get_connection("globex")
    assert user.connection_ids == frozenset({globex.id})
    assert await _user_actions(site, "acme") == []
    assert await _user_actions(site, "globex") == [
        {
            "user": "admin@x.test",
            "role": "admin",
            "via": "session",
            "action": "user add",
            "target": "auditor@x.test",
            "new_role": "viewer",
        }
    ]


async def test_disabling_a_user_ends_their_access(site: Site) -> None:
    """Disabling through the API revokes the user's token and refuses their login."""
    operator = await site.runtime.store.find_user("operator@x.test")
    assert operator is not None
    admin = {"Authorization": f"Bearer {site.tokens['admin@x.test']}"}
    async with site.client() as client:
        changed = await client.patch(
            f"/api/v1/users/{operator.id}",
            json={"disabled": True, "role": "viewer"},
            headers=admin,
        )
        token_after = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {site.tokens['operator@x.test']}"}
        )
        login_after = await post_login(client, "operator@x.test", PASSWORD)
    assert changed.status_code == 200, changed.text
    assert changed.json()["disabled"] is True
    assert changed.json()["api_tokens"] == 0
    assert token_after.status_code == 401
    assert login_after.status_code == 401
    actions = await _user_actions(site, "acme")
    assert actions[-1]["target"] == "operator@x.test"
    assert actions[-1]["new_role"] == "viewer"
    assert actions[-1]["disabled"] is True


async def test_the_last_admin_cannot_be_demoted(site: Site) -> None:
    """Demoting the only enabled admin is refused and changes nothing."""
    admin_user = await site.runtime.store.find_user("admin@x.test")
    assert admin_user is not None
    headers = {"Authorization": f"Bearer {site.tokens['admin@x.test']}"}
    async with site.client() as client:
        refused = await client.patch(
            f"/api/v1/users/{admin_user.id}", json={"role": "operator"}, headers=headers
        )
        unknown = await client.patch(
            f"/api/v1/users/{admin_user.id}", json={"connections": ["nope"]}, headers=headers
        )
    assert refused.status_code == 409
    assert "no enabled admin" in refused.json()["error"]
    assert unknown.status_code == 400
    after = await site.runtime.store.find_user("admin@x.test")
    assert after is not None
    assert after.role == Role.ADMIN


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A store with connection acme and the environment the CLI reads it through."""
    key = Fernet.generate_key().decode()
    database = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    settings = Settings(
        database_url=database, master_key=SecretStr(key), master_key_file=tmp_path / "k"
    )

    async def add() -> None:
        runtime = await Runtime.open(settings)
        try:
            await add_connection(runtime, "acme")
        finally:
            await runtime.close()

    asyncio.run(add())
    return {
        "ML_CONNECTOR_DATABASE_URL": database,
        "ML_CONNECTOR_MASTER_KEY": key,
        "ML_CONNECTOR_USER_PASSWORD": PASSWORD,
        "ML_CONNECTOR_LOG_JSON": "false",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }


def test_users_cli_add_list_set_role_remove(cli_env: dict[str, str]) -> None:
    """``users add``, ``list --json``, ``set-role`` and ``remove`` manage users end to end."""
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["users", *args], env=cli_env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("add", "boss@x.test", "--role", "admin")
    run("add", "clerk@x.test", "--role", "viewer", "--connection", "acme")
    run("set-role", "clerk@x.test", "--role", "operator", "--all-connections")
    listed = run("list", "--json")
    assert '"email": "clerk@x.test"' in listed
    assert '"role": "operator"' in listed
    assert '"connections": null' in listed
    assert PASSWORD not in listed
    assert "argon2" not in listed
    refused = runner.invoke(app, ["users", "remove", "boss@x.test"], env=cli_env)
    assert refused.exit_code == 1
    assert "no enabled admin" in refused.output
    run("remove", "clerk@x.test")
    assert "clerk@x.test" not in run("list")
