"""``suppliers match NAME --dry-run``: what F2 would do for each Ramp vendor, writing nothing.

For every active Ramp vendor: already linked (the stored link), would link to an existing
Visma supplier (and by which step, in the connection's match order), or would create a new
supplier. A match on a blocked supplier (Inactive, OnHold) is flagged, since its bills would
stop there. The organisation and VAT numbers the connector trusts are shown too. Only reads
are made, in Ramp and in Visma; the store's supplier index may be brought up to date.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ml_connector.flows.suppliers import match_supplier, vendor_identity
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import LinkKind

__all__ = ["SupplierProposal", "propose_supplier_links"]


@dataclass(frozen=True)
class SupplierProposal:
    """One vendor's outcome: ``action`` is linked, link or create."""

    vendor_id: str
    vendor_name: str
    action: str
    supplier: str | None = None
    supplier_name: str | None = None
    matched_by: str | None = None
    warning: str | None = None
    org_number: str | None = None
    vat_number: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


async def propose_supplier_links(runtime: Runtime, name: str) -> list[SupplierProposal]:
    """The proposed link or creation for each active Ramp vendor of the connection."""
    connection = await runtime.store.get_connection(name)
    ctx = await runtime.context(connection)
    links = {
        link.ramp_id: link
        for link in await runtime.store.list_links(connection.id, LinkKind.VENDOR)
        if link.visma_id
    }
    proposals: list[SupplierProposal] = []
    async for listed in ctx.ramp.list_vendors(is_active=True):
        link = links.get(listed.id)
        if link is not None:
            proposals.append(
                SupplierProposal(listed.id, listed.name, "linked", link.visma_id, matched_by="link")
            )
            continue
        vendor = await ctx.ramp.get_vendor(listed.id)  # the detail carries the form answers
        identity = vendor_identity(ctx, vendor)
        numbers = {"org_number": identity.corporate_id, "vat_number": identity.vat_registration_id}
        found = await match_supplier(ctx, vendor, identity)
        if found is None:
            proposals.append(SupplierProposal(vendor.id, vendor.name, "create", **numbers))
            continue
        supplier = found.supplier
        warning = (
            f"supplier is {supplier.status} in Visma: its bills will need attention"
            if found.blocked
            else None
        )
        proposals.append(
            SupplierProposal(
                vendor.id,
                vendor.name,
                "link",
                supplier.number,
                supplier.name,
                found.matched_by,
                warning,
                **numbers,
            )
        )
    return proposals
