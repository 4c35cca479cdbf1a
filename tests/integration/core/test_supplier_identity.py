"""F2 at a customer with history: form labels the code never saw, numbers in free text, a
supplier already in Visma under another name, a supplier keyed in by a person meanwhile."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from integration.core.company import core_dataset
from integration.core.world import World, open_world, operator_settings
from ml_connector.sandbox.seed import Dataset, SeedSupplier

# Labels the customer chose for its vendor form: in no default list of the connector.
UNSEEN_LABELS = ("Foretaksregister-ID", "Avgiftsnummer (EU)")
KONTORSPAR_ORG = "918110836"
KONTORSPAR_SUPPLIER = "50010"
# Where this customer wrote the numbers of the core vendors: free text only.
FREE_TEXT = {
    "Atea AS": "Rammeavtale IT. Org.nr. 920 237 126",
    "Posten Bring AS": "Porto og frakt, NO 984 661 185 MVA",
    "Bergen Kaffebrenneri AS": "Kaffe til kontoret (org nr 912 345 602)",
    "Hetzner Online GmbH": "Hosting. USt-IdNr./VAT DE812871812",
}


def customer_dataset() -> Dataset:
    """The core company, its vendor form relabelled, and Kontorspar in Visma under its legal
    name ("Kontorspar Bedrift AS") where Ramp knows it as "Kontorspar AS"."""
    base = core_dataset()
    vendors = tuple(replace(v, description=FREE_TEXT.get(v.name)) for v in base.vendors)
    existing = SeedSupplier(
        KONTORSPAR_SUPPLIER, "Kontorspar Bedrift AS", "NOK", "NO", corporate_id=KONTORSPAR_ORG
    )
    return replace(
        base,
        vendor_form_labels=UNSEEN_LABELS,
        vendors=vendors,
        suppliers=(*base.suppliers, existing),
    )


def _add_bill(world: World, vendor_id: str, invoice: str) -> str:
    bill = world.ramp.create_bill(
        vendor_id=vendor_id,
        invoice_number=invoice,
        lines=[{"amount_minor": 49_900, "memo": "Rekvisita", "gl_account": "6800"}],
    )
    world.ready = (*world.ready, str(bill["id"]))
    return str(bill["id"])


async def _decision(world: World, vendor_id: str) -> dict[str, Any]:
    """The audit decision that linked ``vendor_id`` to a supplier."""
    entries = await world.runtime.store.list_audit(world.connection_id)
    found = [e.data for e in entries if e.kind == "decision" and e.data.get("vendor") == vendor_id]
    assert len(found) == 1, found
    return found[0]


async def test_free_text_number_finds_the_supplier_under_another_name(tmp_path: Path) -> None:
    """Unseen form labels, the org number only in the description: the existing supplier is
    used, and no second one is made."""
    dataset = customer_dataset()
    async with open_world(
        tmp_path, dataset=dataset, connection_settings=operator_settings(dataset)
    ) as world:
        vendor = world.ramp.create_vendor(
            name="Kontorspar AS",
            country="NO",
            currency="NOK",
            org_number=KONTORSPAR_ORG,  # answered under "Foretaksregister-ID"
            description="Kontorrekvisita og møbler. Org.nr.: 918 110 836",
        )
        bill = _add_bill(world, str(vendor["id"]), "KS-1")

        summary = await world.sync()

        assert world.invoice_of(bill)["supplier"]["number"] == KONTORSPAR_SUPPLIER
        names = sorted(str(s["name"]) for s in world.visma.suppliers())
        assert names.count("Kontorspar Bedrift AS") == 1
        assert "Kontorspar AS" not in names
        # The core vendors matched from free text too: Atea and Posten were not created again.
        assert summary.visma_suppliers_created == 3
        decision = await _decision(world, str(vendor["id"]))
        assert (decision["supplier"], decision["matched_by"]) == (KONTORSPAR_SUPPLIER, "org_number")
        assert decision["identity"]["org_number"]["source"] == "description"
        await world.check_exactly_once()
        await world.check_vendors_linked_in_ramp()


async def test_the_connections_own_label_reads_the_form(tmp_path: Path) -> None:
    """Without free text, the unseen label counts once the connection names it."""
    dataset = customer_dataset()
    settings = {**operator_settings(dataset), "suppliers": {"org_labels": [UNSEEN_LABELS[0]]}}
    async with open_world(tmp_path, dataset=dataset, connection_settings=settings) as world:
        vendor = world.ramp.create_vendor(
            name="Kontorspar AS", country="NO", currency="NOK", org_number=KONTORSPAR_ORG
        )
        bill = _add_bill(world, str(vendor["id"]), "KS-2")

        await world.sync()

        assert world.invoice_of(bill)["supplier"]["number"] == KONTORSPAR_SUPPLIER
        decision = await _decision(world, str(vendor["id"]))
        assert decision["identity"]["org_number"]["source"] == "form: Foretaksregister-ID"
        await world.check_exactly_once()


async def test_an_invalid_check_digit_is_not_trusted(world: World) -> None:
    """A mistyped org number equal to another supplier's does not link to it: the vendor gets
    its own supplier, without the bad number, and the decision names the number refused."""
    world.visma.add_supplier(
        "Helt Annet Firma AS", corporate_id="923609017", currency="NOK", country="NO"
    )
    vendor = world.ramp.create_vendor(
        name="Fjellvind Energi AS", country="NO", currency="NOK", org_number="923609017"
    )
    bill = _add_bill(world, str(vendor["id"]), "FV-1")

    await world.sync()

    invoice = world.invoice_of(bill)
    created = next(s for s in world.visma.suppliers() if s["name"] == "Fjellvind Energi AS")
    assert invoice["supplier"]["number"] == created["number"]
    assert "corporateId" not in created
    decision = await _decision(world, str(vendor["id"]))
    assert decision["matched_by"] == "created"
    [refused] = decision["identity"]["not_used"]
    assert (refused["value"], refused["check"]) == ("923609017", "invalid")
    await world.check_exactly_once()


async def test_a_created_supplier_carries_the_numbers_found(world: World) -> None:
    """A new supplier gets the organisation and VAT numbers, in Visma's forms."""
    vendor = world.ramp.create_vendor(
        name="Nordlys Konsult AB",
        country="SE",
        currency="SEK",
        description="Konsulttjänster. Momsreg.nr SE 556036-0793 01",
    )
    bill = _add_bill(world, str(vendor["id"]), "NK-1")

    await world.sync()

    supplier = next(s for s in world.visma.suppliers() if s["name"] == "Nordlys Konsult AB")
    assert (supplier["corporateId"], supplier["vatRegistrationId"]) == (
        "556036-0793",
        "SE556036079301",
    )
    assert world.invoice_of(bill)["supplier"]["number"] == supplier["number"]


async def test_a_supplier_keyed_in_meanwhile_is_found_before_creating(world: World) -> None:
    """A fresh index misses a supplier a person added a moment ago; the delta read made under
    the vendor lock, before creating, finds it."""
    ctx = await world.runtime.context(await world.runtime.store.get_connection(world.name))
    await ctx.suppliers.current()  # the index is now as fresh as it can be
    world.visma.add_supplier(
        "Bergen Kaffebrenneri Aksjeselskap", corporate_id="912345602", currency="NOK", country="NO"
    )
    posts_before = len(world.supplier_posts())

    await world.sync()

    kaffe = [s for s in world.visma.suppliers() if "Kaffebrenneri" in str(s["name"])]
    assert [s["name"] for s in kaffe] == ["Bergen Kaffebrenneri Aksjeselskap"]
    # Only the two other new vendors were created.
    assert len(world.supplier_posts()) - posts_before == 2
    deltas = [
        e
        for e in world.visma.journal.entries("GET", "/v1/supplier")
        if "lastModifiedDateTime" in e.query
    ]
    assert deltas, "no delta read of the suppliers was made"
    await world.check_exactly_once()
