"""``BillControl``: the Python control methods of a Ramp sandbox for vendors, bills and
purchase orders.

``RampSandbox`` inherits these (with ``SpendControl``'s for people and spend). They play what
people do in Ramp (a vendor onboards, a bill is approved, paid, archived or edited, a purchase
order is raised) and return each object as the public API renders it. The ``/_sandbox`` HTTP
routes (``control.py``) call the same methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from ml_connector.sandbox.ramp import render
from ml_connector.sandbox.ramp.chart import ensure_selection
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
from ml_connector.sandbox.ramp.sandbox_spend import SpendControl
from ml_connector.sandbox.ramp.seeding import LineSpec, control_line
from ml_connector.sandbox.ramp.state import RampState, new_id

__all__ = ["BillControl"]

_BILL_EDITS = frozenset(
    {"invoice_number", "memo", "vendor_memo", "issued_at", "due_at", "lines", "remote_id"}
)
_ORDER_EDITS = frozenset({"memo", "promise_date", "lines", "number", "vendor_id"})


class BillControl(SpendControl):
    """Control methods for vendors, bills and purchase orders (mixed into ``RampSandbox``)."""

    ops: Operations

    @property
    def state(self) -> RampState:
        """The current in-memory state (replaced by ``reset``)."""
        return self._state

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
