"""The Visma sandbox's control API under ``/_sandbox/`` (no auth; JSON in, JSON out).

- ``GET /_sandbox/state``: a summary and every object, in read shapes.
- ``GET /_sandbox/requests?method=&path_contains=``: the request journal.
- ``POST /_sandbox/reset`` ``{"seed": "empty"|"demo"}`` (optional): back to a seed.
- ``GET``/``POST``/``DELETE /_sandbox/faults``: list, add (``FaultRule`` JSON), clear faults.
- ``PUT /_sandbox/ratelimit`` ``{"limit_per_hour": int|null, "window_s": n}``.
- ``POST /_sandbox/tokens/revoke``: every issued token stops working.
- ``PUT /_sandbox/webhooks/faults`` ``{"drop_rate", "duplicate_rate", "reorder"}``.
- ``GET /_sandbox/webhooks/deliveries``, ``GET /_sandbox/webhooks/events``: what happened.
- ``POST /_sandbox/webhooks/flush``: deliver everything due now.
- ``PUT /_sandbox/periods/{YYYYPP}`` ``{"closed": bool, "ledger": "AP"|"GL"|"all"}``: close or
  open in the supplier ledger (the default), the general ledger, or both.
- ``POST /_sandbox/accounts`` ``{"number", "description", "type", "active", "default_vat"}``.
- ``PUT /_sandbox/accounts/{number}`` ``{"active": bool}``.
- ``PUT /_sandbox/segments/{id}/values/{value}`` ``{"description", "active"}``: add/change.
- ``PUT /_sandbox/projects/{id}`` ``{"description", "status", "visible_in_ap",
  "visible_in_po"}``: add/change.
- ``PUT /_sandbox/projects/{id}/tasks/{task}`` ``{"description", "status", "visible_in_ap",
  "visible_in_po"}``: add/change a task of a project.
- ``POST /_sandbox/suppliers`` ``{"name", "number", "currency", "country", "corporate_id",
  "vat_registration_id", "status"}``: add.
- ``PUT /_sandbox/suppliers/{number}`` ``{"status": "OnHold"|…}``: block or unblock.
- ``GET /_sandbox/attachments/{id}``: the stored bytes of an attachment.
- ``POST /_sandbox/purchase-orders/{number}/receive`` ``{"lines": [1, 2]}`` (optional; all
  lines when absent): receive lines in full, as a goods receipt would.
- ``GET /_sandbox/background``: every background request (releases) and its state.
- ``POST /_sandbox/background/run``: run every queued background request now.
- ``POST /_sandbox/background/fail`` ``{"message", "count"}``: the next background requests
  to run end ``Failed`` with that message.

Errors: 400 ``{"error": …}`` for a bad body, 404 for an unknown object.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.seed import demo_dataset, empty_dataset
from ml_connector.sandbox.visma.responses import dumps
from ml_connector.sandbox.visma.views import (
    account_dto,
    period_dto,
    project_dto,
    segment_dto,
    subaccount_dto,
    vat_dto,
)

if TYPE_CHECKING:
    from ml_connector.sandbox.visma.sandbox import VismaSandbox

__all__ = ["routes", "sandbox_of", "snapshot"]

Endpoint = Callable[[Request], Awaitable[Response]]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _ok(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ControlError(400, "body is not JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def sandbox_of(request: Request) -> VismaSandbox:
    """The sandbox whose control API ``request`` reached (``VismaSandbox`` puts itself there)."""
    sandbox: VismaSandbox = request.app.state.visma_sandbox
    return sandbox


def _guarded(endpoint: Endpoint) -> Endpoint:
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ControlError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        except KeyError as error:
            return JSONResponse({"error": f"not found: {error}"}, status_code=404)
        except (TypeError, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)

    return run


def snapshot(sandbox: VismaSandbox) -> dict[str, Any]:
    """Everything the sandbox holds, in read shapes, plus counters."""
    company = sandbox.state
    with company.lock:
        return {
            "company": {
                "company_id": company.company_id,
                "tenant_id": company.tenant_id,
                "name": company.name,
                "base_currency": company.base_currency,
            },
            "accounts": [account_dto(a) for a in company.accounts.values()],
            "segments": [
                segment_dto(s, list(s.values.values())) for s in company.segments.values()
            ],
            "subaccounts": [subaccount_dto(company, s) for s in company.subaccounts.values()],
            "projects": [project_dto(p) for p in company.projects.values()],
            "vat": [vat_dto(v) for v in company.vat_codes.values()],
            "periods": [period_dto(p) for p in company.periods.values()],
            "currencies": sorted(company.currencies),
            "suppliers": sandbox.suppliers(),
            "invoices": sandbox.invoices(),
            "purchase_orders": sandbox.purchase_orders(),
            "supplier_payments": sandbox.supplier_payments(),
            "journal_transactions": sandbox.journals(),
            "subscriptions": [
                {"id": s.id, "event": s.event, "hookUri": s.hook_uri}
                for s in company.subscriptions.values()
            ],
            "rate_limit": {
                "limit_per_hour": sandbox.limiter.limit,
                "window_s": sandbox.limiter.window_s,
            },
            "active_tokens": sandbox.tokens.active_tokens(),
            "faults": sandbox.faults.rules(),
            "webhooks": {
                "published": len(sandbox.events.published),
                "pending": sandbox.webhooks.pending,
                "deliveries": len(sandbox.webhooks.deliveries),
            },
        }


async def state(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return _ok(snapshot(sandbox))


async def requests(request: Request) -> Response:
    sandbox = sandbox_of(request)
    entries = sandbox.journal.entries(
        request.query_params.get("method"), request.query_params.get("path_contains")
    )
    return _ok([asdict(entry) for entry in entries])


async def reset(request: Request) -> Response:
    sandbox = sandbox_of(request)
    seed = (await _body(request)).get("seed")
    if seed not in (None, "empty", "demo"):
        raise ControlError(400, "seed must be 'empty' or 'demo'")
    dataset = None if seed is None else demo_dataset() if seed == "demo" else empty_dataset()
    sandbox.reset(dataset)
    return _ok({"reset": True})


async def faults(request: Request) -> Response:
    sandbox = sandbox_of(request)
    if request.method == "POST":
        rule = FaultRule.from_json(await _body(request))
        sandbox.faults.add(rule)
        return _ok(asdict(rule), 201)
    if request.method == "DELETE":
        sandbox.faults.clear()
    return _ok(sandbox.faults.rules())


async def ratelimit(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    limit = data.get("limit_per_hour")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ControlError(400, "limit_per_hour must be a non-negative integer or null")
    sandbox.set_rate_limit(limit, data.get("window_s"))
    return _ok({"limit_per_hour": sandbox.limiter.limit, "window_s": sandbox.limiter.window_s})


async def revoke(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return _ok({"revoked": sandbox.revoke_tokens()})


async def webhook_faults(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    current = sandbox.webhooks.faults
    current.drop_rate = float(data.get("drop_rate", current.drop_rate))
    current.duplicate_rate = float(data.get("duplicate_rate", current.duplicate_rate))
    current.reorder = bool(data.get("reorder", current.reorder))
    return _ok(asdict(current))


async def deliveries(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return _ok([asdict(record) for record in sandbox.webhooks.deliveries])


async def events(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return _ok(
        [
            {"eventId": e.event_id, "eventType": e.event_type, "entityId": e.entity_id}
            for e in sandbox.events.published
        ]
    )


async def flush(request: Request) -> Response:
    sandbox = sandbox_of(request)
    await sandbox.webhooks.flush()
    return _ok({"pending": sandbox.webhooks.pending})


async def period(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    closed, ledger = data.get("closed"), data.get("ledger", "AP")
    if not isinstance(closed, bool):
        raise ControlError(400, "closed must be true or false")
    if ledger not in ("AP", "GL", "all"):
        raise ControlError(400, "ledger must be 'AP', 'GL' or 'all'")
    sandbox.set_period_closed(request.path_params["period_id"], closed, ledger=ledger)
    return _ok({"period": request.path_params["period_id"], "closed": closed, "ledger": ledger})


async def add_account(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    sandbox.add_account(
        str(data["number"]),
        str(data.get("description", data["number"])),
        str(data.get("type", "Expense")),
        active=bool(data.get("active", True)),
        default_vat=data.get("default_vat"),
    )
    return _ok(account_dto(sandbox.state.accounts[str(data["number"])]), 201)


async def account(request: Request) -> Response:
    sandbox = sandbox_of(request)
    active = (await _body(request)).get("active")
    if not isinstance(active, bool):
        raise ControlError(400, "active must be true or false")
    sandbox.set_account_active(request.path_params["number"], active)
    return _ok(account_dto(sandbox.state.accounts[request.path_params["number"]]))


async def segment_value(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    segment_id = int(request.path_params["segment_id"])
    sandbox.set_segment_value(
        segment_id,
        request.path_params["value"],
        data.get("description"),
        bool(data.get("active", True)),
    )
    return _ok(segment_dto(sandbox.state.segments[segment_id], None))


async def project(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    project_id = request.path_params["project_id"]
    sandbox.set_project(
        project_id,
        data.get("description"),
        status=data.get("status"),
        visible_in_ap=data.get("visible_in_ap"),
        visible_in_po=data.get("visible_in_po"),
    )
    return _ok(project_dto(sandbox.state.projects[project_id]))


async def project_task(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    project_id = request.path_params["project_id"]
    if project_id not in sandbox.state.projects:
        raise ControlError(404, f"no project {project_id}")
    sandbox.set_project_task(
        project_id,
        request.path_params["task_id"],
        data.get("description"),
        status=data.get("status"),
        visible_in_ap=data.get("visible_in_ap"),
        visible_in_po=data.get("visible_in_po"),
    )
    return _ok(project_dto(sandbox.state.projects[project_id]))


async def add_supplier(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    if not isinstance(data.get("name"), str):
        raise ControlError(400, "name is required")
    allowed = {"number", "currency", "country", "corporate_id", "vat_registration_id", "status"}
    extra = {key: value for key, value in data.items() if key in allowed}
    return _ok(sandbox.add_supplier(data["name"], **extra), 201)


async def supplier(request: Request) -> Response:
    sandbox = sandbox_of(request)
    status = (await _body(request)).get("status")
    if not isinstance(status, str):
        raise ControlError(400, "status is required")
    sandbox.set_supplier_status(request.path_params["number"], status)
    return _ok({"number": request.path_params["number"], "status": status})


async def attachment(request: Request) -> Response:
    sandbox = sandbox_of(request)
    found = sandbox.attachment(request.path_params["attachment_id"])
    if found is None:
        raise ControlError(404, "no such attachment")
    return Response(found.content, media_type=found.content_type)


async def receive(request: Request) -> Response:
    sandbox = sandbox_of(request)
    lines = (await _body(request)).get("lines")
    if lines is not None and not (
        isinstance(lines, list) and all(isinstance(n, int) for n in lines)
    ):
        raise ControlError(400, "lines must be a list of line numbers")
    return _ok(sandbox.receive_purchase_order(request.path_params["number"], lines))


async def background(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return _ok(sandbox.background_requests())


async def background_run(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return _ok({"ran": sandbox.run_background()})


async def background_fail(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await _body(request)
    message, count = data.get("message"), data.get("count", 1)
    if not isinstance(message, str) or not message or not isinstance(count, int):
        raise ControlError(400, "message (text) and count (integer) are needed")
    sandbox.fail_background(message, count)
    return _ok({"failing": count})


def routes() -> list[BaseRoute]:
    """The control routes; each handler finds its sandbox with ``sandbox_of``."""
    table: list[tuple[str, Endpoint, list[str]]] = [
        ("/_sandbox/state", state, ["GET"]),
        ("/_sandbox/requests", requests, ["GET"]),
        ("/_sandbox/reset", reset, ["POST"]),
        ("/_sandbox/faults", faults, ["GET", "POST", "DELETE"]),
        ("/_sandbox/ratelimit", ratelimit, ["PUT"]),
        ("/_sandbox/tokens/revoke", revoke, ["POST"]),
        ("/_sandbox/webhooks/faults", webhook_faults, ["PUT"]),
        ("/_sandbox/webhooks/deliveries", deliveries, ["GET"]),
        ("/_sandbox/webhooks/events", events, ["GET"]),
        ("/_sandbox/webhooks/flush", flush, ["POST"]),
        ("/_sandbox/periods/{period_id}", period, ["PUT"]),
        ("/_sandbox/accounts", add_account, ["POST"]),
        ("/_sandbox/accounts/{number}", account, ["PUT"]),
        ("/_sandbox/segments/{segment_id:int}/values/{value}", segment_value, ["PUT"]),
        ("/_sandbox/projects/{project_id}", project, ["PUT"]),
        ("/_sandbox/projects/{project_id}/tasks/{task_id}", project_task, ["PUT"]),
        ("/_sandbox/suppliers", add_supplier, ["POST"]),
        ("/_sandbox/suppliers/{number}", supplier, ["PUT"]),
        ("/_sandbox/attachments/{attachment_id}", attachment, ["GET"]),
        ("/_sandbox/purchase-orders/{number}/receive", receive, ["POST"]),
        ("/_sandbox/background", background, ["GET"]),
        ("/_sandbox/background/run", background_run, ["POST"]),
        ("/_sandbox/background/fail", background_fail, ["POST"]),
    ]
    return [Route(path, _guarded(endpoint), methods=methods) for path, endpoint, methods in table]
