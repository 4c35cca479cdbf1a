"""Attach a bill's invoice files to its Visma document, once each.

- **Which files.** Each of the bill's ``invoice_urls``, keyed by host and path: a pre-signed
  link changes its query string every time the bill is read, its path does not. The keys
  attached so far are kept in the bill link's data, so a retry attaches only what is missing.
- **Fresh links.** Ramp's links are pre-signed and expire (ramp-api.md §5.1). A link the file
  host refuses (``FileLinkRefused``) is not retried as it is: the bill is read again and the
  fresh link with the same key is used. A file the fresh bill no longer has is left out, with
  a note in the record's timeline; a fresh link refused again needs attention.
- **Name and type.** From the download's own headers: the file name from
  ``Content-Disposition``, the type from ``Content-Type``. Without them the name is the
  link's last path segment when it has an extension, else ``<invoice number>-<n>`` plus the
  type's extension; the type is guessed from the name, then from the bytes (``%PDF``), and
  is ``application/octet-stream`` otherwise.
"""

from __future__ import annotations

import hashlib
import mimetypes
from urllib.parse import unquote, urlsplit

from ml_connector.audit import AuditKind
from ml_connector.clients.ramp_models import Bill, InvoiceFile
from ml_connector.errors import FileLinkRefused, NeedsAttention
from ml_connector.flows.context import FlowContext
from ml_connector.flows.link_data import BillLinkData
from ml_connector.store import LinkKind

__all__ = ["attach_files", "file_key", "file_name", "file_type"]

_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


def file_key(url: str) -> str:
    """What identifies one file across fresh links: host and path, not the signed query."""
    parts = urlsplit(url)
    return hashlib.sha256(f"{parts.netloc}{parts.path}".encode()).hexdigest()[:16]


def file_type(downloaded: InvoiceFile, name: str | None) -> str:
    """The file's media type: its header, else guessed from the name, then from the bytes."""
    if downloaded.content_type and downloaded.content_type not in _GENERIC_TYPES:
        return downloaded.content_type
    guessed = mimetypes.guess_type(name or "")[0]
    if guessed:
        return guessed
    if downloaded.content.startswith(b"%PDF-"):
        return "application/pdf"
    return downloaded.content_type or "application/octet-stream"


def file_name(downloaded: InvoiceFile, url: str, bill: Bill, position: int) -> str:
    """The name the file gets in Visma (module docstring); ``position`` counts from 1."""
    if downloaded.filename:
        return downloaded.filename[:200]
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if last and "." in last.strip("."):
        return last[:200]
    stem = f"{bill.invoice_number or bill.id}-{position}"
    kind = file_type(downloaded, None)
    extension = ".pdf" if kind == "application/pdf" else mimetypes.guess_extension(kind) or ""
    return f"{stem}{extension}"


async def attach_files(
    ctx: FlowContext, bill: Bill, ref: str, stored: BillLinkData, *, link_kind: LinkKind
) -> None:
    """Attach the bill's files not attached yet to the document ``ref`` (``Type/number``).

    ``stored`` is the bill link's data as written last in this unit of work (the unit holds the
    record's lease, so nobody else changes it); the keys attached are added to its ``attached``.
    """
    if not ctx.options.attach_files or not bill.invoice_urls:
        return
    data = stored
    doc_type, _, number = ref.partition("/")
    fresh: Bill | None = None
    for position, url in enumerate(bill.invoice_urls, start=1):
        key = file_key(url)
        if key in (data.attached or ()):
            continue
        try:
            downloaded = await ctx.ramp.download(url)
        except FileLinkRefused as refused:
            fresh = fresh or await ctx.ramp.get_bill(bill.id)
            renewed = next((u for u in fresh.invoice_urls if file_key(u) == key), None)
            if renewed is None:
                ctx.note(AuditKind.DECISION, {"decision": "skip file", "why": "gone from Ramp"})
                continue
            downloaded = await _download_again(ctx, bill, renewed, refused)
            url = renewed
        name = file_name(downloaded, url, bill, position)
        kind = file_type(downloaded, name)
        await ctx.visma.attach_supplier_invoice_file(
            doc_type, number, name, downloaded.content, kind
        )
        data = data.with_file(key)
        await ctx.store.update_link_data(ctx.connection_id, link_kind, bill.id, data.to_dict())


async def _download_again(
    ctx: FlowContext, bill: Bill, url: str, first: FileLinkRefused
) -> InvoiceFile:
    """One more try with the fresh link; refused again, a person must look."""
    ctx.note(AuditKind.DECISION, {"decision": "fresh file link", "why": first.vendor_message})
    try:
        return await ctx.ramp.download(url)
    except FileLinkRefused as again:
        raise NeedsAttention(
            f"The invoice file of bill {bill.invoice_number or bill.id} could not be downloaded "
            f"from Ramp, even with a fresh link: {again.vendor_message or again}",
            hint="Open the bill in Ramp and check its invoice file; replay the record once it "
            "opens there.",
            code="invoice_file_unavailable",
        ) from again
