"""Every request RampClient and VismaClient send is valid against the vendors' own specs.

The clients run a scenario that calls each of their methods against the sandboxes, through a
``RecordingTransport``; each recorded request (path, query and JSON body) is then checked with
``SpecValidator.validate_request``. Requests outside the specs are named and skipped on purpose:
Visma Connect's token endpoint (a different service) and the invoice files Ramp links to.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.clients import RampClient, RampCredentials, VismaClient, VismaCredentials
from ml_connector.clients.ramp_models import (
    AccountingVendorUpload,
    FieldOptionUpload,
    GLAccountUpload,
    SyncFailure,
    SyncSuccess,
)
from ml_connector.clients.visma_models import (
    AddressWrite,
    ContactWrite,
    LinkLineWrite,
    PurchaseOrderLineWrite,
    PurchaseOrderWrite,
    SupplierInvoiceLineWrite,
    SupplierInvoiceWrite,
    SupplierWrite,
)
from ml_connector.errors import ValidationRejected
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import demo_dataset
from ml_connector.sandbox.visma import VismaSandbox
from support.openapi import SpecValidator
from support.recording import RecordingTransport

FORM = "application/x-www-form-urlencoded"
# The spec operations the scenarios below must reach: one per client method (at least).
RAMP_OPERATIONS = {
    "DELETE /developer/v1/accounting/accounts/{gl_account_id}",
    "DELETE /developer/v1/accounting/field-options/{field_option_id}",
    "DELETE /developer/v1/webhooks/{webhook_id}",
    "GET /developer/v1/accounting/accounts",
    "GET /developer/v1/accounting/all-connections",
    "GET /developer/v1/accounting/field-options",
    "GET /developer/v1/accounting/fields",
    "GET /developer/v1/accounting/vendors",
    "GET /developer/v1/bills",
    "GET /developer/v1/bills/{bill_id}",
    "GET /developer/v1/entities",
    "GET /developer/v1/purchase-orders",
    "GET /developer/v1/purchase-orders/{purchase_order_id}",
    "GET /developer/v1/vendors",
    "GET /developer/v1/vendors/{vendor_id}",
    "GET /developer/v1/vendors/{vendor_id}/contacts",
    "GET /developer/v1/webhooks",
    "PATCH /developer/v1/accounting/accounts/{gl_account_id}",
    "PATCH /developer/v1/accounting/field-options/{field_option_id}",
    "PATCH /developer/v1/accounting/vendors/{vendor_id}",
    "PATCH /developer/v1/bills/{bill_id}",
    "PATCH /developer/v1/vendors/{vendor_id}",
    "POST /developer/v1/accounting/accounts",
    "POST /developer/v1/accounting/connection",
    "POST /developer/v1/accounting/field-options",
    "POST /developer/v1/accounting/fields",
    "POST /developer/v1/accounting/syncs",
    "POST /developer/v1/accounting/vendors",
    "POST /developer/v1/token",
    "POST /developer/v1/webhooks",
    "POST /developer/v1/webhooks/{webhook_id}/verify",
}
VISMA_OPERATIONS = {
    "DELETE /v1/supplierInvoice/{documentType}/{invoiceNumber}",
    "GET /v1/account",
    "GET /v1/account/{accountCd}",
    "GET /v1/dimension/{dimensionId}",
    "GET /v1/financialPeriod",
    "GET /v1/financialPeriod/{financialPeriodId}",
    "GET /v1/project",
    "GET /v1/project/{projectID}",
    "GET /v1/purchaseorder",
    "GET /v1/purchaseorder/{purchaseOrderNumber}",
    "GET /v1/subaccount",
    "GET /v1/supplier",
    "GET /v1/supplier/{supplierCd}",
    "GET /v1/supplierInvoice",
    "GET /v1/supplierInvoice/{documentType}/{invoiceNumber}",
    "GET /v1/vat",
    "POST /v1/purchaseorder",
    "POST /v1/supplier",
    "POST /v1/supplierInvoice",
    "POST /v1/supplierInvoice/documentType/{documentType}/{invoiceNumber}/attachment",
    "POST /v1/supplierInvoice/{documentType}/{invoiceNumber}/action/release",
    "PUT /v1/purchaseorder/{purchaseOrderNumber}",
    "PUT /v1/supplier/{supplierCd}",
    "PUT /v1/supplierInvoice/{documentType}/{invoiceNumber}",
}


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


def check(
    validator: SpecValidator, exchanges: list[tuple[httpx.Request, httpx.Response]], api: str
) -> tuple[set[str], list[str]]:
    """Validate every request under ``api``; return the operations checked and what was skipped."""
    checked: set[str] = set()
    skipped: list[str] = []
    for request, _ in exchanges:
        path = request.url.raw_path.decode("ascii")
        if not request.url.path.startswith(api):
            skipped.append(f"{request.method} {request.url.path}")
            continue
        content_type = request.headers.get("content-type", "application/json").split(";")[0]
        body: Any
        if content_type == "application/json":
            body = json.loads(request.content, parse_float=Decimal) if request.content else None
        elif content_type == FORM:
            body = request.content.decode()
        else:
            # Visma's spec declares no request body for attachment uploads (multipart/form-data
            # per its docs), so only the path and query of those requests are checked.
            assert content_type == "multipart/form-data", content_type
            assert request.url.path.endswith("/attachment")
            body = None
        validator.validate_request(request.method, path, body, content_type=content_type)
        checked.add(f"{request.method} {validator.find_operation(request.method, path)[0]}")
    return checked, skipped


async def test_every_ramp_request_follows_the_ramp_spec(shared_specs_dir: Path) -> None:
    """A scenario covering every RampClient method sends only spec-valid requests."""
    hooks: list[bytes] = []

    async def receive(request: Request) -> Response:
        hooks.append(await request.body())
        return Response(status_code=204)

    receiver = httpx.ASGITransport(
        app=Starlette(routes=[Route("/ramp", receive, methods=["POST"])])
    )
    sandbox = RampSandbox(
        "ramp_id_c", "ramp_sec_c", dataset=demo_dataset(), webhook_transport=receiver
    )
    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox.app))
    creds = RampCredentials("ramp_id_c", SecretStr("ramp_sec_c"), base_url="http://ramp.sandbox")
    async with RampClient(creds, transport=recorder, page_size=10) as ramp:
        await ramp.ping()
        bills = [b async for b in ramp.list_bills(sync_ready=True, approval_status="APPROVED")]
        bill = await ramp.get_bill(bills[0].id)
        await ramp.update_bill(
            bill.id, memo="contract", line_items=[{"amount": Decimal("12.34"), "memo": "Line"}]
        )
        await ramp.download(bill.invoice_urls[0])
        vendors = [v async for v in ramp.list_vendors(is_active=True)]
        await ramp.get_vendor(vendors[0].id)
        await ramp.list_vendor_contacts(vendors[0].id)
        _ = [e async for e in ramp.list_entities()]
        orders = [o async for o in ramp.list_purchase_orders()]
        await ramp.get_purchase_order(orders[0].id)
        await ramp.get_connection()
        with pytest.raises(ValidationRejected):  # the demo business is already connected
            await ramp.create_connection("Visma.net ERP")
        (account,) = await ramp.upload_gl_accounts([GLAccountUpload("9991", "Contract", "EXPENSE")])
        _ = [a async for a in ramp.list_gl_accounts(is_active=True)]
        await ramp.patch_gl_account(account.ramp_id, name="Contract 2", code="9991")
        await ramp.delete_gl_account(account.ramp_id)
        field = await ramp.create_field("contract-field", "Contract field", is_splittable=False)
        _ = [f async for f in ramp.list_fields()]
        (option,) = await ramp.upload_field_options(field.ramp_id, [FieldOptionUpload("c1", "C1")])
        _ = [o async for o in ramp.list_field_options(field.ramp_id, is_active=True)]
        await ramp.patch_field_option(option.ramp_id, visibility="HIDDEN")
        await ramp.delete_field_option(option.ramp_id)
        (vendor,) = await ramp.upload_accounting_vendors([AccountingVendorUpload("59999", "V")])
        _ = [v async for v in ramp.list_accounting_vendors()]
        await ramp.patch_accounting_vendor(vendor.ramp_id, name="V2")
        await ramp.update_vendor(vendors[0].id, accounting_vendor_remote_id="59999")
        await ramp.post_sync(
            "BILL_SYNC",
            str(uuid.uuid4()),
            successful=[SyncSuccess(bill.id, "000001", "https://visma.example/doc/000001")],
            failed=[SyncFailure(bills[1].id, "Closed period")],
        )
        subscription, _secret = await ramp.create_webhook(
            "http://hooks.test/ramp", ["bills.approved"], additional_headers={"X-Tenant": "c"}
        )
        await sandbox.webhooks.flush()
        await ramp.verify_webhook(subscription.id, json.loads(hooks[0])["challenge"])
        await ramp.list_webhooks()
        await ramp.delete_webhook(subscription.id)
    validator = SpecValidator.load("ramp", shared_specs_dir)
    checked, skipped = check(validator, recorder.exchanges, "/developer/v1/")
    assert checked == RAMP_OPERATIONS
    assert skipped == [f"GET {httpx.URL(bill.invoice_urls[0]).path}"]


async def test_every_visma_request_follows_the_visma_spec(shared_specs_dir: Path) -> None:
    """A scenario covering every VismaClient method sends only spec-valid requests."""
    sandbox = VismaSandbox("isv_c", "visma_sec_c", "tenant-c", "77", dataset=demo_dataset())
    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox.app))
    creds = VismaCredentials(
        "isv_c", SecretStr("visma_sec_c"), "tenant-c", "77",
        base_url="http://visma.sandbox", token_url="http://visma.sandbox/connect/token",
    )  # fmt: skip
    async with VismaClient(creds, transport=recorder, page_size=5) as visma:
        await visma.ping()
        suppliers = [s async for s in visma.list_suppliers(status="Active", expand_note=True)]
        await visma.get_supplier(suppliers[0].number)
        number = await visma.create_supplier(
            SupplierWrite(number=None, name="Contract AS", status="Active", currency_id="NOK",
                          credit_terms_id="30D", vat_registration_id="NO912345678MVA",
                          corporate_id="912345678",
                          main_address=AddressWrite(address_line1="Gate 1", address_line2="2",
                                                    postal_code="0150", city="Oslo",
                                                    country_id="NO"),
                          main_contact=ContactWrite(name="AP", attention="Att", email="a@b.no",
                                                    phone1="+47 1"))
        )  # fmt: skip
        supplier = await visma.get_supplier(number)
        assert supplier is not None
        await visma.update_supplier(number, SupplierWrite(name="Contract 2 AS"), supplier.etag)
        periods = await visma.list_financial_periods()
        period = next(p for p in reversed(periods) if not p.closed_in_supplier_ledger)
        await visma.get_financial_period(period.period)
        accounts = await visma.list_accounts(active=True)
        await visma.get_account(accounts[0].number)
        await visma.get_dimension("SUBACCOUNT")
        _ = [s async for s in visma.list_subaccounts(active=True)]
        projects = [p async for p in visma.list_projects(visible_in_ap=True, status="Active")]
        await visma.get_project(projects[0].project_id)
        project = next(p for p in projects if p.tasks)  # a real project, with its tasks
        task = next(t.task_id for t in project.tasks if t.status == "Active" and t.visible_in_ap)
        await visma.list_vat()
        order = await visma.create_purchase_order(
            PurchaseOrderWrite(order_type="RegularOrder", hold=True, date=period.start_date,
                               promised_on=period.end_date, description="PO", supplier=number,
                               currency="NOK", supplier_ref="REF",
                               lines=(PurchaseOrderLineWrite(line_number=1, line_type="Service",
                                                             line_description="Work", uom="HOUR",
                                                             order_qty=Decimal("2"),
                                                             unit_cost=Decimal("100.50"),
                                                             account="6800",
                                                             sub=((1, "100"),)),))
        )  # fmt: skip
        fetched = await visma.get_purchase_order(order)
        assert fetched is not None
        await visma.update_purchase_order(
            order, PurchaseOrderWrite(description="PO 2"), fetched.etag
        )
        _ = [o async for o in visma.list_purchase_orders(supplier=number)]
        invoice = SupplierInvoiceWrite(
            document_type="Invoice", supplier_number=number, supplier_reference="C-1",
            date=period.start_date, due_date=period.end_date, currency_id="NOK",
            financial_period=period.period, description="Contract", note="ramp-bill:c-1",
            hold=True, tax_calculation_mode="Gross", amount=Decimal("201.00"),
            vat_amount=Decimal("0"),
            lines=(SupplierInvoiceLineWrite(line_number=1, account_number="6800",
                                            subaccount=((1, "100"),),
                                            transaction_description="Work",
                                            quantity=Decimal("2"),
                                            unit_cost_in_currency=Decimal("100.50"),
                                            cost_in_currency=Decimal("201.00"),
                                            vat_code_id="0", project_id=project.project_id,
                                            project_task_id=task,
                                            link_line=LinkLineWrite(order, 1)),),
        )  # fmt: skip
        reference = await visma.create_supplier_invoice(invoice)
        document = await visma.get_supplier_invoice("Invoice", reference)
        assert document is not None
        await visma.update_supplier_invoice(
            "Invoice", reference, SupplierInvoiceWrite(hold=False), etag=document.etag
        )
        await visma.attach_supplier_invoice_file(
            "Invoice", reference, "c-1.pdf", b"%PDF-1.4 c", "application/pdf"
        )
        _ = [i async for i in visma.list_supplier_invoices(supplier=number, status="Balanced")]
        await visma.release_supplier_invoice("Invoice", reference)
        second = await visma.create_supplier_invoice(
            SupplierInvoiceWrite(document_type="Invoice", supplier_number=number,
                                 supplier_reference="C-2", date=period.start_date,
                                 financial_period=period.period, hold=True,
                                 lines=(SupplierInvoiceLineWrite(account_number="6800",
                                                                 quantity=Decimal("1"),
                                                                 unit_cost_in_currency=Decimal("5"),
                                                                 vat_code_id="0"),))
        )  # fmt: skip
        await visma.delete_supplier_invoice("Invoice", second)
    validator = SpecValidator.load("visma", shared_specs_dir)
    checked, skipped = check(validator, recorder.exchanges, "/v1/")
    assert checked == VISMA_OPERATIONS
    assert skipped == ["POST /connect/token"]
