"""Every Ramp sandbox exchange these scenarios make follows Ramp's own OpenAPI spec.

Each test drives the sandbox through a recording transport, then checks every vendor-API
request and response against ``ramp-developer-api.openapi.json``. Errors the spec declares
(400 "raises InvalidInput") are validated like any response; the statuses it leaves
undeclared but Ramp documents (401, 403, 404, 422, 429) are accepted by status and checked
against the ``error_v2`` envelope here instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import demo_dataset
from support.openapi import SpecValidator
from support.recording import RecordingTransport

CLIENT_ID = "ramp_id_contract"
CLIENT_SECRET = "ramp_sec_contract_only"
SCOPES = (
    "bills:read bills:write vendors:read vendors:write accounting:read accounting:write "
    "purchase_orders:read purchase_orders:write entities:read"
)
UNDECLARED_ERRORS = (401, 403, 404, 422, 429)
API = "/developer/v1"


@dataclass
class Harness:
    sandbox: RampSandbox
    client: httpx.AsyncClient
    recorder: RecordingTransport
    spec: SpecValidator
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        options.setdefault("headers", self.auth)
        return await self.client.request(method, path, **options)

    def check(self) -> int:
        """Validate every recorded vendor-API exchange; returns how many were checked."""
        checked = 0
        for request, response in self.recorder.exchanges:
            if not request.url.path.startswith(API):
                continue
            self.spec.validate_httpx_exchange(request, response, undeclared_ok=UNDECLARED_ERRORS)
            if response.status_code >= 400 and request.url.path != f"{API}/token":
                _check_error_v2(response)
            checked += 1
        return checked


def _check_error_v2(response: httpx.Response) -> None:
    body = response.json()
    inner = body["error_v2"]
    assert isinstance(inner["error_code"], str)
    assert isinstance(inner["message"], str)
    assert isinstance(inner["additional_info"], dict)
    assert "error" in body


@pytest.fixture
async def harness(shared_specs_dir: Path) -> AsyncIterator[Harness]:
    """A demo-seeded sandbox behind a recording client, with an all-scopes token."""
    sandbox = RampSandbox(CLIENT_ID, CLIENT_SECRET, dataset=demo_dataset())
    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox.app))
    spec = SpecValidator.load("ramp", shared_specs_dir)
    async with httpx.AsyncClient(transport=recorder, base_url="https://api.ramp.com") as client:
        token = await client.post(
            f"{API}/token",
            data={"grant_type": "client_credentials", "scope": SCOPES},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        yield Harness(sandbox, client, recorder, spec, token.json()["access_token"])


def _ready_bill(h: Harness) -> str:
    return next(b.id for b in h.sandbox.state.bills.values() if h.sandbox.state.is_sync_ready(b))


async def test_token_exchanges_follow_the_spec(harness: Harness) -> None:
    """Token issue (form body) and revoke match post_token / post_revoke_token."""
    h = harness
    extra = await h.client.post(
        f"{API}/token",
        data={"grant_type": "client_credentials", "scope": "bills:read"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    revoked = await h.client.post(
        f"{API}/token/revoke",
        data={"token": extra.json()["access_token"], "token_type_hint": "access_token"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert revoked.status_code == 200
    assert h.check() == 3  # the fixture's token call, this one, the revoke


async def test_bill_exchanges_follow_the_spec(harness: Harness) -> None:
    """Bill list (paged and filtered), get, create, patch, delete and their errors."""
    h = harness
    state = h.sandbox.state
    page = await h.call("GET", f"{API}/bills", params={"page_size": 5, "sync_ready": "true"})
    await h.call("GET", page.json()["page"]["next"])
    await h.call(
        "GET",
        f"{API}/bills",
        params={
            "approval_status": "APPROVED",
            "payment_status": "OPEN",
            "sync_status": "NOT_SYNCED",
            "is_archived": "false",
            "from_issued_date": "2020-01-01T00:00:00+00:00",
            "min_amount": "1.50",
        },
    )
    bill_id = _ready_bill(h)
    await h.call("GET", f"{API}/bills/{bill_id}")
    vendor = next(iter(state.vendors.values()))
    entity = next(iter(state.entities.values()))
    created = await h.call(
        "POST",
        f"{API}/bills",
        json={
            "vendor_id": vendor.id,
            "vendor_contact_id": vendor.contact_ids[0],
            "entity_id": entity.id,
            "invoice_number": "CT-1",
            "invoice_currency": "NOK",
            "issued_at": "2026-03-01",
            "due_at": "2026-03-31",
            "payment_method": "ACH",
            "memo": "Contract test",
            "line_items": [
                {
                    "amount": "100.25",
                    "memo": "Line",
                    "accounting_field_selections": [
                        {
                            "field_external_id": seed.FIELD_GL_ACCOUNT,
                            "field_option_external_id": state.visible_gl_accounts()[-1].remote_id,
                        }
                    ],
                }
            ],
            "inventory_line_items": [{"unit_price": 5, "unit_quantity": 3, "memo": "Pens"}],
        },
    )
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    await h.call("PATCH", f"{API}/bills/{new_id}", json={"memo": "Edited", "remote_id": "R-1"})
    h.sandbox.pay_bill(bill_id, manual_payment_method="PAID_IN_ERP")
    await h.call("GET", f"{API}/bills/{bill_id}")  # now with a payment object
    refused = await h.call("DELETE", f"{API}/bills/{bill_id}")  # paid: declared 400
    assert refused.status_code == 400
    deleted = await h.call("DELETE", f"{API}/bills/{new_id}")
    assert deleted.status_code == 204
    await h.call("GET", f"{API}/bills", params={"is_archived": "true"})
    await h.call("GET", f"{API}/bills", params={"page_size": 1})  # 422
    await h.call("GET", f"{API}/bills", headers={})  # 401
    assert h.check() == 13  # including the fixture's token call


async def test_vendor_and_entity_exchanges_follow_the_spec(harness: Harness) -> None:
    """Vendors (list, detail with form answers, create, patch, contacts, delete), entities."""
    h = harness
    state = h.sandbox.state
    await h.call("GET", f"{API}/vendors", params={"page_size": 10, "is_active": "true"})
    with_numbers = next(v for v in state.vendors.values() if v.org_number)
    detail = await h.call("GET", f"{API}/vendors/{with_numbers.id}")
    assert detail.json()["custom_form_collection_response"] is not None
    await h.call("GET", f"{API}/vendors/{with_numbers.id}/contacts")
    await h.call("GET", f"{API}/vendors/{with_numbers.id}/contacts/{with_numbers.contact_ids[0]}")
    created = await h.call(
        "POST",
        f"{API}/vendors",
        json={
            "name": "Contract Vendor AS",
            "country": "NO",
            "vendor_owner_id": state.owner.id,
            "business_vendor_contacts": {"email": "c@vendor.example", "first_name": "C"},
            "address": {"address_line_1": "Gate 1", "city": "Oslo", "postal_code": "0150"},
        },
    )
    vendor_id = created.json()["id"]
    await h.call("GET", f"{API}/vendors/{vendor_id}")  # no form answers: null
    await h.call("PATCH", f"{API}/vendors/{vendor_id}", json={"is_active": False})
    assert (await h.call("DELETE", f"{API}/vendors/{vendor_id}")).status_code == 204
    entities = await h.call("GET", f"{API}/entities", params={"is_primary": "true"})
    await h.call("GET", f"{API}/entities/{entities.json()['data'][0]['id']}")
    assert h.check() == 11


async def test_purchase_order_exchanges_follow_the_spec(harness: Harness) -> None:
    """Purchase orders: list, get (detail), create, archive."""
    h = harness
    state = h.sandbox.state
    listed = await h.call("GET", f"{API}/purchase-orders", params={"include_archived": "true"})
    if listed.json()["data"]:
        await h.call("GET", f"{API}/purchase-orders/{listed.json()['data'][0]['id']}")
    entity = next(iter(state.entities.values()))
    created = await h.call(
        "POST",
        f"{API}/purchase-orders",
        json={
            "entity_id": entity.id,
            "currency": "NOK",
            "three_way_match_enabled": False,
            "purchase_order_number": "PO-CT-1",
            "promise_date": "2026-06-01",
            "line_items": [{"unit_price": "1200.00", "unit_quantity": 2, "description": "Chairs"}],
        },
    )
    assert created.status_code == 201
    order_id = created.json()["id"]
    await h.call("GET", f"{API}/purchase-orders/{order_id}")
    archived = await h.call(
        "POST", f"{API}/purchase-orders/{order_id}/archive", json={"archived_reason": "Done"}
    )
    assert archived.status_code == 204
    assert h.check() >= 4


async def test_accounting_exchanges_follow_the_spec(harness: Harness) -> None:
    """Connection, GL accounts, accounting vendors, fields, options and syncs."""
    h = harness
    acc = f"{API}/accounting"
    connections = await h.call("GET", f"{acc}/all-connections")
    await h.call("GET", f"{acc}/connection")
    accounts = await h.call("GET", f"{acc}/accounts", params={"is_active": "true"})
    account = accounts.json()["data"][0]["ramp_id"]
    await h.call("GET", f"{acc}/accounts/{account}")
    await h.call("PATCH", f"{acc}/accounts/{account}", json={"name": "Renamed", "code": "X1"})
    uploaded = await h.call(
        "POST",
        f"{acc}/accounts",
        json={"gl_accounts": [{"id": "8990", "name": "Contract", "classification": "EXPENSE"}]},
    )
    await h.call(
        "POST",
        f"{acc}/accounts",
        json={"gl_accounts": [{"id": "8990", "name": "Again", "classification": "EXPENSE"}]},
    )  # duplicate: declared 400
    await h.call("DELETE", f"{acc}/accounts/{uploaded.json()['gl_accounts'][0]['ramp_id']}")
    vendors = await h.call(
        "POST", f"{acc}/vendors", json={"vendors": [{"id": "CT-SUP", "name": "Supplier"}]}
    )
    vendor = vendors.json()["vendors"][0]["ramp_id"]
    await h.call("GET", f"{acc}/vendors", params={"remote_id": "CT-SUP"})
    await h.call("GET", f"{acc}/vendors/{vendor}")
    await h.call("PATCH", f"{acc}/vendors/{vendor}", json={"code": "S1"})
    await h.call("DELETE", f"{acc}/vendors/{vendor}")
    field = await h.call(
        "POST",
        f"{acc}/fields",
        json={"id": "ct-field", "name": "CT", "input_type": "SINGLE_CHOICE", "is_splittable": True},
    )
    field_id = field.json()["ramp_id"]
    await h.call("GET", f"{acc}/fields", params={"remote_id": seed.FIELD_PROJECT})
    await h.call("GET", f"{acc}/fields/{field_id}")
    await h.call("PATCH", f"{acc}/fields/{field_id}", json={"display_name": "Contract"})
    options = await h.call(
        "POST",
        f"{acc}/field-options",
        json={"field_id": field_id, "options": [{"id": "o1", "value": "One", "code": "1"}]},
    )
    option = options.json()["options"][0]["ramp_id"]
    await h.call("GET", f"{acc}/field-options", params={"field_id": field_id})
    await h.call("GET", f"{acc}/field-options/{option}")
    await h.call("PATCH", f"{acc}/field-options/{option}", json={"visibility": "HIDDEN"})
    await h.call("DELETE", f"{acc}/field-options/{option}")
    await h.call("DELETE", f"{acc}/fields/{field_id}")
    bill_id = _ready_bill(h)
    synced = await h.call(
        "POST",
        f"{acc}/syncs",
        json={
            "idempotency_key": "ct-sync-1",
            "sync_type": "BILL_SYNC",
            "successful_syncs": [
                {"id": bill_id, "reference_id": "V-1", "deep_link_url": "https://erp.example/1"}
            ],
        },
    )
    assert synced.status_code == 201
    await h.call(
        "POST",
        f"{acc}/syncs",
        json={
            "idempotency_key": "ct-sync-2",
            "sync_type": "BILL_SYNC",
            "successful_syncs": [{"id": bill_id, "reference_id": "V-1"}],
        },
    )  # no longer ready: declared 400
    connection_id = connections.json()["connections"][0]["id"]
    await h.call("DELETE", f"{acc}/connection")
    await h.call("POST", f"{acc}/connection/{connection_id}/reactivate")
    await h.call("DELETE", f"{acc}/connection")
    await h.call("POST", f"{acc}/connection", json={"remote_provider_name": "Contract ERP"})
    assert h.check() == 30


async def test_webhook_exchanges_follow_the_spec(harness: Harness) -> None:
    """Webhook subscriptions: create (with secret), list (array), get, verify, delete."""
    h = harness
    created = await h.call(
        "POST",
        f"{API}/webhooks",
        json={
            "endpoint_url": "https://hooks.example/ramp",
            "event_types": ["bills.approved", "bills.paid", "purchase_orders.updated"],
            "additional_headers": {"X-Tenant": "contract"},
        },
    )
    assert created.status_code == 201
    webhook_id = created.json()["id"]
    subscription = h.sandbox.hub.subscriptions[webhook_id]
    await h.call("GET", f"{API}/webhooks")
    await h.call("GET", f"{API}/webhooks/{webhook_id}")
    await h.call(
        "POST", f"{API}/webhooks/{webhook_id}/verify", json={"challenge": subscription.challenge}
    )
    assert (await h.call("DELETE", f"{API}/webhooks/{webhook_id}")).status_code == 204
    assert h.check() == 6


async def test_injected_faults_keep_the_error_envelope(harness: Harness) -> None:
    """A rate-limit burst and an injected 5xx answer with Ramp's error_v2 body."""
    from ml_connector.sandbox.faults import FaultRule

    h = harness
    h.sandbox.faults.add(FaultRule(status=429, retry_after=1, count=1))
    limited = await h.call("GET", f"{API}/bills")
    h.sandbox.faults.add(FaultRule(status=500, count=1))
    broken = await h.call("GET", f"{API}/vendors")
    assert (limited.status_code, broken.status_code) == (429, 500)
    for response in (limited, broken):
        _check_error_v2(response)
    for request, response in h.recorder.exchanges:
        h.spec.validate_httpx_exchange(request, response, undeclared_ok=(429, 500))


SPEND_SCOPES = (
    "transactions:read reimbursements:read transfers:read statements:read users:read "
    "departments:read departments:write locations:read locations:write receipts:read "
    "business:read entities:read accounting:read accounting:write"
)


async def _spend_token(h: Harness) -> dict[str, str]:
    response = await h.client.post(
        f"{API}/token",
        data={"grant_type": "client_credentials", "scope": SPEND_SCOPES},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_spend_reads_follow_the_spec(harness: Harness) -> None:
    """Transactions (foreign, split, refund, declined), reimbursements (mileage), receipts,
    transfers and statements of the demo, listed with every kind of filter and read one by one."""
    h = harness
    auth = await _spend_token(h)
    state = h.sandbox.state
    cards = list(state.transactions.values())
    page = await h.call(
        "GET",
        f"{API}/transactions",
        params={"page_size": 5, "order_by_date_desc": "true"},
        headers=auth,
    )
    await h.call("GET", page.json()["page"]["next"], headers=auth)
    entity = next(iter(state.entities))
    user = next(iter(state.users.values()))
    await h.call(
        "GET",
        f"{API}/transactions",
        params={
            "sync_status": "SYNC_READY",
            "entity_id": entity,
            "from_date": "2020-01-01T00:00:00+00:00",
            "to_date": "2100-01-01T00:00:00+00:00",
            "state": "ALL",
            "department_id": user.department_id,
            "min_amount": "-5000.50",
            "has_no_sync_commits": "true",
        },
        headers=auth,
    )
    await h.call(
        "GET",
        f"{API}/transactions",
        params={"sync_ready": "true", "user_id": user.id},
        headers=auth,
    )
    shown = [
        next(c for c in cards if c.original_currency),
        next(c for c in cards if c.lines),
        next(c for c in cards if c.amount_minor < 0),
        next(c for c in cards if c.state == "DECLINED"),
        next(c for c in cards if c.state == "PENDING"),
    ]
    for card in shown:
        await h.call("GET", f"{API}/transactions/{card.id}", headers=auth)
    claims = list(state.reimbursements.values())
    await h.call(
        "GET",
        f"{API}/reimbursements",
        params={"page_size": 50, "sync_status": "SYNC_READY"},
        headers=auth,
    )
    await h.call(
        "GET",
        f"{API}/reimbursements",
        params={"direction": "USER_TO_BUSINESS", "entity_id": entity},
        headers=auth,
    )
    for claim in (
        next(r for r in claims if r.type == "MILEAGE"),
        next(r for r in claims if r.original_currency),
    ):
        await h.call("GET", f"{API}/reimbursements/{claim.id}", headers=auth)
    receipts = await h.call(
        "GET", f"{API}/receipts", params={"transaction_id": shown[0].id}, headers=auth
    )
    await h.call("GET", f"{API}/receipts/{receipts.json()['data'][0]['id']}", headers=auth)
    transfers = await h.call(
        "GET", f"{API}/transfers", params={"status": "COMPLETED"}, headers=auth
    )
    await h.call("GET", f"{API}/transfers/{transfers.json()['data'][0]['id']}", headers=auth)
    statements = await h.call("GET", f"{API}/statements", headers=auth)
    for statement in statements.json()["data"]:
        await h.call("GET", f"{API}/statements/{statement['id']}", headers=auth)
    await h.call("GET", f"{API}/transactions/7e000000-0000-4000-8000-0000000000ff", headers=auth)
    await h.call("GET", f"{API}/transactions", params={"page_size": 101}, headers=auth)  # 422
    assert h.check() == 24


async def test_people_and_spend_syncs_follow_the_spec(harness: Harness) -> None:
    """Users, departments, locations, business, entities with accounts; spend syncs and hooks."""
    h = harness
    auth = await _spend_token(h)
    state = h.sandbox.state
    users = await h.call(
        "GET", f"{API}/users", params={"page_size": 5, "role": "BUSINESS_USER"}, headers=auth
    )
    await h.call("GET", f"{API}/users/{users.json()['data'][0]['id']}", headers=auth)
    await h.call("GET", f"{API}/departments", headers=auth)
    department = await h.call("POST", f"{API}/departments", json={"name": "Legal"}, headers=auth)
    await h.call("GET", f"{API}/departments/{department.json()['id']}", headers=auth)
    await h.call(
        "PATCH", f"{API}/departments/{department.json()['id']}", json={"name": "Law"}, headers=auth
    )
    entity = next(iter(state.entities))
    await h.call("GET", f"{API}/locations", params={"entity_id": entity}, headers=auth)
    place = await h.call(
        "POST", f"{API}/locations", json={"name": "Tromsø", "entity_id": entity}, headers=auth
    )
    await h.call("GET", f"{API}/locations/{place.json()['id']}", headers=auth)
    await h.call(
        "PATCH",
        f"{API}/locations/{place.json()['id']}",
        json={"name": "Tromsø sentrum"},
        headers=auth,
    )
    await h.call("GET", f"{API}/business", headers=auth)
    await h.call("GET", f"{API}/entities", headers=auth)
    ready_card = next(t for t in state.transactions.values() if t.sync_status.value == "SYNC_READY")
    ready_claim = next(
        r for r in state.reimbursements.values() if r.sync_status.value == "SYNC_READY"
    )
    ready_transfer = next(
        t for t in state.transfers.values() if t.sync_status.value == "SYNC_READY"
    )
    for key, sync_type, object_id in (
        ("ct-tx", "TRANSACTION_SYNC", ready_card.id),
        ("ct-re", "REIMBURSEMENT_SYNC", ready_claim.id),
        ("ct-tr", "TRANSFER_SYNC", ready_transfer.id),
    ):
        synced = await h.call(
            "POST",
            f"{API}/accounting/syncs",
            json={
                "idempotency_key": key,
                "sync_type": sync_type,
                "successful_syncs": [{"id": object_id, "reference_id": f"GL-{key}"}],
            },
            headers=auth,
        )
        assert synced.status_code == 201, synced.text
    await h.call("GET", f"{API}/transactions/{ready_card.id}", headers=auth)  # SYNCED, synced_at
    failing = next(t for t in state.transactions.values() if t.sync_status.value == "SYNC_READY")
    await h.call(
        "POST",
        f"{API}/accounting/syncs",
        json={
            "idempotency_key": "ct-fail",
            "sync_type": "TRANSACTION_SYNC",
            "failed_syncs": [{"id": failing.id, "error": {"message": "Period closed"}}],
        },
        headers=auth,
    )
    refused = await h.call(
        "POST",
        f"{API}/accounting/syncs",
        json={
            "idempotency_key": "ct-again",
            "sync_type": "TRANSACTION_SYNC",
            "successful_syncs": [{"id": ready_card.id, "reference_id": "GL-2"}],
        },
        headers=auth,
    )
    assert refused.status_code == 400  # synced already: declared "raises InvalidInput"
    hooks = await h.call(
        "POST",
        f"{API}/webhooks",
        json={
            "endpoint_url": "https://hooks.example/ramp",
            "event_types": [
                "transactions.ready_to_sync",
                "reimbursements.ready_to_sync",
                "transactions.cleared",
            ],
        },
        headers=auth,
    )
    assert hooks.status_code == 201, hooks.text
    assert h.check() == 21
