"""RampClient and VismaClient against the two sandboxes, over httpx.ASGITransport.

Each test asserts on sandbox state or on what the sandbox journal saw, not on client internals.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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
    FieldOptionUpload,
    GLAccountUpload,
    SyncFailure,
    SyncSuccess,
)
from ml_connector.clients.visma_models import (
    AddressWrite,
    ContactWrite,
    FinancialPeriod,
    SupplierInvoiceLineWrite,
    SupplierInvoiceWrite,
    SupplierWrite,
)
from ml_connector.errors import (
    AmbiguousOutcome,
    AuthenticationError,
    PermissionDenied,
    PreconditionFailed,
    RetriableVendorError,
)
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import Dataset, demo_dataset
from ml_connector.sandbox.visma import VismaSandbox

RAMP_ID, RAMP_SECRET = "ramp_id_it", "ramp_sec_it"
VISMA_ID, VISMA_SECRET, TENANT, COMPANY = "isv_it", "visma_sec_it", "tenant-it", "4711"
RAMP_URL, VISMA_URL = "http://ramp.sandbox", "http://visma.sandbox"


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return demo_dataset()


@dataclass
class Hooks:
    """An inline webhook receiver: the bodies Ramp's sandbox delivered to it."""

    bodies: list[bytes]

    @property
    def transport(self) -> httpx.ASGITransport:
        async def receive(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response(status_code=204)

        return httpx.ASGITransport(
            app=Starlette(routes=[Route("/ramp", receive, methods=["POST"])])
        )


@pytest.fixture
def hooks() -> Hooks:
    return Hooks([])


@pytest.fixture
def ramp_sandbox(dataset: Dataset, hooks: Hooks) -> RampSandbox:
    return RampSandbox(RAMP_ID, RAMP_SECRET, dataset=dataset, webhook_transport=hooks.transport)


@pytest.fixture
def visma_sandbox(dataset: Dataset) -> VismaSandbox:
    return VismaSandbox(VISMA_ID, VISMA_SECRET, TENANT, COMPANY, dataset=dataset, max_page_size=7)


def ramp_creds(secret: str = RAMP_SECRET) -> RampCredentials:
    return RampCredentials(RAMP_ID, SecretStr(secret), base_url=RAMP_URL)


def visma_creds(*, tenant: str = TENANT, company: str = COMPANY) -> VismaCredentials:
    return VismaCredentials(
        VISMA_ID, SecretStr(VISMA_SECRET), tenant, company,
        base_url=VISMA_URL, token_url=f"{VISMA_URL}/connect/token",
    )  # fmt: skip


@pytest.fixture
async def ramp(ramp_sandbox: RampSandbox) -> AsyncIterator[RampClient]:
    transport = httpx.ASGITransport(app=ramp_sandbox.app)
    async with RampClient(ramp_creds(), transport=transport, page_size=5) as client:
        yield client


@pytest.fixture
async def visma(visma_sandbox: VismaSandbox) -> AsyncIterator[VismaClient]:
    transport = httpx.ASGITransport(app=visma_sandbox.app)
    async with VismaClient(visma_creds(), transport=transport) as client:
        yield client


async def open_period(visma: VismaClient) -> FinancialPeriod:
    periods = await visma.list_financial_periods()
    return next(p for p in reversed(periods) if not p.closed_in_supplier_ledger)


def an_invoice(supplier: str, period: FinancialPeriod, reference: str) -> SupplierInvoiceWrite:
    return SupplierInvoiceWrite(
        document_type="Invoice",
        supplier_number=supplier,
        supplier_reference=reference,
        date=period.start_date,
        due_date=period.end_date,
        currency_id="NOK",
        financial_period=period.period,
        description="Consulting",
        note=f"ramp-bill:{reference}",
        hold=True,
        amount=Decimal("1234.56"),
        lines=(
            SupplierInvoiceLineWrite(
                line_number=1,
                account_number="6800",
                transaction_description="Consulting",
                quantity=Decimal("1"),
                unit_cost_in_currency=Decimal("1234.56"),
                vat_code_id="0",
            ),
        ),
    )


# --- Ramp -------------------------------------------------------------------------------------


async def test_ramp_ping_and_paging_read_every_ready_bill(
    ramp: RampClient, ramp_sandbox: RampSandbox
) -> None:
    """Small pages still yield every sync-ready bill once, following the sandbox's next links."""
    info = await ramp.ping()
    assert info.scopes is not None
    bills = [bill async for bill in ramp.list_bills(sync_ready=True)]
    ids = [bill.id for bill in bills]
    assert len(ids) == len(set(ids)) > 5
    assert all(ramp_sandbox.state.bills[i].approval_status == "APPROVED" for i in ids)
    pages = ramp_sandbox.journal.entries("GET", "/developer/v1/bills")
    assert len(pages) == -(-len(ids) // 5)


async def test_ramp_vendor_numbers_match_the_seed(ramp: RampClient, dataset: Dataset) -> None:
    """Org and VAT numbers come back as onboarding answers under the dataset's form labels."""
    seeded = [v for v in dataset.vendors if v.org_number or v.vat_number][:3]
    assert seeded
    org_label, vat_label = dataset.vendor_form_labels
    for seed in seeded:
        vendor = await ramp.get_vendor(seed.id)
        expected = [(org_label, seed.org_number), (vat_label, seed.vat_number)]
        assert vendor.form_answers == tuple((label, v) for label, v in expected if v)
        contacts = await ramp.list_vendor_contacts(seed.id)
        assert [c.email for c in contacts] == [seed.email]


async def test_ramp_invoice_file_downloads(ramp: RampClient) -> None:
    """A bill's invoice URL downloads as a PDF, with its type and file name in the headers."""
    bill = await anext(ramp.list_bills(sync_ready=True))
    assert bill.invoice_urls
    downloaded = await ramp.download(bill.invoice_urls[0])
    assert downloaded.content.startswith(b"%PDF")
    assert downloaded.content_type == "application/pdf"
    assert downloaded.filename is not None
    assert downloaded.filename.endswith(".pdf")


async def test_ramp_chart_push_lands_in_the_sandbox(
    ramp: RampClient, ramp_sandbox: RampSandbox
) -> None:
    """Uploaded GL accounts and field options exist in Ramp; patch and delete apply."""
    (account,) = await ramp.upload_gl_accounts([GLAccountUpload("9990", "Test", "EXPENSE", "9990")])
    assert ramp_sandbox.state.gl_accounts[account.ramp_id].name == "Test"
    await ramp.patch_gl_account(account.ramp_id, name="Renamed")
    await ramp.delete_gl_account(account.ramp_id)
    assert ramp_sandbox.state.gl_accounts[account.ramp_id].name == "Renamed"
    assert not ramp_sandbox.state.gl_accounts[account.ramp_id].is_active
    field = await ramp.create_field("it-field", "Integration field")
    again = await ramp.create_field("it-field", "Integration field")
    assert again.ramp_id == field.ramp_id
    await ramp.upload_field_options(field.ramp_id, [FieldOptionUpload("o-1", "One", "1")])
    options = [o async for o in ramp.list_field_options(field.ramp_id)]
    assert [(o.id, o.value) for o in options] == [("o-1", "One")]


async def test_ramp_post_sync_marks_the_bill_synced_once(
    ramp: RampClient, ramp_sandbox: RampSandbox
) -> None:
    """BILL_SYNC moves the bill to BILL_SYNCED; replaying the same key changes nothing."""
    first, second = [b async for b in ramp.list_bills(sync_ready=True)][:2]
    key = str(uuid.uuid4())
    success = [SyncSuccess(first.id, "000123", "https://visma.example/doc/000123")]
    failure = [SyncFailure(second.id, "Accounting period closed")]
    sync_id = await ramp.post_sync("BILL_SYNC", key, successful=success, failed=failure)
    assert await ramp.post_sync("BILL_SYNC", key, successful=success, failed=failure) == sync_id
    assert (await ramp.get_bill(first.id)).sync_status == "BILL_SYNCED"
    assert list(ramp_sandbox.state.syncs) == [key]


async def test_ramp_webhook_subscription_is_verified_with_the_delivered_challenge(
    ramp: RampClient, ramp_sandbox: RampSandbox, hooks: Hooks
) -> None:
    """The challenge posted to our endpoint, sent back, activates the subscription."""
    subscription, secret = await ramp.create_webhook("http://hooks.test/ramp", ["bills.approved"])
    assert secret.get_secret_value()
    await ramp_sandbox.webhooks.flush()
    challenge = json.loads(hooks.bodies[0])["challenge"]
    assert await ramp.verify_webhook(subscription.id, challenge)
    (listed,) = await ramp.list_webhooks()
    assert listed.status == "active"
    await ramp.delete_webhook(subscription.id)
    assert await ramp.list_webhooks() == []


async def test_ramp_revoked_token_is_replaced_and_the_call_succeeds(
    ramp: RampClient, ramp_sandbox: RampSandbox
) -> None:
    """After the sandbox revokes every token, the next call refreshes once and goes through."""
    await ramp.get_token_info()
    ramp_sandbox.revoke_tokens()
    bill = await anext(ramp.list_bills())
    assert bill.id in ramp_sandbox.state.bills
    assert len(ramp_sandbox.journal.entries("POST", "/developer/v1/token")) == 2


async def test_ramp_faults_are_retried_or_reported_as_ambiguous(
    ramp: RampClient, ramp_sandbox: RampSandbox
) -> None:
    """Injected 429s are retried; a write that commits then fails is AmbiguousOutcome."""
    bill = await anext(ramp.list_bills(sync_ready=True))
    ramp_sandbox.faults.add(FaultRule(status=429, count=2, retry_after=0, path_contains="/bills/"))
    assert (await ramp.get_bill(bill.id)).id == bill.id
    statuses = [e.status for e in ramp_sandbox.journal.entries("GET", f"/bills/{bill.id}")]
    assert statuses == [429, 429, 200]
    ramp_sandbox.faults.add(FaultRule(kind="commit_then_fail", status=502, method="PATCH"))
    with pytest.raises(AmbiguousOutcome):
        await ramp.update_bill(bill.id, memo="written despite the 502")
    assert ramp_sandbox.state.bills[bill.id].memo == "written despite the 502"
    assert len(ramp_sandbox.journal.entries("PATCH")) == 1


async def test_ramp_bad_secret_and_missing_scopes_are_clear(
    ramp_sandbox: RampSandbox, dataset: Dataset
) -> None:
    """A wrong secret is AuthenticationError; scopes the app lacks are named by ping."""
    transport = httpx.ASGITransport(app=ramp_sandbox.app)
    async with RampClient(ramp_creds("wrong"), transport=transport) as bad:
        with pytest.raises(AuthenticationError) as caught:
            await bad.ping()
    assert "wrong" not in str(caught.value)
    narrow = RampSandbox(RAMP_ID, RAMP_SECRET, dataset=dataset,
                         allowed_scopes=frozenset({"bills:read", "entities:read"}))  # fmt: skip
    async with RampClient(ramp_creds(), transport=httpx.ASGITransport(app=narrow.app)) as client:
        with pytest.raises(PermissionDenied, match="accounting:write"):
            await client.ping()


# --- Visma ------------------------------------------------------------------------------------


async def test_visma_ping_and_identity_errors(visma_sandbox: VismaSandbox) -> None:
    """Good credentials ping; a wrong tenant or company is named in AuthenticationError."""
    transport = httpx.ASGITransport(app=visma_sandbox.app)
    async with VismaClient(visma_creds(), transport=transport) as good:
        assert (await good.ping()).expires_in_s > 0
    async with VismaClient(visma_creds(tenant="nope"), transport=transport) as bad_tenant:
        with pytest.raises(AuthenticationError, match="tenant id nope"):
            await bad_tenant.ping()
    async with VismaClient(visma_creds(company="999"), transport=transport) as bad_company:
        with pytest.raises(AuthenticationError, match="company id 999"):
            await bad_company.ping()


async def test_visma_paging_reads_every_supplier(
    visma: VismaClient, visma_sandbox: VismaSandbox
) -> None:
    """With a page cap of 7, every supplier still arrives once, in pages of 7."""
    numbers = [s.number async for s in visma.list_suppliers()]
    assert sorted(numbers) == sorted(s["number"] for s in visma_sandbox.suppliers())
    queries = [e.query for e in visma_sandbox.journal.entries("GET", "/v1/supplier")]
    assert len(queries) == -(-len(numbers) // 7)  # metadata.totalCount ends it: no empty page
    assert all("pageSize=7" in q for q in queries[1:])


async def test_visma_supplier_create_read_update_with_etag(
    visma: VismaClient, visma_sandbox: VismaSandbox
) -> None:
    """A created supplier exists with its address; a stale ETag is refused with 412."""
    number = await visma.create_supplier(
        SupplierWrite(name="Fjordkraft Test AS", status="Active", currency_id="NOK",
                      corporate_id="912345678",
                      main_address=AddressWrite(address_line1="Kaigaten 1", postal_code="5015",
                                                city="Bergen", country_id="NO"),
                      main_contact=ContactWrite(name="AP", email="ap@fjordkraft.example"))
    )  # fmt: skip
    (stored,) = [s for s in visma_sandbox.suppliers() if s["number"] == number]
    assert stored["mainAddress"]["city"] == "Bergen"
    supplier = await visma.get_supplier(number)
    assert supplier is not None
    assert supplier.corporate_id == "912345678"
    await visma.update_supplier(number, SupplierWrite(name="Fjordkraft AS"), etag=supplier.etag)
    with pytest.raises(PreconditionFailed):
        await visma.update_supplier(number, SupplierWrite(name="Again"), etag=supplier.etag)
    assert await visma.get_supplier("no-such-supplier") is None


async def test_visma_invoice_lifecycle(visma: VismaClient, visma_sandbox: VismaSandbox) -> None:
    """Create, read, attach and delete an AP document; amounts stay exact decimals."""
    period = await open_period(visma)
    supplier = visma_sandbox.suppliers()[0]["number"]
    number = await visma.create_supplier_invoice(an_invoice(supplier, period, "IT-1"))
    invoice = await visma.get_supplier_invoice("Invoice", number)
    assert invoice is not None
    assert (invoice.amount, invoice.supplier_reference, invoice.note) == (
        Decimal("1234.56"), "IT-1", "ramp-bill:IT-1",
    )  # fmt: skip
    attachment = await visma.attach_supplier_invoice_file(
        "Invoice", number, "IT-1.pdf", b"%PDF-1.4 it", "application/pdf"
    )
    assert attachment is not None
    stored = visma_sandbox.attachment(attachment)
    assert stored is not None
    found = [i async for i in visma.list_supplier_invoices(supplier=supplier)]
    assert [i.reference_number for i in found if i.supplier_reference == "IT-1"] == [number]
    await visma.delete_supplier_invoice("Invoice", number)
    assert await visma.get_supplier_invoice("Invoice", number) is None


async def test_visma_write_that_commits_then_fails_is_resolved_by_lookup(
    visma: VismaClient, visma_sandbox: VismaSandbox
) -> None:
    """A POST that committed before a 5xx raises AmbiguousOutcome; a lookup finds one document."""
    period = await open_period(visma)
    supplier = visma_sandbox.suppliers()[0]["number"]
    visma_sandbox.faults.add(FaultRule(kind="commit_then_fail", status=503, method="POST",
                                       path_contains="/v1/supplierInvoice"))  # fmt: skip
    with pytest.raises(AmbiguousOutcome):
        await visma.create_supplier_invoice(an_invoice(supplier, period, "IT-AMB"))
    matches = [
        i async for i in visma.list_supplier_invoices(supplier=supplier)
        if i.supplier_reference == "IT-AMB"
    ]  # fmt: skip
    assert len(matches) == 1
    assert len(visma_sandbox.journal.entries("POST", "/v1/supplierInvoice")) == 1


async def test_visma_timeouts_and_rate_limits(visma_sandbox: VismaSandbox) -> None:
    """A slow read times out as retriable; a 429 with Retry-After 0 is retried to success."""
    transport = httpx.ASGITransport(app=visma_sandbox.app)
    async with VismaClient(visma_creds(), transport=transport, timeout_s=0.05, retries=1) as v:
        await v.ping()
        visma_sandbox.faults.add(FaultRule(kind="latency", latency_s=5.0, count=2,
                                           path_contains="/v1/vat"))  # fmt: skip
        with pytest.raises(RetriableVendorError, match="timed out"):
            await v.list_vat()
        visma_sandbox.faults.add(FaultRule(status=429, retry_after=0, count=1,
                                           path_contains="/v1/financialPeriod"))  # fmt: skip
        assert await v.list_financial_periods()
    statuses = [e.status for e in visma_sandbox.journal.entries("GET", "/v1/financialPeriod")]
    assert statuses == [429, 200]


async def test_visma_master_data_matches_the_seed(visma: VismaClient, dataset: Dataset) -> None:
    """Accounts, SUBACCOUNT segments, projects and VAT codes are the seeded ones."""
    accounts = {a.number for a in await visma.list_accounts()}
    assert {a.number for a in dataset.accounts} <= accounts
    dimension = await visma.get_dimension("SUBACCOUNT")
    assert dimension is not None
    for seed in dataset.segments:
        segment = dimension.segment(seed.segment_id)
        assert segment is not None
        assert {v.value_id for v in segment.segment_values} >= {v.value for v in seed.values}
    projects = {p.project_id async for p in visma.list_projects()}
    assert {p.project_id for p in dataset.projects} <= projects
    assert {v.vat_id for v in await visma.list_vat()} >= {v.vat_id for v in dataset.vat_codes}
    period = dataset.periods[0]
    found = await visma.get_financial_period(period.period_id)
    assert found is not None
    assert found.closed_in_supplier_ledger == period.closed_in_supplier_ledger
    assert date(2000, 1, 1) < (found.start_date or date.min)
