"""What can happen to the objects of a sandbox business, and the events each change emits.

Both the public API routes and the ``/_sandbox`` control surface call these methods, so a bill
approved by a test and a bill approved by a (simulated) person go through the same transition
and emit the same webhooks. Business rules that Ramp enforces live here and raise
``RampApiError`` (400 ``DEVELOPER_7001``), e.g. a paid bill cannot be archived.

Events emitted (subscriptions receive those they listed):
- bill created: ``bills.created``; if it starts approved also ``bills.approved``
- approved: ``bills.approved``; paid: ``bills.paid``; archived: ``bills.archived``;
  edited: ``bills.updated``; rejected: ``bills.rejected``
- whenever a bill turns sync-ready: ``bills.ready_to_sync``
- purchase order created / edited / archived: ``purchase_orders.created|updated|archived``
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import (
    ApprovalStatus,
    Bill,
    BillLine,
    InventoryLine,
    PaymentStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Selection,
    SyncStatus,
    Vendor,
    VendorContact,
)
from ml_connector.sandbox.ramp.state import RampState, new_id
from ml_connector.sandbox.ramp.syncs import SyncOutcome, record_sync
from ml_connector.sandbox.ramp.webhooks import WebhookHub

__all__ = ["NewBill", "Operations", "SyncOutcome"]


@dataclass
class NewBill:
    """Everything a bill is created from; ids already resolved and checked."""

    vendor_id: str
    vendor_contact_id: str | None
    entity_id: str
    invoice_number: str
    currency: str
    issued_at: date
    due_at: date
    lines: list[BillLine]
    inventory_lines: list[InventoryLine]
    selections: list[Selection]
    approval_status: ApprovalStatus = ApprovalStatus.APPROVED
    payment_method: str = "ACH"
    memo: str | None = None
    vendor_memo: str | None = None
    remote_id: str | None = None
    posting_date: date | None = None
    purchase_order_id: str | None = None
    is_credit: bool = False
    bill_id: str | None = None


class Operations:
    """State transitions of one sandbox business."""

    def __init__(
        self, state: Callable[[], RampState], hub: WebhookHub, clock: Callable[[], float]
    ) -> None:
        self._state = state
        self.hub = hub
        self.clock = clock

    @property
    def state(self) -> RampState:
        return self._state()

    # -- vendors --------------------------------------------------------------------------

    def create_vendor(
        self,
        *,
        name: str,
        country: str,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        vendor_id: str | None = None,
        **details: Any,
    ) -> Vendor:
        """A vendor with one default contact; ``details`` are other ``Vendor`` fields."""
        state = self.state
        supplier = Vendor(
            id=vendor_id or new_id(),
            name=name,
            country=country,
            created_at=self.clock(),
            owner_id=details.pop("owner_id", None) or state.owner.id,
            seq=state.next_seq(),
            **details,
        )
        person = VendorContact(
            id=new_id(),
            vendor_id=supplier.id,
            email=email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            seq=state.next_seq(),
        )
        supplier.contact_ids.append(person.id)
        state.vendors[supplier.id] = supplier
        state.contacts[person.id] = person
        return supplier

    def link_accounting_vendor(self, supplier: Vendor, remote_id: str | None) -> None:
        """Point the vendor at an accounting vendor by ERP id (None unlinks)."""
        if remote_id is not None and self.state.accounting_vendor_by_remote(remote_id) is None:
            raise RampApiError.invalid(
                "accounting_vendor_remote_id",
                f"No accounting vendor with remote_id {remote_id!r}.",
                status=400,
            )
        supplier.accounting_vendor_remote_id = remote_id

    # -- bills ----------------------------------------------------------------------------

    def create_bill(self, new: NewBill) -> Bill:
        state = self.state
        item = Bill(
            id=new.bill_id or new_id(),
            vendor_id=new.vendor_id,
            vendor_contact_id=new.vendor_contact_id,
            entity_id=new.entity_id,
            invoice_number=new.invoice_number,
            currency=new.currency,
            issued_at=new.issued_at,
            due_at=new.due_at,
            created_at=self.clock(),
            payment_method=new.payment_method,
            lines=new.lines,
            inventory_lines=new.inventory_lines,
            selections=new.selections,
            approval_status=new.approval_status,
            memo=new.memo,
            vendor_memo=new.vendor_memo,
            remote_id=new.remote_id,
            posting_date=new.posting_date,
            purchase_order_id=new.purchase_order_id,
            is_credit=new.is_credit,
            seq=state.next_seq(),
        )
        state.bills[item.id] = item
        self.hub.publish("bills.created", item.id)
        if item.approval_status is ApprovalStatus.APPROVED:
            self.hub.publish("bills.approved", item.id)
        if state.is_sync_ready(item):
            self.hub.publish("bills.ready_to_sync", item.id)
        return item

    def set_approval(self, item: Bill, status: ApprovalStatus) -> None:
        """Move the bill through the approval workflow; emits approved/rejected."""
        self._refuse_archived(item)
        if item.approval_status is status:
            return
        was_ready = self.state.is_sync_ready(item)
        item.approval_status = status
        if status is ApprovalStatus.APPROVED:
            self.hub.publish("bills.approved", item.id)
        elif status is ApprovalStatus.REJECTED:
            self.hub.publish("bills.rejected", item.id)
        self._ready_check(item, was_ready)

    def edit_bill(self, item: Bill, apply: Callable[[Bill], None]) -> None:
        """Apply an edit (a PATCH or a control-API update); emits ``bills.updated``."""
        self._refuse_archived(item)
        was_ready = self.state.is_sync_ready(item)
        apply(item)
        self.hub.publish("bills.updated", item.id)
        self._ready_check(item, was_ready)

    def pay_bill(
        self,
        item: Bill,
        *,
        payment_date: date | None = None,
        payment_method: str | None = None,
        manual_payment_method: str | None = None,
    ) -> None:
        self._refuse_archived(item)
        if item.status is PaymentStatus.PAID:
            raise RampApiError(400, f"Bill {item.id} is already paid.")
        now = self.clock()
        item.status = PaymentStatus.PAID
        item.paid_at = now
        item.payment_date = payment_date or datetime.fromtimestamp(now, UTC).date()
        item.manual_payment_method = manual_payment_method
        if payment_method:
            item.payment_method = payment_method
        self.hub.publish("bills.paid", item.id)

    def archive_bill(self, item: Bill) -> None:
        """Ramp's DELETE: archive, refused for paid bills."""
        if item.status is PaymentStatus.PAID:
            raise RampApiError(400, f"Bill {item.id} is paid and cannot be deleted.")
        if item.archived_at is not None:
            raise RampApiError(400, f"Bill {item.id} is already archived.")
        item.archived_at = self.clock()
        self.hub.publish("bills.archived", item.id)

    def unsync_bill(self, item: Bill) -> None:
        """An accountant undoes the bill's export in Ramp: back to ``NOT_SYNCED`` (the ERP
        reference is dropped; a paid bill loses its payment sync too)."""
        self._refuse_archived(item)
        if item.sync_status is SyncStatus.NOT_SYNCED:
            raise RampApiError(400, f"Bill {item.id} is not synced.")
        was_ready = self.state.is_sync_ready(item)
        item.sync_status = SyncStatus.NOT_SYNCED
        item.sync_reference = None
        self._ready_check(item, was_ready)

    def _refuse_archived(self, item: Bill) -> None:
        if item.archived_at is not None:
            raise RampApiError(400, f"Bill {item.id} is archived and cannot be changed.")

    def _ready_check(self, item: Bill, was_ready: bool) -> None:
        if not was_ready and self.state.is_sync_ready(item):
            self.hub.publish("bills.ready_to_sync", item.id)

    # -- accounting syncs -----------------------------------------------------------------

    def record_sync(
        self,
        *,
        idempotency_key: str,
        sync_type: str,
        successful: Iterable[tuple[str, str, str | None]],
        failed: Iterable[tuple[str, str]],
    ) -> SyncOutcome:
        """Mark objects synced or failed; see ``syncs.record_sync`` (idempotent on the key,
        all-or-nothing)."""
        return record_sync(
            self.state,
            self.hub,
            self.clock,
            idempotency_key=idempotency_key,
            sync_type=sync_type,
            successful=successful,
            failed=failed,
        )

    # -- purchase orders ------------------------------------------------------------------

    def create_purchase_order(
        self,
        *,
        entity_id: str,
        currency: str,
        lines: list[tuple[int, int, str | None, list[Selection]]],
        vendor_id: str | None = None,
        number: str | None = None,
        memo: str | None = None,
        promise_date: date | None = None,
        net_payment_terms: int | None = None,
        selections: list[Selection] | None = None,
        creation_source: str = "RAMP",
        three_way_match_enabled: bool = False,
        order_id: str | None = None,
    ) -> PurchaseOrder:
        """``lines``: (unit price in minor units, quantity, description, selections)."""
        state = self.state
        order = PurchaseOrder(
            id=order_id or new_id(),
            entity_id=entity_id,
            currency=currency,
            created_at=self.clock(),
            number=number,
            vendor_id=vendor_id,
            memo=memo,
            promise_date=promise_date,
            net_payment_terms=net_payment_terms,
            lines=[
                PurchaseOrderLine(new_id(), price, quantity, text, list(chosen))
                for price, quantity, text, chosen in lines
            ],
            selections=list(selections or []),
            creation_source=creation_source,
            three_way_match_enabled=three_way_match_enabled,
            seq=state.next_seq(),
        )
        state.purchase_orders[order.id] = order
        self.hub.publish("purchase_orders.created", order.id)
        return order

    def edit_purchase_order(
        self, order: PurchaseOrder, apply: Callable[[PurchaseOrder], None]
    ) -> None:
        if order.archived_at is not None:
            raise RampApiError(400, f"Purchase order {order.id} is archived.")
        apply(order)
        self.hub.publish("purchase_orders.updated", order.id)

    def archive_purchase_order(self, order: PurchaseOrder, reason: str | None = None) -> None:
        if order.archived_at is not None:
            raise RampApiError(400, f"Purchase order {order.id} is already archived.")
        order.archived_at = self.clock()
        order.archived_reason = reason
        self.hub.publish("purchase_orders.archived", order.id)
