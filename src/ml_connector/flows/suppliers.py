"""F2 supplier ensure: the bill's Ramp vendor exists as exactly one Visma supplier.

Match order (first hit wins):
1. the stored link (connection, vendor) → supplier number;
2. the vendor's ``accounting_vendor_remote_id`` in Ramp, when it names an indexed supplier;
3. the organisation number, then the VAT number, against Visma's ``corporateId`` and
   ``vatRegistrationId`` (both compared as national numbers: ``NO 923 609 016 MVA`` finds
   ``923609016``);
4. the folded exact name (case, accents, spacing and punctuation folded), under the full name
   and under the shortened name a created supplier gets (``SUPPLIER_NAME_MAX``).

Steps 2-4 are configurable per connection (``supplier_match``, see ``ConnectionOptions``).
They look in the connection's supplier index (``flows.supplier_index``), never in Visma one by
one. The numbers come from wherever the vendor carries them, under the customer's own form
labels or in free text, and only those that pass their check digit count
(``mapping.vendor_identity``); the audit decision names the numbers found and those refused.
When several suppliers share a number, an active one beats a blocked one and then the lowest
number wins; the others are named in the decision.

No match: create the supplier (``flows.supplier_create``), push the link back to Ramp (an
accounting vendor whose ``remote_id`` is the supplier number, linked from the vendor), and
only then confirm the link. A push that fails leaves the link unconfirmed, so the next attempt
matches the supplier again and finishes the push. An upload Ramp refuses because that
accounting vendor already exists (a worker died after uploading it) is adopted, as the chart
push adopts what Ramp already holds; an inactive one is reactivated.

Exactly one supplier under concurrency: creation runs under an in-process lock and a store lock
named after the vendor, the link is read again once the lock is held, and before creating, the
index is read from Visma afresh (a delta read begun after the lock was taken), so a worker
whose index is stale, in this process or another, finds what was created meanwhile. A crash
after Visma created the supplier but before the link was stored is healed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import AccountingVendorUpload, Vendor
from ml_connector.errors import NeedsAttention, ResourceBusy, ValidationRejected
from ml_connector.flows.context import FlowContext
from ml_connector.flows.held_lock import LOCK_LEASE_S, renewed
from ml_connector.flows.link_data import SupplierLinkData
from ml_connector.flows.supplier_create import (
    SUPPLIER_NAME_MAX,
    create_supplier,
    supplier_name,
    supplier_write,
)
from ml_connector.flows.supplier_index import BLOCKED_STATUSES, match_keys
from ml_connector.mapping.vendor_identity import VendorIdentity, fold_name, identify_vendor
from ml_connector.store import IndexedSupplier, Link, LinkKind

__all__ = [
    "SUPPLIER_NAME_MAX",
    "SupplierMatch",
    "SupplierOutcome",
    "ensure_supplier",
    "linked_supplier",
    "lookup_supplier",
    "match_supplier",
    "normalise_name",
    "vendor_identity",
]

LINK_KIND = LinkKind.VENDOR
_BUSY_RECHECK_S = 5.0
normalise_name = fold_name


@dataclass(frozen=True)
class SupplierOutcome:
    number: str
    created: bool
    matched_by: str  # link | remote_id | org_number | vat_number | name | created


@dataclass(frozen=True)
class SupplierMatch:
    """The supplier a vendor matches, the step that found it, and other candidates."""

    supplier: IndexedSupplier
    matched_by: str
    others: tuple[str, ...] = ()  # numbers of further suppliers with the same number or name

    @property
    def blocked(self) -> bool:
        return self.supplier.status in BLOCKED_STATUSES


def vendor_identity(ctx: FlowContext, vendor: Vendor) -> VendorIdentity:
    """The vendor's trusted organisation and VAT numbers, under the connection's labels."""
    return identify_vendor(
        vendor.form_answers,
        vendor.free_texts,
        labels=ctx.supplier_options.labels,
        country=vendor.country or (vendor.address.country if vendor.address else None),
    )


def _best(candidates: Sequence[IndexedSupplier], how: str) -> SupplierMatch | None:
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda s: (s.status in BLOCKED_STATUSES, s.number))
    return SupplierMatch(ranked[0], how, tuple(s.number for s in ranked[1:]))


async def match_supplier(
    ctx: FlowContext,
    vendor: Vendor,
    identity: VendorIdentity | None = None,
    *,
    since: datetime | None = None,
) -> SupplierMatch | None:
    """The existing supplier for ``vendor``, or None; nothing is created or linked.

    The steps run in the connection's order (``ConnectionOptions.supplier_match``); a step
    left out of it is skipped. ``since``: the index must have been read after that moment.
    """
    identity = identity or vendor_identity(ctx, vendor)
    await ctx.suppliers.current(since=since)
    org = match_keys([identity.org.id]) if identity.org else ()
    vat = match_keys([identity.vat.id]) if identity.vat else ()
    names = tuple(dict.fromkeys(fold_name(n) for n in (vendor.name, supplier_name(vendor))))
    remote = vendor.accounting_vendor_remote_id
    rows = await ctx.suppliers.find(
        numbers=[remote] if remote else (), keys=(*org, *vat), names=names
    )
    steps = {
        "remote_id": [r for r in rows if remote and r.number == remote],
        "org_number": [r for r in rows if {r.corporate_key, r.vat_key} & set(org)],
        "vat_number": [r for r in rows if {r.corporate_key, r.vat_key} & set(vat)],
        "name": [r for r in rows if r.name_key and r.name_key in names],
    }
    for step in ctx.options.supplier_match:
        found = _best(steps[step], step)
        if found is not None:
            return found
    return None


async def _push_link_to_ramp(ctx: FlowContext, vendor: Vendor, number: str) -> None:
    """Make the supplier an accounting vendor in Ramp and link the bill-pay vendor to it."""
    try:
        await ctx.ramp.upload_accounting_vendors(
            [AccountingVendorUpload(id=number, name=vendor.name)]
        )
    except ValidationRejected as exc:
        if not _already_exists(exc):
            raise
        await _adopt_accounting_vendor(ctx, number)
    if vendor.accounting_vendor_remote_id != number:
        await ctx.ramp.update_vendor(vendor.id, accounting_vendor_remote_id=number)


def _already_exists(exc: ValidationRejected) -> bool:
    """Ramp refused the one-item upload because that id exists (however it words the id)."""
    return "already exist" in (exc.vendor_message or str(exc)).lower()


async def _adopt_accounting_vendor(ctx: FlowContext, number: str) -> None:
    """Ramp holds the accounting vendor already: use it (reactivated if it was deleted)."""
    held = [v async for v in ctx.ramp.list_accounting_vendors(remote_id=number)]
    reactivated = False
    for vendor in held:
        if not vendor.is_active:
            await ctx.ramp.patch_accounting_vendor(vendor.ramp_id, reactivate=True)
            reactivated = True
    ctx.note(
        AuditKind.DECISION,
        {"decision": "adopt accounting vendor", "remote_id": number, "reactivated": reactivated},
    )


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
        now = ctx.suppliers.now()
        if not await ctx.store.try_lock(lock_name, ctx.owner, ttl_s=LOCK_LEASE_S, now=now):
            expiry = await ctx.store.lock_expiry(lock_name, now=now)
            remaining = (expiry - now).total_seconds() if expiry else 0.0
            raise ResourceBusy(
                "another worker is creating this vendor's supplier",
                retry_after=min(max(remaining, 0.5), _BUSY_RECHECK_S),
            )
        try:
            async with renewed(ctx.store, lock_name, ctx.owner):
                return await _ensure_locked(ctx, vendor_id, currency, lock_name, locked_at=now)
        finally:
            await ctx.store.release_lock(lock_name, ctx.owner)


async def _ensure_locked(
    ctx: FlowContext, vendor_id: str, currency: str, lock_name: str, *, locked_at: datetime
) -> SupplierOutcome:
    linked = linked_supplier(await ctx.store.get_link(ctx.connection_id, LINK_KIND, vendor_id))
    if linked is not None:
        return linked
    vendor = await ctx.ramp.get_vendor(vendor_id)
    identity = vendor_identity(ctx, vendor)
    found = await match_supplier(ctx, vendor, identity)
    if found is None or found.blocked:
        # About to create a supplier or to stop on a blocked one: first read what Visma holds
        # now, so a supplier made (or unblocked) meanwhile is seen.
        found = await match_supplier(ctx, vendor, identity, since=locked_at)
    decision = {"vendor": vendor_id, "identity": identity.as_audit()}
    if found is not None:
        _refuse_blocked(found)
        number, how, created = found.supplier.number, found.matched_by, False
        if found.others:
            decision["other_candidates"] = list(found.others)
    else:
        # Reading the index may have taken a while (a full read of a large company under the
        # quota): never create once the lease has passed to someone else.
        if not await ctx.store.try_lock(lock_name, ctx.owner, ttl_s=LOCK_LEASE_S):
            raise ResourceBusy("the vendor's lock passed to another worker", retry_after=0.5)
        await ctx.store.claim_link(
            ctx.connection_id, LINK_KIND, vendor_id, external_ref=vendor.name, owner=ctx.owner
        )
        contacts = await ctx.ramp.list_vendor_contacts(vendor.id)
        email = next((c.email for c in contacts if c.is_default), None) or (
            contacts[0].email if contacts else None
        )
        write = supplier_write(ctx, vendor, identity, currency, email)
        number, how, created = await create_supplier(ctx, write), "created", True
    ctx.note(
        AuditKind.DECISION,
        {**decision, "supplier": number, "matched_by": how, "created": created},
    )
    # Push before confirming: once the link is confirmed, later bills take the fast path and
    # would never retry a push that failed.
    await _push_link_to_ramp(ctx, vendor, number)
    await ctx.store.confirm_link(
        ctx.connection_id,
        LINK_KIND,
        vendor_id,
        visma_id=number,
        data=SupplierLinkData(matched_by=how).to_dict(),
    )
    return SupplierOutcome(number, created=created, matched_by=how)


def _refuse_blocked(found: SupplierMatch) -> None:
    if found.blocked:
        supplier = found.supplier
        raise NeedsAttention(
            f"Supplier {supplier.number} ({supplier.name}) is {supplier.status} in Visma",
            hint="Activate the supplier in Visma, then retry the bill.",
            code="supplier_blocked",
        )


async def lookup_supplier(ctx: FlowContext, vendor_id: str) -> str | None:
    """The supplier a vendor would sync to, found without creating or linking anything."""
    link = await ctx.store.get_link(ctx.connection_id, LINK_KIND, vendor_id)
    if link is not None and link.visma_id:
        return link.visma_id
    found = await match_supplier(ctx, await ctx.ramp.get_vendor(vendor_id))
    return found.supplier.number if found else None
