"""The demo dataset both sandboxes load: one Nordic services company, seen from Ramp and Visma.

Pure data, no I/O. ``demo_dataset()`` is deterministic (a fixed random seed), so the demo, the
tests and the benchmarks all see the same company. ``empty_dataset()`` is the bare minimum a
sandbox needs to answer (one entity, the open financial periods).

How the two sides line up (this is what the connector has to discover, not assume):
- Visma holds the chart of accounts, the SUBACCOUNT dimension with segment 1 = cost centre and
  segment 2 = department, projects, VAT codes, financial periods, and some existing suppliers.
- Ramp holds vendors, bills and purchase orders whose accounting field selections carry the
  Visma ids as ``external_id`` (as if the chart had been pushed to Ramp's accounting API):
  GL_ACCOUNT → account number, COST_CENTER → cost-centre value, OTHER ("Department") →
  department value, PROJECT → project id, TAX_CODE → VAT id (optional; the default VAT code of
  the account applies otherwise), OTHER ("Project task") → ``<project id>/<task id>``
  (optional; a project with one active task needs none).
- Visma's projects carry their tasks; Visma refuses a project line without one.
- Some Ramp vendors carry an organisation or VAT number (in their onboarding form answers) that
  matches an existing Visma supplier; others are new and must be created.
- A few bills are deliberately unsyncable: coded to an unknown account, or dated in a period that
  is closed in the supplier ledger.
- Ramp also holds the business's people (users in departments and locations) and their spend:
  card transactions (some in foreign currency, some refunds), reimbursements (mileage too),
  card statements and the transfers that pay them (``seed_spend.py``). A few spend objects are
  deliberately unpostable as well: coded to an unknown account, or dated in a closed period.

A dataset may instead give Ramp a chart of its own (``Dataset.ramp_chart``): fields with the
customer's ids, names and category types, options, GL accounts under a GL category of its own,
and bills coded to them (``SeedBillLine.selections``, ``SeedBill.selections``). That plays a
customer whose Ramp was set up before the connector came (see docs/sandbox/ramp.md).

The Visma-side records live in ``seed_visma.py``, the spend records in ``seed_spend.py``; both
are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ml_connector.sandbox.seed_lines import SeedBillLine
from ml_connector.sandbox.seed_spend import (
    SeedCardTransaction,
    SeedDepartment,
    SeedEntityAccount,
    SeedLocation,
    SeedReimbursement,
    SeedStatement,
    SeedTransfer,
    SeedUser,
)
from ml_connector.sandbox.seed_visma import (
    DEFAULT_CREDIT_TERMS,
    DEFAULT_SUPPLIER_CLASSES,
    DEFAULT_VAT_ZONES,
    SeedAccount,
    SeedCreditTerms,
    SeedPeriod,
    SeedProject,
    SeedSegment,
    SeedSegmentValue,
    SeedSupplier,
    SeedSupplierClass,
    SeedTask,
    SeedVat,
    SeedVatZone,
)

__all__ = [
    "COST_CENTRE_SEGMENT",
    "DEPARTMENT_SEGMENT",
    "FIELD_COST_CENTRE",
    "FIELD_DEPARTMENT",
    "FIELD_GL_ACCOUNT",
    "FIELD_PROJECT",
    "FIELD_TASK",
    "FIELD_VAT",
    "FORM_ORG_NUMBER",
    "FORM_VAT_NUMBER",
    "Dataset",
    "SeedAccount",
    "SeedBill",
    "SeedBillLine",
    "SeedCardTransaction",
    "SeedCreditTerms",
    "SeedDepartment",
    "SeedEntity",
    "SeedEntityAccount",
    "SeedLocation",
    "SeedPeriod",
    "SeedProject",
    "SeedPurchaseOrder",
    "SeedRampChart",
    "SeedRampField",
    "SeedRampGLAccount",
    "SeedRampOption",
    "SeedReimbursement",
    "SeedSegment",
    "SeedSegmentValue",
    "SeedStatement",
    "SeedSupplier",
    "SeedSupplierClass",
    "SeedTask",
    "SeedTransfer",
    "SeedUser",
    "SeedVat",
    "SeedVatZone",
    "SeedVendor",
    "demo_dataset",
    "empty_dataset",
]

COST_CENTRE_SEGMENT = 1
DEPARTMENT_SEGMENT = 2

# External (ERP-side) ids of the Ramp accounting fields that carry Visma coding, as a chart push
# (``flows/chart.py``) creates them. A bill line's ``accounting_field_selections[].category_info
# .external_id`` names the field; the selection's ``external_id`` is the Visma value.
FIELD_GL_ACCOUNT = "gl_account"  # GL accounts category; selection type GL_ACCOUNT
FIELD_COST_CENTRE = "subaccount-1"  # SUBACCOUNT segment 1 values
FIELD_DEPARTMENT = "subaccount-2"  # SUBACCOUNT segment 2 values
FIELD_PROJECT = "project"  # Visma project ids
FIELD_VAT = "vat"  # Visma VAT ids
FIELD_TASK = "project_task"  # Visma project tasks, as "<project id>/<task id>"
# Labels of the vendor onboarding form answers (custom_form_collection_response) that carry
# a vendor's organisation and VAT numbers in the demo company. A customer chooses its own:
# a dataset sets others (``Dataset.vendor_form_labels``), which the connector has never seen.
FORM_ORG_NUMBER = "Organisasjonsnummer"
FORM_VAT_NUMBER = "MVA-nummer"


@dataclass(frozen=True)
class SeedVendor:
    """A Ramp bill-pay vendor, with one contact.

    ``org_number``/``vat_number`` become onboarding form answers under the dataset's
    ``vendor_form_labels``; ``form_answers`` are further (label, text) answers, and
    ``description``/``name_legal`` free text where a customer may also have written them.
    """

    id: str
    name: str
    country: str
    currency: str
    email: str
    address_line_1: str
    city: str
    postal_code: str
    org_number: str | None = None
    vat_number: str | None = None
    net_payment_terms: int = 30
    form_answers: tuple[tuple[str, str], ...] = ()
    description: str | None = None
    name_legal: str | None = None


@dataclass(frozen=True)
class SeedBill:
    """A Ramp bill. ``approval_status`` follows Ramp's enum."""

    id: str
    vendor_id: str
    invoice_number: str
    currency: str
    issued_at: date
    due_at: date
    lines: tuple[SeedBillLine, ...]
    approval_status: str = "APPROVED"
    memo: str = ""
    is_credit: bool = False  # a vendor credit: becomes a Visma DebitAdj
    purchase_order_id: str | None = None
    selections: tuple[tuple[str, str], ...] = ()  # bill-level coding: (field id, option id)
    entity_id: str | None = None  # the Ramp entity it belongs to; None: the primary one

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


@dataclass(frozen=True)
class SeedPurchaseOrder:
    id: str
    number: str
    vendor_id: str
    currency: str
    promise_date: date
    lines: tuple[SeedBillLine, ...]
    memo: str = ""
    entity_id: str | None = None  # None: the primary entity


@dataclass(frozen=True)
class SeedEntity:
    """A Ramp entity (one legal company of the business) and its accounting settings."""

    id: str
    name: str
    currency: str
    is_primary: bool = True
    accounts: tuple[SeedEntityAccount, ...] = ()


@dataclass(frozen=True)
class SeedRampOption:
    """An option of a Ramp accounting field: its ERP id, what Ramp users see, its code."""

    id: str
    value: str
    code: str | None = None
    active: bool = True


@dataclass(frozen=True)
class SeedRampField:
    """A Ramp accounting field that exists before the connector's first push (made by a
    Universal CSV import or an earlier integration), with the customer's own id and name.

    ``category_type`` is what selections on it carry as ``category_info.type`` (COST_CENTER,
    PROJECT, TAX_CODE, OTHER, …; ramp-api.md §5.1 ApiAccountingFieldSelection).
    """

    id: str
    name: str
    category_type: str = "OTHER"
    options: tuple[SeedRampOption, ...] = ()
    required_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedRampGLAccount:
    """A GL account in Ramp's chart: ERP id, name, code (ramp-api.md §5.3)."""

    id: str
    name: str
    code: str | None = None
    classification: str = "EXPENSE"
    active: bool = True


@dataclass(frozen=True)
class SeedRampChart:
    """The accounting chart a Ramp business already holds, instead of a mirror of Visma's.

    ``gl_category_id``/``gl_category_name`` name the GL accounts' category: the field id bills'
    GL selections carry (ramp-api.md §5.5: e.g. "Category").
    """

    provider_name: str = "Universal CSV"
    gl_category_id: str = FIELD_GL_ACCOUNT
    gl_category_name: str = "GL Account"
    gl_accounts: tuple[SeedRampGLAccount, ...] = ()
    fields: tuple[SeedRampField, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """Everything both sandboxes start with."""

    company_name: str
    base_currency: str
    entities: tuple[SeedEntity, ...]
    accounts: tuple[SeedAccount, ...] = ()
    segments: tuple[SeedSegment, ...] = ()
    projects: tuple[SeedProject, ...] = ()
    vat_codes: tuple[SeedVat, ...] = ()
    periods: tuple[SeedPeriod, ...] = ()
    suppliers: tuple[SeedSupplier, ...] = ()
    vendors: tuple[SeedVendor, ...] = ()
    bills: tuple[SeedBill, ...] = ()
    purchase_orders: tuple[SeedPurchaseOrder, ...] = ()
    currencies: tuple[str, ...] = field(default=("NOK", "SEK", "EUR", "DKK", "USD"))
    # Ramp's own chart (a customer with history); None: Visma's chart mirrored as if pushed.
    ramp_chart: SeedRampChart | None = None
    # Ramp: the labels of the vendor form answers that hold org_number / vat_number.
    vendor_form_labels: tuple[str, str] = (FORM_ORG_NUMBER, FORM_VAT_NUMBER)
    # Visma: supplier set-up, and whether suppliers are numbered by Visma ("auto") or by
    # whoever creates one ("manual": a create without a number is refused).
    supplier_classes: tuple[SeedSupplierClass, ...] = DEFAULT_SUPPLIER_CLASSES
    default_supplier_class: str | None = "LEV"
    credit_terms: tuple[SeedCreditTerms, ...] = DEFAULT_CREDIT_TERMS
    vat_zones: tuple[SeedVatZone, ...] = DEFAULT_VAT_ZONES
    supplier_numbering: str = "auto"
    # Ramp: the people and spend beside bills (see seed_spend.py); all optional.
    departments: tuple[SeedDepartment, ...] = ()
    locations: tuple[SeedLocation, ...] = ()
    users: tuple[SeedUser, ...] = ()
    card_transactions: tuple[SeedCardTransaction, ...] = ()
    reimbursements: tuple[SeedReimbursement, ...] = ()
    statements: tuple[SeedStatement, ...] = ()
    transfers: tuple[SeedTransfer, ...] = ()


def _periods(today: date, *, general_ledger: bool = False) -> tuple[SeedPeriod, ...]:
    """Twenty-four monthly periods around ``today``; the month two back (and every earlier
    one) is closed for AP, and with ``general_ledger`` in the general ledger too."""
    periods = []
    year, month = today.year - 1, today.month
    for _ in range(24):
        periods.append(SeedPeriod(f"{year:04d}{month:02d}"))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    closed_year, closed_month = (
        (today.year, today.month - 2)
        if today.month > 2
        else (
            today.year - 1,
            today.month + 10,
        )
    )
    closed = f"{closed_year:04d}{closed_month:02d}"
    return tuple(
        SeedPeriod(
            p.period_id,
            closed_in_supplier_ledger=p.period_id <= closed,
            closed_in_general_ledger=general_ledger and p.period_id <= closed,
        )
        for p in periods
    )


def empty_dataset(today: date | None = None) -> Dataset:
    """One entity, currencies and open periods: enough for a sandbox to serve requests."""
    today = today or date.today()
    return Dataset(
        company_name="Empty Company AS",
        base_currency="NOK",
        entities=(SeedEntity("00000000-0000-4000-8000-000000000001", "Empty Company AS", "NOK"),),
        periods=_periods(today),
        vat_codes=(SeedVat("0", "No VAT", Decimal("0")),),
    )


def demo_dataset(today: date | None = None) -> Dataset:
    """The demo company; see the module docstring."""
    from ml_connector.sandbox._demo import build_demo

    return build_demo(today or date.today())
