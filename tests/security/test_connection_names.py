"""Issue 14 item 9: connection names are slugs, unique regardless of case; old names work."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from security.security_kit import PASSWORD, SecureSite

BAD_NAMES = [
    "Acme Corp",
    "ACME",
    "acme_nordic",
    "-acme",
    "../../etc/passwd",
    "acme\x1b[31mred",
    "acme\nsecond line",
    "a" * 64,
    "2026",
    "",
]
CREDENTIALS = {
    "ML_CONNECTOR_RAMP_CLIENT_ID": "rid",
    "ML_CONNECTOR_RAMP_CLIENT_SECRET": "rsecret-123",
    "ML_CONNECTOR_VISMA_CLIENT_ID": "vid",
    "ML_CONNECTOR_VISMA_CLIENT_SECRET": "vsecret-123",
    "ML_CONNECTOR_VISMA_TENANT_ID": "tenant",
    "ML_CONNECTOR_VISMA_COMPANY_ID": "company",
}


def _legacy_connection(site: SecureSite, name: str) -> None:
    """A connection named as stores from before the rule could name it (copied from acme)."""
    path = site.runtime.settings.database_url.split("///", 1)[1]
    columns = (
        "status, health_message, ramp_base_url, visma_base_url, visma_token_url, "
        "credentials, settings, created_at, updated_at"
    )
    with sqlite3.connect(path, timeout=60) as db:  # the app may be writing: wait, never fail
        db.execute(
            f"INSERT INTO connections (name, {columns}) "
            f"SELECT ?, {columns} FROM connections WHERE name = 'acme'",
            (name,),
        )


async def _names(site: SecureSite) -> list[str]:
    listed = await site.cli("connection", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [c["name"] for c in json.loads(listed.stdout)]


@pytest.mark.slow
async def test_cli_refuses_names_that_are_not_slugs(site: SecureSite) -> None:
    """Each bad name is refused with the rule, before any secret is asked for; none is stored."""
    for name in BAD_NAMES:
        result = await site.cli("connection", "add", "--visma-tenant-id", "t", "--", name)
        output = result.stdout + result.stderr
        assert result.returncode != 0, name
        assert "lowercase letters, digits and hyphens" in output or "digits" in output, output
        assert "Password" not in output
        assert "secret" not in output.lower()
    assert await _names(site) == ["acme"]
    good = await site.cli("connection", "add", "nordic-2", extra_env=CREDENTIALS)
    assert good.returncode == 0, good.stderr
    assert await _names(site) == ["acme", "nordic-2"]


@pytest.mark.slow
async def test_names_are_unique_regardless_of_case_and_old_names_keep_working(
    site: SecureSite,
) -> None:
    """Beside an old "Legacy-Co", "legacy-co" is refused; the old connection still works."""
    # In a thread: a blocking write on the loop would stall the app's own open transaction.
    await asyncio.to_thread(_legacy_connection, site, "Legacy-Co")
    clash = await site.cli("connection", "add", "legacy-co", extra_env=CREDENTIALS)
    assert clash.returncode != 0
    assert "regardless of case" in clash.stdout + clash.stderr
    assert await _names(site) == ["acme", "Legacy-Co"]
    async with site.client() as client:
        found = await client.get(
            "/api/v1/connections/Legacy-Co", headers=site.bearer("admin@x.test")
        )
        page_cookie, _ = await site.session("admin@x.test")
        page = await client.get(
            "/ui/c/Legacy-Co/records", headers={"cookie": f"mlc_session={page_cookie}"}
        )
    assert found.status_code == 200
    assert found.json()["name"] == "Legacy-Co"
    assert page.status_code == 200


async def test_api_refuses_unknown_names_with_a_clear_error(site: SecureSite) -> None:
    """A user scoped to a name that is no connection is refused (400), and not created."""
    async with site.client() as client:
        response = await client.post(
            "/api/v1/users",
            json={
                "email": "scoped@x.test",
                "password": PASSWORD,
                "role": "viewer",
                "connections": ["Acme Corp"],
            },
            headers=site.bearer("admin@x.test"),
        )
        path = await client.get(
            "/api/v1/connections/Acme%20Corp", headers=site.bearer("admin@x.test")
        )
    assert response.status_code == 400
    assert "no connection Acme Corp" in response.json()["error"]
    assert path.status_code == 404
    assert await site.store.find_user("scoped@x.test") is None
