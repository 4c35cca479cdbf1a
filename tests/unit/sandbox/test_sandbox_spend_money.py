"""Money in the sandboxes' spend: refund splits, exact decimal JSON, journal base amounts."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ml_connector.sandbox.ramp.api import ExactJSONResponse
from ml_connector.sandbox.ramp.money import from_minor
from ml_connector.sandbox.ramp.spend_model import SpendLine
from ml_connector.sandbox.ramp.spend_ops import _refund_lines
from ml_connector.sandbox.visma.journal_state import JournalLine, JournalTransaction
from ml_connector.sandbox.visma.journals import money

_amounts = st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=6)


@given(lines=_amounts, share=st.integers(min_value=1, max_value=1000))
def test_refund_lines_add_up_to_the_refund(lines: list[int], share: int) -> None:
    """A partial refund of a split purchase splits to the øre: the lines sum to the refund."""
    total = sum(lines)
    refund = max(1, total * share // 1000)
    split = _refund_lines([SpendLine(amount) for amount in lines], refund, total)
    assert sum(line.amount_minor for line in split) == -refund
    assert all(line.amount_minor <= 0 for line in split)


@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    currency=st.sampled_from(["NOK", "JPY", "KWD"]),
)
def test_decimal_amounts_are_written_exactly(minor: int, currency: str) -> None:
    """Transaction.amount leaves the sandbox as the exact decimal, never through a float."""
    body = ExactJSONResponse({"amount": from_minor(minor, currency)}).body
    assert json.loads(body, parse_float=Decimal)["amount"] == from_minor(minor, currency)


@given(
    amounts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=8),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=4),
)
def test_journal_base_amounts_round_each_line_half_up(amounts: list[int], rate: Decimal) -> None:
    """Each line's base amount is its currency amount times the rate, rounded to cents."""
    batch = JournalTransaction("1", "202603", datetime(2026, 3, 1), "EUR", exchange_rate=rate)
    for number, minor in enumerate(amounts, start=1):
        amount = Decimal(minor).scaleb(-2)
        batch.lines.append(
            JournalLine(number, "6800", debit=amount, debit_base=money(amount * rate))
        )
    debit, _, debit_base, _ = batch.totals()
    assert debit == sum(Decimal(m).scaleb(-2) for m in amounts)
    assert abs(debit_base - debit * rate) <= Decimal("0.005") * len(amounts)
