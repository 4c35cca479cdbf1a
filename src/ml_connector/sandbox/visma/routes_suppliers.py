"""``/v1/supplier``: list (with filters), read one, create, update.

List filters: ``name`` (whole name, case-insensitive, as the ERP's database collation compares),
``status``, ``vatRegistrationId``, ``corporateId``, ``greaterThanValue`` (numbers above),
``lastModifiedDateTime`` + condition, ``expandNote``; paging as every list. Create: 201 with
``Location`` and ``ETag``; an omitted ``number`` is taken from the supplier number series (a
company with manual numbering refuses it), a given one must be free; class, credit terms and
VAT zone are checked and class defaults applied (``supplier_setup``). Update: 204 with
``ETag``; ``If-Match`` must name the current version. Each write raises a Supplier
Created/Updated notification.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.coding import check_currency
from ml_connector.sandbox.visma.listing import date_condition, paginate, select, with_metadata
from ml_connector.sandbox.visma.responses import ApiError, etag_header, json_response
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.seeding import SUPPLIER_SERIES
from ml_connector.sandbox.visma.state import CompanyState, Supplier
from ml_connector.sandbox.visma.supplier_setup import apply_supplier_setup
from ml_connector.sandbox.visma.views import supplier_dto
from ml_connector.sandbox.visma.wrappers import SUPPLIER_WRITE, unwrap

__all__ = ["create_supplier", "register"]

_CORE = {
    "name": "name",
    "status": "status",
    "currencyId": "currency_id",
    "corporateId": "corporate_id",
    "vatRegistrationId": "vat_registration_id",
}


def create_supplier(company: CompanyState, data: dict[str, Any]) -> Supplier:
    """Validate and store a new supplier from unwrapped ``SupplierUpdateDto`` fields."""
    name = data.get("name")
    if not name:
        raise ApiError.bad_request("Error inserting the supplier. 'Supplier name' cannot be empty.")
    if data.get("currencyId"):
        check_currency(company, data["currencyId"])
    apply_supplier_setup(company.supplier_setup, data, new=True)
    number = data.get("number")
    if number:
        if number in company.suppliers:
            raise ApiError.bad_request(
                f"Error inserting the supplier. Supplier number {number} is already in use."
            )
    else:
        number = company.next_number(SUPPLIER_SERIES, 5, company.suppliers.__contains__)
    supplier = Supplier(
        internal_id=company.next_internal_id(), number=number, name=name, status="Active"
    )
    _apply(supplier, data)
    company.touch(supplier)
    company.suppliers[number] = supplier
    return supplier


def _apply(supplier: Supplier, data: dict[str, Any]) -> None:
    for field, value in data.items():
        if field in ("number", "overrideNumberSeries", "overrideWithClassValues"):
            continue
        if field in _CORE:
            if field in ("name", "status") and not value:
                continue
            setattr(supplier, _CORE[field], value)
        else:
            supplier.details[field] = value


def list_suppliers(request: ApiRequest) -> Response:
    query = request.query
    name = query.get("name")
    status = query.get("status")
    vat_id = query.get("vatRegistrationId")
    corporate_id = query.get("corporateId")
    above = query.get("greaterThanValue")
    modified = date_condition(query, "lastModifiedDateTime")
    records = select(
        sorted(request.company.suppliers.values(), key=lambda s: s.number),
        (lambda s: s.name.lower() == name.lower()) if name else None,
        (lambda s: s.status.lower() == status.lower()) if status else None,
        (lambda s: s.vat_registration_id == vat_id) if vat_id else None,
        (lambda s: s.corporate_id == corporate_id) if corporate_id else None,
        (lambda s: s.number > above) if above else None,
        (lambda s: modified(s.last_modified)) if modified else None,
    )
    page, paging = paginate(records, query, request.max_page_size)
    note = (query.get("expandNote") or "").lower() == "true"
    dtos = [supplier_dto(supplier, note=note) for supplier in page]
    return json_response(with_metadata(dtos, len(records), paging.max_size))


def _find(request: ApiRequest) -> Supplier:
    number = request.params["supplierCd"]
    supplier = request.company.suppliers.get(number)
    if supplier is None:
        raise ApiError.not_found(f"Supplier {number} was not found.")
    return supplier


def get_supplier(request: ApiRequest) -> Response:
    supplier = _find(request)
    return json_response(
        supplier_dto(supplier, note=True), headers={"ETag": etag_header(supplier.version)}
    )


def post_supplier(request: ApiRequest) -> Response:
    data = unwrap(request.json(), SUPPLIER_WRITE)
    supplier = create_supplier(request.company, data)
    request.events.publish(
        request.company, "Supplier", "Created", supplier.number, f"v1/supplier/{supplier.number}"
    )
    return Response(
        status_code=201,
        headers={
            "Location": request.url("v1", "supplier", supplier.number),
            "ETag": etag_header(supplier.version),
        },
    )


def put_supplier(request: ApiRequest) -> Response:
    supplier = _find(request)
    request.require_version(supplier.version, "Supplier")
    data = unwrap(request.json(), SUPPLIER_WRITE)
    if data.get("currencyId"):
        check_currency(request.company, data["currencyId"])
    apply_supplier_setup(request.company.supplier_setup, data, new=False)
    _apply(supplier, data)
    request.company.touch(supplier)
    request.events.publish(
        request.company, "Supplier", "Updated", supplier.number, f"v1/supplier/{supplier.number}"
    )
    return Response(
        status_code=204,
        headers={
            "ETag": etag_header(supplier.version),
            "Location": request.url("v1", "supplier", supplier.number),
        },
    )


def register(router: Router) -> None:
    router.add("GET", "/v1/supplier", list_suppliers)
    router.add("POST", "/v1/supplier", post_supplier)
    router.add("GET", "/v1/supplier/{supplierCd}", get_supplier)
    router.add("PUT", "/v1/supplier/{supplierCd}", put_supplier)
