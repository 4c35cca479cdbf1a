"""RampClient against inline apps: retries within bounds, timeouts, and secrets kept out of
records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from clients_inline import RAMP_SECRET, Inbox, TokenEndpoint
from ramp_inline import app_with, bill_json, json_answer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.clients import CallRecord, RampClient
from ml_connector.errors import (
    AmbiguousOutcome,
    RateLimited,
    RetriableVendorError,
    ValidationRejected,
)


async def test_rate_limits_are_retried_for_writes_within_the_retry_after_cap(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A 429 (not processed) is retried even for a POST; a Retry-After above the cap is raised."""
    connection_json = {"id": "c-1", "status": "linked", "is_active": True}
    answers = iter(
        [JSONResponse({}, 429, headers={"Retry-After": "1"}), JSONResponse(connection_json, 201)]
    )
    ramp = make_ramp(
        app_with(ramp_token, inbox, {"POST /accounting/connection": lambda r: next(answers)})
    )
    connection = await ramp.create_connection("Visma.net ERP")
    assert connection.id == "c-1"
    assert len(inbox.to("/developer/v1/accounting/connection")) == 2

    slow = json_answer({}, 429, **{"Retry-After": "120"})
    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /bills/b-1": slow}))
    with pytest.raises(RateLimited) as caught:
        await ramp.get_bill("b-1")
    assert caught.value.retry_after == 120.0
    assert len(inbox.to("/developer/v1/bills/b-1")) == 1


async def test_server_errors_retry_reads_but_never_writes(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A 503 on GET is retried; a 500 on PATCH is AmbiguousOutcome after a single attempt."""
    answers = iter([JSONResponse({}, 503), JSONResponse(bill_json("b-1"))])
    routes = {"GET /bills/b-1": lambda r: next(answers), "PATCH /bills/b-1": json_answer({}, 500)}
    ramp = make_ramp(app_with(ramp_token, inbox, routes), retries=3)
    assert (await ramp.get_bill("b-1")).id == "b-1"
    with pytest.raises(AmbiguousOutcome):
        await ramp.update_bill("b-1", memo="x")
    assert len(inbox.to("/developer/v1/bills/b-1", "GET")) == 2
    assert len(inbox.to("/developer/v1/bills/b-1", "PATCH")) == 1


async def test_timeouts_work_over_asgi_transport(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A hung answer times out: retriable (and retried) for reads, ambiguous once for writes."""

    async def hang(request: Request) -> Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    routes = {"GET /bills/b-1": hang, "PATCH /bills/b-1": hang}
    ramp = make_ramp(app_with(ramp_token, inbox, routes), timeout_s=0.05, retries=1)
    with pytest.raises(RetriableVendorError, match="timed out") as read_error:
        await ramp.get_bill("b-1")
    assert not isinstance(read_error.value, AmbiguousOutcome)
    with pytest.raises(AmbiguousOutcome, match="timed out"):
        await ramp.update_bill("b-1", memo="x")
    assert len(inbox.to("/developer/v1/bills/b-1", "GET")) == 2
    assert len(inbox.to("/developer/v1/bills/b-1", "PATCH")) == 1


async def test_download_sends_the_token_only_to_the_ramp_host(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Invoice files on a foreign host are fetched without our Authorization header."""

    async def file(request: Request) -> Response:
        await inbox.take(request)
        return Response(b"%PDF-1.7 fake", media_type="application/pdf")

    app = Starlette(routes=[ramp_token.route, Route("/files/{name}", file)])
    ramp = make_ramp(app)
    assert (await ramp.download("http://files.example/files/inv.pdf")).content == b"%PDF-1.7 fake"
    assert (await ramp.download("http://ramp.test/files/own.pdf")).content == b"%PDF-1.7 fake"
    foreign, own = inbox.to("/files/inv.pdf"), inbox.to("/files/own.pdf")
    assert "authorization" not in foreign[0].headers
    assert own[0].bearer == "tok-1"


async def test_webhook_secret_is_returned_once_and_never_recorded(
    inbox: Inbox,
    ramp_token: TokenEndpoint,
    make_ramp: Callable[..., RampClient],
    calls: list[CallRecord],
) -> None:
    """create_webhook hands back the secret as SecretStr; records and reprs never show it."""
    created = {
        "id": "w-1",
        "endpoint_url": "https://hooks.test/ramp",
        "event_types": ["bills.approved"],
        "status": "pending_verification",
        "additional_headers": {},
        "secret": "whsec_ABC123",
        "created_at": "2025-01-01T00:00:00+00:00",
        "updated_at": "2025-01-01T00:00:00+00:00",
    }
    routes = {"POST /webhooks": json_answer(created, 201), "GET /webhooks": json_answer([created])}
    ramp = make_ramp(app_with(ramp_token, inbox, routes))
    subscription, secret = await ramp.create_webhook("https://hooks.test/ramp", ["bills.approved"])
    assert secret.get_secret_value() == "whsec_ABC123"
    assert subscription.status == "pending_verification"
    assert [s.id for s in await ramp.list_webhooks()] == ["w-1"]
    shown = repr(calls) + repr(subscription) + repr(secret) + repr(ramp)
    assert "whsec_ABC123" not in shown


async def test_call_records_are_complete_and_redacted(
    inbox: Inbox,
    ramp_token: TokenEndpoint,
    make_ramp: Callable[..., RampClient],
    calls: list[CallRecord],
) -> None:
    """Each call yields a record with method, path, status and bodies, minus every secret."""

    def echo_secret(request: Request) -> Response:
        return JSONResponse({"message": f"we saw {RAMP_SECRET} and tok-1"}, status_code=400)

    routes = {"GET /bills/b-1": json_answer(bill_json("b-1")), "PATCH /bills/b-2": echo_secret}
    ramp = make_ramp(app_with(ramp_token, inbox, routes))
    await ramp.get_bill("b-1")
    with pytest.raises(ValidationRejected) as caught:
        await ramp.update_bill("b-2", memo="x")
    token_call, read, write = calls
    assert (token_call.method, token_call.path, token_call.status) == (
        "POST",
        "/developer/v1/token",
        200,
    )
    assert token_call.response_body["access_token"] == "***"
    assert (read.system, read.method, read.path, read.status) == (
        "Ramp",
        "GET",
        "/developer/v1/bills/b-1",
        200,
    )
    assert read.response_body["id"] == "b-1"
    assert (write.status, write.request_body) == (400, {"memo": "x"})
    assert write.error is not None
    assert "HTTP 400" in write.error
    everything = repr(calls) + str(caught.value) + repr(caught.value.__dict__)
    assert RAMP_SECRET not in everything
    assert "tok-1" not in everything


async def test_a_hung_token_endpoint_never_makes_a_write_ambiguous(
    inbox: Inbox, make_ramp: Callable[..., RampClient]
) -> None:
    """If the token cannot be had, the write was never sent: retriable, not ambiguous."""

    async def hang(request: Request) -> Response:
        await inbox.take(request)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    app = Starlette(routes=[Route("/developer/v1/token", hang, methods=["POST"])])
    ramp = make_ramp(app, timeout_s=0.05, retries=0)
    with pytest.raises(RetriableVendorError) as caught:
        await ramp.update_bill("b-1", memo="x")
    assert not isinstance(caught.value, AmbiguousOutcome)
    assert [r.path for r in inbox.requests] == ["/developer/v1/token"]
