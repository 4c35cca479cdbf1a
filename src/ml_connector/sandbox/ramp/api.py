"""What every vendor-API route shares: the sandbox services, the auth guard, and 404 lookups.

``api_route`` wraps a module-level handler so that it (1) checks the bearer token and the
route's scope, and (2) turns a ``RampApiError`` raised anywhere below into Ramp's ``error_v2``
response. Handlers therefore only deal with the happy path and raise for everything else.
A handler finds its sandbox's ``ApiContext`` with ``api_of(request)``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.sandbox.ramp.auth import TokenStore
from ml_connector.sandbox.ramp.errors import RampApiError, error_response
from ml_connector.sandbox.ramp.filehost import FileHost
from ml_connector.sandbox.ramp.model import (
    AccountingConnection,
    Bill,
    PurchaseOrder,
    Vendor,
)
from ml_connector.sandbox.ramp.operations import Operations
from ml_connector.sandbox.ramp.spend_ops import SpendOperations
from ml_connector.sandbox.ramp.state import RampState
from ml_connector.sandbox.ramp.webhooks import WebhookHub

__all__ = [
    "PREFIX",
    "ApiContext",
    "ExactJSONResponse",
    "Handler",
    "api_of",
    "api_route",
    "base_url",
    "json_response",
]

PREFIX = "/developer/v1"
T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]


def base_url(request: Request) -> str:
    """The URL the caller reached the sandbox at, ending in ``/``."""
    return str(request.base_url)


class ExactJSONResponse(JSONResponse):
    """JSON whose ``Decimal`` values are written as exact numbers (``90.5``, never via float):
    the decimal amounts of transactions and reimbursements (``Transaction.amount``)."""

    def render(self, content: Any) -> bytes:
        out: list[str] = []
        _encode(content, out)
        return "".join(out).encode("utf-8")


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        out.append(format(value, "f"))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            out.append("," if index else "")
            out.append(json.dumps(str(key), ensure_ascii=False) + ":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            out.append("," if index else "")
            _encode(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False, allow_nan=False))


def api_of(request: Request) -> ApiContext:
    """The services of the sandbox serving ``request`` (``RampSandbox`` puts them on its app)."""
    ctx: ApiContext = request.app.state.ramp_api
    return ctx


def api_route(path: str, handler: Handler, *, methods: list[str], scope: str | None) -> Route:
    """A route under ``/developer/v1`` that needs a bearer token (and ``scope``)."""

    async def endpoint(request: Request) -> Response:
        try:
            api_of(request).tokens.authenticate(request, scope)
            return await handler(request)
        except RampApiError as error:
            return error_response(error)

    endpoint.__name__ = handler.__name__
    return Route(PREFIX + path, endpoint, methods=methods)


def json_response(data: Any, status: int = 200) -> JSONResponse:
    return ExactJSONResponse(data, status_code=status)


@dataclass
class ApiContext:
    """The services the route modules need, shared by one sandbox."""

    state_ref: Callable[[], RampState]
    ops: Operations
    hub: WebhookHub
    tokens: TokenStore
    clock: Callable[[], float]
    files: FileHost
    spend: SpendOperations

    @property
    def state(self) -> RampState:
        return self.state_ref()

    # -- lookups that 404 -----------------------------------------------------------------

    def bill(self, bill_id: str) -> Bill:
        found = self.state.bills.get(bill_id)
        if found is None:
            raise RampApiError.not_found("Bill", bill_id)
        return found

    def vendor(self, vendor_id: str) -> Vendor:
        found = self.state.vendors.get(vendor_id)
        if found is None:
            raise RampApiError.not_found("Vendor", vendor_id)
        return found

    def purchase_order(self, order_id: str) -> PurchaseOrder:
        found = self.state.purchase_orders.get(order_id)
        if found is None:
            raise RampApiError.not_found("Purchase order", order_id)
        return found

    def find(self, what: str, objects: Mapping[str, T], object_id: str) -> T:
        """``objects[object_id]``, or 404 naming ``what``."""
        found = objects.get(object_id)
        if found is None:
            raise RampApiError.not_found(what, object_id)
        return found

    def connection(self) -> AccountingConnection:
        """The active accounting connection; the chart endpoints need one (400 otherwise)."""
        found = self.state.active_connection()
        if found is None:
            raise RampApiError(
                400,
                "This business has no active accounting connection; "
                "POST /developer/v1/accounting/connection first.",
            )
        return found
