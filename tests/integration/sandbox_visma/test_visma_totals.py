"""Property tests of supplier-invoice totals (Decimal, ROUND_HALF_UP) and event-name tables."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from integration.sandbox_visma.visma_kit import ManualClock, make_dataset
from ml_connector.sandbox.visma.invoices import create_invoice
from ml_connector.sandbox.visma.routes_legacy import LEGACY_EVENTS
from ml_connector.sandbox.visma.seeding import company_from_dataset
from ml_connector.sandbox.visma.webhooks import EVENTS

RATES = {"0": Decimal("0"), "1": Decimal("25"), "3": Decimal("15"), "5": Decimal("12")}
CENT = Decimal("0.01")

amounts = st.integers(min_value=1, max_value=10_000_000).map(lambda minor: Decimal(minor) / 100)
lines = st.lists(st.tuples(amounts, st.sampled_from(sorted(RATES))), min_size=1, max_size=8)


def _build(rows: list[tuple[Decimal, str]], mode: str) -> Any:
    company = company_from_dataset(
        make_dataset(), company_id="1", tenant_id="t", clock=ManualClock()
    )
    data = {
        "supplierNumber": "50001",
        "financialPeriod": "202603",
        "taxCalculationMode": mode,
        "invoiceLines": [
            {
                "operation": "Insert",
                "accountNumber": "6800",
                "costInCurrency": amount,
                "vatCodeId": vat,
            }
            for amount, vat in rows
        ],
    }
    return create_invoice(company, data)


def _by_code(rows: list[tuple[Decimal, str]]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for amount, vat in rows:
        sums[vat] = sums.get(vat, Decimal(0)) + amount
    return sums


@settings(max_examples=60, deadline=None)
@given(lines)
def test_gross_total_is_exactly_the_sum_of_lines(rows: list[tuple[Decimal, str]]) -> None:
    """Gross: the document total equals the lines; VAT + taxable equals each code's gross."""
    invoice = _build(rows, "Gross")
    assert invoice.amount == invoice.detail_total == sum(amount for amount, _ in rows)
    for detail in invoice.tax_details:
        gross = _by_code(rows)[detail.vat_id]
        rate = RATES[detail.vat_id]
        expected = (gross * rate / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        assert (detail.vat, detail.taxable + detail.vat) == (expected, gross)
    assert invoice.vat_total == sum(d.vat for d in invoice.tax_details)


@settings(max_examples=60, deadline=None)
@given(lines)
def test_net_total_adds_rounded_vat(rows: list[tuple[Decimal, str]]) -> None:
    """Net: each code's VAT is its net sum * rate, half up; the total is lines + VAT."""
    invoice = _build(rows, "Net")
    expected = {
        vat: (net * RATES[vat] / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        for vat, net in _by_code(rows).items()
    }
    assert {d.vat_id: d.vat for d in invoice.tax_details} == expected
    assert invoice.amount == invoice.detail_total + sum(expected.values())
    assert invoice.amount.as_tuple().exponent == -2


def test_every_event_has_a_legacy_subscription_name() -> None:
    """Each published event can be subscribed to through the legacy API."""
    assert set(EVENTS.values()) == set(LEGACY_EVENTS)
