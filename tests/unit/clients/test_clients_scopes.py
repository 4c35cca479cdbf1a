"""Required and optional scopes: a missing optional scope is named by ping, never fatal."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import pytest
from clients_inline import RAMP_CREDS, VISMA_CREDS, Inbox, TokenEndpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.clients import RampClient, VismaClient
from ml_connector.errors import PermissionDenied

DELETE = "vismanet_erp_service_api:delete"


def _listing(inbox: Inbox) -> Callable[[Request], object]:
    async def answer(request: Request) -> Response:
        await inbox.take(request)
        return JSONResponse({"data": [], "page": {"next": None}})

    return answer


async def test_ramp_ping_names_a_missing_optional_scope_and_passes(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Ramp dropped purchase_orders:read: ping succeeds and says so."""
    ramp_token.scope = " ".join(RAMP_CREDS.scopes)  # every required one, no optional one
    app = Starlette(routes=[ramp_token.route, Route("/developer/v1/bills", _listing(inbox))])
    info = await make_ramp(app).ping()
    assert info.missing_optional == RAMP_CREDS.optional_scopes  # purchase orders, …
    (probe,) = inbox.to("/developer/v1/bills")
    assert probe.query == {"page_size": "2"}


async def test_ramp_ping_fails_on_a_missing_required_scope(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Without vendors:write the flows cannot link vendors: PermissionDenied naming it."""
    ramp_token.scope = "bills:read vendors:read accounting:read accounting:write"
    with pytest.raises(PermissionDenied, match="vendors:write"):
        await make_ramp(Starlette(routes=[ramp_token.route])).ping()


async def test_visma_refusing_an_optional_scope_gets_a_token_without_it(
    inbox: Inbox, make_visma: Callable[..., VismaClient]
) -> None:
    """invalid_scope for delete: one more token request without it; ping names it."""

    async def token(request: Request) -> Response:
        await inbox.take(request)
        scopes = parse_qs((await request.body()).decode())["scope"][0].split()
        if DELETE in scopes:
            error = {"error": "invalid_scope", "error_description": "Scope not allowed"}
            return JSONResponse(error, status_code=400)
        body = {"access_token": "t", "token_type": "Bearer", "expires_in": 3600}
        return JSONResponse({**body, "scope": " ".join(scopes)})

    async def suppliers(request: Request) -> Response:
        await inbox.take(request)
        return JSONResponse([])

    app = Starlette(
        routes=[
            Route("/connect/token", token, methods=["POST"]),
            Route("/v1/supplier", suppliers),
        ]
    )
    visma = make_visma(app)
    info = await visma.ping()
    assert info.missing_optional == (DELETE,)
    asked = [parse_qs(r.body.decode())["scope"][0] for r in inbox.to("/connect/token")]
    assert asked == [" ".join((*VISMA_CREDS.scopes, DELETE)), " ".join(VISMA_CREDS.scopes)]
