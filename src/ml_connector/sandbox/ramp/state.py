"""``RampState``: every object one simulated Ramp business holds, plus the rules read from it.

State is a set of insertion-ordered dicts keyed by Ramp id, one per resource. Accounting
objects (GL accounts, accounting vendors, fields) belong to the accounting connection that was
active when they were created; the accounting API only shows those of the active connection,
which is how Ramp behaves when a business switches connections. Objects created on demand
while no connection exists (coding on a bill seeded before any chart push) have no connection:
bills still render them, the accounting API does not list them.

Webhook subscriptions and the log of published events live here too, so a reset forgets them
with everything else. Mutations happen in ``operations.py`` (and ``webhooks.py`` for
subscriptions); this module only stores, looks up and decides ``sync_ready``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp.model import (
    AccountingConnection,
    AccountingVendor,
    ApprovalStatus,
    Bill,
    CustomField,
    Entity,
    ExportError,
    FieldOption,
    GLAccount,
    PurchaseOrder,
    Selection,
    SyncRecord,
    SyncStatus,
    Vendor,
    VendorContact,
)
from ml_connector.sandbox.ramp.spend_model import (
    CardTransaction,
    Department,
    Location,
    Receipt,
    Reimbursement,
    Statement,
    Transfer,
    User,
)
from ml_connector.sandbox.seed import FORM_ORG_NUMBER, FORM_VAT_NUMBER

if TYPE_CHECKING:
    from ml_connector.sandbox.ramp.webhooks import Subscription

__all__ = ["BillOwner", "RampState"]


@dataclass(frozen=True)
class BillOwner:
    """The Ramp user who owns bills and vendors created in the sandbox."""

    id: str
    first_name: str
    last_name: str


@dataclass
class RampState:
    """All objects of one simulated Ramp business."""

    business_id: str
    company_name: str
    base_currency: str
    owner: BillOwner
    gl_category_ramp_id: str
    vendor_category_ramp_id: str
    sync_on_creation: bool = False
    created_at: float = 0.0  # when the business joined Ramp (``Business.created_time``)
    # The GL accounts' category: the field id (and name) GL selections on bills carry.
    gl_category_id: str = seed.FIELD_GL_ACCOUNT
    gl_category_name: str = "GL Account"
    # The vendor onboarding form's labels for the organisation and VAT number answers.
    form_labels: tuple[str, str] = (FORM_ORG_NUMBER, FORM_VAT_NUMBER)
    entities: dict[str, Entity] = field(default_factory=dict)
    vendors: dict[str, Vendor] = field(default_factory=dict)
    contacts: dict[str, VendorContact] = field(default_factory=dict)
    bills: dict[str, Bill] = field(default_factory=dict)
    purchase_orders: dict[str, PurchaseOrder] = field(default_factory=dict)
    connections: dict[str, AccountingConnection] = field(default_factory=dict)
    gl_accounts: dict[str, GLAccount] = field(default_factory=dict)
    accounting_vendors: dict[str, AccountingVendor] = field(default_factory=dict)
    fields: dict[str, CustomField] = field(default_factory=dict)
    options: dict[str, FieldOption] = field(default_factory=dict)
    syncs: dict[str, SyncRecord] = field(default_factory=dict)  # by idempotency key
    export_errors: list[ExportError] = field(default_factory=list)
    # People and spend (spend_model.py).
    departments: dict[str, Department] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    transactions: dict[str, CardTransaction] = field(default_factory=dict)
    reimbursements: dict[str, Reimbursement] = field(default_factory=dict)
    receipts: dict[str, Receipt] = field(default_factory=dict)
    statements: dict[str, Statement] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # every webhook event published
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def blank(cls, company_name: str, base_currency: str) -> RampState:
        """A business with no objects yet."""
        return cls(
            business_id=new_id(),
            company_name=company_name,
            base_currency=base_currency,
            owner=BillOwner(new_id(), "Siri", "Sandvik"),
            gl_category_ramp_id=new_id(),
            vendor_category_ramp_id=new_id(),
        )

    def next_seq(self) -> int:
        """The next creation-order number (pagination keyset)."""
        return next(self._seq)

    # -- accounting connection ------------------------------------------------------------

    def active_connection(self) -> AccountingConnection | None:
        return next((c for c in self.connections.values() if c.is_active), None)

    def active_connection_id(self) -> str | None:
        connection = self.active_connection()
        return connection.id if connection else None

    def visible_gl_accounts(self) -> list[GLAccount]:
        """GL accounts of the active connection, in creation order."""
        active = self.active_connection_id()
        return [a for a in self.gl_accounts.values() if active and a.connection_id == active]

    def visible_accounting_vendors(self) -> list[AccountingVendor]:
        active = self.active_connection_id()
        return [v for v in self.accounting_vendors.values() if active and v.connection_id == active]

    def visible_fields(self) -> list[CustomField]:
        active = self.active_connection_id()
        return [f for f in self.fields.values() if active and f.connection_id == active]

    def options_of(self, field_ramp_id: str) -> list[FieldOption]:
        return [o for o in self.options.values() if o.field_ramp_id == field_ramp_id]

    # -- lookups by ERP (remote) id, preferring the active connection ---------------------

    def gl_by_remote(self, remote_id: str) -> GLAccount | None:
        return _prefer_active(
            (a for a in self.gl_accounts.values() if a.remote_id == remote_id),
            self.active_connection_id(),
        )

    def accounting_vendor_by_remote(self, remote_id: str) -> AccountingVendor | None:
        return _prefer_active(
            (v for v in self.accounting_vendors.values() if v.remote_id == remote_id),
            self.active_connection_id(),
        )

    def field_by_remote(self, remote_id: str) -> CustomField | None:
        return _prefer_active(
            (f for f in self.fields.values() if f.remote_id == remote_id),
            self.active_connection_id(),
        )

    def option_by_remote(self, field_ramp_id: str, remote_id: str) -> FieldOption | None:
        return next((o for o in self.options_of(field_ramp_id) if o.remote_id == remote_id), None)

    # -- readiness ------------------------------------------------------------------------

    def missing_required_fields(self, bill: Bill) -> list[str]:
        """ERP ids of active fields required for bills that the bill does not code."""
        lines = [line.selections for line in bill.lines]
        lines += [line.selections for line in bill.inventory_lines]
        return self.missing_required("BILL", bill.selections, lines)

    def missing_required(
        self, object_type: str, header: list[Selection], lines: list[list[Selection]]
    ) -> list[str]:
        """ERP ids of active fields whose ``is_required_for`` names ``object_type`` (BILL,
        TRANSACTION, REIMBURSEMENT, …) that are coded neither on the object nor on every line.
        """
        missing: list[str] = []
        for custom in self.visible_fields():
            if not custom.is_active or object_type not in custom.is_required_for:
                continue
            wanted = {o.ramp_id for o in self.options_of(custom.ramp_id)}
            on_header = _codes(header, wanted)
            on_every_line = bool(lines) and all(_codes(line, wanted) for line in lines)
            if not (on_header or on_every_line):
                missing.append(custom.remote_id)
        return missing

    def primary_entity_id(self) -> str:
        """The primary entity (else the first one): where objects without an entity belong."""
        primary = next((e for e in self.entities.values() if e.is_primary), None)
        return (primary or next(iter(self.entities.values()))).id

    def is_sync_ready(self, bill: Bill) -> bool:
        """Ramp's ``sync_ready``: approved (or created, with sync-on-creation), live, unsynced."""
        if bill.archived_at is not None or bill.sync_status is not SyncStatus.NOT_SYNCED:
            return False
        if self.sync_on_creation:
            approved = bill.approval_status not in (
                ApprovalStatus.REJECTED,
                ApprovalStatus.TERMINATED,
            )
        else:
            approved = bill.approval_status is ApprovalStatus.APPROVED
        return approved and not self.missing_required_fields(bill)


def _codes(selections: list[Selection], wanted: set[str]) -> bool:
    return any(s.kind == "option" and s.ramp_id in wanted for s in selections)


def new_id() -> str:
    """A fresh Ramp-style id (UUID4)."""
    return str(uuid.uuid4())


_Scoped = TypeVar("_Scoped", GLAccount, AccountingVendor, CustomField)


def _prefer_active(candidates: Iterable[_Scoped], active: str | None) -> _Scoped | None:
    found = list(candidates)
    for item in found:
        if item.connection_id == active:
            return item
    return found[0] if found else None
