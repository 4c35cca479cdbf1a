"""Typed Visma.net ERP objects: plain read models, and unwrapped write models.

Read models mirror the spec's ``*Dto`` answers (plain JSON, camelCase) as frozen pydantic models
with snake_case names; unknown fields are ignored. Amounts are ``Decimal``. Document dates (a
supplier invoice's date, a period's start) are ``date``; Visma sends them as date-times without
an offset, and ``lastModifiedDateTime``-style stamps stay naive ``datetime`` in company time.

Write models are frozen dataclasses with Python names and no wrappers at all. ``visma_wire.py``
alone turns them into the ``{"value": …}``-wrapped camelCase bodies Visma expects; a None field
is left out of the body, so it is not changed.

The models live by resource in ``visma_ap_models`` (suppliers, invoices, orders, payments),
``visma_ledger_models`` (accounts, dimensions, projects, VAT, periods) and
``visma_write_models``; this module gathers them under the one name the rest of the code uses.
"""

from __future__ import annotations

from ml_connector.clients._visma_model import IdDescription
from ml_connector.clients.visma_ap_models import (
    ActionResult,
    BackgroundState,
    CreditTerm,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierClass,
    SupplierInvoice,
    SupplierInvoiceLine,
    SupplierPayment,
    SupplierPaymentLine,
    SupplierRef,
    VatZone,
)
from ml_connector.clients.visma_ledger_models import (
    Account,
    Dimension,
    DimensionSegment,
    FinancialPeriod,
    Project,
    ProjectTask,
    ProjectVisibility,
    SegmentValue,
    Subaccount,
    SubaccountSegment,
    VatCode,
)
from ml_connector.clients.visma_write_models import (
    AddressWrite,
    ContactWrite,
    LinkLineWrite,
    PurchaseOrderLineWrite,
    PurchaseOrderWrite,
    SupplierInvoiceLineWrite,
    SupplierInvoiceWrite,
    SupplierPaymentLineWrite,
    SupplierPaymentWrite,
    SupplierWrite,
)

__all__ = [
    "Account",
    "ActionResult",
    "AddressWrite",
    "BackgroundState",
    "ContactWrite",
    "CreditTerm",
    "Dimension",
    "DimensionSegment",
    "FinancialPeriod",
    "IdDescription",
    "LinkLineWrite",
    "Project",
    "ProjectTask",
    "ProjectVisibility",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderLineWrite",
    "PurchaseOrderWrite",
    "SegmentValue",
    "Subaccount",
    "SubaccountSegment",
    "Supplier",
    "SupplierClass",
    "SupplierInvoice",
    "SupplierInvoiceLine",
    "SupplierInvoiceLineWrite",
    "SupplierInvoiceWrite",
    "SupplierPayment",
    "SupplierPaymentLine",
    "SupplierPaymentLineWrite",
    "SupplierPaymentWrite",
    "SupplierRef",
    "SupplierWrite",
    "VatCode",
    "VatZone",
]
