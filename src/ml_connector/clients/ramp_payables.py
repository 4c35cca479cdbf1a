"""The Ramp client's calls on spend objects: bills, vendors, entities, purchase orders, webhook
subscriptions to their events, and invoice files from a bill's pre-signed links."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from ml_connector.clients.ramp_calls import SYSTEM, RampCalls
from ml_connector.clients.ramp_models import (
    Bill,
    Entity,
    InvoiceFile,
    PurchaseOrder,
    Vendor,
    VendorContact,
    WebhookSubscription,
    secret_of,
)
from ml_connector.clients.ramp_wire import (
    BILL_FIELDS,
    BILL_FILTERS,
    ENTITY_FILTERS,
    EVENT_FAMILIES,
    PO_FILTERS,
    REFUSED_LINK,
    VENDOR_FIELDS,
    VENDOR_FILTERS,
    checked,
    content_type,
    file_name,
    query_params,
    s3_message,
    segment,
)
from ml_connector.errors import FatalVendorError, FileLinkRefused

__all__ = ["RampPayables"]


class RampPayables(RampCalls):
    """Bills, vendors, entities, purchase orders, webhooks and files (part of ``RampClient``)."""

    # --- bills, vendors, entities, purchase orders ---------------------------------------------

    async def list_bills(self, **filters: Any) -> AsyncIterator[Bill]:
        """Bills matching the spec's filters, e.g. ``sync_ready=True``, ``vendor_id=…``."""
        async for row in self._pages("/bills", query_params(filters, BILL_FILTERS)):
            yield Bill.model_validate(row)

    async def get_bill(self, bill_id: str) -> Bill:
        return Bill.model_validate(await self._call("GET", f"/bills/{segment(bill_id)}"))

    async def update_bill(self, bill_id: str, **fields: Any) -> Bill:
        """PATCH a bill; line amounts are decimals in major units (send ``Decimal``)."""
        body = checked(fields, BILL_FIELDS, "bill field")
        return Bill.model_validate(
            await self._call("PATCH", f"/bills/{segment(bill_id)}", body=body)
        )

    async def list_vendors(self, **filters: Any) -> AsyncIterator[Vendor]:
        async for row in self._pages("/vendors", query_params(filters, VENDOR_FILTERS)):
            yield Vendor.model_validate(row)

    async def get_vendor(self, vendor_id: str) -> Vendor:
        """The vendor detail, including its onboarding answers (org and VAT numbers)."""
        return Vendor.model_validate(await self._call("GET", f"/vendors/{segment(vendor_id)}"))

    async def list_vendor_contacts(self, vendor_id: str) -> list[VendorContact]:
        path = f"/vendors/{segment(vendor_id)}/contacts"
        return [VendorContact.model_validate(row) async for row in self._pages(path, {})]

    async def update_vendor(
        self, vendor_id: str, *, accounting_vendor_remote_id: str | None = None, **fields: Any
    ) -> Vendor:
        """PATCH a vendor, e.g. link it to the ERP supplier with ``accounting_vendor_remote_id``."""
        body = checked(
            {"accounting_vendor_remote_id": accounting_vendor_remote_id, **fields},
            VENDOR_FIELDS,
            "vendor field",
        )
        data = await self._call("PATCH", f"/vendors/{segment(vendor_id)}", body=body)
        return Vendor.model_validate(data)

    async def list_entities(self, **filters: Any) -> AsyncIterator[Entity]:
        async for row in self._pages("/entities", query_params(filters, ENTITY_FILTERS)):
            yield Entity.model_validate(row)

    async def list_purchase_orders(self, **filters: Any) -> AsyncIterator[PurchaseOrder]:
        self._asking(("purchase_orders:read",))
        async for row in self._pages("/purchase-orders", query_params(filters, PO_FILTERS)):
            yield PurchaseOrder.model_validate(row)

    async def get_purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        self._asking(("purchase_orders:read",))
        data = await self._call("GET", f"/purchase-orders/{segment(purchase_order_id)}")
        return PurchaseOrder.model_validate(data)

    # --- webhooks and files -----------------------------------------------------------------------

    async def create_webhook(
        self,
        endpoint_url: str,
        event_types: Sequence[str],
        additional_headers: Mapping[str, str] | None = None,
    ) -> tuple[WebhookSubscription, SecretStr]:
        """Subscribe ``endpoint_url``; returns the subscription and its signing secret.

        Ramp shows the secret only in this answer: store it (encrypted) at once. Subscribing
        needs the read scope of each event's resource (ramp-api.md §8), which the token is
        asked for here if the connection's plan left it out.
        """
        families = {event.split(".", 1)[0] for event in event_types}
        self._asking(sorted(f"{family}:read" for family in families & EVENT_FAMILIES))
        body: dict[str, Any] = {"endpoint_url": endpoint_url, "event_types": list(event_types)}
        if additional_headers:
            body["additional_headers"] = dict(additional_headers)
        data = await self._call("POST", "/webhooks", body=body)
        return WebhookSubscription.model_validate(data), secret_of(data)

    async def list_webhooks(self) -> list[WebhookSubscription]:
        data = await self._call("GET", "/webhooks")
        return [WebhookSubscription.model_validate(row) for row in data or []]

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._call("DELETE", f"/webhooks/{segment(webhook_id)}")

    async def verify_webhook(self, webhook_id: str, challenge: str) -> bool:
        """Answer the verification challenge Ramp posted to the endpoint."""
        path = f"/webhooks/{segment(webhook_id)}/verify"
        data = await self._call("POST", path, body={"challenge": challenge})
        return bool((data or {}).get("success", False))

    async def download(self, url: str) -> InvoiceFile:
        """Fetch an invoice file from one of a bill's ``invoice_urls``.

        Ramp's links are pre-signed URLs on a file host of their own (ramp-api.md §5.1): they
        get no bearer token and do not count against the API's rate limit (both only ever
        apply to the API host itself). A link the file host refuses (expired, or signed for
        another host) raises ``FileLinkRefused``: read the bill again for a fresh one.
        """
        target = self._http.url(url)
        ours = self._http.same_origin(target)
        try:
            reply = await self._http.request(
                "GET", str(target), auth=self._auth if ours else None, follow_redirects=not ours
            )
        except FatalVendorError as exc:
            if ours or exc.status not in REFUSED_LINK:
                raise
            raise FileLinkRefused(
                SYSTEM,
                f"the invoice file host refused the link (HTTP {exc.status})",
                status=exc.status,
                vendor_message=s3_message(exc.vendor_message),
                method="GET",
                path=target.path,
            ) from None
        return InvoiceFile(
            reply.content,
            content_type(reply.headers.get("content-type")),
            file_name(reply.headers.get("content-disposition")),
        )
