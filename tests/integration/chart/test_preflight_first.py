"""Pre-flight rules the core tests leave out: each bill below is one the Visma sandbox would
refuse, and the connector stops it first, with no invoice POST, a finance-readable reason and
a hint, and an export error in Ramp. (Closed period, unknown account, inactive segment value,
project hidden from AP and blocked supplier are covered in tests/integration/core.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from integration.chart.demo_pair import VENDOR_TELENOR, World, open_demo_pair
from ml_connector.app.mappings import set_rule
from ml_connector.app.principal import Actor
from ml_connector.mapping.table import MappingRule, Target
from ml_connector.runtime.sync import sync_once
from ml_connector.store import SyncStatus


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The demo company without its bills, in both sandboxes, and one connection."""
    async with open_demo_pair(tmp_path) as pair:
        yield pair


def _bill(world: World, number: str, currency: str | None = None, **coding: Any) -> str:
    line = {"gl_account": "6340", "cost_centre": "100", "department": "10", "project": "X"}
    created = world.ramp.create_bill(
        vendor_id=VENDOR_TELENOR,
        invoice_number=number,
        currency=currency,
        lines=[{"amount_minor": 125_00, "memo": f"{number} line", **line, **coding}],
    )
    return str(created["id"])


@pytest.mark.parametrize(
    ("coding", "currency", "code", "named"),
    [
        pytest.param({"vat_code": "99"}, None, "vat_unknown", "VAT code 99", id="vat-unknown"),
        pytest.param({}, "GBP", "currency_disabled", "GBP", id="currency-disabled"),
        pytest.param(
            {"gl_account": "6590"}, None, "account_inactive", "6590", id="account-inactive"
        ),
        pytest.param(
            {"project": "P1005"}, None, "project_inactive", "P1005", id="project-completed"
        ),
    ],
)
async def test_connector_stops_what_visma_would_refuse(
    world: World, coding: dict[str, str], currency: str | None, code: str, named: str
) -> None:
    """The record needs attention with the rule's code, a message naming the value and a
    hint; Visma never sees an invoice POST; Ramp shows the export error."""
    bill_id = _bill(world, f"PF-{code}", currency, **coding)

    summary = await sync_once(world.runtime, "acme", settle_s=0)

    assert summary.needs_attention == 1
    connection = await world.runtime.store.get_connection("acme")
    record = await world.runtime.store.find_record(connection.id, "bill", bill_id)
    assert record is not None
    assert record.status is SyncStatus.NEEDS_ATTENTION
    assert record.error_code == code
    assert named in (record.last_error or "")
    assert record.hint
    assert world.visma.journal.entries("POST", "/v1/supplierInvoice") == []
    assert bill_id in {e.object_id for e in world.ramp.state.export_errors}


async def test_the_same_bill_fixed_in_visma_syncs(world: World) -> None:
    """Control: once Visma accepts the value, the same coding syncs (the rule is not too eager)."""
    bill_id = _bill(world, "PF-OK", gl_account="6590")
    world.visma.set_account_active("6590", True)
    summary = await sync_once(world.runtime, "acme", settle_s=0)
    assert summary.visma_invoices_created == 1
    posts = world.visma.journal.entries("POST", "/v1/supplierInvoice")
    assert [e.path for e in posts if e.path == "/v1/supplierInvoice"] == ["/v1/supplierInvoice"]
    connection = await world.runtime.store.get_connection("acme")
    record = await world.runtime.store.find_record(connection.id, "bill", bill_id)
    assert record is not None
    assert record.status is SyncStatus.SUCCEEDED


async def test_ramp_originated_coding_resolves_through_the_table(world: World) -> None:
    """A Ramp category mapped in the table becomes the Visma account; the audit trail names
    the mapping version; an unmapped category needs attention without any POST."""
    mapped = world.ramp.create_bill(
        vendor_id=VENDOR_TELENOR,
        invoice_number="RO-1",
        lines=[{"amount_minor": 99_00, "memo": "Taxi", "selections": {"ramp_category": "Travel"}}],
    )
    await set_rule(
        Actor.local_admin("tester"),
        world.runtime,
        "acme",
        MappingRule("ramp_category", "Travel", Target.ACCOUNT, "6340"),
    )
    version = await set_rule(
        Actor.local_admin("tester"),
        world.runtime,
        "acme",
        MappingRule("@default", "*", Target.PROJECT, "X"),
    )
    summary = await sync_once(world.runtime, "acme", settle_s=0)
    assert summary.visma_invoices_created == 1
    invoice = world.visma.invoices()[0]
    line = invoice["invoiceLines"][0]
    assert (line["account"]["number"], line["project"]["id"]) == ("6340", "X")
    connection = await world.runtime.store.get_connection("acme")
    record = await world.runtime.store.find_record(connection.id, "bill", str(mapped["id"]))
    assert record is not None
    entries = await world.runtime.store.list_audit(connection.id, record.id)
    notes = [e.data for e in entries if e.kind == "mapped_payload"]
    assert [n["mapping_version"] for n in notes] == [version.version]

    unmapped = world.ramp.create_bill(
        vendor_id=VENDOR_TELENOR,
        invoice_number="RO-2",
        lines=[{"amount_minor": 50_00, "memo": "Lunch", "selections": {"ramp_category": "Meals"}}],
    )
    world.visma.journal.clear()
    await sync_once(world.runtime, "acme", settle_s=0)
    record = await world.runtime.store.find_record(connection.id, "bill", str(unmapped["id"]))
    assert record is not None
    assert record.status is SyncStatus.NEEDS_ATTENTION
    assert record.error_code == "unmapped_value"
    assert "'Meals'" in (record.last_error or "")
    assert world.visma.journal.entries("POST", "/v1/supplierInvoice") == []
