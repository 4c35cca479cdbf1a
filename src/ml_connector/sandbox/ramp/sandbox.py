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
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.delivery import WebhookDispatcher
from ml_connector.sandbox.faults import FaultPlan, RequestJournal, SandboxMiddleware
from ml_connector.sandbox.ramp import render
from ml_connector.sandbox.ramp.api import PREFIX, ApiContext
from ml_connector.sandbox.ramp.auth import TokenStore
from ml_connector.sandbox.ramp.chart import ensure_selection
from ml_connector.sandbox.ramp.control import control_routes
from ml_connector.sandbox.ramp.control_spend import spend_control_routes
from ml_connector.sandbox.ramp.errors import (
    ErrorCode,
    RampApiError,
    error_response,
    fault_error_body,
)
from ml_connector.sandbox.ramp.filehost import FileHost, FilesOrApi
from ml_connector.sandbox.ramp.model import (
    ApprovalStatus,
    Bill,
    BillLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Selection,
    credit_memo,
)
from ml_connector.sandbox.ramp.operations import NewBill, Operations
from ml_connector.sandbox.ramp.ratelimit import RateLimitMiddleware, RollingWindow
from ml_connector.sandbox.ramp.routes_bills import bill_routes
from ml_connector.sandbox.ramp.routes_chart import chart_routes
from ml_connector.sandbox.ramp.routes_org import org_routes
from ml_connector.sandbox.ramp.routes_procurement import procurement_routes
from ml_connector.sandbox.ramp.routes_spend import spend_routes
from ml_connector.sandbox.ramp.routes_statements import statement_routes
from ml_connector.sandbox.ramp.routes_sync import sync_routes
from ml_connector.sandbox.ramp.routes_vendors import vendor_routes
from ml_connector.sandbox.ramp.routes_webhooks import webhook_routes
from ml_connector.sandbox.ramp.sandbox_spend import SpendControl
from ml_connector.sandbox.ramp.seeding import LineSpec, control_line, load_dataset
from ml_connector.sandbox.ramp.spend_ops import SpendOperations
from ml_connector.sandbox.ramp.state import RampState, new_id
from ml_connector.sandbox.ramp.webhooks import WebhookHub
from ml_connector.sandbox.seed import Dataset, empty_dataset

__all__ = ["RampSandbox"]

_BILL_EDITS = frozenset(
    {"invoice_number", "memo", "vendor_memo", "issued_at", "due_at", "lines", "remote_id"}
)
_ORDER_EDITS = frozenset({"memo", "promise_date", "lines", "number", "vendor_id"})


class RampSandbox(SpendControl):
    """One simulated Ramp business behind the Developer API; see the module docstring.

    The control methods for people and spend (``create_transaction``, ``refund_transaction``,
    ``mark_transaction_ready``, ``create_reimbursement``, ``create_transfer``, ``sync_status``,
    …) come from ``SpendControl`` (``sandbox_spend.py``).
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

    @property
    def state(self) -> RampState:
        """The current in-memory state (replaced by ``reset``)."""
        return self._state

    # -- app ------------------------------------------------------------------------------

    def _router(self) -> Starlette:
        ctx = self.context
        routes: list[Route] = [
            Route(f"{PREFIX}/token", self.tokens.token_endpoint, methods=["POST"]),
            Route(f"{PREFIX}/token/revoke", self.tokens.revoke_endpoint, methods=["POST"]),
            *bill_routes(ctx),
            *vendor_routes(ctx),
            *procurement_routes(ctx),
            *chart_routes(ctx),
            *sync_routes(ctx),
            *webhook_routes(ctx),
            *spend_routes(ctx),
            *statement_routes(ctx),
            *org_routes(ctx),
            *control_routes(self),
            *spend_control_routes(self),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            message = "Not found." if status == 404 else f"HTTP {status}."
            code = ErrorCode.NOT_FOUND if status == 404 else ErrorCode.VALIDATION
            return error_response(RampApiError(status, message, code=code))

        return Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={HTTPException: http_error},
        )

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

    def create_vendor(
        self,
        *,
        name: str,
        country: str = "NO",
        email: str | None = None,
        currency: str | None = None,
        address_line_1: str | None = None,
        city: str | None = None,
        postal_code: str | None = None,
        org_number: str | None = None,
        vat_number: str | None = None,
        net_payment_terms: int | None = None,
        accounting_vendor_remote_id: str | None = None,
        vendor_id: str | None = None,
        description: str | None = None,
        name_legal: str | None = None,
        form_answers: Sequence[Sequence[str]] = (),
    ) -> dict[str, Any]:
        """A vendor with a default contact; answers the ``ApiVendorDetailResource``.

        ``org_number``/``vat_number`` are answered under the business's form labels,
        ``form_answers`` are further ``(label, text)`` answers.
        """
        supplier = self.ops.create_vendor(
            name=name,
            country=country,
            email=email or f"billing@{''.join(c for c in name.lower() if c.isalnum())}.example",
            vendor_id=vendor_id,
            currency=currency,
            address_line_1=address_line_1,
            city=city,
            postal_code=postal_code,
            org_number=org_number,
            vat_number=vat_number,
            net_payment_terms=net_payment_terms,
            description=description,
            name_legal=name_legal,
            form_answers=[(str(label), str(text)) for label, text in form_answers],
        )
        if accounting_vendor_remote_id is not None:
            self.ops.link_accounting_vendor(supplier, accounting_vendor_remote_id)
        return render.vendor(self.state, supplier, self.clock(), detail=True)

    def create_bill(
        self,
        *,
        vendor_id: str,
        invoice_number: str,
        lines: Sequence[LineSpec],
        currency: str | None = None,
        issued_at: date | None = None,
        due_at: date | None = None,
        approval_status: str = "APPROVED",
        is_credit: bool = False,
        memo: str | None = None,
        vendor_memo: str | None = None,
        entity_id: str | None = None,
        purchase_order_id: str | None = None,
        remote_id: str | None = None,
        payment_method: str = "ACH",
        bill_id: str | None = None,
        selections: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A bill in any approval state, coded by ERP ids (missing chart items are created).

        ``selections``: bill-level coding, {field ERP id: option ERP id}.

        Defaults: the vendor's currency (else the business's), issued today, due after the
        vendor's payment terms (else 30 days), the primary entity. A credit keeps positive
        amounts and gets the ``[CREDIT]`` memo marker.
        """
        state = self.state
        supplier = self.context.vendor(vendor_id)
        if purchase_order_id is not None:
            self.context.purchase_order(purchase_order_id)
        issued = issued_at or self._today()
        item = self.ops.create_bill(
            NewBill(
                vendor_id=supplier.id,
                vendor_contact_id=supplier.contact_ids[0] if supplier.contact_ids else None,
                entity_id=self._entity(entity_id),
                invoice_number=invoice_number,
                currency=currency or supplier.currency or state.base_currency,
                issued_at=issued,
                due_at=due_at or issued + timedelta(days=supplier.net_payment_terms or 30),
                lines=[BillLine(*self._line(spec)) for spec in lines],
                inventory_lines=[],
                selections=[
                    ensure_selection(state, self.clock, str(f), str(v))
                    for f, v in (selections or {}).items()
                ],
                approval_status=ApprovalStatus(approval_status),
                payment_method=payment_method,
                memo=credit_memo(memo, is_credit),
                vendor_memo=vendor_memo,
                remote_id=remote_id,
                purchase_order_id=purchase_order_id,
                is_credit=is_credit,
                bill_id=bill_id,
            )
        )
        return self._bill_json(item)

    def approve_bill(self, bill_id: str) -> dict[str, Any]:
        item = self.context.bill(bill_id)
        self.ops.set_approval(item, ApprovalStatus.APPROVED)
        return self._bill_json(item)

    def reject_bill(self, bill_id: str) -> dict[str, Any]:
        item = self.context.bill(bill_id)
        self.ops.set_approval(item, ApprovalStatus.REJECTED)
        return self._bill_json(item)

    def pay_bill(
        self,
        bill_id: str,
        *,
        payment_date: date | None = None,
        payment_method: str | None = None,
        manual_payment_method: str | None = None,
    ) -> dict[str, Any]:
        """Mark the bill paid (``status`` PAID, ``paid_at`` now); emits ``bills.paid``."""
        item = self.context.bill(bill_id)
        self.ops.pay_bill(
            item,
            payment_date=payment_date,
            payment_method=payment_method,
            manual_payment_method=manual_payment_method,
        )
        return self._bill_json(item)

    def archive_bill(self, bill_id: str) -> dict[str, Any]:
        """Archive as Ramp's DELETE does; paid bills are refused (``RampApiError`` 400)."""
        item = self.context.bill(bill_id)
        self.ops.archive_bill(item)
        return self._bill_json(item)

    def unsync_bill(self, bill_id: str) -> dict[str, Any]:
        """Undo the bill's export, as an accountant can in Ramp's UI: ``sync_status`` back to
        ``NOT_SYNCED``, so it is ready to sync again. Refused (400) for an unsynced bill."""
        item = self.context.bill(bill_id)
        self.ops.unsync_bill(item)
        return self._bill_json(item)

    def update_bill(self, bill_id: str, **changes: Any) -> dict[str, Any]:
        """Edit a bill as a person in Ramp would; emits ``bills.updated``.

        Accepted keys: invoice_number, memo, vendor_memo, issued_at, due_at, remote_id, and
        lines (a sequence of ``LineSpec``, replacing all lines).
        """
        unknown = set(changes) - _BILL_EDITS
        if unknown:
            raise ValueError(f"update_bill cannot change: {sorted(unknown)}")
        item = self.context.bill(bill_id)
        new_lines = (
            [BillLine(*self._line(spec)) for spec in changes.pop("lines")]
            if "lines" in changes
            else None
        )

        def apply(bill: Bill) -> None:
            for key, value in changes.items():
                setattr(bill, key, value)
            if new_lines is not None:
                bill.lines = new_lines

        self.ops.edit_bill(item, apply)
        return self._bill_json(item)

    def create_purchase_order(
        self,
        *,
        vendor_id: str,
        lines: Sequence[LineSpec],
        currency: str | None = None,
        number: str | None = None,
        memo: str | None = None,
        promise_date: date | None = None,
        entity_id: str | None = None,
        order_id: str | None = None,
    ) -> dict[str, Any]:
        """A purchase order (``creation_source`` RAMP); each line is one unit at its amount."""
        supplier = self.context.vendor(vendor_id)
        order = self.ops.create_purchase_order(
            entity_id=self._entity(entity_id),
            currency=currency or supplier.currency or self.state.base_currency,
            lines=[(amount, 1, text, chosen) for amount, text, chosen in map(self._line, lines)],
            vendor_id=supplier.id,
            number=number,
            memo=memo,
            promise_date=promise_date,
            net_payment_terms=supplier.net_payment_terms,
            order_id=order_id,
        )
        return render.purchase_order(self.state, order, detail=True)

    def update_purchase_order(self, order_id: str, **changes: Any) -> dict[str, Any]:
        """Edit a purchase order (memo, promise_date, number, vendor_id, lines)."""
        unknown = set(changes) - _ORDER_EDITS
        if unknown:
            raise ValueError(f"update_purchase_order cannot change: {sorted(unknown)}")
        order = self.context.purchase_order(order_id)
        new_lines = (
            [
                PurchaseOrderLine(new_id(), amount, 1, text, chosen)
                for amount, text, chosen in map(self._line, changes.pop("lines"))
            ]
            if "lines" in changes
            else None
        )

        def apply(target: PurchaseOrder) -> None:
            for key, value in changes.items():
                setattr(target, key, value)
            if new_lines is not None:
                target.lines = new_lines

        self.ops.edit_purchase_order(order, apply)
        return render.purchase_order(self.state, order, detail=True)

    def archive_purchase_order(self, order_id: str, reason: str | None = None) -> dict[str, Any]:
        order = self.context.purchase_order(order_id)
        self.ops.archive_purchase_order(order, reason)
        return render.purchase_order(self.state, order, detail=True)

    # -- helpers --------------------------------------------------------------------------

    def _line(self, spec: LineSpec) -> tuple[int, str | None, list[Selection]]:
        return control_line(self.state, self.clock, spec)

    def _bill_json(self, item: Bill) -> dict[str, Any]:
        return render.bill(self.state, item, self.files.urls(item, self.base_url))

    def _entity(self, entity_id: str | None) -> str:
        return self._entity_or_none(entity_id) or self.state.primary_entity_id()
