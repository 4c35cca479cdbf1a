"""Resolution of Ramp coding into Visma lines (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.errors import MappingError, NeedsAttention
from ml_connector.mapping.coding import CodedLine, CodingRules, Selection, resolve_lines

GL = Selection("gl_account", "6800", "GL_ACCOUNT")
CC = Selection("subaccount-1", "100")
DEPT = Selection("subaccount-2", "20")
PROJECT = Selection("project", "P1001", "PROJECT")


def test_line_coding_wins_over_bill_coding() -> None:
    """A line's own selection beats the bill-level one; the bill fills what the line lacks."""
    lines = [CodedLine(10000, "Paper", (Selection("gl_account", "6560", "GL_ACCOUNT"), CC))]
    resolved = resolve_lines(
        lines, (GL, DEPT, PROJECT), CodingRules(), currency="NOK", total_minor=10000
    )
    assert resolved[0].account == "6560"
    assert resolved[0].subaccount == ((1, "100"), (2, "20"))
    assert resolved[0].project == "P1001"


def test_vat_comes_from_the_account_default() -> None:
    """Without a VAT selection the account's VAT code applies, then the connection default."""
    rules = CodingRules(vat_by_account={"6800": "1"}, default_vat="0")
    lines = [
        CodedLine(100, "a", (GL,)),
        CodedLine(200, "b", (Selection("gl_account", "7350", "GL_ACCOUNT"),)),
    ]
    resolved = resolve_lines(lines, (), rules, currency="NOK", total_minor=300)
    assert [line.vat_code for line in resolved] == ["1", "0"]


def test_missing_account_is_a_mapping_error() -> None:
    """A line with no GL account and no default is never guessed."""
    with pytest.raises(MappingError) as info:
        resolve_lines(
            [CodedLine(100, "Lunch", (CC,))], (), CodingRules(), currency="NOK", total_minor=100
        )
    assert "no GL account" in info.value.message
    assert info.value.code == "unmapped_account"


def test_default_account_applies_only_when_configured() -> None:
    """A configured default expense account codes an uncoded line."""
    rules = CodingRules(default_account="7790")
    resolved = resolve_lines([CodedLine(100, "x")], (), rules, currency="NOK", total_minor=100)
    assert resolved[0].account == "7790"


def test_lines_must_add_up_to_the_total() -> None:
    """Lines that do not add up to the bill total stop the record with both amounts shown."""
    with pytest.raises(NeedsAttention) as info:
        resolve_lines(
            [CodedLine(100, "x", (GL,))], (), CodingRules(), currency="NOK", total_minor=150
        )
    assert "1.00 NOK" in info.value.message
    assert "1.50 NOK" in info.value.message


def test_bill_without_lines_becomes_one_line() -> None:
    """A bill with no lines becomes one line carrying the total and the bill coding."""
    resolved = resolve_lines([], (GL,), CodingRules(), currency="SEK", total_minor=12345)
    assert len(resolved) == 1
    assert resolved[0].amount == Decimal("123.45")


@given(amounts=st.lists(st.integers(min_value=1, max_value=10**10), min_size=1, max_size=12))
def test_resolved_amounts_sum_to_the_bill_total(amounts: list[int]) -> None:
    """Whatever the split, the Visma line amounts add up to the Ramp total exactly."""
    lines = [CodedLine(a, f"line {i}", (GL,)) for i, a in enumerate(amounts)]
    resolved = resolve_lines(lines, (), CodingRules(), currency="EUR", total_minor=sum(amounts))
    assert sum((line.amount for line in resolved), Decimal(0)) == Decimal(sum(amounts)) / 100
    assert [line.line_number for line in resolved] == list(range(1, len(amounts) + 1))


@given(
    order=st.permutations([GL, CC, DEPT, PROJECT]),
)
def test_resolution_ignores_selection_order(order: list[Selection]) -> None:
    """The order Ramp lists selections in never changes the result."""
    resolved = resolve_lines(
        [CodedLine(1, "x", tuple(order))], (), CodingRules(), currency="NOK", total_minor=1
    )
    assert (resolved[0].account, resolved[0].subaccount, resolved[0].project) == (
        "6800",
        ((1, "100"), (2, "20")),
        "P1001",
    )
