"""Visma Connect tokens, bearer checks, scopes and the ipp-company-id header."""

from __future__ import annotations

import httpx
import pytest

from integration.sandbox_visma.visma_kit import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    ManualClock,
    fetch_token,
    invoice_body,
    send,
)
from ml_connector.sandbox.visma import VismaSandbox


def _form(**changes: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "tenant_id": TENANT_ID,
        "scope": "vismanet_erp_service_api:read",
    }
    form.update(changes)
    return form


async def test_token_carries_ttl_scope_and_bearer_type(client: httpx.AsyncClient) -> None:
    """A good client gets a bearer token with expires_in = the configured TTL."""
    response = await client.post("/connect/token", data=_form())
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "vismanet_erp_service_api:read"
    assert body["access_token"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"client_id": "isv_someone_else"}, "invalid_client"),
        ({"tenant_id": "11111111-2222-3333-4444-555555555555"}, "invalid_tenant"),
        (
            {"scope": "vismanet_erp_service_api:read vismanet_erp_service_api:admin"},
            "invalid_scope",
        ),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
async def test_token_errors(client: httpx.AsyncClient, changes: dict[str, str], error: str) -> None:
    """Bad client, tenant, scope or grant type each get their OAuth error code."""
    response = await client.post("/connect/token", data=_form(**changes))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert CLIENT_SECRET not in response.text


async def test_client_may_authenticate_with_http_basic(client: httpx.AsyncClient) -> None:
    """Client credentials in an HTTP Basic header are accepted, as IdentityServer does."""
    form = _form()
    del form["client_id"], form["client_secret"]
    response = await client.post("/connect/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200


async def test_token_expires_with_the_clock(
    client: httpx.AsyncClient, token: str, clock: ManualClock
) -> None:
    """A token works until expires_in seconds have passed, then gets 401."""
    clock.advance(3599)
    assert (await send(client, "GET", "/v1/vat", token)).status_code == 200
    clock.advance(1)
    response = await send(client, "GET", "/v1/vat", token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_short_ttl_is_reported_and_enforced(clock: ManualClock) -> None:
    """token_ttl_s sets both expires_in and the actual lifetime."""
    from integration.sandbox_visma.visma_kit import client_for, make_sandbox

    sandbox = make_sandbox(clock, token_ttl_s=60)
    async with client_for(sandbox) as http:
        response = await http.post("/connect/token", data=_form())
        assert response.json()["expires_in"] == 60
        token = response.json()["access_token"]
        clock.advance(61)
        assert (await send(http, "GET", "/v1/vat", token)).status_code == 401


async def test_missing_or_unknown_bearer_is_401(client: httpx.AsyncClient) -> None:
    """No Authorization header, or an unknown token, gets 401 with an empty body."""
    missing = await client.get("/v1/supplier")
    unknown = await client.get("/v1/supplier", headers={"Authorization": "Bearer nope"})
    assert (missing.status_code, missing.content) == (401, b"")
    assert unknown.status_code == 401


async def test_revoked_tokens_stop_working(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """After revoke_tokens every issued token gets 401; a new one works."""
    assert sandbox.revoke_tokens() == 1
    assert (await send(client, "GET", "/v1/vat", token)).status_code == 401
    fresh = await fetch_token(client)
    assert (await send(client, "GET", "/v1/vat", fresh)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "missing"),
    [
        ("GET", "/v1/supplier", "read"),
        ("POST", "/v1/supplierInvoice", "create"),
        ("PUT", "/v1/supplier/50001", "update"),
        ("POST", "/v1/supplierInvoice/000001/action/release", "update"),
        ("DELETE", "/v1/supplierInvoice/000001", "delete"),
    ],
)
async def test_scope_is_enforced_per_verb(
    client: httpx.AsyncClient, method: str, path: str, missing: str
) -> None:
    """A token without the verb's scope gets 403 and the write does not happen."""
    others = [v for v in ("read", "create", "update", "delete") if v != missing]
    token = await fetch_token(client, " ".join(f"vismanet_erp_service_api:{v}" for v in others))
    body = invoice_body() if method in ("POST", "PUT") else None
    response = await send(client, method, path, token, body)
    assert response.status_code == 403
    assert f"vismanet_erp_service_api:{missing}" in response.json()["message"]


async def test_omitted_scope_grants_all_four(client: httpx.AsyncClient) -> None:
    """Without a scope parameter the client gets every scope it may have."""
    response = await client.post("/connect/token", data={**_form(), "scope": ""})
    assert len(response.json()["scope"].split()) == 4


async def test_foreign_company_header_is_ipp_12002(client: httpx.AsyncClient, token: str) -> None:
    """An ipp-company-id other than the token's company gets the IPPException 12002 body."""
    response = await client.get(
        "/v1/supplier", headers={"Authorization": f"Bearer {token}", "ipp-company-id": "9999"}
    )
    body = response.json()
    assert response.status_code == 400
    assert body["ExceptionType"] == "IPPException"
    assert body["ExceptionFaultCode"] == "12002"
    assert body["ExceptionMessageID"].startswith("12002_")
    assert body["ExceptionDetails"] == ""
    assert "9999" in body["ExceptionMessage"]


async def test_absent_company_header_is_accepted(client: httpx.AsyncClient, token: str) -> None:
    """Visma Connect tokens are company-bound, so the header may be left out."""
    response = await client.get("/v1/supplier", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [s["number"] for s in response.json()] == ["50001", "50002", "50003", "50004"]


def test_sandbox_repr_hides_the_secret(sandbox: VismaSandbox) -> None:
    """Neither the sandbox nor its token service shows the client secret."""
    assert CLIENT_SECRET not in repr(sandbox)
    assert CLIENT_SECRET not in repr(sandbox.tokens)
