"""The Visma side of a sandbox dataset: the chart of accounts, the SUBACCOUNT segments and
their values, projects and tasks, VAT codes, financial periods, existing suppliers, and the
supplier set-up (classes, credit terms, VAT zones) a Norwegian company starts with.

Pure data; ``seed.Dataset`` gathers these with the Ramp side, and ``seed`` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = [
    "DEFAULT_CREDIT_TERMS",
    "DEFAULT_SUPPLIER_CLASSES",
    "DEFAULT_VAT_ZONES",
    "SeedAccount",
    "SeedCreditTerms",
    "SeedPeriod",
    "SeedProject",
    "SeedSegment",
    "SeedSegmentValue",
    "SeedSupplier",
    "SeedSupplierClass",
    "SeedTask",
    "SeedVat",
    "SeedVatZone",
]


@dataclass(frozen=True)
class SeedAccount:
    """A Visma GL account. ``default_vat`` is the VAT id usually used on it (None: no VAT)."""

    number: str
    description: str
    type: str  # Asset | Liability | Income | Expense
    active: bool = True
    default_vat: str | None = None


@dataclass(frozen=True)
class SeedSegmentValue:
    value: str
    description: str
    active: bool = True


@dataclass(frozen=True)
class SeedSegment:
    """One segment of Visma's SUBACCOUNT dimension."""

    segment_id: int
    description: str
    length: int
    values: tuple[SeedSegmentValue, ...]


@dataclass(frozen=True)
class SeedTask:
    """A project task (Visma's ``TaskDto``); task ids are unique within their project only."""

    task_id: str
    description: str
    status: str = "Active"  # Planned | Active | Cancelled | Completed
    visible_in_ap: bool = True
    visible_in_po: bool = True


@dataclass(frozen=True)
class SeedProject:
    project_id: str
    description: str
    status: str = "Active"  # Planned | Active | Completed | Cancelled | OnHold
    visible_in_ap: bool = True
    tasks: tuple[SeedTask, ...] = ()


@dataclass(frozen=True)
class SeedVat:
    vat_id: str
    description: str
    rate: Decimal  # percent, e.g. Decimal("25")
    not_valid_after: date | None = None  # Visma's "Not valid after": the code's last day


@dataclass(frozen=True)
class SeedPeriod:
    """A Visma financial period, ``period_id`` in YYYYMM form, and the ledgers it is closed in
    (journal transactions post to the general ledger, supplier documents to the supplier one)."""

    period_id: str
    closed_in_supplier_ledger: bool = False
    closed_in_general_ledger: bool = False


@dataclass(frozen=True)
class SeedSupplier:
    """A supplier that already exists in Visma before the connector runs."""

    number: str
    name: str
    currency: str
    country: str
    corporate_id: str | None = None  # organisation number
    vat_registration_id: str | None = None
    status: str = "Active"  # Active | OnHold | HoldPayments | Inactive | OneTime


@dataclass(frozen=True)
class SeedSupplierClass:
    """A Visma supplier class: the defaults a new supplier of the class takes."""

    class_id: str
    description: str
    credit_terms: str | None = None
    vat_zone: str | None = None
    payment_method: str | None = None


@dataclass(frozen=True)
class SeedCreditTerms:
    """Visma credit terms: ``days`` after the document date (due date type N)."""

    terms_id: str
    description: str
    days: int
    visible_to: str = "AL"  # AL all, VE suppliers, CU customers, DS disabled


@dataclass(frozen=True)
class SeedVatZone:
    zone_id: str
    description: str


# What a Norwegian Visma.net company is set up with before its first supplier (ids as a
# customer might choose them; Visma ships none under fixed ids).
DEFAULT_SUPPLIER_CLASSES = (
    SeedSupplierClass("LEV", "Leverandører, innland", "30D", "01"),
    SeedSupplierClass("UTL", "Leverandører, utland", "14D", "03"),
)
DEFAULT_CREDIT_TERMS = (
    SeedCreditTerms("30D", "30 dager netto", 30),
    SeedCreditTerms("14D", "14 dager netto", 14),
    SeedCreditTerms("10D", "10 dager netto", 10),
    SeedCreditTerms("KONT", "Kontant", 0, visible_to="CU"),
)
DEFAULT_VAT_ZONES = (
    SeedVatZone("01", "Innenlands"),
    SeedVatZone("03", "Utland"),
)
