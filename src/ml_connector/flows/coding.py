"""Read a Ramp bill's coding into the mapping layer's neutral types.

The mapping layer knows nothing about Ramp's JSON; this module is the one place that turns a
``Bill`` (lines, inventory lines, accounting field selections) into ``CodedLine`` and
``Selection`` values, and decides whether a bill is a vendor credit.
"""

from __future__ import annotations

from collections.abc import Iterable

from ml_connector.clients.ramp_models import AccountingFieldSelection, Bill
from ml_connector.mapping.coding import CodedLine, Selection

__all__ = ["CREDIT_MEMO_PREFIX", "bill_coding", "is_credit"]

# How a vendor credit is marked on a Ramp bill (the sandbox follows the same convention).
CREDIT_MEMO_PREFIX = "[CREDIT]"


def _selections(raw: Iterable[AccountingFieldSelection]) -> tuple[Selection, ...]:
    return tuple(
        Selection(
            field=sel.category_info.external_id or "",
            value=sel.external_id,
            type=sel.category_info.type or "OTHER",
            name=sel.name or "",
        )
        for sel in raw
    )


def is_credit(bill: Bill) -> bool:
    """A vendor credit: marked by ``CREDIT_MEMO_PREFIX`` in its memo, or a negative amount.

    Ramp's bill object has no credit flag; the convention is documented in docs/mapping.md.
    """
    return bill.amount.amount < 0 or (bill.memo or "").startswith(CREDIT_MEMO_PREFIX)


def bill_coding(bill: Bill) -> tuple[list[CodedLine], tuple[Selection, ...]]:
    """The bill's lines (amounts as signed minor units) and its bill-level selections."""
    lines = [
        CodedLine(
            line.amount.amount, line.memo or "", _selections(line.accounting_field_selections)
        )
        for line in bill.line_items
    ]
    lines += [
        CodedLine(
            line.amount.amount,
            line.memo or "",
            _selections(line.accounting_field_selections),
            quantity=line.unit_quantity or 1,
        )
        for line in bill.inventory_line_items
    ]
    return lines, _selections(bill.accounting_field_selections)
