"""Creating a Visma supplier for a Ramp vendor: its fields, and its number.

The supplier carries what the connector knows of the vendor: name, address, contact e-mail,
currency, the organisation and VAT numbers it trusted (``mapping.vendor_identity``), and the
connection's supplier class, credit terms and VAT zone. Ramp vendors carry no payment terms,
so a supplier gets the connection's credit terms, or else none, and Visma then applies its
class's.

**Numbering.** A company numbers suppliers itself (the segmented key ``SUPLLIER``, as Visma
spells it, has an auto-numbered segment) or leaves it to whoever creates one. The connection's
``numbering`` setting says which; ``detect`` (the default) reads the key's segments once a day
and keeps the answer in the store. Should Visma answer a number-less create with its "Value
cannot be null. Parameter name: key" (a company without auto-numbering), the connection
switches to manual numbering and the create is made again with a number.

A manual number is the connection's prefix and the next counter above every number the index
holds with that prefix (``R00001``, ``R00002``, …; without a prefix, the next number above the
highest numeric one, as Visma's own series would give). Two workers must not pick the same
number: the choice runs under a store lock per connection, after a delta read that began once
that lock was held, and the new supplier enters the index before the lock is released. A
number taken meanwhile by a person ("already in use") moves on to the next.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ml_connector.clients.ramp_models import Vendor
from ml_connector.clients.visma_models import AddressWrite, ContactWrite, SupplierWrite
from ml_connector.errors import AmbiguousOutcome, NeedsAttention, ResourceBusy, ValidationRejected
from ml_connector.flows.context import FlowContext
from ml_connector.flows.held_lock import LOCK_LEASE_S, renewed
from ml_connector.flows.refusals import refusal_of
from ml_connector.flows.supplier_index import index_entry
from ml_connector.mapping.vendor_identity import VendorIdentity
from ml_connector.store import IndexedSupplier

__all__ = [
    "SUPPLIER_KEY_DIMENSION",
    "SUPPLIER_NAME_MAX",
    "Numbering",
    "create_supplier",
    "next_supplier_number",
    "supplier_numbering",
    "supplier_write",
]

# The longest supplier name the connector writes; matching looks for it under this name too.
SUPPLIER_NAME_MAX = 60
SUPPLIER_KEY_DIMENSION = "SUPLLIER"  # Visma's own spelling of the supplier key
_CURSOR = "supplier_numbering"
_RECHECK = timedelta(days=1)
_ATTEMPTS = 3


@dataclass(frozen=True)
class Numbering:
    """How the company numbers suppliers; ``length`` is the key's length when known."""

    manual: bool
    length: int | None = None


def supplier_name(vendor: Vendor) -> str:
    """The name a supplier created for ``vendor`` gets in Visma."""
    return vendor.name[:SUPPLIER_NAME_MAX].strip()


def supplier_write(
    ctx: FlowContext, vendor: Vendor, identity: VendorIdentity, currency: str, email: str | None
) -> SupplierWrite:
    """The supplier to create for ``vendor`` (without a number)."""
    options = ctx.supplier_options
    address = vendor.address
    return SupplierWrite(
        name=supplier_name(vendor),
        status="Active",
        currency_id=currency,
        corporate_id=identity.corporate_id,
        vat_registration_id=identity.vat_registration_id,
        supplier_class_id=options.supplier_class,
        credit_terms_id=options.credit_terms,
        vat_zone_id=options.vat_zone,
        main_address=AddressWrite(
            address_line1=address.address_line_1 if address else None,
            postal_code=address.postal_code if address else None,
            city=address.city if address else None,
            country_id=(address.country if address else None) or vendor.country,
        ),
        main_contact=ContactWrite(name=supplier_name(vendor), email=email),
    )


async def supplier_numbering(ctx: FlowContext, *, refresh: bool = False) -> Numbering:
    """The connection's numbering: its setting, else what Visma's supplier key says."""
    mode = ctx.supplier_options.numbering
    stored = await _stored_numbering(ctx)
    if mode != "detect":
        return Numbering(mode == "manual", stored.length if stored else None)
    if stored is not None and not refresh:
        return stored
    dimension = await ctx.visma.get_dimension(SUPPLIER_KEY_DIMENSION, expand_values=False)
    if dimension is None:  # not exposed: Visma's default, auto-numbering, until it says otherwise
        found = Numbering(manual=stored.manual if stored else False)
    else:
        auto = any(segment.is_auto_number for segment in dimension.segments)
        found = Numbering(manual=not auto, length=dimension.length)
    await _store_numbering(ctx, found)
    return found


async def _stored_numbering(ctx: FlowContext) -> Numbering | None:
    raw = await ctx.store.get_cursor(ctx.connection_id, _CURSOR)
    try:
        data = json.loads(raw) if raw else None
        checked = datetime.fromisoformat(data["checked_at"]) if data else None
    except (ValueError, KeyError, TypeError):
        return None
    if data is None or checked is None or ctx.suppliers.now() - checked > _RECHECK:
        return None
    length = data.get("length")
    return Numbering(bool(data.get("manual")), length if isinstance(length, int) else None)


async def _store_numbering(ctx: FlowContext, numbering: Numbering) -> None:
    value = {
        "manual": numbering.manual,
        "length": numbering.length,
        "checked_at": ctx.suppliers.now().isoformat(),
    }
    await ctx.store.set_cursor(ctx.connection_id, _CURSOR, json.dumps(value))


def _needs_number(exc: ValidationRejected) -> bool:
    """Visma's answer to a number-less create in a company without auto-numbering."""
    text = (exc.vendor_message or str(exc)).lower()
    return "parameter name: key" in text or ("number series" in text and "manual" in text)


def _number_taken(exc: ValidationRejected) -> bool:
    text = (exc.vendor_message or str(exc)).lower()
    return "already" in text and ("use" in text or "exist" in text)


async def create_supplier(ctx: FlowContext, write: SupplierWrite) -> str:
    """Create the supplier (numbered as the company needs) and enter it in the index."""
    numbering = await supplier_numbering(ctx)
    if not numbering.manual:
        try:
            number = await _post(ctx, write)
        except ValidationRejected as exc:
            if not _needs_number(exc):
                raise
            numbering = Numbering(manual=True, length=numbering.length)
            await _store_numbering(ctx, numbering)
        else:
            await ctx.suppliers.remember(_entry(number, write))
            return number
    return await _create_numbered(ctx, write, numbering)


async def _post(ctx: FlowContext, write: SupplierWrite) -> str:
    """POST the supplier. After an uncertain answer (a 5xx, a timeout) a delta read of the index
    looks for it: found, it is adopted; not found after a 5xx that carried Visma's validation
    text, the bill needs attention quoting it (posting again would be refused again); otherwise
    the error stays retriable (the next attempt matches before it creates)."""
    started = ctx.suppliers.now()
    try:
        return await ctx.visma.create_supplier(write)
    except AmbiguousOutcome as exc:
        await ctx.suppliers.current(since=started)
        entry = _entry(write.number or "", write)
        found = await ctx.suppliers.find(
            numbers=[write.number] if write.number else (), names=[entry.name_key]
        )
        if found:
            return found[0].number
        refused = refusal_of(exc, f"the new supplier {write.name}")
        if refused is not None:
            raise refused from exc
        raise


async def _create_numbered(ctx: FlowContext, write: SupplierWrite, numbering: Numbering) -> str:
    lock = f"supplier-number:{ctx.connection_id}"
    taken_at = ctx.suppliers.now()
    if not await ctx.store.try_lock(lock, ctx.owner, ttl_s=LOCK_LEASE_S, now=taken_at):
        raise ResourceBusy("another worker is numbering a new supplier", retry_after=1.0)
    try:
        async with renewed(ctx.store, lock, ctx.owner):
            return await _number_and_post(ctx, write, numbering, since=taken_at)
    finally:
        await ctx.store.release_lock(lock, ctx.owner)


async def _number_and_post(
    ctx: FlowContext, write: SupplierWrite, numbering: Numbering, *, since: datetime
) -> str:
    """Post ``write`` under the next free number, reading again when one was taken meanwhile."""
    for _ in range(_ATTEMPTS):
        await ctx.suppliers.current(since=since)
        number = await next_supplier_number(ctx, numbering)
        try:
            created = await _post(ctx, replace(write, number=number))
        except ValidationRejected as exc:
            if not _number_taken(exc):
                raise
            since = ctx.suppliers.now()  # someone took it: read again, take the next
            continue
        await ctx.suppliers.remember(_entry(created, write))
        return created
    raise NeedsAttention(
        "Visma refused every new supplier number the connector chose",
        hint="Check the supplier numbering in Visma, or set another prefix with "
        "`connection set NAME --supplier-number-prefix …`, then retry the bill.",
        code="supplier_number",
    )


async def next_supplier_number(ctx: FlowContext, numbering: Numbering) -> str:
    """The next free number: the prefix and one more than the highest counter in use."""
    options = ctx.supplier_options
    prefix = options.number_prefix
    existing = set(await ctx.suppliers.numbers(prefix))
    counters = [n[len(prefix) :] for n in existing if re.fullmatch(r"\d+", n[len(prefix) :])]
    width = options.number_width or max((len(c) for c in counters), default=5)
    counter = max((int(c) for c in counters), default=0) + 1
    candidate = f"{prefix}{counter:0{width}d}"
    while candidate in existing:
        counter += 1
        candidate = f"{prefix}{counter:0{width}d}"
    if numbering.length is not None and len(candidate) > numbering.length:
        raise NeedsAttention(
            f"The next supplier number, {candidate}, is longer than Visma's supplier key "
            f"({numbering.length} characters)",
            hint="Set a shorter prefix or width with `connection set NAME "
            "--supplier-number-prefix …`, then retry the bill.",
            code="supplier_number",
        )
    return candidate


def _entry(number: str, write: SupplierWrite) -> IndexedSupplier:
    address = write.main_address
    return index_entry(
        number,
        write.name or "",
        status=write.status,
        corporate_id=write.corporate_id,
        vat_registration_id=write.vat_registration_id,
        country=address.country_id if address is not None else None,
    )
