"""Client-credentials tokens: request shape, caching, early refresh, single flight, 401 recovery."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from urllib.parse import parse_qs

import pytest
from clients_inline import RAMP_CREDS, RAMP_SECRET, VISMA_SECRET, FakeClock, Inbox, TokenEndpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.clients import RampClient, VismaClient
from ml_connector.errors import AuthenticationError, PermissionDenied

BILL = {
    "id": "b-1",
    "amount": {"amount": 1000, "currency_code": "NOK"},
    "status": "OPEN",
    "vendor": {"id": "v-1", "name": "Acme"},
}


def bill_route(inbox: Inbox, reject: set[str] | None = None) -> Route:
    """GET one bill; answers 401 to any bearer token in ``reject``."""

    async def bill(request: Request) -> Response:
        received = await inbox.take(request)
        if received.bearer is None or received.bearer in (reject or set()):
            return JSONResponse({"error_v2": {"error_code": "DEVELOPER_7028"}}, status_code=401)
        return JSONResponse(BILL)

    return Route("/developer/v1/bills/{bill_id}", bill)


async def test_ramp_token_request_uses_basic_auth_and_a_form_body(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Ramp's token call sends HTTP Basic credentials and a form with grant type and scopes."""
    ramp = make_ramp(Starlette(routes=[ramp_token.route, bill_route(inbox)]))
    await ramp.get_bill("b-1")
    (token_call,) = inbox.to("/developer/v1/token")
    expected = base64.b64encode(f"ramp_id_test:{RAMP_SECRET}".encode()).decode()
    assert token_call.headers["authorization"] == f"Basic {expected}"
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(token_call.body.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": [" ".join(RAMP_CREDS.requested)]}
    assert inbox.to("/developer/v1/bills/b-1")[0].bearer == "tok-1"


async def test_visma_token_request_sends_tenant_and_scopes_in_a_form(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """Visma's token call is a form with client id, secret, tenant id and the four scopes."""

    async def supplier(request: Request) -> Response:
        await inbox.take(request)
        return JSONResponse([])

    app = Starlette(routes=[visma_token.route, Route("/v1/supplier", supplier)])
    visma = make_visma(app)
    await visma.ping()
    (token_call,) = inbox.to("/connect/token")
    assert token_call.host == "connect.test"
    assert "ipp-company-id" not in token_call.headers
    form = parse_qs(token_call.body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["isv_test"],
        "client_secret": [VISMA_SECRET],
        "tenant_id": ["tenant-7"],
        "scope": [
            "vismanet_erp_service_api:read vismanet_erp_service_api:create "
            "vismanet_erp_service_api:update vismanet_erp_service_api:delete"
        ],
    }
    (api_call,) = inbox.to("/v1/supplier")
    assert api_call.headers["ipp-company-id"] == "1234567"
    assert api_call.headers["accept"] == "application/json"


async def test_fifty_concurrent_calls_share_one_token_request(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """However many calls start at once, exactly one token request is made."""
    ramp_token.delay_s = 0.02
    ramp = make_ramp(Starlette(routes=[ramp_token.route, bill_route(inbox)]))
    bills = await asyncio.gather(*(ramp.get_bill("b-1") for _ in range(50)))
    assert len(bills) == 50
    assert len(inbox.to("/developer/v1/token")) == 1
    bill_calls = inbox.to("/developer/v1/bills/b-1")
    assert len(bill_calls) == 50
    assert {call.bearer for call in bill_calls} == {"tok-1"}


async def test_token_is_reused_then_refreshed_leeway_before_expiry(
    inbox: Inbox,
    visma_token: TokenEndpoint,
    make_visma: Callable[..., VismaClient],
    clock: FakeClock,
) -> None:
    """A token serves until leeway_s before it expires, by the injected clock, then renews."""

    async def periods(request: Request) -> Response:
        await inbox.take(request)
        return JSONResponse([])

    app = Starlette(routes=[visma_token.route, Route("/v1/financialPeriod", periods)])
    visma = make_visma(app, clock=clock, leeway_s=60.0)
    start = clock.now
    await visma.list_financial_periods()
    clock.now = start + 3600 - 61  # still more than the leeway left
    await visma.list_financial_periods()
    clock.now = start + 3600 - 59  # inside the leeway: refresh first
    await visma.list_financial_periods()
    assert [c.bearer for c in inbox.to("/v1/financialPeriod")] == ["tok-1", "tok-1", "tok-2"]
    assert len(inbox.to("/connect/token")) == 2


async def test_a_401_triggers_one_refresh_and_one_resend(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A revoked token is replaced once and the call is sent again once."""
    ramp = make_ramp(Starlette(routes=[ramp_token.route, bill_route(inbox, reject={"tok-1"})]))
    bill = await ramp.get_bill("b-1")
    assert bill.id == "b-1"
    assert [c.bearer for c in inbox.to("/developer/v1/bills/b-1")] == ["tok-1", "tok-2"]
    assert len(inbox.to("/developer/v1/token")) == 2


async def test_a_second_401_is_an_authentication_error_without_a_retry_storm(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """If the fresh token is refused too, the call fails with AuthenticationError at once."""
    routes = [ramp_token.route, bill_route(inbox, reject={"tok-1", "tok-2", "tok-3"})]
    ramp = make_ramp(Starlette(routes=routes))
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        await ramp.get_bill("b-1")
    assert len(inbox.to("/developer/v1/bills/b-1")) == 2
    assert len(inbox.to("/developer/v1/token")) == 2


async def test_bad_client_credentials_are_reported_without_the_secret(
    inbox: Inbox, make_ramp: Callable[..., RampClient]
) -> None:
    """invalid_client becomes AuthenticationError naming the fix, never the secret."""

    async def token(request: Request) -> Response:
        await inbox.take(request)
        return JSONResponse({"error": "invalid_client"}, status_code=401)

    ramp = make_ramp(Starlette(routes=[Route("/developer/v1/token", token, methods=["POST"])]))
    with pytest.raises(AuthenticationError) as caught:
        await ramp.get_bill("b-1")
    assert "invalid_client" in str(caught.value)
    assert "client id" in str(caught.value)
    assert RAMP_SECRET not in str(caught.value)
    assert len(inbox.to("/developer/v1/token")) == 1


async def test_visma_bad_tenant_and_company_mismatch_name_the_identifier(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """invalid_tenant names the tenant id; IPPException 12002 names the company id."""

    async def bad_tenant(request: Request) -> Response:
        await inbox.take(request)
        return JSONResponse({"error": "invalid_tenant"}, status_code=400)

    tenant_app = Starlette(routes=[Route("/connect/token", bad_tenant, methods=["POST"])])
    with pytest.raises(AuthenticationError, match="tenant id tenant-7"):
        await make_visma(tenant_app).ping()

    async def wrong_company(request: Request) -> Response:
        await inbox.take(request)
        fault = {
            "ExceptionType": "IPPException",
            "ExceptionFaultCode": "12002",
            "ExceptionMessage": "User is not authorised for the company.",
        }
        return JSONResponse(fault, status_code=400)

    company_app = Starlette(routes=[visma_token.route, Route("/v1/supplier", wrong_company)])
    with pytest.raises(AuthenticationError) as caught:
        await make_visma(company_app).ping()
    assert "company id 1234567" in str(caught.value)
    assert VISMA_SECRET not in str(caught.value)


async def test_ping_reports_scopes_ramp_silently_dropped(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A token missing requested scopes fails ping with PermissionDenied naming them."""
    ramp_token.scope = "bills:read vendors:read"
    ramp = make_ramp(Starlette(routes=[ramp_token.route]))
    with pytest.raises(PermissionDenied) as caught:
        await ramp.ping()
    assert "accounting:write" in str(caught.value)
    assert "Ramp (Developer settings)" in str(caught.value)


async def test_ramp_missing_scope_on_a_call_is_permission_denied(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Ramp's 403 DEVELOPER_7100 tells the user which system and what to fix."""

    async def forbidden(request: Request) -> Response:
        await inbox.take(request)
        body = {"error_v2": {"error_code": "DEVELOPER_7100", "message": "Missing scope"}}
        return JSONResponse(body, status_code=403)

    app = Starlette(routes=[ramp_token.route, Route("/developer/v1/bills/{bill_id}", forbidden)])
    with pytest.raises(PermissionDenied) as caught:
        await make_ramp(app).get_bill("b-1")
    assert str(caught.value).startswith("Ramp HTTP 403")
    assert "DEVELOPER_7100" in str(caught.value)
    assert "Add the missing scope" in str(caught.value)
