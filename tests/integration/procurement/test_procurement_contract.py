"""Contract: what the procurement flows send Ramp and Visma is valid against the vendors' specs.

One scenario runs every new request through the real flows: a purchase order created (after an
ambiguous answer, so looked up), edited (line Insert, Update, Delete), archived (hold); a bill
linked to it (``linkLine``); a paid bill (supplier payment, again looked up after an ambiguous
answer, release, ``BILL_PAYMENT_SYNC``). Every recorded request is validated with
``SpecValidator``; the Visma sandbox's answers to the new endpoints are validated too (the
release action against the 9.11 Swagger, where its 200 body is declared).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from integration.core.company import BILL_POSTEN, VENDOR_ATEA
from integration.procurement.procurement_kit import CASH_ACCOUNT, Shop, line, open_shop
from ml_connector.sandbox.faults import FaultRule
from support.openapi import SpecValidator

SETTINGS = {
    "purchase_orders": {"enabled": True},
    "payments": {"enabled": True, "cash_account": CASH_ACCOUNT},
}
# The operations the scenario must exercise (the new ones, and those the flows now use more).
VISMA_NEW = {
    "GET /v1/purchaseorder",
    "POST /v1/purchaseorder",
    "GET /v1/purchaseorder/{purchaseOrderNumber}",
    "PUT /v1/purchaseorder/{purchaseOrderNumber}",
    "POST /v1/supplierPayment",
    "GET /v1/supplierPayment/{paymentNumber}",
    "POST /v1/supplierPayment/{paymentNumber}/action/release",
    "POST /v1/supplierInvoice/{documentType}/{invoiceNumber}/action/release",
}
RAMP_NEW = {
    "GET /developer/v1/purchase-orders",
    "GET /developer/v1/purchase-orders/{purchase_order_id}",
    "POST /developer/v1/accounting/syncs",
}


async def _scenario(shop: Shop, *, ambiguous: bool) -> None:
    laptop = line(1_250_000, "Laptop", "6552")
    dock = line(240_050, "Dokkstasjon", "6560", project="X")
    order = shop.create_order(VENDOR_ATEA, [(laptop, 2), (dock, 1)], number="PO-5001")
    for path in ("purchaseorder", "supplierPayment") if ambiguous else ():
        shop.visma.faults.add(  # committed, but answered with a 500: the flows look it up
            FaultRule(kind="commit_then_fail", method="POST", path_contains=path, count=1)
        )
    await shop.sync()
    shop.edit_order_lines(order.id, change={0: (laptop, 3)}, remove=[1], add=[(dock, 2)])
    bill = shop.ramp.create_bill(
        vendor_id=VENDOR_ATEA,
        invoice_number="ATE-5001",
        lines=[line(3_750_000, "Laptop", "6552")],
        purchase_order_id=order.id,
    )
    shop.ramp.pay_bill(BILL_POSTEN, payment_date=date.today())
    await shop.sync()
    shop.ramp.archive_purchase_order(order.id)
    await shop.sync()
    assert len(shop.payments_of(BILL_POSTEN)) == 1
    assert [ln.get("poNumber") for ln in shop.invoice_of(bill["id"])["invoiceLines"]] == [
        shop.visma_order(order.id)["orderNbr"]
    ]


def _body(request: httpx.Request) -> Any:
    media = request.headers.get("content-type", "application/json").split(";")[0]
    if not request.content:
        return None
    if media == "application/json":
        return json.loads(request.content, parse_float=Decimal)
    return request.content.decode()


def _requests(
    validator: SpecValidator, wire: Any, prefix: str
) -> set[str]:  # wire: RecordingTransport
    """Validate every request under ``prefix``; the spec operations they reached."""
    reached: set[str] = set()
    for request, _ in wire.exchanges:
        path = request.url.raw_path.decode("ascii")
        if not request.url.path.startswith(prefix) or request.url.path.endswith("/attachment"):
            continue  # token endpoints, invoice files and multipart uploads are checked elsewhere
        media = request.headers.get("content-type", "application/json").split(";")[0]
        validator.validate_request(request.method, path, _body(request), content_type=media)
        reached.add(f"{request.method} {validator.find_operation(request.method, path)[0]}")
    return reached


async def test_procurement_requests_follow_the_specs(
    tmp_path: Path, shared_specs_dir: Path
) -> None:
    """Every Ramp and Visma request of the scenario is a valid request per the vendor spec."""
    async with open_shop(tmp_path, settings=SETTINGS) as shop:
        await _scenario(shop, ambiguous=True)
        assert shop.ramp_wire is not None
        assert shop.visma_wire is not None
        visma = _requests(SpecValidator.load("visma", shared_specs_dir), shop.visma_wire, "/v1/")
        ramp = _requests(
            SpecValidator.load("ramp", shared_specs_dir), shop.ramp_wire, "/developer/v1/"
        )
    assert visma >= VISMA_NEW | {"GET /v1/supplierPayment"}
    assert ramp >= RAMP_NEW


async def test_sandbox_answers_to_new_endpoints_fit_the_specs(
    tmp_path: Path, shared_specs_dir: Path
) -> None:
    """The Visma sandbox's purchase-order and payment answers validate against the specs."""
    current = SpecValidator.load("visma", shared_specs_dir)
    legacy = SpecValidator.load("visma-legacy", shared_specs_dir)
    async with open_shop(tmp_path, settings=SETTINGS) as shop:
        await _scenario(shop, ambiguous=False)
        # The lookups the flows make after an ambiguous answer, made here directly.
        ctx = await shop.runtime.context(await shop.runtime.store.get_connection(shop.name))
        invoice = shop.invoice_of(BILL_POSTEN)
        supplier = invoice["supplier"]["number"]
        assert [o async for o in ctx.visma.list_purchase_orders(supplier="50001")]
        payments = ctx.visma.list_supplier_payments(
            supplier=supplier, invoice_ref_nbr=invoice["referenceNumber"]
        )
        assert [p async for p in payments]
        assert shop.visma_wire is not None
        checked: set[str] = set()
        for request, response in shop.visma_wire.exchanges:
            path = request.url.raw_path.decode("ascii")
            if not any(word in path for word in ("purchaseorder", "supplierPayment")):
                continue
            if path.endswith("/action/release"):
                legacy.validate_response(
                    request.method,
                    "/API/controller/api" + path,
                    response.status_code,
                    response.json() if response.content else None,
                )
            else:
                current.validate_httpx_exchange(request, response)
            checked.add(f"{request.method} {current.find_operation(request.method, path)[0]}")
    wanted = {op for op in VISMA_NEW if "supplierInvoice" not in op}
    assert checked >= wanted | {"GET /v1/supplierPayment"}
