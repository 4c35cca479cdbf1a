"""Supplier set-up: classes, credit terms, VAT zones, and how suppliers are numbered.

Served by ``routes_supplier_setup`` (shapes from the spec):
- ``GET /v1/supplier/supplierClass`` (array of ``SupplierClassDto``, not paged) and
  ``GET /v1/supplier/supplierClass/{supplierClassId}``;
- ``GET /v1/creditTerm``: the paged wrapper ``{pageNumber, pageSize, totalCount, records}``
  of ``CreditTermDto``, filter ``termsId``;
- ``GET /v1/vatZone`` (paged, ``metadata`` on each record) and ``GET /v1/vatZone/{vatZoneId}``;
- ``GET /v1/dimension/SUPLLIER`` (Visma's spelling): the supplier key, one segment whose
  ``isAutoNumber`` says whether Visma numbers new suppliers.

Creating a supplier (``apply_supplier_setup``): an unknown class, credit terms or VAT zone is a
400 naming it; a supplier without a class gets the company's default class, and takes from its
class the credit terms, VAT zone and payment method it was not given (Visma copies class
defaults onto a new supplier). With manual numbering, a create without ``number`` is refused
with the message users report from Visma for it ("Value cannot be null. Parameter name: key").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml_connector.sandbox.seed import Dataset
from ml_connector.sandbox.visma.responses import ApiError

__all__ = [
    "SUPPLIER_DIMENSION",
    "CreditTerms",
    "SupplierClass",
    "SupplierSetup",
    "apply_supplier_setup",
    "setup_from_dataset",
    "supplier_dimension",
]

SUPPLIER_DIMENSION = "SUPLLIER"
_KEY_LENGTH = 10


@dataclass(frozen=True)
class SupplierClass:
    class_id: str
    description: str
    credit_terms: str | None
    vat_zone: str | None
    payment_method: str | None


@dataclass(frozen=True)
class CreditTerms:
    terms_id: str
    description: str
    days: int
    visible_to: str


@dataclass
class SupplierSetup:
    """A company's supplier classes, credit terms, VAT zones and supplier numbering."""

    classes: dict[str, SupplierClass] = field(default_factory=dict)
    terms: dict[str, CreditTerms] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)  # id → description
    default_class: str | None = None
    manual_numbering: bool = False


def setup_from_dataset(dataset: Dataset) -> SupplierSetup:
    if dataset.supplier_numbering not in ("auto", "manual"):
        raise ValueError(f"supplier_numbering is auto or manual, not {dataset.supplier_numbering}")
    return SupplierSetup(
        classes={
            c.class_id: SupplierClass(
                c.class_id, c.description, c.credit_terms, c.vat_zone, c.payment_method
            )
            for c in dataset.supplier_classes
        },
        terms={
            t.terms_id: CreditTerms(t.terms_id, t.description, t.days, t.visible_to)
            for t in dataset.credit_terms
        },
        zones={z.zone_id: z.description for z in dataset.vat_zones},
        default_class=dataset.default_supplier_class,
        manual_numbering=dataset.supplier_numbering == "manual",
    )


def apply_supplier_setup(setup: SupplierSetup, data: dict[str, Any], *, new: bool) -> None:
    """Check the class, terms and zone a supplier write names; a new one takes class defaults."""
    if new and not data.get("number") and setup.manual_numbering:
        raise ApiError.bad_request(
            "Error inserting the supplier. Value cannot be null. Parameter name: key"
        )
    class_id = data.get("supplierClassId") or (setup.default_class if new else None)
    supplier_class = None
    if class_id:
        supplier_class = setup.classes.get(class_id)
        if supplier_class is None:
            raise ApiError.bad_request(f"Error: 'Supplier class' cannot be found: '{class_id}'.")
        data["supplierClassId"] = class_id
    terms = data.get("creditTermsId")
    if terms and terms not in setup.terms:
        raise ApiError.bad_request(f"Error: 'Credit terms' cannot be found: '{terms}'.")
    zone = data.get("vatZoneId")
    if zone and zone not in setup.zones:
        raise ApiError.bad_request(f"Error: 'VAT zone' cannot be found: '{zone}'.")
    if new and supplier_class is not None:
        for key, value in (
            ("creditTermsId", supplier_class.credit_terms),
            ("vatZoneId", supplier_class.vat_zone),
            ("paymentMethodId", supplier_class.payment_method),
        ):
            if value and not data.get(key):
                data[key] = value


def supplier_dimension(setup: SupplierSetup) -> dict[str, Any]:
    """``DtoDimension`` of the supplier key (its values, the supplier numbers, left out)."""
    return {
        "id": SUPPLIER_DIMENSION,
        "length": _KEY_LENGTH,
        "description": "Supplier",
        "segments": [
            {
                "segmentId": 1,
                "description": "Supplier ID",
                "length": _KEY_LENGTH,
                "validate": False,
                "isAutoNumber": not setup.manual_numbering,
            }
        ],
    }
