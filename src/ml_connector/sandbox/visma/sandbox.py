"""``VismaSandbox``: a stateful Visma.net ERP service API (plus Visma Connect's token endpoint) as
one ASGI app, with fault injection, a request journal, rate limiting and signed webhooks.

Layout of ``app``:
- ``POST /connect/token``: Visma Connect client credentials (``auth.py``);
- ``/_sandbox/...``: the control API, no auth (``control.py``);
- everything else: the service API under ``/v1/...`` (also ``/API/controller/api/v1/...``) and
  the legacy ``/resources/v1/...`` (also ``/API/resources/v1/...``), routed by ``routing.py``.

``SandboxMiddleware`` journals and applies the fault plan to every non-control call. Under a
server (uvicorn), the app's lifespan runs the webhook delivery loop; in-process tests call
``await sandbox.webhooks.flush()``.

The Python methods below are the same operations the control API exposes; they take the
company lock, so they are safe beside requests being served.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from ml_connector.sandbox.delivery import WebhookDispatcher
from ml_connector.sandbox.faults import FaultPlan, RequestJournal, SandboxMiddleware
from ml_connector.sandbox.seed import Dataset, empty_dataset
from ml_connector.sandbox.visma import (
    control,
    routes_background,
    routes_invoices,
    routes_journals,
    routes_legacy,
    routes_masterdata,
    routes_payments,
    routes_po,
    routes_supplier_setup,
    routes_suppliers,
)
from ml_connector.sandbox.visma.auth import TokenService
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour
from ml_connector.sandbox.visma.ratelimit import FixedWindowLimiter
from ml_connector.sandbox.visma.responses import dumps, visma_message
from ml_connector.sandbox.visma.routes_invoices import find_attachment, invoice_dto
from ml_connector.sandbox.visma.routes_journals import journal_dto
from ml_connector.sandbox.visma.routes_payments import payment_dto
from ml_connector.sandbox.visma.routes_po import purchase_order_dto, receive_order
from ml_connector.sandbox.visma.routing import ApiDispatcher, Router
from ml_connector.sandbox.visma.sandbox_masterdata import MasterDataControl
from ml_connector.sandbox.visma.seeding import company_from_dataset
from ml_connector.sandbox.visma.state import (
    Attachment,
    CompanyState,
)
from ml_connector.sandbox.visma.views import supplier_dto
from ml_connector.sandbox.visma.webhooks import EventPublisher

__all__ = ["VismaSandbox"]

_ROUTE_MODULES = (
    routes_suppliers,
    routes_supplier_setup,
    routes_invoices,
    routes_journals,
    routes_masterdata,
    routes_po,
    routes_payments,
    routes_background,
    routes_legacy,
)


def _fault_body(status: int) -> tuple[bytes, dict[str, str]]:
    """An injected fault's body: ASP.NET's generic text for a 5xx (a server failure says
    nothing specific), Visma's message shape for anything else."""
    if status >= 500:
        return dumps({"message": "An error has occurred."}), {}
    return dumps(visma_message(f"Injected fault: HTTP {status}")), {}


class VismaSandbox(MasterDataControl):
    """A simulated Visma.net ERP tenant/company; see the module docstring.

    The master-data control methods (``add_account``, ``set_project``, ``add_supplier``, …)
    come from ``MasterDataControl`` (``sandbox_masterdata.py``).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        company_id: str,
        *,
        dataset: Dataset | None = None,
        token_ttl_s: int = 3600,
        rate_limit_per_hour: int | None = None,
        clock: Callable[[], float] = time.time,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        webhook_secret: str | None = None,
        webhook_urls: list[str] | None = None,
        max_page_size: int | None = None,
        webhook_max_attempts: int = 10,
        webhook_retry_base_s: float = 1.0,
        require_project_task: bool = True,
        behaviour: CompanyBehaviour | None = None,
        allowed_scopes: frozenset[str] | None = None,
    ) -> None:
        self.clock = clock
        # Visma's documented rule: a project line names a project task. False is the invented
        # convenience of accepting project lines without one (see docs/sandbox/visma.md).
        self.require_project_task = require_project_task
        self.company_id = company_id
        self.tenant_id = tenant_id
        self._dataset = dataset or empty_dataset()
        behaviour = behaviour or CompanyBehaviour()
        if max_page_size is not None:
            behaviour = dataclasses.replace(behaviour, max_page_size=max_page_size)
        self.behaviour = behaviour
        self.tokens = TokenService(clock=clock, ttl_s=token_ttl_s)
        self.tokens.add_client(client_id, client_secret, allowed_scopes)
        self.tokens.add_tenant(tenant_id, company_id)
        self.companies: dict[str, CompanyState] = {company_id: self._seeded()}
        self.limiter = FixedWindowLimiter(rate_limit_per_hour, clock=clock)
        self.faults = FaultPlan()
        self.journal = RequestJournal()
        self.webhooks = WebhookDispatcher(
            transport=webhook_transport,
            max_attempts=webhook_max_attempts,
            retry_base_s=webhook_retry_base_s,
        )
        self.events = EventPublisher(
            self.webhooks, secret=webhook_secret, urls=webhook_urls or [], clock=clock
        )
        self.router = Router()
        for module in _ROUTE_MODULES:
            module.register(self.router)
        self.app = self._build_app(behaviour)

    def __repr__(self) -> str:
        return f"VismaSandbox(tenant_id={self.tenant_id!r}, company_id={self.company_id!r})"

    def _build_app(self, behaviour: CompanyBehaviour) -> Starlette:
        """The ASGI app: the token endpoint, the control API, and the service API behind it."""
        api = ApiDispatcher(
            router=self.router,
            tokens=self.tokens,
            limiter=self.limiter,
            companies=self.companies,
            events=self.events,
            behaviour=behaviour,
        )
        app = Starlette(
            routes=[
                Route("/connect/token", self.tokens.token_endpoint, methods=["POST"]),
                *control.routes(),
                Mount("/", app=api),
            ],
            middleware=[
                Middleware(
                    SandboxMiddleware,
                    plan=self.faults,
                    journal=self.journal,
                    error_body=_fault_body,
                )
            ],
            lifespan=self._lifespan,
        )
        app.state.visma_sandbox = self  # what the control handlers find with sandbox_of
        return app

    def _seeded(self) -> CompanyState:
        company = company_from_dataset(
            self._dataset,
            company_id=self.company_id,
            tenant_id=self.tenant_id,
            clock=self.clock,
            require_project_task=self.require_project_task,
            calendar=self.behaviour.calendar(),
        )
        company.po_lines_need_inventory = self.behaviour.po_lines_need_inventory
        company.inventory_items = dict(self.behaviour.inventory_items)
        return company

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(self.webhooks.run(stop))
        try:
            yield
        finally:
            stop.set()
            await task

    # -- whole-sandbox control ----------------------------------------------------------------

    def reset(self, dataset: Dataset | None = None) -> None:
        """Back to the seed (or ``dataset``): data, journal, faults, rate windows, webhooks.

        Issued tokens stay valid, so a running client is not logged out by a reset.
        """
        if dataset is not None:
            self._dataset = dataset
        with self.state.lock:
            self.companies[self.company_id] = self._seeded()
        self.journal.clear()
        self.faults.clear()
        self.limiter.reset()
        self.webhooks.clear()
        self.events.published.clear()

    def revoke_tokens(self) -> int:
        """Invalidate every issued token; the next call with one gets 401."""
        return self.tokens.revoke_all()

    def set_rate_limit(self, limit_per_hour: int | None, window_s: float | None = None) -> None:
        self.limiter.configure(limit_per_hour, window_s)

    # -- master data --------------------------------------------------------------------------

    def set_period_closed(
        self, period_id: str, closed: bool, *, ledger: Literal["AP", "GL", "all"] = "AP"
    ) -> None:
        """Open or close a financial period (YYYYPP) in the supplier ledger (``AP``), the
        general ledger (``GL``) or both (``all``); adds the period if new."""
        company = self.state
        with company.lock:
            period = company.periods.get(period_id) or company.new_period(period_id)
            company.periods[period_id] = period
            if ledger in ("AP", "all"):
                period.closed_in_supplier_ledger = closed
            if ledger in ("GL", "all"):
                period.closed_in_general_ledger = closed

    def period_of(self, day: date) -> str | None:
        """The id of the period whose dates contain ``day``, as the period table says."""
        company = self.state
        with company.lock:
            period = company.period_at(day)
            return None if period is None else period.period_id

    # -- background requests ------------------------------------------------------------------

    def run_background(self) -> int:
        """Run every queued release now (as Visma's workers eventually do); returns how many."""
        company = self.state
        with company.lock:
            return company.background.run_all(company.now())

    def fail_background(self, message: str, count: int = 1) -> None:
        """The next ``count`` background requests to run end ``Failed`` with ``message``."""
        company = self.state
        with company.lock:
            company.background.fail_next(message, count)

    def background_requests(self) -> list[dict[str, Any]]:
        """Every background request's state: id, status, statusCode, originalUri, error."""
        company = self.state
        with company.lock:
            return [
                {
                    "id": r.id,
                    "status": r.status,
                    "statusCode": r.status_code,
                    "originalUri": r.original_uri,
                    "errorMessage": r.error_message,
                    "content": r.content,
                }
                for r in company.background.requests.values()
            ]

    # -- inspection ---------------------------------------------------------------------------

    def invoices(self) -> list[dict[str, Any]]:
        """Every stored supplier document in its read shape (note and attachments included)."""
        company = self.state
        with company.lock:
            return [
                invoice_dto(company, invoice, note=True, attachments=True)
                for invoice in company.invoices.values()
            ]

    def purchase_orders(self) -> list[dict[str, Any]]:
        company = self.state
        with company.lock:
            return [purchase_order_dto(company, o) for o in company.purchase_orders.values()]

    def supplier_payments(self) -> list[dict[str, Any]]:
        """Every supplier payment in its read shape."""
        company = self.state
        with company.lock:
            return [payment_dto(company, p) for p in company.supplier_payments.values()]

    def receive_purchase_order(
        self, number: str, line_numbers: list[int] | None = None
    ) -> dict[str, Any]:
        """Receive lines of a purchase order in full, as a goods receipt in Visma would.

        ``line_numbers`` None receives every line. A received line takes no more changes; an
        order whose lines are all received is Closed. Returns the order's read shape.
        """
        company = self.state
        with company.lock:
            order = company.purchase_orders[number]
            receive_order(company, order, line_numbers)
            self.events.publish(
                company, "PurchaseOrder", "Changed", number, f"v1/purchaseorder/{number}"
            )
            return purchase_order_dto(company, order)

    def journals(self) -> list[dict[str, Any]]:
        """Every journal transaction (GL batch) in its read shape, attachments included."""
        company = self.state
        with company.lock:
            return [
                journal_dto(company, batch, attachments=True) for batch in company.journals.values()
            ]

    def suppliers(self) -> list[dict[str, Any]]:
        company = self.state
        with company.lock:
            return [supplier_dto(s, note=True) for s in company.suppliers.values()]

    def attachment(self, attachment_id: str) -> Attachment | None:
        """A stored attachment (with its bytes), wherever it hangs."""
        company = self.state
        with company.lock:
            return find_attachment(company, attachment_id)
