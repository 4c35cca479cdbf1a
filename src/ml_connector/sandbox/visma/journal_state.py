"""A general-ledger batch (Visma's journal transaction, ``/v2/journaltransaction``) as stored.

Amounts: ``debit``/``credit`` in the batch's currency (what ``debitAmountInCurrency`` and
``creditAmountInCurrency`` write), and their base-currency equivalents at the batch's
exchange rate. A batch is ``Hold`` or ``Balanced`` until released, then ``Posted`` (or
``Unposted`` for a company that does not post on release).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ml_connector.sandbox.visma.attachments import Attachment

__all__ = [
    "EDITABLE_BATCH_STATUSES",
    "RELEASED_BATCH_STATUSES",
    "JournalLine",
    "JournalTransaction",
]

EDITABLE_BATCH_STATUSES = frozenset({"Hold", "Balanced"})
RELEASED_BATCH_STATUSES = frozenset({"Unposted", "Posted", "Released", "Completed"})


@dataclass
class JournalLine:
    line_number: int
    account: str = ""
    debit: Decimal = Decimal("0.00")  # in the batch's currency
    credit: Decimal = Decimal("0.00")
    debit_base: Decimal = Decimal("0.00")  # in the company's base currency
    credit_base: Decimal = Decimal("0.00")
    segments: dict[int, str] = field(default_factory=dict)
    project: str | None = None
    project_task: str | None = None
    reference_number: str | None = None
    description: str | None = None  # transactionDescription
    vat_code: str | None = None
    vat_id: str | None = None
    branch: str | None = None
    uom: str | None = None
    quantity: Decimal | None = None
    note: str | None = None


@dataclass
class JournalTransaction:
    batch_number: str
    financial_period: str
    transaction_date: datetime
    currency_id: str
    module: str = "GL"
    status: str = "Balanced"
    hold: bool = False
    exchange_rate: Decimal = Decimal(1)
    ledger: str = "ACTUAL"
    description: str | None = None
    branch: str | None = None
    control_total: Decimal | None = None
    auto_reversing: bool = False
    create_vat_transaction: bool = False
    skip_vat_amount_validation: bool = False
    transaction_code: str | None = None
    lines: list[JournalLine] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    created: datetime = datetime.min
    version: int = 0
    last_modified: datetime = datetime.min

    @property
    def released(self) -> bool:
        return self.status in RELEASED_BATCH_STATUSES

    def totals(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(debit, credit) in the batch's currency, then in the base currency."""
        zero = Decimal("0.00")
        return (
            sum((line.debit for line in self.lines), zero),
            sum((line.credit for line in self.lines), zero),
            sum((line.debit_base for line in self.lines), zero),
            sum((line.credit_base for line in self.lines), zero),
        )
