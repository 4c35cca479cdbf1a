"""F1 bills → supplier invoices, exactly once, and F6 write-back of the result to Ramp.

One call of ``sync_bill`` is one unit of work for one Ramp bill:

1. decide: archived, not ready, or to be written;
2. resolve the coding (a selection on a field no binding covers stops the bill here), settle
   each project line's task and check every coded value against Visma's master data; then
   ensure the supplier (F2) and run the document-level pre-flight checks (a failure at either
   point writes nothing: coding is checked before the supplier). This preparation is
   ``flows.bill_invoice.prepare_bill``, shared with the dry run ``plan_bill``;
3. write: the link row decides between create, update and nothing-changed:
   - no link: claim it (state ``attempted``), POST the invoice, confirm the link;
   - ``attempted`` without a Visma id (a crash or an ambiguous answer last time): look the
     invoice up by its external reference first, and POST only if it is not there;
   - confirmed: compare the payload hash; PUT while Visma allows (Hold, Balanced), otherwise
     the record needs attention;
4. attach the invoice files not attached yet (``flows.attachments``); 5. mark the bill synced
   in Ramp: the write-back is stored in the outbox in the same transaction that confirms the
   link (``flows.writeback``), and posted by the sender within about a second;
6. a paid bill queues its payment (``flows.payments``) when the connection registers payments.

A bill Ramp matched to a purchase order that reached Visma gets invoice lines linked to the
order's lines (``flows.po_matching``); one exceeding the order's open amount beyond the
connection's tolerance needs a person, before anything is written.

The external reference is the note ``ramp-bill:<bill id>`` on the Visma document, plus the
supplier's invoice number as ``supplierReference``. Visma has no idempotency key, so this note
is what makes "look it up before re-posting" exact.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import Bill
from ml_connector.clients.visma_models import (
    SupplierInvoice,
    SupplierInvoiceLineWrite,
    SupplierInvoiceWrite,
)
from ml_connector.errors import (
    AmbiguousOutcome,
    NeedsAttention,
    PreconditionFailed,
    RetriableVendorError,
)
from ml_connector.flows.attachments import attach_files
from ml_connector.flows.bill_invoice import external_ref, prepare_bill
from ml_connector.flows.context import FlowContext
from ml_connector.flows.payments import queue_payment
from ml_connector.flows.refusals import refusal_of
from ml_connector.flows.suppliers import (
    SupplierOutcome,
    ensure_supplier,
    linked_supplier,
    lookup_supplier,
)
from ml_connector.store import Link, LinkKind, WriteBackItem

__all__ = ["LINK_KIND", "BillOutcome", "find_by_reference", "plan_bill", "sync_bill"]

LINK_KIND = LinkKind.BILL
EDITABLE = frozenset({"Hold", "Balanced"})
# Approval states that never sync, even with sync-on-creation (as Ramp's sync_ready rule says).
NEVER_READY = frozenset({"REJECTED", "TERMINATED"})
# Read-and-PUT rounds when Visma answers 412 (the invoice changed between our read and write).
_PUT_TRIES = 3


@dataclass(frozen=True)
class BillOutcome:
    action: str  # created | updated | unchanged | deleted | skipped
    visma_ref: str | None = None
    supplier_created: bool = False
    reason: str = ""
    payload: dict[str, Any] | None = None


async def find_by_reference(
    ctx: FlowContext, supplier: str, document_type: str, bill_id: str
) -> SupplierInvoice | None:
    """Look the invoice up by its external reference note (the lookup before any re-post)."""
    ref = external_ref(bill_id)
    async for invoice in ctx.visma.list_supplier_invoices(
        supplier=supplier, document_type=document_type, expand_note=True
    ):
        if invoice.note and ref in invoice.note:
            return invoice
    return None


async def _read_links(ctx: FlowContext, bill: Bill) -> dict[tuple[LinkKind, str], Link]:
    """The bill's link, its vendor's, and (for a bill that may match one) the connection's
    purchase-order links: one store read for the whole unit of work."""
    return await ctx.store.get_links(
        ctx.connection_id,
        [(LINK_KIND, bill.id), (LinkKind.VENDOR, bill.vendor.id)],
        all_of=() if ctx.options.is_credit(bill) else (LinkKind.PURCHASE_ORDER,),
    )


async def sync_bill(ctx: FlowContext, bill: Bill) -> BillOutcome:
    """Run F1 (+F2, F6) for one bill; raise NeedsAttention or a vendor error on failure."""
    links = await _read_links(ctx, bill)
    link = links.get((LINK_KIND, bill.id))
    vendor_link = links.get((LinkKind.VENDOR, bill.vendor.id))
    if bill.archived_at is not None:
        ref = link.visma_id if link else None
        if link is not None and ref is None:
            # An earlier POST had an uncertain outcome: its invoice may exist all the same.
            ref = await _adopt_archived(ctx, bill, vendor_link)
        return await _archived(ctx, bill, ref)
    ready = bill.approval_status == "APPROVED" or (
        ctx.options.sync_on_creation and bill.approval_status not in NEVER_READY
    )
    if not ready and (link is None or not link.visma_id):
        ctx.note(AuditKind.DECISION, {"decision": "skip", "why": "bill is not approved"})
        return BillOutcome("skipped", reason=f"approval status {bill.approval_status}")

    orders = [v for (kind, _), v in links.items() if kind == LinkKind.PURCHASE_ORDER]

    async def supplier() -> SupplierOutcome:  # F2 runs only once the bill's coding is usable
        return linked_supplier(vendor_link) or await ensure_supplier(
            ctx, bill.vendor.id, bill.amount.currency_code
        )

    prepared = await prepare_bill(ctx, bill, supplier, orders=orders)
    invoice, payload, digest = prepared.invoice, prepared.payload, prepared.digest
    # The mapping table and field binding versions that resolved this coding (None: none saved).
    ctx.note(
        AuditKind.MAPPED_PAYLOAD,
        {
            "payload": payload,
            "hash": digest,
            "mapping_version": ctx.rules.mapping_version,
            "binding_version": ctx.rules.binding_version,
        },
    )

    if link is not None and link.visma_id:
        outcome, data = await _update(ctx, bill, invoice, payload, digest, link.visma_id, link.data)
    else:
        outcome, data = await _create(
            ctx, bill, invoice, payload, digest, attempted=link.data if link else None
        )
    outcome = BillOutcome(
        outcome.action, outcome.visma_ref, prepared.supplier.created, outcome.reason, payload
    )
    if outcome.visma_ref:
        await attach_files(ctx, bill, outcome.visma_ref, data, link_kind=LINK_KIND)
        if outcome.action == "unchanged":  # no link confirmation carried the write-back
            await _write_back(ctx, bill, outcome.visma_ref)
        await queue_payment(ctx, bill)
    return outcome


async def _create(
    ctx: FlowContext,
    bill: Bill,
    invoice: SupplierInvoiceWrite,
    payload: dict[str, Any],
    digest: str,
    *,
    attempted: dict[str, Any] | None,
) -> tuple[BillOutcome, dict[str, Any]]:
    """POST the invoice at most once; ``attempted`` is the data of a link claimed earlier.

    Before each POST the link records ``posted_hash``, the hash of the payload sent (a fresh
    claim carries it from the start). An invoice adopted later is known to carry that payload;
    if the bill changed since (an edit between the uncertain POST and this attempt), the
    adopted invoice is updated too. Returns the outcome and the link's data after it.
    """
    doc_type = invoice.document_type or "Invoice"
    supplier = invoice.supplier_number or ""
    if attempted is not None:
        found = await find_by_reference(ctx, supplier, doc_type, bill.id)
        if found is not None:
            ref = f"{doc_type}/{found.reference_number}"
            posted = attempted.get("posted_hash")
            ctx.note(AuditKind.DECISION, {"decision": "adopt", "why": "found by reference"})
            data = await _confirm(ctx, bill, ref, str(posted or ""))
            if posted != digest:
                _, data = await _update(
                    ctx, bill, invoice, payload, digest, ref, {"payload_hash": posted}
                )
            return BillOutcome("created", ref, reason="adopted after an uncertain outcome"), data
        await ctx.store.update_link_data(
            ctx.connection_id, LINK_KIND, bill.id, {"posted_hash": digest}
        )
    else:
        adopted = await _claim(ctx, bill, doc_type, supplier, digest)
        if adopted is not None:
            return adopted
    try:
        number = await ctx.visma.create_supplier_invoice(invoice)
    except AmbiguousOutcome as exc:
        found = await find_by_reference(ctx, supplier, doc_type, bill.id)
        if found is None:
            refused = refusal_of(exc, "the supplier invoice")
            if refused is not None:
                raise refused from exc
            raise
        number = found.reference_number
    ref = f"{doc_type}/{number}"
    return BillOutcome("created", ref), await _confirm(ctx, bill, ref, digest)


async def _claim(
    ctx: FlowContext, bill: Bill, doc_type: str, supplier: str, digest: str
) -> tuple[BillOutcome, dict[str, Any]] | None:
    """Claim the bill's link before its first POST; None when this attempt may post.

    When someone else started this create (a lease that expired under a slow worker), never
    post a second time: adopt what they made, or retry once it settles.
    """
    claim = await ctx.store.claim_link(
        ctx.connection_id,
        LINK_KIND,
        bill.id,
        external_ref=external_ref(bill.id),
        owner=ctx.owner,
        data={"posted_hash": digest},
    )
    if claim.won:
        return None
    found = await find_by_reference(ctx, supplier, doc_type, bill.id)
    if found is None:
        raise RetriableVendorError(
            "ml-connector", "another attempt is creating this invoice; retrying later"
        )
    ref = f"{doc_type}/{found.reference_number}"
    data = await _confirm(ctx, bill, ref, digest)
    return BillOutcome("created", ref, reason="adopted from a concurrent attempt"), data


async def _confirm(
    ctx: FlowContext, bill: Bill, ref: str, digest: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Confirm the bill's link with the payload hash; returns the link's data as stored.

    The bill's write-back (mark it synced in Ramp) is stored in the same transaction.
    """
    outbox = _write_back_items(ctx, bill, ref)
    link = await ctx.store.confirm_link(
        ctx.connection_id,
        LINK_KIND,
        bill.id,
        visma_id=ref,
        data={**(data or {}), "payload_hash": digest},
        outbox=outbox,
    )
    if outbox:
        ctx.note(AuditKind.RESULT, {"ramp": "BILL_SYNC queued", "reference_id": _split_ref(ref)[1]})
    return link.data


def _split_ref(ref: str) -> tuple[str, str]:
    doc_type, _, number = ref.partition("/")
    return doc_type, number


async def _update(
    ctx: FlowContext,
    bill: Bill,
    invoice: SupplierInvoiceWrite,
    payload: dict[str, Any],
    digest: str,
    ref: str,
    data: dict[str, Any],
) -> tuple[BillOutcome, dict[str, Any]]:
    """PUT the changed invoice while Visma allows; returns the outcome and the link's data."""
    if data.get("payload_hash") == digest:
        return BillOutcome("unchanged", ref), data
    doc_type, number = _split_ref(ref)
    for _ in range(_PUT_TRIES):
        current = await ctx.visma.get_supplier_invoice(doc_type, number)
        if current is None:
            raise NeedsAttention(
                f"Invoice {number} was synced from this bill but no longer exists in Visma",
                hint="Replay the bill to create it again, or exclude it if it was deleted on "
                "purpose.",
                code="invoice_missing",
            )
        if current.status not in EDITABLE:
            raise NeedsAttention(
                f"The bill changed in Ramp after invoice {number} was released in Visma "
                f"(status {current.status})",
                hint="Correct the invoice in Visma (for example with a credit note), "
                "or undo the change in Ramp and mark this record resolved.",
                code="invoice_locked",
            )
        update = _with_line_operations(invoice, current)
        try:
            await ctx.visma.update_supplier_invoice(doc_type, number, update, etag=current.etag)
        except PreconditionFailed:
            continue  # someone changed it in Visma between our read and write: read again
        stored = await _confirm(ctx, bill, ref, digest, data)
        ctx.note(AuditKind.DECISION, {"decision": "update", "visma_ref": ref})
        return BillOutcome("updated", ref), stored
    raise RetriableVendorError(
        "ml-connector", f"invoice {number} kept changing in Visma while being updated; retrying"
    )


def _with_line_operations(
    invoice: SupplierInvoiceWrite, current: SupplierInvoice
) -> SupplierInvoiceWrite:
    """The PUT body: our lines as Update (existing number) or Insert, the rest Deleted."""
    existing = {line.line_number for line in current.invoice_lines}
    lines = [
        dataclasses.replace(line, operation="Update" if line.line_number in existing else "Insert")
        for line in invoice.lines
    ]
    wanted = {line.line_number for line in invoice.lines}
    lines += [
        SupplierInvoiceLineWrite(operation="Delete", line_number=n)
        for n in sorted(n for n in existing - wanted if n is not None)
    ]
    return dataclasses.replace(invoice, lines=tuple(lines), document_type=None)


async def _adopt_archived(ctx: FlowContext, bill: Bill, vendor: Link | None) -> str | None:
    """The reference of the invoice an uncertain POST created, confirmed on the link; or None."""
    if vendor is None or not vendor.visma_id:
        return None  # no supplier yet, so no invoice can have been posted
    doc_type = "DebitAdj" if ctx.options.is_credit(bill) else "Invoice"
    found = await find_by_reference(ctx, vendor.visma_id, doc_type, bill.id)
    if found is None:
        return None
    ref = f"{doc_type}/{found.reference_number}"
    await ctx.store.confirm_link(ctx.connection_id, LINK_KIND, bill.id, visma_id=ref, data={})
    ctx.note(AuditKind.DECISION, {"decision": "adopt", "why": "archived after an uncertain POST"})
    return ref


async def _archived(ctx: FlowContext, bill: Bill, ref: str | None) -> BillOutcome:
    if ref is None:
        ctx.note(AuditKind.DECISION, {"decision": "skip", "why": "archived before sync"})
        return BillOutcome("skipped", reason="archived in Ramp before it was synced")
    doc_type, number = _split_ref(ref)
    current = await ctx.visma.get_supplier_invoice(doc_type, number)
    if current is None:
        return BillOutcome("deleted", ref, reason="already gone from Visma")
    if current.status not in EDITABLE:
        raise NeedsAttention(
            f"The bill was archived in Ramp, but invoice {number} is already "
            f"{current.status} in Visma",
            hint="Reverse or void the invoice in Visma, then mark this record resolved.",
            code="archived_after_release",
        )
    await ctx.visma.delete_supplier_invoice(doc_type, number)
    ctx.note(AuditKind.DECISION, {"decision": "delete", "why": "archived in Ramp"})
    return BillOutcome("deleted", ref, reason="archived in Ramp; draft invoice removed")


def _write_back_items(ctx: FlowContext, bill: Bill, ref: str) -> list[WriteBackItem]:
    """The write-back to store with the bill's link (none when off or already synced)."""
    if not ctx.options.write_back:
        return []
    return ctx.writeback.items_for(bill, _split_ref(ref)[1])


async def _write_back(ctx: FlowContext, bill: Bill, ref: str) -> None:
    """Queue the write-back of a bill whose invoice was already linked (Ramp still says not
    synced: the earlier one never landed, or someone unsynced the bill in Ramp)."""
    items = _write_back_items(ctx, bill, ref)
    if items:
        await ctx.store.enqueue_writebacks(ctx.connection_id, items)
        ctx.note(AuditKind.RESULT, {"ramp": "BILL_SYNC queued", "reference_id": _split_ref(ref)[1]})


async def plan_bill(ctx: FlowContext, bill: Bill) -> dict[str, Any]:
    """The payload ``sync_bill`` would send now, computed without writing anything anywhere.

    The same preparation as ``sync_bill``, with a supplier step that only looks the supplier up
    (a vendor without one shows as the new supplier a sync would create). Raises NeedsAttention
    exactly where a real sync would stop before its first write.
    """

    async def supplier() -> SupplierOutcome:
        number = await lookup_supplier(ctx, bill.vendor.id)
        if number is None:
            return SupplierOutcome(f"(new supplier: {bill.vendor.name})", True, "created")
        return SupplierOutcome(number, False, "lookup")

    return (await prepare_bill(ctx, bill, supplier)).payload
