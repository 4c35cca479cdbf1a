"""A Visma 500 that carries a validation message: refused, not lost, and not retried for ever.

Visma answers some business refusals with HTTP 500 and its usual ``{"message": "VismaId: …"}``
body (the sandbox's ``validation_status=500``). After such an answer to a POST the connector
looks the invoice up, as after any uncertain outcome; when it is not there, the bill needs
attention quoting Visma, and the POST is not repeated. A plain 500 stays retriable.
"""

from __future__ import annotations

from pathlib import Path

from integration.core.company import (
    BILL_ATEA,
    BILL_HETZNER_1,
    BILL_KAFFE_1,
    BILL_KAFFE_2,
    READY_BILLS,
)
from integration.core.world import INVOICE_PATH, World, open_world
from ml_connector.sandbox.faults import FaultRule
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour
from ml_connector.store import SyncStatus

REFUSES_WITH_500 = {"behaviour": CompanyBehaviour(validation_status=500)}
ACCOUNT = "6552"  # ATE-1001 and both Hetzner bills are coded to it
CODED_TO_IT = {BILL_ATEA, BILL_HETZNER_1, "b0000000-0000-4000-8000-000000000008"}


async def _warm_master_data(world: World) -> None:
    """Let the connector read Visma's accounts first, so its pre-flight sees 6552 active."""
    connection = await world.runtime.store.get_connection(world.name)
    await (await world.runtime.context(connection)).master.get()


async def test_a_refusal_in_a_500_needs_attention_with_vismas_text(tmp_path: Path) -> None:
    """Account deactivated after the pre-flight read it: 500 refusal, attention, one POST each."""
    async with open_world(tmp_path, visma_options=REFUSES_WITH_500) as world:
        await _warm_master_data(world)
        world.visma.set_account_active(ACCOUNT, False)

        await world.sync()

        records = await world.records()
        for bill_id in CODED_TO_IT:
            record = records[bill_id]
            assert (record.status, record.error_code) == (
                SyncStatus.NEEDS_ATTENTION,
                "visma_refused",
            ), bill_id
            assert f"Account '{ACCOUNT}' is inactive" in (record.last_error or "")
            assert "VismaId: " in (record.last_error or "")  # Visma's text, quoted as it came
            assert "HTTP 500" in (record.hint or "")
        refused = [e for e in world.invoice_posts() if e.status == 500]
        assert len(refused) == len(CODED_TO_IT)  # one POST per bill: no retry loop
        await world.check_exactly_once(expect_attention=tuple(CODED_TO_IT))

        world.visma.set_account_active(ACCOUNT, True)
        await world.requeue(*CODED_TO_IT)
        await world.sync()

        await world.check_exactly_once()
        assert set(READY_BILLS) == set(world.invoices_by_bill())


async def test_a_500_without_a_message_is_still_retried(tmp_path: Path) -> None:
    """A bare server failure (no validation text) on the POST: looked up, then posted again."""
    async with open_world(tmp_path, visma_options=REFUSES_WITH_500) as world:
        world.visma.faults.add(
            FaultRule(kind="status", status=500, method="POST", path_contains=INVOICE_PATH)
        )

        await world.sync()

        await world.check_exactly_once()
        assert [e.status for e in world.invoice_posts()].count(500) == 1
        assert len(world.invoice_posts()) == len(READY_BILLS) + 1


async def test_a_supplier_refused_in_a_500_stops_its_bills_quoting_visma(tmp_path: Path) -> None:
    """The supplier class was deleted in Visma: creating a new vendor's supplier gets a 500
    naming it; a fresh read finds no such supplier, so the vendor's bills need attention with
    Visma's text after at most one POST per bill, and once the class is back they sync exactly
    once."""
    async with open_world(tmp_path, visma_options=REFUSES_WITH_500) as world:
        setup = world.visma.state.supplier_setup
        deleted = setup.classes.pop(setup.default_class or "")
        suppliers_before = len(world.visma.state.suppliers)

        await world.sync()

        records = await world.records()
        refused = {b for b, r in records.items() if r.error_code == "visma_refused"}
        assert {BILL_KAFFE_1, BILL_KAFFE_2} <= refused
        for bill_id in refused:
            assert records[bill_id].status == SyncStatus.NEEDS_ATTENTION
            quoted = f"'Supplier class' cannot be found: '{deleted.class_id}'"
            assert quoted in (records[bill_id].last_error or ""), bill_id
        posts = world.supplier_posts()
        assert {e.status for e in posts} == {500}
        assert len(posts) <= len(refused)  # no retry loop: at most one POST per bill
        assert len(world.visma.state.suppliers) == suppliers_before

        setup.classes[deleted.class_id] = deleted
        await world.requeue(*refused)
        await world.sync()
        await world.check_exactly_once()
