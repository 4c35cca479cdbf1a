"""``/v1/supplier/supplierClass``, ``/v1/creditTerm`` and ``/v1/vatZone``: supplier set-up reads.

See ``supplier_setup`` for the behaviour; shapes follow the spec (classes unpaged, credit terms
in the ``{pageNumber, pageSize, totalCount, records}`` wrapper, VAT zones paged with
``metadata`` on each record).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.listing import paginate, select, with_metadata
from ml_connector.sandbox.visma.responses import ApiError, json_response
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.supplier_setup import SupplierClass

__all__ = ["register"]


def _class_dto(item: SupplierClass) -> dict[str, Any]:
    dto: dict[str, Any] = {"id": item.class_id, "description": item.description, "attributes": []}
    if item.payment_method:
        dto["paymentMethodId"] = item.payment_method
    return dto


def list_classes(request: ApiRequest) -> Response:
    setup = request.company.supplier_setup
    return json_response([_class_dto(c) for c in setup.classes.values()])


def get_class(request: ApiRequest) -> Response:
    class_id = request.params["supplierClassId"]
    found = request.company.supplier_setup.classes.get(class_id)
    if found is None:
        raise ApiError.not_found(f"Supplier class {class_id} was not found.")
    return json_response(_class_dto(found))


def list_credit_terms(request: ApiRequest) -> Response:
    wanted = request.query.get("termsId")
    terms = select(
        request.company.supplier_setup.terms.values(),
        (lambda t: t.terms_id == wanted) if wanted else None,
    )
    page, paging = paginate(terms, request.query, request.max_page_size)
    records = [
        {
            "termsId": t.terms_id,
            "description": t.description,
            "visibleTo": t.visible_to,
            "dueDateType": "N",
            "dueDay1": t.days,
        }
        for t in page
    ]
    return json_response(
        {
            "pageNumber": paging.number,
            "pageSize": paging.size,
            "totalCount": len(terms),
            "records": records,
        }
    )


def _zone_dto(zone_id: str, description: str) -> dict[str, Any]:
    return {"id": zone_id, "description": description}


def list_vat_zones(request: ApiRequest) -> Response:
    zones = sorted(request.company.supplier_setup.zones.items())
    page, paging = paginate(zones, request.query, request.max_page_size)
    dtos = [_zone_dto(zone_id, description) for zone_id, description in page]
    return json_response(with_metadata(dtos, len(zones), paging.max_size))


def get_vat_zone(request: ApiRequest) -> Response:
    zone_id = request.params["vatZoneId"]
    description = request.company.supplier_setup.zones.get(zone_id)
    if description is None:
        raise ApiError.not_found(f"VAT zone {zone_id} was not found.")
    return json_response(_zone_dto(zone_id, description))


def register(router: Router) -> None:
    router.add("GET", "/v1/supplier/supplierClass", list_classes)
    router.add("GET", "/v1/supplier/supplierClass/{supplierClassId}", get_class)
    router.add("GET", "/v1/creditTerm", list_credit_terms)
    router.add("GET", "/v1/vatZone", list_vat_zones)
    router.add("GET", "/v1/vatZone/{vatZoneId}", get_vat_zone)
