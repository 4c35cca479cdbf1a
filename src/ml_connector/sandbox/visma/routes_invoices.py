"""``/v1/supplierInvoice``: list, read, create, update, delete, release and attachments.

Read shape: ``SupplierInvoiceDto`` as plain JSON. Lists carry ``metadata`` on every record and
include ``note`` only with ``expandNote=true`` and ``attachments`` only with
``expandAttachment=true``; reading one document always includes both. ``release`` answers 202
with a background request (the current spec lists only 202/412 for actions), or with the 9.11
spec's ``{"actionId", "actionResult"}`` as the legacy option (``routes_background``).
Attachments are multipart, one file per request; re-sending a file name makes a new revision of
the same attachment.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.attachments import store_attachment
from ml_connector.sandbox.visma.invoices import (
    EDITABLE_STATUSES,
    apply_update,
    create_invoice,
    release,
)
from ml_connector.sandbox.visma.listing import date_condition, paginate, select, with_metadata
from ml_connector.sandbox.visma.responses import (
    ApiError,
    etag_header,
    json_response,
    timestamp_of,
)
from ml_connector.sandbox.visma.routes_background import release_answer
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.state import (
    Attachment,
    CompanyState,
    InvoiceLine,
    SupplierInvoice,
)
from ml_connector.sandbox.visma.views import (
    account_ref,
    attachment_dto,
    project_ref,
    subaccount_ref,
    task_ref,
)
from ml_connector.sandbox.visma.wrappers import SUPPLIER_INVOICE_WRITE, unwrap

__all__ = ["find_attachment", "invoice_dto", "register"]


def invoice_dto(
    company: CompanyState, invoice: SupplierInvoice, *, note: bool, attachments: bool
) -> dict[str, Any]:
    """``SupplierInvoiceDto`` for one document."""
    supplier = company.suppliers.get(invoice.supplier_number)
    period = invoice.financial_period
    dto: dict[str, Any] = {
        "documentType": invoice.document_type,
        "referenceNumber": invoice.reference_number,
        "status": invoice.status,
        "hold": invoice.hold,
        "approvalStatus": "New",
        "date": invoice.date,
        "origInvoiceDate": invoice.date,
        "dueDate": invoice.due_date or invoice.date,
        "postPeriod": period[4:] + period[:4],
        "financialPeriod": period,
        "supplier": {
            "internalId": supplier.internal_id if supplier else 0,
            "number": invoice.supplier_number,
            "name": supplier.name if supplier else "",
        },
        "currencyId": invoice.currency_id,
        "exchangeRate": 1,
        "taxCalculationMode": invoice.tax_mode or "TaxSetting",
        "detailTotal": invoice.detail_total,
        "detailTotalInCurrency": invoice.detail_total,
        "discountTotal": 0,
        "discountTotalInCurrency": 0,
        "vatTaxableTotal": invoice.taxable_total,
        "vatTaxableTotalInCurrency": invoice.taxable_total,
        "vatExemptTotal": invoice.exempt_total,
        "vatExemptTotalInCurrency": invoice.exempt_total,
        "roundingDiff": 0,
        "roundingDiffInCurrency": 0,
        "amount": invoice.amount,
        "vatAmount": invoice.vat_total,
        "vatTotal": invoice.vat_total,
        "vatTotalInCurrency": invoice.vat_total,
        "balance": invoice.balance,  # less what released supplier payments applied
        "balanceInCurrency": invoice.balance,
        "cashDiscount": 0,
        "cashDiscountInCurrency": 0,
        "invoiceLines": [_line_dto(company, line) for line in invoice.lines],
        "taxDetailLines": _tax_detail_dtos(company, invoice),
        "createdDateTime": invoice.created,
        "lastModifiedDateTime": invoice.last_modified,
        "timeStamp": timestamp_of(invoice.version),
    }
    dto.update(_optional_parts(invoice, note=note, attachments=attachments))
    return dto


def _tax_detail_dtos(company: CompanyState, invoice: SupplierInvoice) -> list[dict[str, Any]]:
    """The document's VAT details, one per VAT code."""
    return [
        {
            "taxId": detail.vat_id,
            "recordId": index,
            "vatId": {
                "number": detail.vat_id,
                "description": company.vat_codes[detail.vat_id].description
                if detail.vat_id in company.vat_codes
                else "",
            },
            "vatRate": detail.rate,
            "taxableAmount": detail.taxable,
            "vatAmount": detail.vat,
        }
        for index, detail in enumerate(invoice.tax_details, start=1)
    ]


def _optional_parts(invoice: SupplierInvoice, *, note: bool, attachments: bool) -> dict[str, Any]:
    """What a document shows only when it has it (or when asked: note, attachments)."""
    optional = {
        "supplierReference": invoice.supplier_reference,
        "description": invoice.description,
        "paymentRefNo": invoice.payment_ref,
    }
    parts: dict[str, Any] = {key: value for key, value in optional.items() if value is not None}
    if invoice.credit_terms_id:
        parts["creditTerms"] = {
            "id": invoice.credit_terms_id,
            "description": invoice.credit_terms_id,
        }
    if note and invoice.note is not None:
        parts["note"] = invoice.note
    if attachments:
        parts["attachments"] = [
            attachment_dto(a) for a in invoice.attachments if a.line_number is None
        ]
    return parts


def _line_dto(company: CompanyState, line: InvoiceLine) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "lineNumber": line.line_number,
        "quantity": line.quantity,
        "unitCost": line.unit_cost,
        "unitCostInCurrency": line.unit_cost,
        "cost": line.amount,
        "costInCurrency": line.amount,
        "discountPercent": 0,
        "discountAmount": 0,
        "discountAmountInCurrency": 0,
        "manualDiscount": False,
        "account": account_ref(company, line.account),
        "subaccount": subaccount_ref(company, line.segments),
    }
    if line.vat_code is not None:
        vat = company.vat_codes.get(line.vat_code)
        dto["vatCode"] = {"id": line.vat_code, "description": vat.description if vat else ""}
    if line.project is not None:
        dto["project"] = project_ref(company, line.project)
    if line.project_task is not None:
        dto["projectTask"] = task_ref(company, line.project, line.project_task)
    optional = {
        "transactionDescription": line.description,
        "inventoryNumber": line.inventory_number,
        "uom": line.uom,
        "note": line.note,
        "poNumber": line.po_number,
        "poLineNr": line.po_line,
    }
    dto.update({key: value for key, value in optional.items() if value is not None})
    return dto


def _find(request: ApiRequest) -> SupplierInvoice:
    number = request.params["invoiceNumber"]
    document_type = request.params.get("documentType")
    invoice = request.company.find_invoice(number, document_type)
    if invoice is None:
        shown = f"{document_type} {number}" if document_type else number
        raise ApiError.not_found(f"Supplier invoice {shown} was not found.")
    return invoice


def list_invoices(request: ApiRequest) -> Response:
    query, company = request.query, request.company
    supplier = query.get("supplier")
    document_type = query.get("documentType")
    status = query.get("status")
    financial_period = query.get("financialPeriod")
    modified = date_condition(query, "lastModifiedDateTime")
    created = date_condition(query, "createdDateTime")
    records = select(
        company.invoices.values(),
        (lambda i: i.supplier_number == supplier) if supplier else None,
        (lambda i: i.document_type.lower() == document_type.lower()) if document_type else None,
        (lambda i: i.status.lower() == status.lower()) if status else None,
        (lambda i: i.financial_period == financial_period) if financial_period else None,
        (lambda i: modified(i.last_modified)) if modified else None,
        (lambda i: created(i.created)) if created else None,
    )
    page, paging = paginate(records, query, request.max_page_size)
    note = (query.get("expandNote") or "").lower() == "true"
    attachments = (query.get("expandAttachment") or "").lower() == "true"
    dtos = [invoice_dto(company, i, note=note, attachments=attachments) for i in page]
    return json_response(with_metadata(dtos, len(records), paging.max_size))


def get_invoice(request: ApiRequest) -> Response:
    invoice = _find(request)
    dto = invoice_dto(request.company, invoice, note=True, attachments=True)
    return json_response(dto, headers={"ETag": etag_header(invoice.version)})


def post_invoice(request: ApiRequest) -> Response:
    company = request.company
    data = unwrap(request.json(), SUPPLIER_INVOICE_WRITE)
    invoice = create_invoice(company, data)
    company.touch(invoice)
    company.invoices[(invoice.document_type, invoice.reference_number)] = invoice
    location = request.url("v1", "supplierInvoice", invoice.reference_number)
    return Response(
        status_code=201, headers={"Location": location, "ETag": etag_header(invoice.version)}
    )


def put_invoice(request: ApiRequest) -> Response:
    company = request.company
    invoice = _find(request)
    request.require_version(invoice.version, "SupplierInvoice")
    data = unwrap(request.json(), SUPPLIER_INVOICE_WRITE)
    before = invoice.status
    apply_update(company, invoice, data)
    company.touch(invoice)
    if invoice.status != before:
        _status_changed(request, invoice)
    location = request.url("v1", "supplierInvoice", invoice.document_type, invoice.reference_number)
    return Response(
        status_code=204, headers={"ETag": etag_header(invoice.version), "Location": location}
    )


def delete_invoice(request: ApiRequest) -> Response:
    invoice = _find(request)
    if invoice.status not in EDITABLE_STATUSES:
        raise ApiError.bad_request(
            f"Error: Document {invoice.reference_number} has status {invoice.status} "
            "and cannot be deleted."
        )
    del request.company.invoices[(invoice.document_type, invoice.reference_number)]
    return Response(status_code=204)


def release_invoice(request: ApiRequest) -> Response:
    invoice = _find(request)
    request.require_version(invoice.version, "SupplierInvoice")

    def work() -> None:
        release(request.company, invoice)
        request.company.touch(invoice)
        _status_changed(request, invoice)

    uri = request.url(
        "v1",
        "supplierInvoice",
        invoice.document_type,
        invoice.reference_number,
        "action",
        "release",
    )
    return release_answer(request, uri, work)


def post_attachment(request: ApiRequest) -> Response:
    invoice = _find(request)
    request.require_version(invoice.version, "SupplierInvoice")
    line_number: int | None = None
    if "lineNumber" in request.params:
        raw = request.params["lineNumber"]
        if not raw.isdigit() or all(ln.line_number != int(raw) for ln in invoice.lines):
            raise ApiError.not_found(
                f"Line {raw} of document {invoice.reference_number} not found."
            )
        line_number = int(raw)
    attachment = store_attachment(invoice.attachments, request.files, line_number)
    return Response(
        status_code=201, headers={"Location": request.url("v1", "attachment", attachment.id)}
    )


def get_attachment(request: ApiRequest) -> Response:
    wanted = request.params["attachmentId"]
    found = find_attachment(request.company, wanted)
    if found is None:
        raise ApiError.not_found(f"Attachment {wanted} was not found.")
    return Response(
        found.content,
        media_type=found.content_type,
        headers={"Content-Disposition": f'attachment; filename="{found.name}"'},
    )


def find_attachment(company: CompanyState, attachment_id: str) -> Attachment | None:
    """An attachment of any supplier document or journal transaction, by id."""
    holders = [i.attachments for i in company.invoices.values()]
    holders += [j.attachments for j in company.journals.values()]
    for attachments in holders:
        for attachment in attachments:
            if attachment.id == attachment_id:
                return attachment
    return None


def _status_changed(request: ApiRequest, invoice: SupplierInvoice) -> None:
    request.events.publish(
        request.company,
        "APInvoice",
        "StatusChanged",
        invoice.reference_number,
        f"v1/supplierInvoice/{invoice.document_type}/{invoice.reference_number}",
    )


def register(router: Router) -> None:
    base = "/v1/supplierInvoice"
    router.add("GET", base, list_invoices)
    router.add("POST", base, post_invoice)
    for one in (f"{base}/{{invoiceNumber}}", f"{base}/{{documentType}}/{{invoiceNumber}}"):
        router.add("GET", one, get_invoice)
        router.add("PUT", one, put_invoice)
        router.add("DELETE", one, delete_invoice)
        router.add("POST", f"{one}/action/release", release_invoice, scope="update")
    for target in (
        f"{base}/{{invoiceNumber}}",
        f"{base}/{{invoiceNumber}}/{{lineNumber}}",
        f"{base}/documentType/{{documentType}}/{{invoiceNumber}}",
        f"{base}/documentType/{{documentType}}/{{invoiceNumber}}/{{lineNumber}}",
    ):
        router.add("POST", f"{target}/attachment", post_attachment)
    router.add("GET", "/v1/attachment/{attachmentId}", get_attachment)
