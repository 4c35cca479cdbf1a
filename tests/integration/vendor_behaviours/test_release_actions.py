"""Release actions as Visma's current API answers them: 202 and a background request.

Paying a bill releases its invoice and then the payment. Each release is accepted with 202
and runs later; a document counts as released only when its background request is Finished
and the document reads back released, and only then is the payment written back to Ramp. A
request still running survives a restart (its id is stored); Failed or refused needs a person,
with Visma's words. The 9.11 answer (``actionResult``) still works as the legacy path.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from integration.core.company import BILL_POSTEN
from integration.procurement.procurement_kit import CASH_ACCOUNT, PAYMENT_PATH, Shop, open_shop
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour
from ml_connector.store import LinkKind, SyncStatus

PAYMENTS_ON = {"payments": {"enabled": True, "cash_account": CASH_ACCOUNT}}
PAID_ON = date.today()
RELEASES = "/action/release"


def _releases(shop: Shop) -> list[str]:
    """Paths of the release POSTs Visma answered, in order."""
    return [e.path for e in shop.visma.journal.entries("POST") if e.path.endswith(RELEASES)]


def _polls(shop: Shop) -> list[Any]:
    return [e for e in shop.visma.journal.entries("GET") if e.path.startswith("/v1/background/")]


async def test_background_releases_are_polled_until_finished(tmp_path: Path) -> None:
    """Both releases answer 202; their requests are polled to Finished; then Ramp is told."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)

        await shop.sync()

        invoice = shop.invoice_of(BILL_POSTEN)
        [payment] = shop.payments_of(BILL_POSTEN)
        assert (invoice["status"], payment["status"]) == ("Closed", "Closed")
        assert [e.status for e in shop.visma.journal.entries("POST") if RELEASES in e.path] == [
            202,
            202,
        ]
        states = shop.visma.background_requests()
        assert [(s["status"], s["statusCode"]) for s in states] == [("Finished", 204)] * 2
        assert len(_polls(shop)) >= 4  # each request was seen Started, then Finished
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]
        link = await shop.runtime.store.get_link(shop.connection_id, LinkKind.PAYMENT, BILL_POSTEN)
        assert link is not None
        assert link.data["released"] is True
        assert "release" not in link.data
        assert "invoice_release" not in link.data


async def test_a_release_still_running_survives_a_restart(tmp_path: Path) -> None:
    """Visma's queue is slow: the pass stops polling, a new process polls the stored request,
    never posts the release twice, and tells Ramp only once the payment is released."""
    slow = {"behaviour": CompanyBehaviour(background_steps=1_000_000)}
    async with open_shop(
        tmp_path, settings=PAYMENTS_ON, visma_options=slow, release_wait_s=0.1
    ) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)

        await shop.sync(settle_s=0.5)

        record = await shop.record("payment", BILL_POSTEN)
        assert record.status is SyncStatus.RETRY_WAIT
        assert "still releasing invoice" in (record.last_error or "")
        link = await shop.runtime.store.get_link(shop.connection_id, LinkKind.PAYMENT, BILL_POSTEN)
        assert link is not None
        assert link.data["invoice_release"] == shop.visma.background_requests()[0]["id"]
        assert shop.payments_of(BILL_POSTEN) == []
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC"]  # not paid-synced yet

        await shop.restart()
        assert shop.visma.run_background() == 1  # Visma's worker gets to it meanwhile
        await shop.sync(settle_s=0.5)  # the invoice is confirmed; the payment's release waits
        assert shop.visma.run_background() == 1
        await shop.sync(settle_s=0.5)

        assert len(_releases(shop)) == 2  # one for the invoice, one for the payment: no repeat
        [payment] = shop.payments_of(BILL_POSTEN)
        assert payment["status"] == "Closed"
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]
        assert (await shop.record("payment", BILL_POSTEN)).status is SyncStatus.SUCCEEDED


async def test_a_failed_background_request_needs_attention_with_vismas_text(
    tmp_path: Path,
) -> None:
    """Failed: the record needs attention quoting Visma; nothing is paid; Ramp is not told."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)
        shop.visma.fail_background("The document is locked by another process")

        await shop.sync()

        record = await shop.record("payment", BILL_POSTEN)
        assert (record.status, record.error_code) == (SyncStatus.NEEDS_ATTENTION, "release_failed")
        assert "The document is locked by another process" in (record.last_error or "")
        assert shop.invoice_of(BILL_POSTEN)["status"] == "Balanced"
        assert shop.posts(PAYMENT_PATH) == []
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC"]


async def test_a_release_visma_refuses_quotes_its_answer(tmp_path: Path) -> None:
    """Finished with 400 (the period was closed meanwhile): attention with Visma's message."""
    async with open_shop(tmp_path, settings=PAYMENTS_ON) as shop:
        await shop.sync()
        invoice = shop.invoice_of(BILL_POSTEN)
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)
        connection = await shop.runtime.store.get_connection(shop.name)
        await (await shop.runtime.context(connection)).master.get()  # the check saw it open
        shop.visma.set_period_closed(invoice["financialPeriod"], True)

        await shop.sync()

        record = await shop.record("payment", BILL_POSTEN)
        assert record.error_code == "release_refused"
        assert "closed in Supplier ledger" in (record.last_error or "")
        assert shop.visma.background_requests()[0]["statusCode"] == 400
        assert shop.posts(PAYMENT_PATH) == []


@pytest.mark.parametrize("steps", [0, 1], ids=["done-at-once", "queued"])
async def test_the_legacy_action_result_is_still_understood(tmp_path: Path, steps: int) -> None:
    """The 9.11 answer: Done (confirmed by reading back) or Queued (the document is watched)."""
    legacy = {"behaviour": CompanyBehaviour(release="legacy", background_steps=steps)}
    async with open_shop(tmp_path, settings=PAYMENTS_ON, visma_options=legacy) as shop:
        await shop.sync()
        shop.ramp.pay_bill(BILL_POSTEN, payment_date=PAID_ON)

        await shop.sync()

        [payment] = shop.payments_of(BILL_POSTEN)
        assert payment["status"] == "Closed"
        assert shop.invoice_of(BILL_POSTEN)["status"] == "Closed"
        assert [e.status for e in shop.visma.journal.entries("POST") if RELEASES in e.path] == [
            200,
            200,
        ]
        assert _polls(shop) == []
        assert shop.ramp_syncs(BILL_POSTEN) == ["BILL_SYNC", "BILL_PAYMENT_SYNC"]
