"""A small hand-built company for the core fault tests: both sandboxes load it.

Eight sync-ready bills over five vendors and three currencies (NOK, SEK, EUR), multi-line, one
vendor credit, plus one bill still awaiting approval. Two vendors already exist in Visma (one
matched by organisation number, one by VAT number); three are new with two bills each, so
concurrent bills of a new vendor are exercised on every run. The bills are created (and so
queued) with each new vendor's second bill four places after its first: two workers claiming
four records at a time get one bill of every new vendor each.

Dates are relative to ``today``: the bills fall in the current month, whose period is open;
the month two back (and everything before it) is closed in the supplier ledger.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ml_connector.sandbox.seed import (
    Dataset,
    SeedAccount,
    SeedBill,
    SeedBillLine,
    SeedEntity,
    SeedPeriod,
    SeedProject,
    SeedSegment,
    SeedSegmentValue,
    SeedSupplier,
    SeedTask,
    SeedVat,
    SeedVendor,
)

ENTITY = "00000000-0000-4000-8000-0000000000e1"

VENDOR_ATEA = "7e000000-0000-4000-8000-000000000001"  # existing supplier, by org number
VENDOR_POSTEN = "7e000000-0000-4000-8000-000000000002"  # existing supplier, by VAT number
VENDOR_KAFFE = "7e000000-0000-4000-8000-000000000003"  # new, NOK, two bills
VENDOR_KJELL = "7e000000-0000-4000-8000-000000000004"  # new, SEK, an invoice and a credit
VENDOR_HETZNER = "7e000000-0000-4000-8000-000000000005"  # new, EUR, two bills

SUPPLIER_ATEA = "50001"
SUPPLIER_POSTEN = "50002"

BILL_ATEA = "b0000000-0000-4000-8000-000000000001"
BILL_POSTEN = "b0000000-0000-4000-8000-000000000002"
BILL_KAFFE_1 = "b0000000-0000-4000-8000-000000000003"
BILL_KAFFE_2 = "b0000000-0000-4000-8000-000000000004"
BILL_KJELL = "b0000000-0000-4000-8000-000000000005"
BILL_KJELL_CREDIT = "b0000000-0000-4000-8000-000000000006"
BILL_HETZNER_1 = "b0000000-0000-4000-8000-000000000007"
BILL_HETZNER_2 = "b0000000-0000-4000-8000-000000000008"
BILL_PENDING = "b0000000-0000-4000-8000-000000000009"

READY_BILLS = (
    BILL_ATEA,
    BILL_POSTEN,
    BILL_KAFFE_1,
    BILL_KAFFE_2,
    BILL_KJELL,
    BILL_KJELL_CREDIT,
    BILL_HETZNER_1,
    BILL_HETZNER_2,
)
NEW_VENDORS = (VENDOR_KAFFE, VENDOR_KJELL, VENDOR_HETZNER)

# VAT ids and rates the Visma side knows; ``VAT_BY_ACCOUNT`` is what the operator configures.
VAT_RATES = {"0": Decimal(0), "1": Decimal(25), "11": Decimal(15), "13": Decimal(12)}
VAT_BY_ACCOUNT = {"6552": "1", "6800": "1", "7160": "11", "7140": "13", "6560": "1"}


def month_start(day: date, months_back: int) -> date:
    """The first day of the month ``months_back`` months before ``day``'s month."""
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def periods(today: date) -> tuple[SeedPeriod, ...]:
    """Twenty-four months from a year back; the month two back and older are closed for AP."""
    closed = month_start(today, 2)
    first = month_start(today, 12)
    found = []
    for offset in range(24):
        month_index = first.month - 1 + offset
        start = date(first.year + month_index // 12, month_index % 12 + 1, 1)
        found.append(
            SeedPeriod(
                f"{start.year:04d}{start.month:02d}", closed_in_supplier_ledger=start <= closed
            )
        )
    return tuple(found)


def _line(
    amount_minor: int,
    memo: str,
    account: str,
    *,
    cost_centre: str = "100",
    department: str = "10",
    project: str | None = "X",
    vat: str | None = None,
) -> SeedBillLine:
    return SeedBillLine(amount_minor, memo, account, cost_centre, department, project, vat)


def _vendors() -> tuple[SeedVendor, ...]:
    return (
        SeedVendor(
            VENDOR_ATEA, "Atea AS", "NO", "NOK", "faktura@atea.example", "Karvesvingen 5",
            "Oslo", "0579", org_number="920237126",
        ),
        SeedVendor(
            VENDOR_POSTEN, "Posten Bring AS", "NO", "NOK", "faktura@posten.example",
            "Biskop Gunnerus' gate 14", "Oslo", "0185", vat_number="NO984661185MVA",
        ),
        SeedVendor(
            VENDOR_KAFFE, "Bergen Kaffebrenneri AS", "NO", "NOK", "post@kaffe.example",
            "Bryggen 1", "Bergen", "5003", org_number="912345602",
        ),
        SeedVendor(
            VENDOR_KJELL, "Kjell & Company AB", "SE", "SEK", "faktura@kjell.example",
            "Kungsgatan 2", "Stockholm", "111 22",
        ),
        SeedVendor(
            VENDOR_HETZNER, "Hetzner Online GmbH", "DE", "EUR", "billing@hetzner.example",
            "Industriestr. 25", "Gunzenhausen", "91710", vat_number="DE812871812",
        ),
    )  # fmt: skip


def _bills(today: date) -> tuple[SeedBill, ...]:
    issued = month_start(today, 0)
    due = date(issued.year + (issued.month == 12), issued.month % 12 + 1, 1)

    def bill(
        bill_id: str,
        vendor: str,
        number: str,
        currency: str,
        *lines: SeedBillLine,
        approval: str = "APPROVED",
        credit: bool = False,
    ) -> SeedBill:
        return SeedBill(
            bill_id, vendor, number, currency, issued, due, lines,
            approval_status=approval, memo=f"{number} {lines[0].memo}", is_credit=credit,
        )  # fmt: skip

    return (
        bill(
            BILL_ATEA, VENDOR_ATEA, "ATE-1001", "NOK",
            _line(1_234_567, "Laptops", "6552", cost_centre="200", department="20"),
            _line(99, "Cable", "6560", project="P1001"),
        ),
        bill(
            BILL_KAFFE_1, VENDOR_KAFFE, "KAF-3001", "NOK",
            _line(12_345, "Kaffe", "7160"),
            _line(6_789, "Kopper", "6560", department="20"),
            _line(1, "Avrunding", "7160", vat="0"),
        ),
        bill(
            BILL_HETZNER_1, VENDOR_HETZNER, "HET-5001", "EUR",
            _line(3_990, "Server", "6552", project="P1002"),
            _line(1_001, "Backup", "6552", project="P1002", department="20"),
        ),
        bill(
            BILL_KJELL, VENDOR_KJELL, "KJE-4001", "SEK",
            _line(199_900, "Kablar", "6560"),
            _line(4_950, "Batterier", "6560", cost_centre="200"),
        ),
        bill(BILL_KAFFE_2, VENDOR_KAFFE, "KAF-3002", "NOK", _line(250_050, "Kaffe", "7160")),
        bill(BILL_HETZNER_2, VENDOR_HETZNER, "HET-5002", "EUR", _line(12_00, "IP", "6552")),
        bill(
            BILL_KJELL_CREDIT, VENDOR_KJELL, "KJE-4002", "SEK",
            _line(4_950, "Retur batterier", "6560"), credit=True,
        ),
        bill(BILL_POSTEN, VENDOR_POSTEN, "POS-2001", "NOK", _line(45_000, "Porto", "6800")),
        bill(
            BILL_PENDING, VENDOR_ATEA, "ATE-1002", "NOK",
            _line(50_000, "Skjerm", "6552"), approval="PENDING",
        ),
    )  # fmt: skip


def core_dataset(today: date | None = None) -> Dataset:
    """The company both sandboxes load in the core tests."""
    today = today or date.today()
    return Dataset(
        company_name="Kjerne Testfirma AS",
        base_currency="NOK",
        entities=(SeedEntity(ENTITY, "Kjerne Testfirma AS", "NOK"),),
        accounts=(
            SeedAccount("2400", "Leverandørgjeld", "Liability"),
            SeedAccount("6552", "Programvare", "Expense", default_vat="1"),
            SeedAccount("6560", "Rekvisita", "Expense", default_vat="1"),
            SeedAccount("6800", "Kontorrekvisita", "Expense", default_vat="1"),
            SeedAccount("7140", "Reisekostnad", "Expense", default_vat="13"),
            SeedAccount("7160", "Diett og kost", "Expense", default_vat="11"),
        ),
        segments=(
            SeedSegment(
                1,
                "Kostnadssted",
                3,
                (
                    SeedSegmentValue("100", "Oslo"),
                    SeedSegmentValue("200", "Bergen"),
                    SeedSegmentValue("300", "Trondheim"),
                ),
            ),
            SeedSegment(
                2,
                "Avdeling",
                2,
                (SeedSegmentValue("10", "Rådgivning"), SeedSegmentValue("20", "IT")),
            ),
        ),
        projects=(
            SeedProject("X", "Ikke prosjekt"),
            # Each project has exactly one active task, which project lines take.
            SeedProject("P1001", "Kunde A", tasks=(SeedTask("01", "Leveranse"),)),
            SeedProject(
                "P1002",
                "Kunde B",
                tasks=(
                    SeedTask("01", "Forstudie", status="Completed"),
                    SeedTask("02", "Drift"),
                ),
            ),
            SeedProject("P1003", "Kunde C", tasks=(SeedTask("01", "Leveranse"),)),
        ),
        vat_codes=tuple(
            SeedVat(vat_id, f"VAT {rate}%", rate) for vat_id, rate in VAT_RATES.items()
        ),
        periods=periods(today),
        suppliers=(
            SeedSupplier(
                SUPPLIER_ATEA,
                "Atea AS",
                "NOK",
                "NO",
                corporate_id="920237126",
                vat_registration_id="NO920237126MVA",
            ),
            SeedSupplier(
                SUPPLIER_POSTEN,
                "Posten Norge AS",
                "NOK",
                "NO",
                corporate_id="984661185",
                vat_registration_id="NO984661185MVA",
            ),
        ),
        vendors=_vendors(),
        bills=_bills(today),
    )
