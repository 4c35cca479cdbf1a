"""Visma write models: frozen dataclasses with Python names and no wrappers at all.

``visma_wire.to_wire`` alone turns them into the ``{"value": …}``-wrapped camelCase bodies Visma
expects; a None field is left out of the body, so it is not changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "AddressWrite",
    "ContactWrite",
    "LinkLineWrite",
    "PurchaseOrderLineWrite",
    "PurchaseOrderWrite",
    "SupplierInvoiceLineWrite",
    "SupplierInvoiceWrite",
    "SupplierPaymentLineWrite",
    "SupplierPaymentWrite",
    "SupplierWrite",
]


@dataclass(frozen=True)
class AddressWrite:
    address_line1: str | None = None
    address_line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country_id: str | None = None


@dataclass(frozen=True)
class ContactWrite:
    name: str | None = None
    attention: str | None = None
    email: str | None = None
    phone1: str | None = None


@dataclass(frozen=True)
class SupplierWrite:
    """A supplier to create or change; None fields are left as they are."""

    number: str | None = None
    name: str | None = None
    status: str | None = None
    currency_id: str | None = None
    credit_terms_id: str | None = None
    vat_registration_id: str | None = None
    corporate_id: str | None = None
    main_address: AddressWrite | None = None
    main_contact: ContactWrite | None = None
    payment_method_id: str | None = None
    supplier_class_id: str | None = None
    vat_zone_id: str | None = None
    override_number_series: bool | None = None  # send a manual ``number`` past the series


@dataclass(frozen=True)
class LinkLineWrite:
    """Links an AP line to a purchase order (or receipt) line."""

    purchase_number: str
    purchase_line_nbr: int
    purchase_type: str = "PurchaseOrder"


@dataclass(frozen=True)
class SupplierInvoiceLineWrite:
    """One AP line. ``subaccount`` is ``(segment_id, value)`` pairs, e.g. ``((1, "100"),)``."""

    operation: str = "Insert"
    line_number: int | None = None
    account_number: str | None = None
    subaccount: tuple[tuple[int, str], ...] = ()
    transaction_description: str | None = None
    quantity: Decimal | None = None
    unit_cost_in_currency: Decimal | None = None
    cost_in_currency: Decimal | None = None
    vat_code_id: str | None = None
    project_id: str | None = None
    project_task_id: str | None = None
    link_line: LinkLineWrite | None = None


@dataclass(frozen=True)
class SupplierInvoiceWrite:
    """An AP document to create or change; ``lines`` empty means "leave the lines alone"."""

    document_type: str | None = None
    reference_number: str | None = None
    supplier_number: str | None = None
    supplier_reference: str | None = None
    date: dt.date | None = None
    due_date: dt.date | None = None
    currency_id: str | None = None
    financial_period: str | None = None
    description: str | None = None
    note: str | None = None
    hold: bool | None = None
    tax_calculation_mode: str | None = None
    amount: Decimal | None = None
    vat_amount: Decimal | None = None
    lines: tuple[SupplierInvoiceLineWrite, ...] = ()


@dataclass(frozen=True)
class PurchaseOrderLineWrite:
    operation: str = "Insert"
    line_number: int | None = None
    line_type: str | None = None
    inventory: str | None = None
    line_description: str | None = None
    uom: str | None = None
    order_qty: Decimal | None = None
    unit_cost: Decimal | None = None
    account: str | None = None
    sub: tuple[tuple[int, str], ...] = ()
    project: str | None = None
    project_task: str | None = None


@dataclass(frozen=True)
class PurchaseOrderWrite:
    order_type: str | None = None
    order_number: str | None = None
    hold: bool | None = None
    date: dt.date | None = None
    promised_on: dt.date | None = None
    description: str | None = None
    supplier: str | None = None
    currency: str | None = None
    supplier_ref: str | None = None
    note: str | None = None
    lines: tuple[PurchaseOrderLineWrite, ...] = ()


@dataclass(frozen=True)
class SupplierPaymentLineWrite:
    """Applies a payment to one AP document (``SupplierPaymentAdjustmentUpdateDto``)."""

    operation: str = "Insert"
    document_type: str | None = None
    ref_nbr: str | None = None
    amount_paid: Decimal | None = None


@dataclass(frozen=True)
class SupplierPaymentWrite:
    """A supplier payment to create (``SupplierPaymentUpdateDto``); ``lines`` are applications."""

    type: str | None = None
    hold: bool | None = None
    application_date: dt.date | None = None
    payment_ref: str | None = None
    supplier: str | None = None
    payment_method: str | None = None
    cash_account: str | None = None
    currency: str | None = None
    description: str | None = None
    payment_amount: Decimal | None = None
    lines: tuple[SupplierPaymentLineWrite, ...] = ()
