"""VismaClient against inline apps: Location, paging, ETags, headers, errors (the wrappers and
keys themselves: test_clients_visma_wire.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from clients_inline import VISMA_INVOICE as INVOICE
from clients_inline import VISMA_SECRET, Inbox, TokenEndpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.clients import CallRecord, VismaClient
from ml_connector.clients.visma import to_wire
from ml_connector.clients.visma_models import (
    SupplierInvoiceWrite,
    SupplierWrite,
)
from ml_connector.errors import AmbiguousOutcome, PreconditionFailed, ValidationRejected

Handler = Callable[[Request], Any]


def app_with(visma_token: TokenEndpoint, inbox: Inbox, routes: dict[str, Handler]) -> Starlette:
    """An inline Visma: the token endpoint plus ``routes`` (``"METHOD /path"`` → handler)."""

    def recording(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            await inbox.take(request)
            result = handler(request)
            answer: Response = await result if asyncio.iscoroutine(result) else result
            return answer

        return endpoint

    built = [visma_token.route]
    for key, handler in routes.items():
        method, path = key.split(" ", 1)
        built.append(Route(path, recording(handler), methods=[method]))
    return Starlette(routes=built)


def created(location: str) -> Callable[[Request], Response]:
    return lambda request: JSONResponse({}, status_code=201, headers={"Location": location})


async def test_create_invoice_posts_exact_json_and_returns_the_key(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """POST carries ipp-company-id, exact decimals, and the key comes back from Location."""
    routes = {"POST /v1/supplierInvoice": created("http://visma.test/v1/supplierInvoice/000123")}
    visma = make_visma(app_with(visma_token, inbox, routes))
    assert await visma.create_supplier_invoice(INVOICE) == "000123"
    (post,) = inbox.to("/v1/supplierInvoice", "POST")
    assert post.headers["ipp-company-id"] == "1234567"
    assert post.headers["content-type"] == "application/json"
    assert b'"amount":{"value":1250.00}' in post.body
    assert post.json() == to_wire(INVOICE)


async def test_create_without_location_is_ambiguous(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """A 201 that does not say where the object is must be resolved by lookup."""
    routes = {"POST /v1/supplier": lambda r: JSONResponse({}, status_code=201)}
    visma = make_visma(app_with(visma_token, inbox, routes))
    with pytest.raises(AmbiguousOutcome, match="Location"):
        await visma.create_supplier(SupplierWrite(name="Acme"))


async def test_paging_caps_to_max_page_size_and_stops_at_total_count(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """25 suppliers, server cap 10: pages 1 to 3 are read, with pageSize 10 after the first."""
    suppliers = [{"number": f"{50000 + n}", "name": f"S{n}"} for n in range(25)]

    def page(request: Request) -> Response:
        number, size = (
            int(request.query_params["pageNumber"]),
            int(request.query_params["pageSize"]),
        )
        size = min(size, 10)
        rows = suppliers[(number - 1) * size : number * size]
        meta = {"totalCount": len(suppliers), "maxPageSize": 10}
        return JSONResponse([{**row, "metadata": meta} for row in rows])

    visma = make_visma(app_with(visma_token, inbox, {"GET /v1/supplier": page}), page_size=500)
    got = [s.number async for s in visma.list_suppliers(status="Active")]
    assert got == [s["number"] for s in suppliers]
    queries = [r.query for r in inbox.to("/v1/supplier")]
    assert queries == [
        {"status": "Active", "pageNumber": "1", "pageSize": "500"},
        {"status": "Active", "pageNumber": "2", "pageSize": "10"},
        {"status": "Active", "pageNumber": "3", "pageSize": "10"},
    ]


async def test_paging_stops_at_total_count_without_an_extra_request(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """When the rows seen reach metadata.totalCount, no empty page is requested."""
    rows = [{"number": str(n), "metadata": {"totalCount": 4, "maxPageSize": 2}} for n in range(4)]

    def page(request: Request) -> Response:
        number = int(request.query_params["pageNumber"])
        return JSONResponse(rows[(number - 1) * 2 : number * 2])

    visma = make_visma(app_with(visma_token, inbox, {"GET /v1/supplier": page}), page_size=2)
    assert len([s async for s in visma.list_suppliers()]) == 4
    assert len(inbox.to("/v1/supplier")) == 2


async def test_invoice_list_sends_filters_by_their_spec_names(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """snake_case filters become the spec's names; unknown ones are refused unsent."""
    routes = {"GET /v1/supplierInvoice": lambda r: JSONResponse([])}
    visma = make_visma(app_with(visma_token, inbox, routes))
    stream = visma.list_supplier_invoices(
        supplier="50000",
        document_type="Invoice",
        status="Hold",
        last_modified_date_time=date(2025, 1, 1),
        last_modified_date_time_condition=">",
    )
    assert [i async for i in stream] == []
    (call,) = inbox.to("/v1/supplierInvoice")
    assert call.query == {
        "supplier": "50000",
        "documentType": "Invoice",
        "expandNote": "true",
        "status": "Hold",
        "lastModifiedDateTime": "2025-01-01",
        "lastModifiedDateTimeCondition": ">",
        "pageNumber": "1",
        "pageSize": "1000",
    }
    with pytest.raises(ValueError, match="supplierRef"):
        _ = [i async for i in visma.list_supplier_invoices(supplierRef="x")]
    assert len(inbox.to("/v1/supplierInvoice")) == 1


async def test_read_invoice_keeps_decimals_dates_and_etag_then_sends_if_match(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """GET one keeps the ETag; an update sends it as If-Match and a moved ETag is 412."""
    document = {
        "documentType": "Invoice",
        "referenceNumber": "000123",
        "status": "Hold",
        "hold": True,
        "date": "2025-11-08T00:00:00",
        "dueDate": "2025-12-08T00:00:00",
        "supplier": {"internalId": 7, "number": "50000", "name": "Acme"},
        "supplierReference": "INV-2025-0042",
        "note": "ramp-bill:b-1",
        "amount": 1250.00,
        "vatAmount": 250.00,
        "timeStamp": "AAAAAE0YIiI=",
        "invoiceLines": [
            {
                "lineNumber": 1,
                "account": {"number": "6800"},
                "costInCurrency": 1000.10,
                "subaccount": {
                    "subaccountNumber": "100-20",
                    "segments": [{"segmentId": 1, "segmentValue": "100"}],
                },
            }
        ],
    }

    def put(request: Request) -> Response:
        if request.headers.get("if-match") != '"v1"':
            return JSONResponse({"message": "version does not match"}, status_code=412)
        return Response(status_code=204, headers={"ETag": '"v2"'})

    routes = {
        "GET /v1/supplierInvoice/Invoice/000123": json_with_etag(document, '"v1"'),
        "PUT /v1/supplierInvoice/Invoice/000123": put,
        "GET /v1/supplierInvoice/Invoice/404": lambda r: JSONResponse({}, status_code=404),
    }
    visma = make_visma(app_with(visma_token, inbox, routes))
    invoice = await visma.get_supplier_invoice("Invoice", "000123")
    assert invoice is not None
    assert (invoice.amount, invoice.vat_amount) == (Decimal("1250.00"), Decimal("250.00"))
    assert invoice.invoice_lines[0].cost_in_currency == Decimal("1000.10")
    assert invoice.date == date(2025, 11, 8)
    assert (invoice.supplier_number, invoice.etag) == ("50000", '"v1"')
    change = SupplierInvoiceWrite(description="Paper and pens")
    assert (
        await visma.update_supplier_invoice("Invoice", "000123", change, etag=invoice.etag)
        == '"v2"'
    )
    with pytest.raises(PreconditionFailed):
        await visma.update_supplier_invoice("Invoice", "000123", change, etag='"stale"')
    assert await visma.get_supplier_invoice("Invoice", "404") is None
    puts = inbox.to("/v1/supplierInvoice/Invoice/000123", "PUT")
    assert [p.headers["if-match"] for p in puts] == ['"v1"', '"stale"']
    assert puts[0].json() == {"description": {"value": "Paper and pens"}}


def json_with_etag(body: Any, etag: str) -> Callable[[Request], Response]:
    return lambda request: JSONResponse(body, headers={"ETag": etag})


async def test_release_and_attach_use_the_document_type_paths(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """Release returns the action result; a file goes as multipart and yields its id."""
    routes = {
        "POST /v1/supplierInvoice/Invoice/000123/action/release": lambda r: JSONResponse(
            {"actionId": "a-1", "actionResult": "Queued"}
        ),
        "POST /v1/supplierInvoice/documentType/Invoice/000123/attachment": created(
            "http://visma.test/v1/attachment/6f1c"
        ),
    }
    visma = make_visma(app_with(visma_token, inbox, routes))
    result = await visma.release_supplier_invoice("Invoice", "000123")
    assert (result.action_id, result.action_result) == ("a-1", "Queued")
    attachment = await visma.attach_supplier_invoice_file(
        "Invoice", "000123", "inv-432.pdf", b"%PDF-1.7 data", "application/pdf"
    )
    assert attachment == "6f1c"
    (upload,) = inbox.to("/v1/supplierInvoice/documentType/Invoice/000123/attachment")
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'filename="inv-432.pdf"' in upload.body
    assert b"%PDF-1.7 data" in upload.body


async def test_master_data_reads(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """Accounts, the SUBACCOUNT dimension, projects, VAT and periods parse into models."""
    routes = {
        "GET /v1/account": lambda r: JSONResponse(
            [
                {
                    "accountID": 1,
                    "accountCD": "6800",
                    "description": "Office supplies",
                    "type": "Expense",
                    "active": True,
                }
            ]
        ),
        "GET /v1/dimension/SUBACCOUNT": lambda r: JSONResponse(
            {
                "id": "SUBACCOUNT",
                "segments": [
                    {
                        "segmentId": 1,
                        "description": "Cost centre",
                        "length": 3,
                        "validate": True,
                        "segmentValues": [
                            {"valueId": "100", "description": "Oslo", "active": True}
                        ],
                    }
                ],
            }
        ),
        "GET /v1/project": lambda r: JSONResponse(
            [
                {
                    "projectID": "P-1",
                    "internalID": 9,
                    "status": "Active",
                    "visibility": {"visibleInAp": False},
                }
            ]
        ),
        "GET /v1/vat": lambda r: JSONResponse(
            [
                {
                    "vatId": "1",
                    "description": "25%",
                    "schedules": [{"startDate": "2020-01-01T00:00:00", "vatRate": 25.0}],
                }
            ]
        ),
        "GET /v1/financialPeriod/202509": lambda r: JSONResponse(
            {"period": "202509", "startDate": "2025-09-01T00:00:00", "closedInSupplierLedger": True}
        ),
    }
    visma = make_visma(app_with(visma_token, inbox, routes))
    (account,) = await visma.list_accounts(active=True)
    assert (account.number, account.type) == ("6800", "Expense")
    dimension = await visma.get_dimension()
    assert dimension is not None
    segment = dimension.segment(1)
    assert segment is not None
    assert segment.segment_values[0].value_id == "100"
    (project,) = [p async for p in visma.list_projects(visible_in_ap=True)]
    assert (project.project_id, project.visible_in_ap) == ("P-1", False)
    (vat,) = await visma.list_vat()
    assert vat.rate == Decimal("25.0")
    period = await visma.get_financial_period("202509")
    assert period is not None
    assert period.closed_in_supplier_ledger
    assert inbox.to("/v1/dimension/SUBACCOUNT")[0].query == {"expandSegmentsValues": "true"}
    assert inbox.to("/v1/project")[0].query["visibleInAP"] == "true"
    assert "pageNumber" not in inbox.to("/v1/account")[0].query
    assert {r.headers.get("ipp-company-id") for r in inbox.requests if r.host == "visma.test"} == {
        "1234567"
    }


async def test_validation_errors_are_verbatim_and_records_hold_no_secret(
    inbox: Inbox,
    visma_token: TokenEndpoint,
    make_visma: Callable[..., VismaClient],
    calls: list[CallRecord],
) -> None:
    """A Visma 400 keeps the message and field; records redact the token call's secret."""
    message = "VismaId: 1. Error: An error occurred during processing of the field County: null."
    routes = {"POST /v1/supplier": lambda r: JSONResponse({"message": message}, status_code=400)}
    visma = make_visma(app_with(visma_token, inbox, routes))
    with pytest.raises(ValidationRejected) as caught:
        await visma.create_supplier(SupplierWrite(name="Acme"))
    assert caught.value.vendor_message == message
    assert caught.value.field == "County"
    token_call = calls[0]
    assert token_call.request_body["client_secret"] == "***"
    assert token_call.response_body["access_token"] == "***"
    assert VISMA_SECRET not in repr(calls) + repr(visma) + str(caught.value)
    assert "tok-1" not in repr(calls)
