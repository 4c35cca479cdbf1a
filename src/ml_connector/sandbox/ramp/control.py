"""The Ramp sandbox's control API under ``/_sandbox`` (no auth; never journaled or faulted).

It plays the people and the outside world around the API: vendors and bills appear, get
approved, paid, edited and archived; tokens are revoked; faults are armed. Every endpoint calls
the same ``RampSandbox`` method a Python test would. Bodies and answers are JSON; dates are
``YYYY-MM-DD``; bill and PO lines are ``{"amount_minor": 12500, "memo": "...",
"gl_account": "6540", "cost_centre": "...", "department": "...", "project": "...",
"vat_code": "...", "selections": {"<field ERP id>": "<option ERP id>"}}``.

    POST   /_sandbox/vendors                 create a vendor            -> Vendor detail
    POST   /_sandbox/bills                   create a bill              -> Bill (201)
    PATCH  /_sandbox/bills/{id}              edit a bill                -> Bill
    POST   /_sandbox/bills/{id}/approve|reject|archive|unsync           -> Bill
    POST   /_sandbox/bills/{id}/pay          {payment_date?, payment_method?,
                                              manual_payment_method?}      -> Bill
    POST   /_sandbox/purchase-orders         create a PO                -> PO (201)
    PATCH  /_sandbox/purchase-orders/{id}    edit a PO; POST .../archive archives it
    POST   /_sandbox/tokens/revoke           invalidate every access token
    GET|POST|DELETE /_sandbox/faults         list / add (FaultRule JSON) / clear fault rules
    GET|POST /_sandbox/webhook-faults        {drop_rate, duplicate_rate, reorder}
    POST   /_sandbox/webhooks/flush          deliver due webhooks now
    GET    /_sandbox/webhooks/deliveries     the delivery log
    POST   /_sandbox/settings                {sync_on_creation, rate_limit, rate_window_s,
                                              token_ttl_s, newer_event_types}
    GET    /_sandbox/state                   counts and every object (?objects=false: counts only)
    GET|DELETE /_sandbox/requests            the request journal (?method=&path_contains=)
    POST   /_sandbox/reset                   {"seed": "demo" | "empty"}
    GET    /_sandbox/files/{bill_id}.pdf     a bill's invoice file (for people; the bills'
                                             ``invoice_urls`` point at the file host)
    GET    /_sandbox/files/served            what the file host answered (host, auth, status)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.ramp import render
from ml_connector.sandbox.ramp.api import ExactJSONResponse
from ml_connector.sandbox.ramp.control_state import state_snapshot
from ml_connector.sandbox.ramp.errors import RampApiError, error_response
from ml_connector.sandbox.ramp.filehost import describe
from ml_connector.sandbox.ramp.files import invoice_pdf
from ml_connector.sandbox.ramp.money import from_minor
from ml_connector.sandbox.seed import demo_dataset, empty_dataset

if TYPE_CHECKING:
    from ml_connector.sandbox.ramp.sandbox import RampSandbox

__all__ = [
    "CONTROL_PREFIX",
    "control_routes",
    "guarded",
    "read_body",
    "sandbox_of",
    "state_snapshot",
]

CONTROL_PREFIX = "/_sandbox"
_DATE_KEYS = frozenset({"issued_at", "due_at", "promise_date", "payment_date"})


async def read_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise RampApiError(400, "Request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise RampApiError(422, "Request body must be a JSON object.")
    for key in _DATE_KEYS & set(data):
        if data[key] is not None:
            try:
                data[key] = date.fromisoformat(str(data[key]))
            except ValueError:
                raise RampApiError.invalid(key, "Not a date (YYYY-MM-DD).") from None
    return data


def sandbox_of(request: Request) -> RampSandbox:
    """The sandbox whose control API ``request`` reached (``RampSandbox`` puts itself there)."""
    sb: RampSandbox = request.app.state.ramp_sandbox
    return sb


def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
    """Turn sandbox errors and bad arguments into JSON error answers."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except RampApiError as error:
            return error_response(error)
        except (TypeError, ValueError) as error:
            return error_response(RampApiError(422, str(error)))

    return endpoint


def bill_json(request: Request, bill_id: str) -> JSONResponse:
    sb = sandbox_of(request)
    item = sb.state.bills[bill_id]
    return JSONResponse(render.bill(sb.state, item, sb.files.urls(item, str(request.base_url))))


async def create_vendor(request: Request) -> Response:
    sb = sandbox_of(request)
    return JSONResponse(sb.create_vendor(**await read_body(request)), status_code=201)


async def create_bill(request: Request) -> Response:
    sb = sandbox_of(request)
    created = sb.create_bill(**await read_body(request))
    response = bill_json(request, created["id"])
    response.status_code = 201
    return response


async def update_bill(request: Request) -> Response:
    sb = sandbox_of(request)
    bill_id = request.path_params["bill_id"]
    sb.update_bill(bill_id, **await read_body(request))
    return bill_json(request, bill_id)


async def bill_action(request: Request) -> Response:
    sb = sandbox_of(request)
    bill_id = request.path_params["bill_id"]
    action = request.path_params["action"]
    body = await read_body(request)
    if action == "approve":
        sb.approve_bill(bill_id)
    elif action == "reject":
        sb.reject_bill(bill_id)
    elif action == "pay":
        sb.pay_bill(bill_id, **body)
    elif action == "archive":
        sb.archive_bill(bill_id)
    elif action == "unsync":
        sb.unsync_bill(bill_id)
    else:
        raise RampApiError.not_found("Control action", action)
    return bill_json(request, bill_id)


async def create_order(request: Request) -> Response:
    sb = sandbox_of(request)
    return JSONResponse(sb.create_purchase_order(**await read_body(request)), status_code=201)


async def update_order(request: Request) -> Response:
    sb = sandbox_of(request)
    order_id = request.path_params["order_id"]
    return JSONResponse(sb.update_purchase_order(order_id, **await read_body(request)))


async def archive_order(request: Request) -> Response:
    sb = sandbox_of(request)
    body = await read_body(request)
    order_id = request.path_params["order_id"]
    return JSONResponse(sb.archive_purchase_order(order_id, body.get("archived_reason")))


async def revoke(request: Request) -> Response:
    sb = sandbox_of(request)
    sb.revoke_tokens()
    return JSONResponse({"revoked": True})


async def faults(request: Request) -> Response:
    sb = sandbox_of(request)
    if request.method == "POST":
        sb.faults.add(FaultRule.from_json(await read_body(request)))
    elif request.method == "DELETE":
        sb.faults.clear()
    return JSONResponse({"rules": sb.faults.rules()})


async def webhook_faults(request: Request) -> Response:
    sb = sandbox_of(request)
    if request.method == "POST":
        body = await read_body(request)
        unknown = set(body) - {"drop_rate", "duplicate_rate", "reorder"}
        if unknown:
            raise ValueError(f"unknown webhook fault fields: {sorted(unknown)}")
        for key, value in body.items():
            setattr(sb.webhooks.faults, key, value)
    return JSONResponse(asdict(sb.webhooks.faults))


async def flush(request: Request) -> Response:
    sb = sandbox_of(request)
    await sb.webhooks.flush()
    return JSONResponse({"pending": sb.webhooks.pending})


async def deliveries(request: Request) -> Response:
    sb = sandbox_of(request)
    return JSONResponse([asdict(d) for d in sb.webhooks.deliveries])


async def settings(request: Request) -> Response:
    sb = sandbox_of(request)
    body = await read_body(request)
    known = {"sync_on_creation", "rate_limit", "rate_window_s", "token_ttl_s"}
    unknown = set(body) - known - {"newer_event_types"}
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    if "sync_on_creation" in body:
        sb.state.sync_on_creation = bool(body["sync_on_creation"])
    if "rate_limit" in body:
        sb.rate_window.limit = int(body["rate_limit"])
    if "rate_window_s" in body:
        sb.rate_window.window_s = float(body["rate_window_s"])
    if "token_ttl_s" in body:
        sb.tokens.ttl_s = int(body["token_ttl_s"])
    if "newer_event_types" in body:
        sb.hub.newer_event_types = bool(body["newer_event_types"])
    return JSONResponse(
        {
            "sync_on_creation": sb.state.sync_on_creation,
            "rate_limit": sb.rate_window.limit,
            "rate_window_s": sb.rate_window.window_s,
            "token_ttl_s": sb.tokens.ttl_s,
            "newer_event_types": sb.hub.newer_event_types,
        }
    )


async def state(request: Request) -> Response:
    sb = sandbox_of(request)
    objects = request.query_params.get("objects", "true").lower() != "false"
    snapshot = state_snapshot(sb, objects=objects, base_url=str(request.base_url))
    return ExactJSONResponse(snapshot)


async def requests(request: Request) -> Response:
    sb = sandbox_of(request)
    if request.method == "DELETE":
        sb.journal.clear()
        return JSONResponse([])
    entries = sb.journal.entries(
        method=request.query_params.get("method"),
        path_contains=request.query_params.get("path_contains"),
    )
    return JSONResponse([asdict(e) for e in entries])


async def reset(request: Request) -> Response:
    sb = sandbox_of(request)
    body = await read_body(request)
    seed = body.get("seed", "demo")
    if seed not in ("demo", "empty"):
        raise RampApiError.invalid("seed", "Use 'demo' or 'empty'.")
    sb.reset(demo_dataset() if seed == "demo" else empty_dataset())
    return JSONResponse(state_snapshot(sb, objects=False, base_url=str(request.base_url)))


async def invoice_file(request: Request) -> Response:
    sb = sandbox_of(request)
    bill_id = request.path_params["bill_id"]
    item = sb.state.bills.get(bill_id)
    if item is None:
        raise RampApiError.not_found("Bill", bill_id)
    supplier = sb.state.vendors[item.vendor_id]
    total = from_minor(item.amount_minor, item.currency)
    pdf = invoice_pdf(
        [
            f"INVOICE {item.invoice_number}",
            f"From: {supplier.name}",
            f"To: {sb.state.company_name}",
            f"Issued: {item.issued_at.isoformat()}  Due: {item.due_at.isoformat()}",
            f"Total: {total} {item.currency}",
            f"Ramp bill: {item.id}",
        ]
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{item.id}.pdf"'},
    )


async def files_served(request: Request) -> Response:
    sb = sandbox_of(request)
    return JSONResponse([describe(served) for served in sb.files.served])


def control_routes() -> list[Route]:
    p = CONTROL_PREFIX
    table: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/vendors", create_vendor, ["POST"]),
        ("/bills", create_bill, ["POST"]),
        ("/bills/{bill_id}", update_bill, ["PATCH"]),
        ("/bills/{bill_id}/{action}", bill_action, ["POST"]),
        ("/purchase-orders", create_order, ["POST"]),
        ("/purchase-orders/{order_id}", update_order, ["PATCH"]),
        ("/purchase-orders/{order_id}/archive", archive_order, ["POST"]),
        ("/tokens/revoke", revoke, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/webhook-faults", webhook_faults, ["GET", "POST"]),
        ("/webhooks/flush", flush, ["POST"]),
        ("/webhooks/deliveries", deliveries, ["GET"]),
        ("/settings", settings, ["POST"]),
        ("/state", state, ["GET"]),
        ("/requests", requests, ["GET", "DELETE"]),
        ("/reset", reset, ["POST"]),
        ("/files/{bill_id}.pdf", invoice_file, ["GET"]),
        ("/files/served", files_served, ["GET"]),
    ]
    return [Route(p + path, guarded(handler), methods=methods) for path, handler, methods in table]
