"""Vendor links back to Ramp survive a worker that died after uploading the accounting vendor."""

from __future__ import annotations

from collections import Counter

from integration.core.company import NEW_VENDORS, READY_BILLS
from integration.core.world import World
from ml_connector.sandbox.faults import FaultRule
from ml_connector.store import LinkKind

UPLOAD = "/developer/v1/accounting/vendors"


def _uploads(world: World) -> Counter[int]:
    return Counter(e.status for e in world.ramp.journal.entries("POST") if e.path == UPLOAD)


async def test_an_upload_that_landed_before_a_crash_is_adopted(world: World) -> None:
    """The upload lands but the worker never hears back; the retry's upload is refused as
    "already exists", and that accounting vendor is adopted instead of stopping the bill."""
    world.ramp.faults.add(
        FaultRule(kind="commit_then_fail", status=500, method="POST", path_contains=UPLOAD)
    )

    await world.sync()

    statuses = _uploads(world)
    assert statuses[500] == 1
    assert statuses[400] == 1
    remote_ids = Counter(v.remote_id for v in world.ramp.state.accounting_vendors.values())
    assert all(count == 1 for count in remote_ids.values()), remote_ids
    await world.check_exactly_once()
    await world.check_vendors_linked_in_ramp()
    world.check_synced_in_ramp(READY_BILLS)
    assert sum(1 for e in world.supplier_posts() if e.status == 201) == len(NEW_VENDORS)


async def test_a_deleted_accounting_vendor_is_reactivated(world: World) -> None:
    """An accounting vendor deleted in Ramp after an upload is reactivated, not re-uploaded."""
    world.ramp.faults.add(
        FaultRule(kind="commit_then_fail", status=500, method="POST", path_contains=UPLOAD)
    )

    def delete_it() -> None:
        for vendor in world.ramp.state.accounting_vendors.values():
            vendor.is_active = False

    world.ramp_hooks.after("POST", UPLOAD, 1, delete_it)

    await world.sync()

    links = await world.runtime.store.list_links(world.connection_id, LinkKind.VENDOR)
    linked = {link.visma_id for link in links if link.visma_id}
    active = {v.remote_id for v in world.ramp.state.accounting_vendors.values() if v.is_active}
    assert linked <= active
    assert [e.status for e in world.ramp.journal.entries("PATCH", UPLOAD)] == [200]
    await world.check_exactly_once()
    await world.check_vendors_linked_in_ramp()
