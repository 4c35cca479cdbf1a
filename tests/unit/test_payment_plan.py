"""Pure payment and sync-pass decisions: the supplier payment for a paid bill, and ``--only``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.clients.ramp_models import Bill
from ml_connector.clients.visma import to_wire
from ml_connector.clients.visma_models import SupplierInvoice
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.flows.payments import PaymentOptions, build_payment
from ml_connector.runtime.sync import parse_only


def _bill(**changes: Any) -> Bill:
    data: dict[str, Any] = {
        "id": "b-1",
        "amount": {"amount": 1_234_56, "currency_code": "NOK"},
        "status": "PAID",
        "invoice_number": "INV-9",
        "vendor": {"id": "v-1", "name": "V"},
        "paid_at": "2026-03-20T15:00:00+00:00",
        "payment": {
            "amount": {"amount": 1_234_56, "currency_code": "NOK"},
            "payment_date": "2026-03-19T00:00:00+00:00",
        },
    }
    data.update(changes)
    return Bill.model_validate(data)


INVOICE = SupplierInvoice.model_validate(
    {
        "documentType": "Invoice",
        "referenceNumber": "000042",
        "supplier": {"number": "50001"},
        "currencyId": "NOK",
        "status": "Open",
    }
)
OPTIONS = PaymentOptions(enabled=True, cash_account="1920", payment_method="BANK")
TODAY = date(2026, 4, 2)


def test_payment_takes_ramps_date_and_amount() -> None:
    """Ramp's payment date and amount, applied in full to the invoice, from the cash account."""
    payment = build_payment(_bill(), INVOICE, OPTIONS, today=TODAY)
    assert to_wire(payment) == {
        "type": {"value": "Payment"},
        "hold": {"value": False},
        "applicationDate": {"value": "2026-03-19T00:00:00"},
        "paymentRef": {"value": "INV-9"},
        "supplier": {"value": "50001"},
        "paymentMethod": {"value": "BANK"},
        "cashAccount": {"value": "1920"},
        "currency": {"value": "NOK"},
        "description": {"value": "ramp-payment:b-1"},
        "paymentAmount": {"value": Decimal("1234.56")},
        "paymentLines": [
            {
                "operation": "Insert",
                "documentType": {"value": "Invoice"},
                "refNbr": {"value": "000042"},
                "amountPaid": {"value": Decimal("1234.56")},
            }
        ],
    }


def test_payment_without_details_falls_back_to_the_bill() -> None:
    """No payment object: the bill's amount and its paid_at day."""
    options = PaymentOptions(cash_account="1920")
    payment = build_payment(_bill(payment=None), INVOICE, options, today=TODAY)
    assert payment.payment_amount == Decimal("1234.56")
    assert str(payment.application_date) == "2026-03-20"
    assert payment.payment_method is None


def test_payment_without_any_date_takes_the_clocks_day() -> None:
    """No payment date and no paid_at: the payment is dated on the flow clock's day."""
    bill = _bill(payment=None, paid_at=None)
    payment = build_payment(bill, INVOICE, PaymentOptions(cash_account="1920"), today=TODAY)
    assert payment.application_date == TODAY


def test_payment_options_from_settings() -> None:
    """Settings are read leniently; a numeric cash account becomes text."""
    options = PaymentOptions.from_settings(
        ConnectionSettings.parse({"payments": {"enabled": "yes", "cash_account": 1920}})
    )
    assert options == PaymentOptions(enabled=True, cash_account="1920")
    assert PaymentOptions.from_settings(ConnectionSettings.parse({})) == PaymentOptions()


@pytest.mark.parametrize(
    ("given", "parts"),
    [
        (None, None),
        ("bills", ["bills"]),
        ("payments,purchase-orders", ["purchase-orders", "payments"]),
        (["bills", "payments"], ["bills", "payments"]),
    ],
)
def test_only_names_parts_in_pass_order(given: Any, parts: list[str] | None) -> None:
    """``--only`` accepts commas or repeats, and runs the parts in pass order."""
    assert parse_only(given) == parts


@pytest.mark.parametrize("given", ["invoices", "", ["bills", "po"]])
def test_only_refuses_unknown_parts(given: Any) -> None:
    """An unknown part is a configuration error that names the valid ones."""
    with pytest.raises(ConfigurationError, match="purchase-orders, bills, payments"):
        parse_only(given)
