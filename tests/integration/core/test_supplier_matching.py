"""F2 against suppliers someone keyed into Visma by hand: found, never created a second time."""

from __future__ import annotations

import pytest

from integration.core.world import World


@pytest.mark.parametrize(
    ("in_visma", "in_ramp"), [("5560358672", "556035-8672"), ("556035-8672", "556035-8672")]
)
async def test_org_number_spelled_differently_matches(
    world: World, in_visma: str, in_ramp: str
) -> None:
    """A vendor's organisation number finds the existing supplier, hyphenated or compact."""
    existing = world.visma.add_supplier(
        "Clas Ohlson Aktiebolag", corporate_id=in_visma, currency="SEK", country="SE"
    )
    vendor = world.ramp.create_vendor(
        name="Clas Ohlson AB", country="SE", currency="SEK", org_number=in_ramp
    )
    bill = world.ramp.create_bill(
        vendor_id=str(vendor["id"]),
        invoice_number="CO-1",
        lines=[{"amount_minor": 19_900, "memo": "Kabel", "gl_account": "6560"}],
    )
    world.ready = (*world.ready, str(bill["id"]))

    summary = await world.sync()

    assert summary.visma_suppliers_created == 3  # the core company's new vendors only
    invoice = world.invoice_of(str(bill["id"]))
    assert invoice["supplier"]["number"] == existing["number"]
    assert (
        world.ramp.state.vendors[str(vendor["id"])].accounting_vendor_remote_id
        == (existing["number"])
    )
    await world.check_exactly_once()
