"""Bill payments (F6, second phase): a paid Ramp bill becomes one Visma supplier payment.

The payment is applied to the bill's invoice from the configured cash account, with Ramp's
payment date and amount; once released, the invoice is paid (balance 0, Closed). Ramp then gets
``BILL_PAYMENT_SYNC``, always after the bill's own ``BILL_SYNC``, and only once however often
the payment is asked for again.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from integration.core.company import BILL_KAFFE_2, BILL_POSTEN, month_start
from integration.procurement.procurement_kit import CASH_ACCOUNT, PAYMENT_PATH, Shop, open_shop
from ml_connector.sandbox.delivery import DeliveryFaults
from ml_connector.sandbox.faults import FaultRule
from ml_connector.store import SyncStatus

PAYMENTS_ON = {"payments": {"enabled": True, "cash_account": CASH_ACCOUNT}}
PAID_ON = date.today()


def _check_paid(shop: Shop, bill_id: str, amount: str) -> None:
    """One released payment applied in full to the bill's invoice, which is now paid."""
    invoice = shop.invoice_of(bill_id)
    [payment] = shop.payments_of(bill_id)
    assert payment["type"] == "Payment"
    assert payment["status"] == "Closed"
    assert payment["released"] is True
    assert payment["cashAccount"] == CASH_ACCOUNT
    assert payment["supplier"]["number"] == invoice["supplier"]["number"]
    assert str(payment["applicationDate"])[:10] == PAID_ON.isoformat()
    assert Decimal(str(payment["paymentAmount"])) == Decimal(amount)
    [applied] = payment["paymentLines"]
    assert (applied["docType"], applied["invoiceRefNbr"]) == ("Invoice", invoice["referenceNumber"])
    assert Decimal(str(applied["amountPaid"])) == Decimal(amount)
    assert (invoice["status"], Decimal(str(invoice["balance"]))) == ("Closed", Decimal("0"))


async def test_paid_bill_gets_one_payment_and_one_payment_sync(tmp_path: Path) -> None:
    """A synced bill paid in Ramp: one payment on its invoice, then BILL_PAYMENT_SYNC."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)

        summary = await shop.sync()

        assert summary.by_type["payment"]["created"] == 1
        _check_paid(shop, BILL_POSTEN, "450.00")
        bill = shop.ramp.state.bills[BILL_POSTEN]
        assert bill.sync_status.value == "BILL_AND_PAYMENT_SYNCED"
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]
        assert shop.posts(PAYMENT_PATH) == ["201"]


async def test_bill_paid_before_its_first_sync_gets_both_phases_in_order(tmp_path: Path) -> None:
    """Paid before it ever reached Visma: BILL_SYNC, then BILL_PAYMENT_SYNC, in one pass."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        shop.ramp.pay_bill(BILL_KAFFE_2, payment_date=PAID_ON)

        summary = await shop.sync()

        assert (summary.retrying, summary.needs_attention) == (0, 0), summary
        _check_paid(shop, BILL_KAFFE_2, "2500.50")
        assert shop.ramp_syncs(BILL_KAFFE_2) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]
        unpaid = shop.ramp.state.bills[BILL_POSTEN]
        assert unpaid.sync_status.value == "BILL_SYNCED"  # the others: bill sync only
        assert shop.payments_of(BILL_POSTEN) == []


async def test_repeated_payment_events_create_nothing_twice(tmp_path: Path) -> None:
    """Duplicated webhooks, a second bills.paid and a replay: still one payment, one sync."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        await shop.subscribe(["bills.paid", "bills.updated"])
        shop.ramp.webhooks.faults = DeliveryFaults(duplicate_rate=1.0)
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)
        await shop.deliver_and_work()
        _check_paid(shop, BILL_POSTEN, "450.00")

        shop.ramp.hub.publish("bills.paid", BILL_POSTEN)  # a second event, with a new id
        await shop.deliver_and_work()
        await shop.runtime.store.upsert_record(
            shop.connection_id, "payment", BILL_POSTEN, reason="test: replay", replay=True
        )
        await shop.deliver_and_work()
        await shop.sync("payments")

        _check_paid(shop, BILL_POSTEN, "450.00")
        assert shop.posts(PAYMENT_PATH) == ["201"]
        assert len(shop.visma.journal.entries("POST", "/action/release")) == 2  # invoice, payment
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]
        record = await shop.record("payment", BILL_POSTEN)
        assert record.status is SyncStatus.SUCCEEDED


async def test_ambiguous_payment_post_leaves_one_payment(tmp_path: Path) -> None:
    """Visma commits the payment but the answer fails: the retry adopts it, posts nothing."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)
        shop.visma.faults.add(
            FaultRule(kind="commit_then_fail", method="POST", path_contains="supplierPayment")
        )

        await shop.sync()

        _check_paid(shop, BILL_POSTEN, "450.00")
        assert len(shop.posts(PAYMENT_PATH)) == 1  # answered with an error, but committed
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]


async def test_only_payments_runs_even_when_not_turned_on(tmp_path: Path) -> None:
    """``--only payments`` is an explicit request: it runs with a cash account configured."""
    settings = {"payments": {"cash_account": CASH_ACCOUNT}}
    async with open_shop(tmp_path, settings=settings) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)
        await shop.sync()
        assert shop.payments_of(BILL_POSTEN) == []  # off: the plain pass leaves it

        summary = await shop.sync("payments")

        assert summary.by_type["payment"] == {
            "queued": 1,
            "created": 1,
            "updated": 0,
            "unchanged": 0,
            "held": 0,
            "skipped": 0,
            "needs_attention": 0,
            "retrying": 0,
        }
        _check_paid(shop, BILL_POSTEN, "450.00")


async def test_missing_cash_account_needs_attention(tmp_path: Path) -> None:
    """Without a cash account nothing is written; Ramp shows a payment export error."""
    async with open_shop(tmp_path, settings={"payments": {"enabled": True}}) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)
        mark = shop.journal_mark()

        await shop.sync()

        record = await shop.record("payment", BILL_POSTEN)
        assert (record.status, record.error_code) == (
            SyncStatus.NEEDS_ATTENTION,
            "payment_cash_account",
        )
        assert "payments.cash_account" in (record.hint or "")
        assert shop.visma_writes(mark) == []
        errors = [e for e in shop.ramp.state.export_errors if e.object_id == BILL_POSTEN]
        assert [e.sync_type for e in errors] == ["BILL_PAYMENT_SYNC"]


async def test_payment_into_a_closed_period_needs_attention(tmp_path: Path) -> None:
    """A payment dated in a period closed for the supplier ledger is stopped before any write."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=month_start(date.today(), 3))
        mark = shop.journal_mark()

        await shop.sync()

        record = await shop.record("payment", BILL_POSTEN)
        assert record.error_code == "payment_period_closed"
        assert shop.visma_writes(mark) == []
        assert shop.invoice_of(BILL_POSTEN)["status"] == "Balanced"


async def test_invoice_on_hold_is_not_paid(tmp_path: Path) -> None:
    """An invoice a person keeps on hold in Visma is not released or paid by the connector."""
    settings = {**PAYMENTS_ON, "post_on_hold": True}
    async with open_shop(tmp_path, settings=settings) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)
        mark = shop.journal_mark()

        await shop.sync()

        record = await shop.record("payment", BILL_POSTEN)
        assert record.error_code == "invoice_on_hold"
        assert shop.visma_writes(mark) == []
        assert shop.ramp.state.bills[BILL_POSTEN].sync_status.value == "BILL_SYNCED"
