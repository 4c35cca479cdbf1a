"""The ``/_sandbox`` control routes for people and spend (no auth, not journaled or faulted).

Each route calls the ``RampSandbox`` method of the same name (``sandbox_spend.py``) with the
JSON body as keywords, and answers the object as the public API renders it. Dates are
``YYYY-MM-DD`` (``transaction_date``, ``start``, ``end``); instants ISO 8601 (``transacted_at``,
``created_at``; UTC when no offset). Lines are ``{"amount_minor", "memo", "gl_account",
"cost_centre", "department", "project", "vat_code", "project_task", "selections"}``.

    POST /_sandbox/departments                {name}                        -> Department (201)
    POST /_sandbox/locations                  {name, entity_id?}            -> Location (201)
    POST /_sandbox/users                      {first_name, last_name, …}    -> User (201)
    POST /_sandbox/transactions               {user_id, merchant_name, amount_minor, …}
                                                                            -> Transaction (201)
    POST /_sandbox/transactions/{id}/clear|decline|ready|unsync             -> Transaction
    POST /_sandbox/transactions/{id}/refund   {amount_minor?}               -> the refund (201)
    POST /_sandbox/transactions/{id}/receipt  add a receipt                 -> {"receipt_id"}
    POST /_sandbox/reimbursements             {user_id, amount_minor, …}    -> Reimbursement (201)
    POST /_sandbox/reimbursements/{id}/approve|reject|pay|ready|unsync      -> Reimbursement
    POST /_sandbox/reimbursements/{id}/receipt                              -> {"receipt_id"}
    POST /_sandbox/statements                 {start, end, statement_id?}   -> Statement (201)
    POST /_sandbox/transfers                  {amount_minor, currency?, entity_id?, status?,
                                               created_at?, statement_id?}  -> Transfer (201)
    POST /_sandbox/transfers/{id}/complete                                  -> Transfer
    GET  /_sandbox/sync-status/{id}           kind, sync_status, reference, export errors
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.sandbox.ramp.api import ExactJSONResponse
from ml_connector.sandbox.ramp.control import CONTROL_PREFIX, guarded, read_body, sandbox_of
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.params import parse_instant

if TYPE_CHECKING:
    pass

__all__ = ["spend_control_routes"]

_DAYS = frozenset({"transaction_date", "start", "end"})
_INSTANTS = frozenset({"transacted_at", "created_at"})


async def _body(request: Request) -> dict[str, Any]:
    data = await read_body(request)
    for key in _DAYS & set(data):
        try:
            data[key] = date.fromisoformat(str(data[key]))
        except ValueError:
            raise RampApiError.invalid(key, "Not a date (YYYY-MM-DD).") from None
    for key in _INSTANTS & set(data):
        if data[key] is not None:
            try:
                data[key] = datetime.fromtimestamp(parse_instant(str(data[key])), UTC)
            except ValueError:
                raise RampApiError.invalid(key, "Not an ISO 8601 date-time.") from None
    return data


def _ok(body: Any, status: int = 200) -> Response:
    return ExactJSONResponse(body, status_code=status)


async def department(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.create_department(**await _body(request)), 201)


async def location(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.create_location(**await _body(request)), 201)


async def user(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.create_user(**await _body(request)), 201)


async def transaction(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.create_transaction(**await _body(request)), 201)


async def transaction_action(request: Request) -> Response:
    sb = sandbox_of(request)
    object_id, action = request.path_params["object_id"], request.path_params["action"]
    body = await _body(request)
    if action == "refund":
        return _ok(sb.refund_transaction(object_id, **body), 201)
    if action == "receipt":
        return _ok({"receipt_id": sb.add_receipt(object_id)}, 201)
    actions: dict[str, Callable[[str], dict[str, Any]]] = {
        "clear": sb.clear_transaction,
        "decline": sb.decline_transaction,
        "ready": sb.mark_transaction_ready,
        "unsync": sb.unsync_transaction,
    }
    if action not in actions:
        raise RampApiError.not_found("Control action", action)
    return _ok(actions[action](object_id))


async def reimbursement(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.create_reimbursement(**await _body(request)), 201)


async def reimbursement_action(request: Request) -> Response:
    sb = sandbox_of(request)
    object_id, action = request.path_params["object_id"], request.path_params["action"]
    if action == "receipt":
        return _ok({"receipt_id": sb.add_receipt(object_id)}, 201)
    actions: dict[str, Callable[[str], dict[str, Any]]] = {
        "approve": sb.approve_reimbursement,
        "reject": sb.reject_reimbursement,
        "pay": sb.pay_reimbursement,
        "ready": sb.mark_reimbursement_ready,
        "unsync": sb.unsync_reimbursement,
    }
    if action not in actions:
        raise RampApiError.not_found("Control action", action)
    return _ok(actions[action](object_id))


async def statement(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.create_statement(**await _body(request)), 201)


async def transfer(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.create_transfer(**await _body(request)), 201)


async def transfer_complete(request: Request) -> Response:
    sb = sandbox_of(request)
    return _ok(sb.complete_transfer(request.path_params["object_id"]))


async def sync_status(request: Request) -> Response:
    sb = sandbox_of(request)
    return JSONResponse(sb.sync_status(request.path_params["object_id"]))


def spend_control_routes() -> list[Route]:
    p = CONTROL_PREFIX
    table: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/departments", department, ["POST"]),
        ("/locations", location, ["POST"]),
        ("/users", user, ["POST"]),
        ("/transactions", transaction, ["POST"]),
        ("/transactions/{object_id}/{action}", transaction_action, ["POST"]),
        ("/reimbursements", reimbursement, ["POST"]),
        ("/reimbursements/{object_id}/{action}", reimbursement_action, ["POST"]),
        ("/statements", statement, ["POST"]),
        ("/transfers", transfer, ["POST"]),
        ("/transfers/{object_id}/complete", transfer_complete, ["POST"]),
        ("/sync-status/{object_id}", sync_status, ["GET"]),
    ]
    return [Route(p + path, guarded(handler), methods=methods) for path, handler, methods in table]
