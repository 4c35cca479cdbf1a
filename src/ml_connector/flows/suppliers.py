"""F2 supplier ensure: the bill's Ramp vendor exists as exactly one Visma supplier.

Match order (first hit wins):
1. the stored link (connection, vendor) → supplier number;
2. the vendor's ``accounting_vendor_remote_id`` in Ramp, when it names an existing supplier;
3. organisation number (Visma ``corporateId``), then VAT number (``vatRegistrationId``);
4. the normalised exact name (case, accents of spacing and punctuation folded), under the full
   name and under the shortened name a created supplier gets (``SUPPLIER_NAME_MAX``).

Steps 2-4 are configurable per connection (``supplier_match`` in its settings, see
``ConnectionOptions``): their order, and which of them run at all.

No match: create the supplier from the vendor's data, push the link back to Ramp (an
accounting vendor whose ``remote_id`` is the supplier number, linked from the vendor), and only
then confirm the link. A push that fails leaves the link unconfirmed, so the next attempt
matches the supplier again (by remote id, number or name) and finishes the push.

Exactly one supplier under concurrency: creation runs under an in-process lock and a store lock
named after the vendor, and the match steps run again once the lock is held, so a second worker
finds what the first created. A crash after Visma created the supplier but before the link was
stored is healed the same way: the next attempt matches it by number or name instead of
creating a twin.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import AccountingVendorUpload, Vendor
from ml_connector.clients.visma_models import AddressWrite, ContactWrite, Supplier, SupplierWrite
from ml_connector.errors import NeedsAttention, NotFound, ResourceBusy
from ml_connector.flows.context import FlowContext
from ml_connector.store import Link, LinkKind

__all__ = [
    "SupplierOutcome",
    "ensure_supplier",
    "linked_supplier",
    "lookup_supplier",
    "match_supplier",
    "normalise_name",
]

LINK_KIND = LinkKind.VENDOR
_LOCK_TTL_S = 60.0  # a crashed holder blocks the vendor this long at most
_BUSY_RECHECK_S = 5.0
_BLOCKED = {"Inactive", "OnHold"}
# The longest supplier name the connector writes; matching must look for it under this name.
SUPPLIER_NAME_MAX = 60


@dataclass(frozen=True)
class SupplierOutcome:
    number: str
    created: bool
    matched_by: str  # link | remote_id | org_number | vat_number | name | created


def normalise_name(name: str) -> str:
    """Fold case, accents, punctuation and spacing: ``"Atea  A/S."`` → ``"atea a s"``."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", plain.replace("ø", "o").replace("æ", "ae")).strip()


def _supplier_name(vendor: Vendor) -> str:
    """The name a supplier created for ``vendor`` gets in Visma."""
    return vendor.name[:SUPPLIER_NAME_MAX].strip()


def _digits(value: str | None) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value or "").upper()


async def _by_remote_id(ctx: FlowContext, vendor: Vendor) -> Supplier | None:
    if not vendor.accounting_vendor_remote_id:
        return None
    try:
        return await ctx.visma.get_supplier(vendor.accounting_vendor_remote_id)
    except NotFound:
        return None


def _spellings(value: str) -> tuple[str, ...]:
    """The value as given, then compacted (Visma's filters compare the stored text exactly)."""
    return tuple(dict.fromkeys(v for v in (value.strip(), _digits(value)) if v))


async def _by_org_number(ctx: FlowContext, vendor: Vendor) -> Supplier | None:
    if vendor.org_number:
        wanted = _digits(vendor.org_number)
        # "556035-8672" in Ramp is "5560358672" in Visma just as often: try both spellings.
        for spelling in _spellings(vendor.org_number):
            async for supplier in ctx.visma.list_suppliers(corporate_id=spelling):
                if _digits(supplier.corporate_id) == wanted:
                    return supplier
    return None


async def _by_vat_number(ctx: FlowContext, vendor: Vendor) -> Supplier | None:
    if vendor.vat_number:
        wanted = _digits(vendor.vat_number)
        for spelling in _spellings(vendor.vat_number):
            async for supplier in ctx.visma.list_suppliers(vat_registration_id=spelling):
                if _digits(supplier.vat_registration_id) == wanted:
                    return supplier
    return None


async def _by_name(ctx: FlowContext, vendor: Vendor) -> Supplier | None:
    # Visma filters on the whole name, so a supplier created with the shortened name is only
    # found under that name: without it, a long-named vendor would get a twin after a crash.
    for name in dict.fromkeys((vendor.name, _supplier_name(vendor))):
        wanted_name = normalise_name(name)
        async for supplier in ctx.visma.list_suppliers(name=name):
            if normalise_name(supplier.name or "") == wanted_name:
                return supplier
    return None


_MATCH_STEPS: dict[str, Callable[[FlowContext, Vendor], Awaitable[Supplier | None]]] = {
    "remote_id": _by_remote_id,
    "org_number": _by_org_number,
    "vat_number": _by_vat_number,
    "name": _by_name,
}


async def match_supplier(ctx: FlowContext, vendor: Vendor) -> tuple[Supplier, str] | None:
    """The existing supplier for ``vendor`` and the step that found it, or None.

    The steps run in the connection's order (``ConnectionOptions.supplier_match``); a step
    left out of it is skipped. Nothing is created or linked.
    """
    for step in ctx.options.supplier_match:
        supplier = await _MATCH_STEPS[step](ctx, vendor)
        if supplier is not None:
            return supplier, step
    return None


_match = match_supplier


def _supplier_write(vendor: Vendor, currency: str, email: str | None) -> SupplierWrite:
    address = vendor.address
    return SupplierWrite(
        name=_supplier_name(vendor),
        status="Active",
        currency_id=currency,
        corporate_id=vendor.org_number,
        vat_registration_id=vendor.vat_number,
        main_address=AddressWrite(
            address_line1=address.address_line_1 if address else None,
            postal_code=address.postal_code if address else None,
            city=address.city if address else None,
            country_id=(address.country if address else None) or vendor.country,
        ),
        main_contact=ContactWrite(name=_supplier_name(vendor), email=email),
    )


async def _push_link_to_ramp(ctx: FlowContext, vendor: Vendor, number: str) -> None:
    """Make the supplier an accounting vendor in Ramp and link the bill-pay vendor to it."""
    existing = [v async for v in ctx.ramp.list_accounting_vendors(remote_id=number)]
    if not existing:
        await ctx.ramp.upload_accounting_vendors(
            [AccountingVendorUpload(id=number, name=vendor.name)]
        )
    if vendor.accounting_vendor_remote_id != number:
        await ctx.ramp.update_vendor(vendor.id, accounting_vendor_remote_id=number)


def linked_supplier(link: Link | None) -> SupplierOutcome | None:
    """The supplier a confirmed vendor link names (the fast path), or None."""
    if link is not None and link.visma_id:
        return SupplierOutcome(link.visma_id, created=False, matched_by="link")
    return None


async def ensure_supplier(ctx: FlowContext, vendor_id: str, currency: str) -> SupplierOutcome:
    """Return the Visma supplier number for a Ramp vendor, creating the supplier if needed."""
    found = linked_supplier(await ctx.store.get_link(ctx.connection_id, LINK_KIND, vendor_id))
    if found is not None:
        return found

    async with ctx.vendor_lock(vendor_id):
        lock_name = f"vendor:{ctx.connection_id}:{vendor_id}"
        now = datetime.now(UTC)
        if not await ctx.store.try_lock(lock_name, ctx.owner, ttl_s=_LOCK_TTL_S, now=now):
            expiry = await ctx.store.lock_expiry(lock_name, now=now)
            remaining = (expiry - now).total_seconds() if expiry else 0.0
            raise ResourceBusy(
                "another worker is creating this vendor's supplier",
                retry_after=min(max(remaining, 0.5), _BUSY_RECHECK_S),
            )
        try:
            return await _ensure_locked(ctx, vendor_id, currency)
        finally:
            await ctx.store.release_lock(lock_name, ctx.owner)


async def _ensure_locked(ctx: FlowContext, vendor_id: str, currency: str) -> SupplierOutcome:
    linked = linked_supplier(await ctx.store.get_link(ctx.connection_id, LINK_KIND, vendor_id))
    if linked is not None:
        return linked
    vendor = await ctx.ramp.get_vendor(vendor_id)
    found = await _match(ctx, vendor)
    if found is not None:
        supplier, how = found
        if supplier.status in _BLOCKED:
            raise NeedsAttention(
                f"Supplier {supplier.number} ({supplier.name}) is {supplier.status} in Visma",
                hint="Activate the supplier in Visma, then retry the bill.",
                code="supplier_blocked",
            )
        number = supplier.number
        created = False
    else:
        await ctx.store.claim_link(
            ctx.connection_id, LINK_KIND, vendor_id, external_ref=vendor.name, owner=ctx.owner
        )
        contacts = await ctx.ramp.list_vendor_contacts(vendor.id)
        email = next((c.email for c in contacts if c.is_default), None) or (
            contacts[0].email if contacts else None
        )
        number = await ctx.visma.create_supplier(_supplier_write(vendor, currency, email))
        how, created = "created", True
    ctx.note(
        AuditKind.DECISION,
        {"supplier": number, "vendor": vendor_id, "matched_by": how, "created": created},
    )
    # Push before confirming: once the link is confirmed, later bills take the fast path and
    # would never retry a push that failed.
    await _push_link_to_ramp(ctx, vendor, number)
    await ctx.store.confirm_link(
        ctx.connection_id, LINK_KIND, vendor_id, visma_id=number, data={"matched_by": how}
    )
    return SupplierOutcome(number, created=created, matched_by=how)


async def lookup_supplier(ctx: FlowContext, vendor_id: str) -> str | None:
    """The supplier a vendor would sync to, found without creating or linking anything."""
    link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, vendor_id)
    if link is not None and link.visma_id:
        return link.visma_id
    found = await _match(ctx, await ctx.ramp.get_vendor(vendor_id))
    return found[0].number if found else None
