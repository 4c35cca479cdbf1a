"""Token endpoint, bearer checks, scopes, expiry and revocation of the Ramp sandbox."""

from __future__ import annotations

import httpx

from integration.sandbox_ramp.ramp_kit import (
    CLIENT_ID,
    CLIENT_SECRET,
    ManualClock,
    bearer,
    client_for,
    error_code,
    fetch_token,
    make_sandbox,
)
from ml_connector.sandbox.ramp import RampSandbox

TOKEN = "/developer/v1/token"
BILLS = "/developer/v1/bills"


async def test_token_grants_requested_scopes_for_ten_days(client: httpx.AsyncClient) -> None:
    """A client-credentials token carries the requested scopes and expires_in 864000."""
    response = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": "bills:read vendors:read"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 864000
    assert body["scope"] == "bills:read vendors:read"
    assert "refresh_token" not in body


async def test_scopes_outside_the_app_are_dropped_silently(clock: ManualClock) -> None:
    """Only requested ∩ allowed scopes are granted; the rest disappear without an error."""
    sandbox = make_sandbox(clock, allowed_scopes=frozenset({"bills:read"}))
    async with client_for(sandbox) as client:
        response = await client.post(
            TOKEN,
            data={"grant_type": "client_credentials", "scope": "bills:read accounting:write"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert response.json()["scope"] == "bills:read"
        token = response.json()["access_token"]
        denied = await client.get("/developer/v1/accounting/accounts", headers=bearer(token))
    assert denied.status_code == 403
    assert error_code(denied) == "DEVELOPER_7100"


async def test_wrong_secret_is_invalid_client(client: httpx.AsyncClient) -> None:
    """A bad client secret answers 401 with an OAuth error body that does not echo it."""
    response = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": "bills:read"},
        auth=(CLIENT_ID, "wrong-secret-value"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "wrong-secret-value" not in response.text


async def test_credentials_in_the_body_are_not_client_auth(client: httpx.AsyncClient) -> None:
    """Without HTTP Basic the client is not authenticated (Ramp documents Basic only)."""
    response = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_bad_grants_are_oauth_errors(client: httpx.AsyncClient) -> None:
    """Unknown grant types, unusable codes and unknown scopes answer 400 OAuth errors."""
    auth = (CLIENT_ID, CLIENT_SECRET)
    unknown = await client.post(TOKEN, data={"grant_type": "password"}, auth=auth)
    code = await client.post(
        TOKEN, data={"grant_type": "authorization_code", "code": "x"}, auth=auth
    )
    scope = await client.post(
        TOKEN, data={"grant_type": "client_credentials", "scope": "bills:fly"}, auth=auth
    )
    missing = await client.post(TOKEN, data={}, auth=auth)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unsupported_grant_type")
    assert (code.status_code, code.json()["error"]) == (400, "invalid_grant")
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


async def test_json_token_body_is_accepted(client: httpx.AsyncClient) -> None:
    """The spec models the token body as JSON; the sandbox reads it like the form."""
    response = await client.post(
        TOKEN,
        json={"grant_type": "client_credentials", "scope": "bills:read"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "bills:read"


async def test_token_without_scope_parameter_cannot_read(client: httpx.AsyncClient) -> None:
    """Omitting scope still yields a token, but it has no scopes, so calls answer 403."""
    token = await fetch_token(client, scopes=None)
    response = await client.get(BILLS, headers=bearer(token))
    assert response.status_code == 403
    assert error_code(response) == "DEVELOPER_7100"


async def test_missing_or_unknown_token_is_7002(client: httpx.AsyncClient) -> None:
    """No Authorization header, or a token the sandbox never issued: 401 DEVELOPER_7002."""
    none = await client.get(BILLS)
    forged = await client.get(BILLS, headers=bearer("ramp_tok_forged"))
    basic = await client.get(BILLS, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    for response in (none, forged, basic):
        assert response.status_code == 401
        assert error_code(response) == "DEVELOPER_7002"


async def test_expired_token_is_7028(
    client: httpx.AsyncClient, clock: ManualClock, token: str
) -> None:
    """After expires_in seconds by the injected clock the token answers 401 DEVELOPER_7028."""
    clock.advance(864000 - 1)
    assert (await client.get(BILLS, headers=bearer(token))).status_code == 200
    clock.advance(1)
    response = await client.get(BILLS, headers=bearer(token))
    assert response.status_code == 401
    assert error_code(response) == "DEVELOPER_7028"


async def test_short_ttl_is_honoured(clock: ManualClock) -> None:
    """token_ttl_s sets both expires_in and the actual lifetime."""
    sandbox = make_sandbox(clock, token_ttl_s=60)
    async with client_for(sandbox) as client:
        response = await client.post(
            TOKEN,
            data={"grant_type": "client_credentials", "scope": "bills:read"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert response.json()["expires_in"] == 60
        clock.advance(61)
        late = await client.get(BILLS, headers=bearer(response.json()["access_token"]))
    assert error_code(late) == "DEVELOPER_7028"


async def test_revoke_tokens_invalidates_every_token(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """sb.revoke_tokens() makes every issued token answer 401; a new token works again."""
    other = await fetch_token(client, "bills:read")
    sandbox.revoke_tokens()
    for old in (token, other):
        assert (await client.get(BILLS, headers=bearer(old))).status_code == 401
    fresh = await fetch_token(client)
    assert (await client.get(BILLS, headers=bearer(fresh))).status_code == 200


async def test_revoke_endpoint_revokes_one_token(client: httpx.AsyncClient, token: str) -> None:
    """POST /token/revoke with Basic auth invalidates just the named token."""
    other = await fetch_token(client, "bills:read")
    response = await client.post(
        f"{TOKEN}/revoke", data={"token": token}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 200
    assert (await client.get(BILLS, headers=bearer(token))).status_code == 401
    assert (await client.get(BILLS, headers=bearer(other))).status_code == 200


async def test_revoke_endpoint_needs_client_auth(client: httpx.AsyncClient, token: str) -> None:
    """Revoking without the client's Basic credentials is refused and the token survives."""
    response = await client.post(f"{TOKEN}/revoke", data={"token": token})
    assert response.status_code == 401
    assert (await client.get(BILLS, headers=bearer(token))).status_code == 200


async def test_control_api_revokes_tokens(client: httpx.AsyncClient, token: str) -> None:
    """POST /_sandbox/tokens/revoke is the HTTP form of revoke_tokens()."""
    assert (await client.post("/_sandbox/tokens/revoke")).status_code == 200
    assert (await client.get(BILLS, headers=bearer(token))).status_code == 401


async def test_scope_per_route(client: httpx.AsyncClient) -> None:
    """Read scope lets a token list bills but not create them (403 DEVELOPER_7100)."""
    token = await fetch_token(client, "bills:read")
    assert (await client.get(BILLS, headers=bearer(token))).status_code == 200
    response = await client.post(BILLS, json={}, headers=bearer(token))
    assert response.status_code == 403
    assert error_code(response) == "DEVELOPER_7100"


async def test_sandbox_repr_hides_the_secret(sandbox: RampSandbox) -> None:
    """Neither the sandbox nor its token store shows the client secret."""
    assert CLIENT_SECRET not in repr(sandbox)
    assert CLIENT_SECRET not in repr(sandbox.tokens)
