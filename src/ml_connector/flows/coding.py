"""Read a Ramp bill's coding into the mapping layer's neutral types.

The mapping layer knows nothing about Ramp's JSON; this module is the one place that turns a
``Bill`` (lines, inventory lines, accounting field selections) into ``CodedLine`` and
``Selection`` values (keyed by the field's ERP id, as field bindings are), and decides whether a
bill is a vendor credit.

Ramp's bill has no credit flag, and Ramp refuses negative line amounts, so a vendor credit
entered in Ramp's bill pay is indistinguishable from an invoice. Two things make a bill a credit
here: a negative bill amount, and, when a connection turns it on, **our own memo rule**: a memo
starting with the connection's ``credit_memo_prefix`` (for example ``[CREDIT]``). The rule is
off by default; it is a convention of this connector (and its sandbox), not Ramp's.
"""

from __future__ import annotations

from collections.abc import Iterable

from ml_connector.clients.ramp_models import AccountingFieldSelection, Bill, CategoryInfo
from ml_connector.mapping.coding import CodedLine, Selection

__all__ = ["CREDIT_MEMO_PREFIX", "bill_coding", "field_key", "is_credit", "selections"]

# The memo prefix the demo and the sandbox mark vendor credits with (a convention of ours).
CREDIT_MEMO_PREFIX = "[CREDIT]"


def field_key(category: CategoryInfo) -> str:
    """The key a field's binding is stored under: its ERP id, else ``ramp:<Ramp id>``."""
    return category.external_id or f"ramp:{category.id}"


def selections(raw: Iterable[AccountingFieldSelection]) -> tuple[Selection, ...]:
    """Ramp accounting field selections as the mapping layer's ``Selection`` values."""
    return tuple(
        Selection(
            field=field_key(sel.category_info),
            value=sel.external_id,
            type=sel.category_info.type or "OTHER",
            name=sel.name or "",
            field_name=sel.category_info.name or "",
            code=sel.external_code or None,
        )
        for sel in raw
    )


def is_credit(bill: Bill, memo_prefix: str | None = None) -> bool:
    """A vendor credit: a negative amount, or (when the connection's rule is on, ``memo_prefix``
    not None) a memo starting with ``memo_prefix``. See the module docstring."""
    if bill.amount.amount < 0:
        return True
    return bool(memo_prefix) and (bill.memo or "").lstrip().startswith(str(memo_prefix))


def bill_coding(bill: Bill) -> tuple[list[CodedLine], tuple[Selection, ...]]:
    """The bill's lines (amounts as signed minor units) and its bill-level selections."""
    lines = [
        CodedLine(line.amount.amount, line.memo or "", selections(line.accounting_field_selections))
        for line in bill.line_items
    ]
    lines += [
        CodedLine(
            line.amount.amount,
            line.memo or "",
            selections(line.accounting_field_selections),
            quantity=line.unit_quantity or 1,
        )
        for line in bill.inventory_line_items
    ]
    return lines, selections(bill.accounting_field_selections)
