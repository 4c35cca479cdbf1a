"""Which Ramp payments become Visma supplier payments.

``PAID_IN_ERP`` (entered in the ERP already) and ``VENDOR_CREDIT`` (settled with a credit)
post no payment in Visma; Ramp is told the payment is synced all the same, so the bill leaves
its accounting queue. Any other manual method (cash, a wire sent outside Ramp) is paid from the
connection's cash account, and without one the record says so in those words.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from integration.core.company import BILL_KAFFE_2, BILL_POSTEN
from integration.procurement.procurement_kit import CASH_ACCOUNT, PAYMENT_PATH, open_shop
from ml_connector.store import SyncStatus

PAYMENTS_ON = {"payments": {"enabled": True, "cash_account": CASH_ACCOUNT}}
PAID_ON = date.today()


@pytest.mark.parametrize(
    ("payment_method", "manual"),
    [("PAID_MANUALLY", "PAID_IN_ERP"), ("VENDOR_CREDIT", None)],
    ids=["manual-paid-in-erp", "vendor-credit"],
)
async def test_settled_outside_visma_posts_no_payment(
    tmp_path: Path, payment_method: str, manual: str | None
) -> None:
    """No supplier payment, no release; BILL_PAYMENT_SYNC still marks the bill paid-synced."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        shop.ramp.pay_bill(
            BILL_POSTEN,
            payment_date=PAID_ON,
            payment_method=payment_method,
            manual_payment_method=manual,
        )
        mark = shop.journal_mark()

        summary = await shop.sync()

        assert shop.payments_of(BILL_POSTEN) == []
        assert shop.posts(PAYMENT_PATH) == []
        assert shop.visma_writes(mark) == []  # no release of the invoice either
        assert shop.invoice_of(BILL_POSTEN)["status"] == "Balanced"
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]
        bill = shop.ramp.state.bills[BILL_POSTEN]
        assert bill.sync_status.value == "BILL_AND_PAYMENT_SYNCED"
        record = await shop.record("payment", BILL_POSTEN)
        assert record.status is SyncStatus.SUCCEEDED
        assert summary.by_type["payment"]["skipped"] == 1


async def test_other_manual_methods_are_paid_from_the_cash_account(tmp_path: Path) -> None:
    """A bill paid in cash outside Ramp: one Visma payment from the configured cash account."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        shop.ramp.pay_bill(
            BILL_KAFFE_2,
            payment_date=PAID_ON,
            payment_method="PAID_MANUALLY",
            manual_payment_method="CASH",
        )

        await shop.sync()

        [payment] = shop.payments_of(BILL_KAFFE_2)
        assert (payment["cashAccount"], payment["status"]) == (CASH_ACCOUNT, "Closed")
        assert shop.invoice_of(BILL_KAFFE_2)["status"] == "Closed"
        assert shop.ramp_syncs(BILL_KAFFE_2) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]


async def test_a_manual_payment_without_a_cash_account_says_so(tmp_path: Path) -> None:
    """No cash account: needs attention naming the manual method and how to set the account."""
    settings = {"payments": {"enabled": True}}
    async with open_shop(tmp_path, settings=settings) as shop:
        await shop.sync()
        shop.ramp.pay_bill(
            BILL_KAFFE_2,
            payment_date=PAID_ON,
            payment_method="PAID_MANUALLY",
            manual_payment_method="DOMESTIC_WIRE_TRANSFER",
        )
        mark = shop.journal_mark()

        await shop.sync()

        record = await shop.record("payment", BILL_KAFFE_2)
        assert (record.status, record.error_code) == (
            SyncStatus.NEEDS_ATTENTION,
            "payment_cash_account",
        )
        assert "paid outside Ramp (DOMESTIC_WIRE_TRANSFER)" in (record.last_error or "")
        assert "--cash-account" in (record.hint or "")
        assert shop.visma_writes(mark) == []
