"""``RampSandbox``: a stateful simulator of Ramp's Developer API, as one ASGI app.

    sb = RampSandbox("client-id", "client-secret", dataset=demo_dataset())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app), base_url="http://ramp")

Layers of ``sb.app``, outermost first:
0. ``FilesOrApi``: ``/files/...`` is the file host behind the bills' pre-signed
   ``invoice_urls`` (``filehost.py``: another host name, no bearer token, links expire);
   everything else is the API below.
1. ``SandboxMiddleware`` (``sandbox/faults.py``): journals every vendor-API call in
   ``sb.journal`` and applies ``sb.faults``; injected errors use Ramp's ``error_v2`` body.
2. ``RateLimitMiddleware``: ``rate_limit`` requests per rolling ``rate_window_s`` → 429.
3. Starlette routes: ``/developer/v1/...`` (bearer token and scope checked per route) and the
   unauthenticated control API under ``/_sandbox`` (``control.py``).

Served with uvicorn, the app's lifespan runs the webhook delivery loop. In-process tests call
``await sb.webhooks.flush()`` to deliver what is due.

The Python-level control methods below (``create_bill``, ``approve_bill``, ...) are what the
``/_sandbox`` HTTP API calls too. They return the object as the public API would render it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.delivery import WebhookDispatcher
from ml_connector.sandbox.faults import FaultPlan, RequestJournal, SandboxMiddleware
from ml_connector.sandbox.ramp.api import PREFIX, ApiContext
from ml_connector.sandbox.ramp.auth import TokenStore
from ml_connector.sandbox.ramp.control import control_routes
from ml_connector.sandbox.ramp.control_spend import spend_control_routes
from ml_connector.sandbox.ramp.errors import (
    ErrorCode,
    RampApiError,
    error_response,
    fault_error_body,
)
from ml_connector.sandbox.ramp.filehost import FileHost, FilesOrApi
from ml_connector.sandbox.ramp.operations import Operations
from ml_connector.sandbox.ramp.ratelimit import RateLimitMiddleware, RollingWindow
from ml_connector.sandbox.ramp.routes_bills import bill_routes
from ml_connector.sandbox.ramp.routes_chart import chart_routes
from ml_connector.sandbox.ramp.routes_fields import field_routes
from ml_connector.sandbox.ramp.routes_org import org_routes
from ml_connector.sandbox.ramp.routes_procurement import procurement_routes
from ml_connector.sandbox.ramp.routes_spend import spend_routes
from ml_connector.sandbox.ramp.routes_statements import statement_routes
from ml_connector.sandbox.ramp.routes_sync import sync_routes
from ml_connector.sandbox.ramp.routes_vendors import vendor_routes
from ml_connector.sandbox.ramp.routes_webhooks import webhook_routes
from ml_connector.sandbox.ramp.sandbox_bills import BillControl
from ml_connector.sandbox.ramp.seeding import load_dataset
from ml_connector.sandbox.ramp.spend_ops import SpendOperations
from ml_connector.sandbox.ramp.webhooks import WebhookHub
from ml_connector.sandbox.seed import Dataset, empty_dataset

__all__ = ["RampSandbox"]


class RampSandbox(BillControl):
    """One simulated Ramp business behind the Developer API; see the module docstring.

    The control methods for vendors, bills and purchase orders (``create_vendor``,
    ``create_bill``, ``pay_bill``, ``create_purchase_order``, …) come from ``BillControl``
    (``sandbox_bills.py``); those for people and spend (``create_transaction``,
    ``refund_transaction``, ``mark_transaction_ready``, ``create_reimbursement``,
    ``create_transfer``, ``sync_status``, …) from ``SpendControl`` (``sandbox_spend.py``).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        dataset: Dataset | None = None,
        token_ttl_s: int = 864000,
        allowed_scopes: frozenset[str] | None = None,
        rate_limit: int = 200,
        rate_window_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        webhook_retry_base_s: float = 1.0,
        webhook_max_attempts: int = 10,
        file_url_ttl_s: float | None = 3600.0,
        files_base_url: str | None = None,
        newer_event_types: bool = False,
    ) -> None:
        self.clock = clock
        self.base_url = "http://ramp.sandbox/"  # roots invoice URLs outside a request
        # Invoice files: pre-signed links on another host (filehost.py).
        self.files = FileHost(clock, ttl_s=file_url_ttl_s, files_base_url=files_base_url)
        self.faults = FaultPlan()
        self.journal = RequestJournal()
        self.webhooks = WebhookDispatcher(
            transport=webhook_transport,
            max_attempts=webhook_max_attempts,
            retry_base_s=webhook_retry_base_s,
            clock=clock,
        )
        self.tokens = TokenStore(
            client_id,
            client_secret,
            ttl_s=token_ttl_s,
            allowed_scopes=allowed_scopes,
            clock=clock,
        )
        self.rate_window = RollingWindow(rate_limit, rate_window_s, clock)
        self._state = load_dataset(dataset or empty_dataset(), clock)
        self.hub = WebhookHub(
            self.webhooks,
            state=lambda: self._state,
            clock=clock,
            newer_event_types=newer_event_types,
        )
        self.ops = Operations(lambda: self._state, self.hub, clock)
        self.spend = SpendOperations(lambda: self._state, self.hub, clock)
        self.context = ApiContext(
            lambda: self._state, self.ops, self.hub, self.tokens, clock, self.files, self.spend
        )
        self.app = FilesOrApi(
            self.files,
            lambda: self._state,
            SandboxMiddleware(
                RateLimitMiddleware(self._router(), self.rate_window, prefix=PREFIX),
                self.faults,
                self.journal,
                error_body=fault_error_body,
            ),
        )

    def __repr__(self) -> str:
        return f"RampSandbox(client_id={self.tokens.client_id!r}, bills={len(self.state.bills)})"

    # -- app ------------------------------------------------------------------------------

    def _router(self) -> Starlette:
        routes: list[Route] = [
            Route(f"{PREFIX}/token", self.tokens.token_endpoint, methods=["POST"]),
            Route(f"{PREFIX}/token/revoke", self.tokens.revoke_endpoint, methods=["POST"]),
            *bill_routes(),
            *vendor_routes(),
            *procurement_routes(),
            *chart_routes(),
            *field_routes(),
            *sync_routes(),
            *webhook_routes(),
            *spend_routes(),
            *statement_routes(),
            *org_routes(),
            *control_routes(),
            *spend_control_routes(),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            message = "Not found." if status == 404 else f"HTTP {status}."
            code = ErrorCode.NOT_FOUND if status == 404 else ErrorCode.VALIDATION
            return error_response(RampApiError(status, message, code=code))

        app = Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={HTTPException: http_error},
        )
        app.state.ramp_api = self.context  # what the route handlers find with api_of
        app.state.ramp_sandbox = self  # and the control handlers with sandbox_of
        return app

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        loop = asyncio.create_task(self.webhooks.run(stop))
        try:
            yield
        finally:
            stop.set()
            await loop

    # -- Python-level control -------------------------------------------------------------

    def reset(self, dataset: Dataset | None = None) -> None:
        """Start over from ``dataset``: objects, subscriptions, deliveries, journal, faults.

        Issued tokens stay valid (the app's credentials did not change).
        """
        self._state = load_dataset(dataset or empty_dataset(), self.clock)
        self.webhooks.clear()
        self.journal.clear()
        self.faults.clear()
        self.rate_window.reset()

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (the next call answers 401)."""
        self.tokens.revoke_all()
