"""The Visma client's accounts-payable calls: suppliers and their set-up, supplier invoices,
purchase orders, supplier payments, and the background requests their releases start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ml_connector.clients.visma_calls import VismaCalls
from ml_connector.clients.visma_models import (
    ActionResult,
    BackgroundState,
    CreditTerm,
    PurchaseOrder,
    PurchaseOrderWrite,
    Supplier,
    SupplierClass,
    SupplierInvoice,
    SupplierInvoiceWrite,
    SupplierPayment,
    SupplierPaymentWrite,
    SupplierWrite,
    VatZone,
)
from ml_connector.clients.visma_wire import (
    INVOICE_FILTERS,
    PAYMENT_FILTERS,
    PO_FILTERS,
    SUPPLIER_FILTERS,
    action_result,
    etag_of,
    key_from_location,
    query_params,
    seg,
    to_wire,
    with_etag,
)
from ml_connector.errors import FatalVendorError, NotFound

__all__ = ["VismaPayables"]


class VismaPayables(VismaCalls):
    """Suppliers, AP documents, purchase orders and payments (part of ``VismaClient``)."""

    # --- suppliers ------------------------------------------------------------------------------

    async def list_suppliers(self, **filters: Any) -> AsyncIterator[Supplier]:
        async for row in self._pages("/v1/supplier", query_params(filters, SUPPLIER_FILTERS)):
            yield Supplier.model_validate(row)

    async def get_supplier(self, number: str) -> Supplier | None:
        reply = await self._one(f"/v1/supplier/{seg(number)}")
        return None if reply is None else with_etag(Supplier, reply)

    async def create_supplier(self, supplier: SupplierWrite) -> str:
        """Create a supplier; returns its number (from Location)."""
        return await self._create("/v1/supplier", to_wire(supplier))

    async def update_supplier(
        self, number: str, supplier: SupplierWrite, etag: str | None = None
    ) -> str | None:
        """Change a supplier; returns the new ETag. ``etag`` guards against lost updates."""
        path = f"/v1/supplier/{seg(number)}"
        reply = await self._call("PUT", path, body=to_wire(supplier), etag=etag)
        return etag_of(reply)

    # --- supplier set-up: classes, credit terms, VAT zones --------------------------------------

    async def list_supplier_classes(self) -> list[SupplierClass]:
        """The company's supplier classes (``GET /v1/supplier/supplierClass``, not paged)."""
        rows = await self._all("/v1/supplier/supplierClass", {})
        return [SupplierClass.model_validate(row) for row in rows if isinstance(row, dict)]

    async def list_credit_terms(self) -> list[CreditTerm]:
        """Credit terms (``GET /v1/creditTerm``: a paged ``{records: […]}`` wrapper)."""
        return [CreditTerm.model_validate(row) async for row in self._pages("/v1/creditTerm", {})]

    async def list_vat_zones(self) -> list[VatZone]:
        """VAT zones (``GET /v1/vatZone``, paged)."""
        return [VatZone.model_validate(row) async for row in self._pages("/v1/vatZone", {})]

    # --- supplier invoices ----------------------------------------------------------------------

    async def list_supplier_invoices(
        self,
        supplier: str | None = None,
        document_type: str | None = None,
        expand_note: bool = True,
        **filters: Any,
    ) -> AsyncIterator[SupplierInvoice]:
        params = {"supplier": supplier, "document_type": document_type, "expand_note": expand_note}
        query = query_params({**params, **filters}, INVOICE_FILTERS)
        async for row in self._pages("/v1/supplierInvoice", query):
            yield SupplierInvoice.model_validate(row)

    def _invoice_path(self, document_type: str, number: str) -> str:
        return f"/v1/supplierInvoice/{seg(document_type)}/{seg(number)}"

    async def get_supplier_invoice(self, document_type: str, number: str) -> SupplierInvoice | None:
        reply = await self._one(self._invoice_path(document_type, number))
        return None if reply is None else with_etag(SupplierInvoice, reply)

    async def create_supplier_invoice(self, invoice: SupplierInvoiceWrite) -> str:
        """Create an AP document; returns its reference number (from Location).

        Not idempotent: after AmbiguousOutcome, look the document up before posting again.
        """
        return await self._create("/v1/supplierInvoice", to_wire(invoice))

    async def update_supplier_invoice(
        self,
        document_type: str,
        number: str,
        invoice: SupplierInvoiceWrite,
        etag: str | None = None,
    ) -> str | None:
        """Change an AP document (Hold or Balanced only); returns the new ETag."""
        path = self._invoice_path(document_type, number)
        reply = await self._call("PUT", path, body=to_wire(invoice), etag=etag)
        return etag_of(reply)

    async def delete_supplier_invoice(self, document_type: str, number: str) -> None:
        await self._call("DELETE", self._invoice_path(document_type, number))

    async def release_supplier_invoice(
        self, document_type: str, number: str, etag: str | None = None
    ) -> ActionResult:
        """Ask Visma to release the document; it answers with a background request (202) or,
        on the 9.11 API, an action result. Neither means released: read the document back."""
        path = self._invoice_path(document_type, number) + "/action/release"
        return action_result(await self._call("POST", path, etag=etag))

    async def attach_supplier_invoice_file(
        self, document_type: str, number: str, filename: str, content: bytes, content_type: str
    ) -> str | None:
        """Attach one file to the document header; returns the attachment id, if Visma says."""
        path = f"/v1/supplierInvoice/documentType/{seg(document_type)}/{seg(number)}/attachment"
        reply = await self._call("POST", path, files={"file": (filename, content, content_type)})
        return key_from_location(reply)

    # --- purchase orders --------------------------------------------------------------------------

    async def list_purchase_orders(self, **filters: Any) -> AsyncIterator[PurchaseOrder]:
        async for row in self._pages("/v1/purchaseorder", query_params(filters, PO_FILTERS)):
            yield PurchaseOrder.model_validate(row)

    async def get_purchase_order(self, number: str) -> PurchaseOrder | None:
        reply = await self._one(f"/v1/purchaseorder/{seg(number)}")
        return None if reply is None else with_etag(PurchaseOrder, reply)

    async def create_purchase_order(self, order: PurchaseOrderWrite) -> str:
        """Create a purchase order; returns its number (from Location)."""
        return await self._create("/v1/purchaseorder", to_wire(order))

    async def update_purchase_order(
        self, number: str, order: PurchaseOrderWrite, etag: str | None = None
    ) -> str | None:
        path = f"/v1/purchaseorder/{seg(number)}"
        reply = await self._call("PUT", path, body=to_wire(order), etag=etag)
        return etag_of(reply)

    # --- supplier payments ------------------------------------------------------------------------

    async def list_supplier_payments(self, **filters: Any) -> AsyncIterator[SupplierPayment]:
        """Supplier payments; ``invoice_ref_nbr`` finds those applied to one AP document."""
        async for row in self._pages("/v1/supplierPayment", query_params(filters, PAYMENT_FILTERS)):
            yield SupplierPayment.model_validate(row)

    async def get_supplier_payment(self, number: str) -> SupplierPayment | None:
        reply = await self._one(f"/v1/supplierPayment/{seg(number)}")
        return None if reply is None else with_etag(SupplierPayment, reply)

    async def create_supplier_payment(self, payment: SupplierPaymentWrite) -> str:
        """Create a supplier payment; returns its reference number (from Location).

        Not idempotent: after AmbiguousOutcome, look the payment up before posting again.
        """
        return await self._create("/v1/supplierPayment", to_wire(payment))

    async def release_supplier_payment(
        self, number: str, payment_type: str = "Payment", etag: str | None = None
    ) -> ActionResult:
        """Ask Visma to release the payment, which applies it to its documents (see
        ``release_supplier_invoice``: the answer only says the action was accepted)."""
        path = f"/v1/supplierPayment/{seg(number)}/action/release"
        body = {"type": {"value": payment_type}}
        return action_result(await self._call("POST", path, body=body, etag=etag))

    # --- background requests (reference §8) -----------------------------------------------------

    async def get_background_state(self, request_id: str) -> BackgroundState | None:
        """Where a background request stands; None once Visma no longer keeps it (24 h)."""
        reply = await self._one(f"/v1/background/{seg(request_id)}")
        return None if reply is None else BackgroundState.model_validate(reply.data)

    async def get_background_content(self, request_id: str) -> Any:
        """The finished operation's own answer (an error body, say); None when there is none
        or it has expired (404, 410)."""
        try:
            reply = await self._call("GET", f"/v1/background/{seg(request_id)}/content")
        except NotFound:
            return None
        except FatalVendorError as exc:
            if exc.status == 410:
                return None
            raise
        return reply.data if reply.data is not None else reply.content.decode(errors="replace")
