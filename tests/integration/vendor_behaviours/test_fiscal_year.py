"""Financial periods come from Visma's period table: a company whose year starts in July.

The Visma company's financial year starts on 1 July and is numbered after the year it ends in
("Belongs to next year"), so a bill booked on 1 March 2026 belongs to period 202609, not
202603. The connector must take every invoice's period from Visma's table; a date that no
period covers stops the bill before anything is written.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from integration.core.company import BILL_KAFFE_2, READY_BILLS
from integration.core.world import open_world
from ml_connector.sandbox.visma.behaviour import CompanyBehaviour
from ml_connector.store import SyncStatus

JULY_YEAR = {
    "behaviour": CompanyBehaviour(fiscal_year_start_month=7, fiscal_year_belongs_to_next=True)
}


def _calendar_id(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}"


async def test_invoices_land_in_the_period_the_table_gives(tmp_path: Path) -> None:
    """Every invoice's financialPeriod is the July-year period of its bill's accounting date."""
    async with open_world(tmp_path, visma_options=JULY_YEAR) as world:
        await world.sync()

        await world.check_exactly_once()
        for bill_id in READY_BILLS:
            invoice = world.invoice_of(bill_id)
            booked = world.ramp.state.bills[bill_id].issued_at
            expected = world.visma.period_of(booked)
            assert expected is not None
            assert invoice["financialPeriod"] == expected, bill_id
            if booked.month != 7:  # only July is 01 in both numberings' month digits
                assert invoice["financialPeriod"] != _calendar_id(booked)
            assert invoice["postPeriod"] == expected[4:] + expected[:4]


async def test_a_year_numbered_by_its_start_is_read_the_same_way(tmp_path: Path) -> None:
    """Without "belongs to next year" the same date is period 2025xx: still from the table."""
    july = {"behaviour": CompanyBehaviour(fiscal_year_start_month=7)}
    async with open_world(tmp_path, visma_options=july) as world:
        await world.sync()

        invoice = world.invoice_of(BILL_KAFFE_2)
        booked = world.ramp.state.bills[BILL_KAFFE_2].issued_at
        fiscal_start = booked.year if booked.month >= 7 else booked.year - 1
        assert invoice["financialPeriod"].startswith(str(fiscal_start))
        assert invoice["financialPeriod"] == world.visma.period_of(booked)


async def test_a_date_no_period_covers_stops_the_bill_before_any_write(tmp_path: Path) -> None:
    """Accounting date five years out: needs attention, naming the date; nothing is posted."""
    async with open_world(tmp_path, visma_options=JULY_YEAR) as world:
        far = date(date.today().year + 5, 3, 1)
        world.ramp.update_bill(BILL_KAFFE_2, issued_at=far)

        await world.sync()

        record = (await world.records())[BILL_KAFFE_2]
        assert (record.status, record.error_code) == (SyncStatus.NEEDS_ATTENTION, "period_missing")
        assert far.isoformat() in (record.last_error or "")
        assert "Financial periods" in (record.hint or "")
        assert BILL_KAFFE_2 not in world.invoices_by_bill()
        posted = {str(i.get("note")) for i in world.visma.invoices()}
        assert all(BILL_KAFFE_2 not in note for note in posted)
