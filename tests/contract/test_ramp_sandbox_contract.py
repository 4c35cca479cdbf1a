"""Every Ramp sandbox exchange these scenarios make follows Ramp's own OpenAPI spec.

Each test (those of spend and people: test_ramp_sandbox_spend_contract.py) drives the sandbox
through a recording transport, then checks every vendor-API request and response against
``ramp-developer-api.openapi.json``. Errors the spec declares (400 "raises InvalidInput") are
validated like any response; the statuses it leaves undeclared but Ramp documents (401, 403,
404, 422, 429) are accepted by status and checked against the ``error_v2`` envelope instead
(``ramp_contract_kit.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contract.ramp_contract_kit import (
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    Harness,
    check_error_v2,
    open_harness,
)
from ml_connector.sandbox import seed


@pytest.fixture
async def harness(shared_specs_dir: Path) -> AsyncIterator[Harness]:
    """A demo-seeded sandbox behind a recording client, with an all-scopes token."""
    async with open_harness(shared_specs_dir) as h:
        yield h


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
        check_error_v2(response)
    for request, response in h.recorder.exchanges:
        h.spec.validate_httpx_exchange(request, response, undeclared_ok=(429, 500))
