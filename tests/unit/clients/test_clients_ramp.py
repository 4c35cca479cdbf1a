"""RampClient against inline apps: paging, models, bodies, retries, timeouts, secrets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from clients_inline import RAMP_SECRET, Inbox, TokenEndpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.clients import CallRecord, RampClient
from ml_connector.clients.ramp_models import GLAccountUpload, SyncFailure, SyncSuccess
from ml_connector.errors import (
    AmbiguousOutcome,
    FatalVendorError,
    RateLimited,
    RetriableVendorError,
    ValidationRejected,
)

Handler = Callable[[Request], Any]
Routes = Mapping[str, Handler]


def bill_json(bill_id: str, amount: int = 96993) -> dict[str, Any]:
    selection = {
        "id": "opt-1",
        "name": "6800 Office supplies",
        "external_id": "6800",
        "category_info": {
            "id": "f-1",
            "name": "GL",
            "external_id": "gl_account",
            "type": "GL_ACCOUNT",
        },
    }
    return {
        "id": bill_id,
        "amount": {"amount": amount, "currency_code": "NOK", "minor_unit_conversion_rate": 100},
        "status": "OPEN",
        "approval_status": "APPROVED",
        "sync_status": "NOT_SYNCED",
        "invoice_number": "432",
        "invoice_urls": ["http://files.example/inv-432.pdf"],
        "issued_at": "2022-12-31T00:00:00",
        "due_at": "2023-01-30T00:00:00+00:00",
        "accounting_date": "2022-12-31T00:00:00+00:00",
        "created_at": "2024-05-12T01:37:27.604020",
        "entity_id": "e-1",
        "fx_conversion_rate": "1.0",
        "bill_owner": {"id": "u-1"},
        "vendor": {"id": "v-1", "name": "Acme AS", "remote_id": None, "type": "BUSINESS"},
        "vendor_contact_id": None,
        "accounting_field_selections": [],
        "line_items": [
            {
                "amount": {"amount": amount, "currency_code": "NOK"},
                "memo": "Paper",
                "accounting_field_selections": [selection],
            }
        ],
        "inventory_line_items": [],
        "payment": None,
        "archived_at": None,
        "a_field_ramp_adds_tomorrow": {"x": 1},
    }


def app_with(ramp_token: TokenEndpoint, inbox: Inbox, routes: Routes) -> Starlette:
    """An inline Ramp: the token endpoint plus ``routes`` (``"METHOD /path"`` → handler)."""

    def recording(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            await inbox.take(request)
            result = handler(request)
            answer: Response = await result if asyncio.iscoroutine(result) else result
            return answer

        return endpoint

    built = [ramp_token.route]
    for key, handler in routes.items():
        method, path = key.split(" ", 1)
        built.append(Route("/developer/v1" + path, recording(handler), methods=[method]))
    return Starlette(routes=built)


def json_answer(body: Any, status: int = 200, **headers: str) -> Callable[[Request], Response]:
    return lambda request: JSONResponse(body, status_code=status, headers=headers or None)


async def test_list_bills_follows_next_links_verbatim_one_page_at_a_time(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Paging sends filters once, then GETs page.next as given, and streams page by page."""
    pages = {None: ["b-1", "b-2"], "b-2": ["b-3"]}

    def bills(request: Request) -> Response:
        ids = pages[request.query_params.get("start")]
        nxt = f"http://ramp.test/developer/v1/bills?page_size=2&sync_ready=true&start={ids[-1]}"
        return JSONResponse(
            {"data": [bill_json(i) for i in ids], "page": {"next": nxt if len(ids) == 2 else None}}
        )

    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /bills": bills}), page_size=2)
    stream = ramp.list_bills(sync_ready=True)
    first = await anext(stream)
    assert first.id == "b-1"
    assert len(inbox.to("/developer/v1/bills")) == 1  # page two not fetched yet
    rest = [bill.id async for bill in stream]
    assert rest == ["b-2", "b-3"]
    queries = [r.query for r in inbox.to("/developer/v1/bills")]
    assert queries == [
        {"sync_ready": "true", "page_size": "2"},
        {"page_size": "2", "sync_ready": "true", "start": "b-2"},
    ]


async def test_next_link_to_another_host_is_not_followed(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A next-page link to a foreign host stops paging rather than send our token there."""
    page = {"data": [bill_json("b-1")], "page": {"next": "http://evil.test/developer/v1/bills"}}
    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /bills": json_answer(page)}))
    with pytest.raises(FatalVendorError, match="another host"):
        _ = [bill async for bill in ramp.list_bills()]
    assert {r.host for r in inbox.requests} == {"ramp.test"}


async def test_bill_model_reads_money_dates_and_coding(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A bill parses into minor units, UTC date-times (offset or not) and ERP coding ids."""
    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /bills/b-9": json_answer(bill_json("b-9"))}))
    bill = await ramp.get_bill("b-9")
    assert (bill.amount.amount, bill.amount.currency_code) == (96993, "NOK")
    assert bill.issued_at == datetime(2022, 12, 31, tzinfo=UTC)
    assert bill.created_at is not None
    assert bill.created_at.tzinfo is UTC
    assert bill.fx_conversion_rate == Decimal("1.0")
    selection = bill.line_items[0].accounting_field_selections[0]
    assert (selection.external_id, selection.category_info.external_id) == ("6800", "gl_account")
    assert bill.payment is None
    assert bill.vendor.name == "Acme AS"


async def test_vendor_form_answers_and_free_text_are_read_as_ramp_sends_them(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Form answers come out as (label, text) under any label; a NUMBER loses its float tail."""

    def answer(label: str, text: str, kind: str = "TEXT", value: Any = None) -> dict[str, Any]:
        return {
            "label": label,
            "field_id": label,
            "required": False,
            "description": None,
            "conditions": None,
            "value_display_string": text,
            "field": {"field_type": kind, "value": {"value": text if value is None else value}},
        }

    vendor = {
        "id": "v-1",
        "name": "Acme AS",
        "country": "NO",
        "contacts": [],
        "is_active": True,
        "accounting_vendor_remote_id": None,
        "custom_form_collection_response": {
            "custom_form_collection_log_entry": {
                "label": None,
                "forms": [
                    {
                        "label": None,
                        "fields": [
                            answer("Foretaksregister-ID", "923609016"),
                            answer("Avgift", "NO923609016MVA"),
                            answer("Ansatte", "12", "NUMBER", 12.0),
                            answer("Tom", "  "),
                        ],
                    }
                ],
            }
        },
    }
    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /vendors/v-1": json_answer(vendor)}))
    got = await ramp.get_vendor("v-1")
    assert got.form_answers == (
        ("Foretaksregister-ID", "923609016"),
        ("Avgift", "NO923609016MVA"),
        ("Ansatte", "12"),
    )
    assert got.free_texts == ()


async def test_unknown_filters_and_fields_are_refused_before_sending(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Misspelt filters or fields raise ValueError and nothing reaches Ramp."""
    ramp = make_ramp(app_with(ramp_token, inbox, {}))
    with pytest.raises(ValueError, match="sync_redy"):
        _ = [b async for b in ramp.list_bills(sync_redy=True)]
    with pytest.raises(ValueError, match="amount"):
        await ramp.update_bill("b-1", amount=Decimal("1"))
    with pytest.raises(ValueError, match="1 to 500"):
        await ramp.upload_gl_accounts([GLAccountUpload(str(n), "x") for n in range(501)])
    assert inbox.requests == []


async def test_update_bill_sends_exact_decimal_amounts(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """PATCH bodies carry Decimal amounts as exact literals."""
    ramp = make_ramp(
        app_with(ramp_token, inbox, {"PATCH /bills/b-1": json_answer(bill_json("b-1"))})
    )
    await ramp.update_bill("b-1", line_items=[{"amount": Decimal("969.93"), "memo": "Paper"}])
    (patch,) = inbox.to("/developer/v1/bills/b-1", "PATCH")
    assert patch.body == b'{"line_items":[{"amount":969.93,"memo":"Paper"}]}'


async def test_post_sync_builds_the_spec_body_and_retries_with_the_same_key(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A 5xx on /accounting/syncs is retried (Ramp de-duplicates on the key); the body is exact."""
    answers = iter([JSONResponse({}, status_code=502), JSONResponse({"sync_id": "s-1"}, 201)])
    ramp = make_ramp(
        app_with(ramp_token, inbox, {"POST /accounting/syncs": lambda r: next(answers)})
    )
    sync_id = await ramp.post_sync(
        "BILL_SYNC",
        "key-1",
        successful=[SyncSuccess("b-1", "000123", "https://visma.test/doc/000123")],
        failed=[SyncFailure("b-2", "Accounting period closed")],
    )
    assert sync_id == "s-1"
    posts = inbox.to("/developer/v1/accounting/syncs")
    assert len(posts) == 2
    assert posts[0].body == posts[1].body
    assert posts[0].json() == {
        "idempotency_key": "key-1",
        "sync_type": "BILL_SYNC",
        "successful_syncs": [
            {
                "id": "b-1",
                "reference_id": "000123",
                "deep_link_url": "https://visma.test/doc/000123",
            }
        ],
        "failed_syncs": [{"id": "b-2", "error": {"message": "Accounting period closed"}}],
    }


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
