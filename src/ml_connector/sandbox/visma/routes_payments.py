"""``/v1/supplierPayment``: list, read one, create, and the release action.

Read shape: ``SupplierPaymentDto`` as plain JSON; each application is a
``SupplierPaymentAdjustmentDto`` showing the document's current balance. ``balance`` is what the
payment still has to apply and release: the whole amount until it is released, the unapplied
rest afterwards. ``release`` answers like the invoice release (``routes_background``: 202 and a
background request by default, the 9.11 ``actionResult`` as an option) and, once it runs, raises
an APInvoice StatusChanged notification for each document it closes. The rules
live in ``payments.py``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.listing import date_condition, paginate, select, with_metadata
from ml_connector.sandbox.visma.payments import (
    SUPPLIER_PAYMENT_WRITE,
    create_payment,
    release_payment,
    unapplied,
)
from ml_connector.sandbox.visma.responses import (
    ApiError,
    etag_header,
    json_response,
    timestamp_of,
)
from ml_connector.sandbox.visma.routes_background import release_answer
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.state import CompanyState, SupplierPayment
from ml_connector.sandbox.visma.wrappers import unwrap

__all__ = ["payment_dto", "register"]


def payment_dto(company: CompanyState, payment: SupplierPayment) -> dict[str, Any]:
    """``SupplierPaymentDto`` for one payment."""
    supplier = company.suppliers.get(payment.supplier_number)
    released = payment.released
    dto: dict[str, Any] = {
        "type": payment.payment_type,
        "refNbr": payment.reference_number,
        "status": payment.status,
        "hold": payment.hold,
        "applicationDate": payment.date,
        "applicationPeriod": payment.financial_period,
        "supplier": {
            "internalId": supplier.internal_id if supplier else 0,
            "number": payment.supplier_number,
            "name": supplier.name if supplier else "",
        },
        "cashAccount": payment.cash_account,
        "currency": {
            "id": payment.currency,
            "description": company.currencies.get(payment.currency, payment.currency),
            "isBaseCurrency": payment.currency == company.base_currency,
            "decimalPrecision": 2,
        },
        "paymentAmount": payment.amount,
        "financeCharges": 0,
        "balance": unapplied(payment) if released else payment.amount,
        "unappliedBalance": unapplied(payment),
        "appliedAmount": payment.applied,
        "released": released,
        "lastModifiedDateTime": payment.last_modified,
        "paymentLines": [
            _line_dto(company, payment, index) for index in range(len(payment.applications))
        ],
        "timeStamp": timestamp_of(payment.version),
    }
    optional = {
        "paymentMethod": payment.payment_method,
        "paymentRef": payment.payment_ref,
        "description": payment.description,
    }
    dto.update({key: value for key, value in optional.items() if value is not None})
    return dto


def _line_dto(company: CompanyState, payment: SupplierPayment, index: int) -> dict[str, Any]:
    application = payment.applications[index]
    invoice = company.invoices.get((application.document_type, application.reference_number))
    dto: dict[str, Any] = {
        "docType": application.document_type,
        "invoiceRefNbr": application.reference_number,
        "amountPaid": application.amount,
        "cashDiscountTaken": 0,
        "withholdingTax": 0,
        "applicationPeriod": payment.financial_period,
        "currency": payment.currency,
    }
    if invoice is not None:
        dto.update(
            {
                "date": invoice.date,
                "dueDate": invoice.due_date or invoice.date,
                "balance": invoice.balance,
                "postPeriod": invoice.financial_period[4:] + invoice.financial_period[:4],
            }
        )
        optional = {"description": invoice.description, "supplierRef": invoice.supplier_reference}
        dto.update({key: value for key, value in optional.items() if value is not None})
    return dto


def list_payments(request: ApiRequest) -> Response:
    query, company = request.query, request.company
    supplier = query.get("supplier")
    invoice = query.get("invoiceRefNbr")
    payment_type = query.get("paymentType")
    status = query.get("status")
    period = query.get("financialPeriod")
    modified = date_condition(query, "lastModifiedDateTime")
    records = select(
        sorted(company.supplier_payments.values(), key=lambda p: p.reference_number),
        (lambda p: p.supplier_number == supplier) if supplier else None,
        (lambda p: any(a.reference_number == invoice for a in p.applications)) if invoice else None,
        (lambda p: p.payment_type.lower() == payment_type.lower()) if payment_type else None,
        (lambda p: p.status.lower() == status.lower()) if status else None,
        (lambda p: p.financial_period == period) if period else None,
        (lambda p: modified(p.last_modified)) if modified else None,
    )
    page, paging = paginate(records, query, request.max_page_size)
    dtos = [payment_dto(company, payment) for payment in page]
    return json_response(with_metadata(dtos, len(records), paging.max_size))


def _find(request: ApiRequest) -> SupplierPayment:
    number = request.params["paymentNumber"]
    payment = request.company.supplier_payments.get(number)
    wanted_type = request.params.get("paymentType")
    if payment is None or (
        wanted_type is not None and payment.payment_type.lower() != wanted_type.lower()
    ):
        raise ApiError.not_found(f"Supplier payment {number} was not found.")
    return payment


def get_payment(request: ApiRequest) -> Response:
    payment = _find(request)
    return json_response(
        payment_dto(request.company, payment), headers={"ETag": etag_header(payment.version)}
    )


def post_payment(request: ApiRequest) -> Response:
    company = request.company
    payment = create_payment(company, unwrap(request.json(), SUPPLIER_PAYMENT_WRITE))
    company.touch(payment)
    company.supplier_payments[payment.reference_number] = payment
    return Response(
        status_code=201,
        headers={
            "Location": request.url("v1", "supplierPayment", payment.reference_number),
            "ETag": etag_header(payment.version),
        },
    )


def release(request: ApiRequest) -> Response:
    payment = _find(request)
    request.require_version(payment.version, "Supplier payment")
    if request.body.strip():
        wanted = unwrap(request.json(), {"type": SUPPLIER_PAYMENT_WRITE["type"]}).get("type")
        if wanted is not None and wanted != payment.payment_type:
            raise ApiError.bad_request(
                f"Error: Payment {payment.reference_number} is a {payment.payment_type}, "
                f"not a {wanted}."
            )
    company, events = request.company, request.events

    def work() -> None:
        closed = release_payment(company, payment)
        company.touch(payment)
        for invoice in closed:
            events.publish(
                company,
                "APInvoice",
                "StatusChanged",
                invoice.reference_number,
                f"v1/supplierInvoice/{invoice.document_type}/{invoice.reference_number}",
            )

    uri = request.url("v1", "supplierPayment", payment.reference_number, "action", "release")
    return release_answer(request, uri, work)


def register(router: Router) -> None:
    base = "/v1/supplierPayment"
    router.add("GET", base, list_payments)
    router.add("POST", base, post_payment)
    router.add("GET", f"{base}/{{paymentNumber}}", get_payment)
    router.add("GET", f"{base}/{{paymentType}}/{{paymentNumber}}", get_payment)
    router.add("POST", f"{base}/{{paymentNumber}}/action/release", release, scope="update")
