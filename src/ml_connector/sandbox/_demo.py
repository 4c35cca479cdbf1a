"""The demo company: Nordlys Rådgivning AS, a Norwegian advisory firm with Swedish and EU suppliers.

Deterministic: the same ``today`` gives the same dataset. Numbers a reader may want to check:
about 200 bills, 40 vendors (14 already suppliers in Visma), 3 currencies, and exactly
``DELIBERATE_FAILURES`` approved bills that cannot sync (unknown account, closed period).
The people and spend (card transactions, reimbursements, statements, transfers, a second
entity in Sweden) come from ``_demo_spend``, with ``DELIBERATE_TRANSACTION_FAILURES`` card
transactions and ``DELIBERATE_REIMBURSEMENT_FAILURES`` reimbursements that cannot post.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

from ml_connector.sandbox._demo_spend import (
    CARD_LIABILITY_ACCOUNT,
    DELIBERATE_REIMBURSEMENT_FAILURES,
    DELIBERATE_TRANSACTION_FAILURES,
    EMPLOYEE_PAYABLE_ACCOUNT,
    build_spend,
    entity_accounts,
)
from ml_connector.sandbox.seed import (
    Dataset,
    SeedAccount,
    SeedBill,
    SeedBillLine,
    SeedEntity,
    SeedProject,
    SeedPurchaseOrder,
    SeedSegment,
    SeedSegmentValue,
    SeedSupplier,
    SeedTask,
    SeedVat,
    SeedVendor,
    _periods,
)

__all__ = [
    "CARD_LIABILITY_ACCOUNT",
    "DELIBERATE_FAILURES",
    "DELIBERATE_REIMBURSEMENT_FAILURES",
    "DELIBERATE_TRANSACTION_FAILURES",
    "EMPLOYEE_PAYABLE_ACCOUNT",
    "UNKNOWN_ACCOUNT",
    "build_demo",
]

UNKNOWN_ACCOUNT = "6999"
DELIBERATE_FAILURES = 6  # 3 coded to UNKNOWN_ACCOUNT, 3 dated in a period closed for AP

_ACCOUNTS = (
    SeedAccount("1500", "Kundefordringer", "Asset"),
    SeedAccount("1920", "Bankinnskudd", "Asset"),
    SeedAccount("2400", "Leverandørgjeld", "Liability"),
    SeedAccount("2920", "Kredittkortgjeld Ramp", "Liability"),
    SeedAccount("2930", "Skyldige utlegg til ansatte", "Liability"),
    SeedAccount("2710", "Inngående merverdiavgift", "Liability"),
    SeedAccount("3000", "Salgsinntekt", "Income", default_vat=None),
    SeedAccount("4000", "Innkjøp av varer", "Expense", default_vat="1"),
    SeedAccount("6300", "Leie lokaler", "Expense", default_vat="0"),
    SeedAccount("6340", "Lys og varme", "Expense", default_vat="1"),
    SeedAccount("6540", "Inventar", "Expense", default_vat="1"),
    SeedAccount("6551", "Datautstyr", "Expense", default_vat="1"),
    SeedAccount("6552", "Programvare", "Expense", default_vat="1"),
    SeedAccount("6560", "Rekvisita", "Expense", default_vat="1"),
    SeedAccount("6590", "Annet driftsmateriale", "Expense", active=False, default_vat="1"),
    SeedAccount("6700", "Revisjonshonorar", "Expense", default_vat="1"),
    SeedAccount("6720", "Konsulenthonorar", "Expense", default_vat="1"),
    SeedAccount("6800", "Kontorrekvisita", "Expense", default_vat="1"),
    SeedAccount("6860", "Møter, kurs", "Expense", default_vat="1"),
    SeedAccount("6900", "Telefon og internett", "Expense", default_vat="1"),
    SeedAccount("7100", "Bilgodtgjørelse", "Expense", default_vat="0"),
    SeedAccount("7140", "Reisekostnad", "Expense", default_vat="13"),
    SeedAccount("7160", "Diett og kost", "Expense", default_vat="11"),
    SeedAccount("7320", "Reklamekostnad", "Expense", default_vat="1"),
    SeedAccount("7350", "Representasjon", "Expense", default_vat="0"),
    SeedAccount("7500", "Forsikringspremie", "Expense", default_vat="0"),
    SeedAccount("7770", "Bank- og kortgebyr", "Expense", default_vat="0"),
    SeedAccount("7790", "Annen kostnad", "Expense", default_vat="1"),
)

_VAT = (
    SeedVat("0", "Ingen mva", Decimal("0")),
    SeedVat("1", "Inngående mva høy sats", Decimal("25")),
    SeedVat("11", "Inngående mva middels sats", Decimal("15")),
    SeedVat("13", "Inngående mva lav sats", Decimal("12")),
)

_COST_CENTRES = (
    SeedSegmentValue("100", "Oslo"),
    SeedSegmentValue("200", "Bergen"),
    SeedSegmentValue("300", "Trondheim"),
    SeedSegmentValue("400", "Stockholm"),
    SeedSegmentValue("900", "Felles"),
    SeedSegmentValue("950", "Stavanger (nedlagt)", active=False),
)
_DEPARTMENTS = (
    SeedSegmentValue("10", "Advisory"),
    SeedSegmentValue("20", "Technology"),
    SeedSegmentValue("30", "Sales"),
    SeedSegmentValue("40", "Administration"),
    SeedSegmentValue("50", "People"),
)
# Every project has tasks. P1001 and P1003 have exactly one active task (lines need no task
# coding: the connector takes it); P1002 and P1004 have several (their lines code the task).
_PROJECTS = (
    SeedProject("X", "Ikke prosjekt"),
    SeedProject("P1001", "Equinor ERP-rådgivning", tasks=(SeedTask("01", "Rådgivning"),)),
    SeedProject(
        "P1002",
        "DNB skymigrering",
        tasks=(SeedTask("01", "Analyse"), SeedTask("02", "Migrering")),
    ),
    SeedProject(
        "P1003",
        "Posten prosessanalyse",
        tasks=(
            SeedTask("01", "Prosessanalyse"),
            SeedTask("02", "Sluttrapport", status="Completed"),
            SeedTask("03", "Intern tid", visible_in_ap=False, visible_in_po=False),
        ),
    ),
    SeedProject(
        "P1004",
        "Orkla innkjøpsstrategi",
        tasks=(
            SeedTask("01", "Kartlegging"),
            SeedTask("02", "Leverandørvalg"),
            SeedTask("03", "Oppfølging", status="Planned"),
        ),
    ),
    SeedProject(
        "P1005",
        "Telia nettverksrevisjon",
        status="Completed",
        tasks=(SeedTask("01", "Revisjon", status="Completed"),),
    ),
    SeedProject(
        "P1006",
        "Intern kompetanseheving",
        visible_in_ap=False,
        tasks=(SeedTask("01", "Kurs"),),
    ),
)
# The task a line of a project with several active tasks codes, picked by the line's amount
# (no random draw, so the rest of the dataset is unchanged by it).
_TASK_CHOICES = {"P1002": ("01", "02"), "P1004": ("01", "02")}

# name, country, currency, org number, VAT number, existing supplier? (number, match basis).
# Every Nordic number passes its check digit (mapping.identifiers); the companies are real,
# most of the numbers are made up.
_VENDORS: tuple[tuple[str, str, str, str | None, str | None, str | None], ...] = (
    ("Telenor Norge AS", "NO", "NOK", "976967631", "NO976967631MVA", "org"),
    ("Atea AS", "NO", "NOK", "920237126", "NO920237126MVA", "org"),
    ("Posten Bring AS", "NO", "NOK", "984661185", "NO984661185MVA", "vat"),
    ("Elkjøp Nordic AS", "NO", "NOK", "961155398", None, "name"),
    ("Kontorspar AS", "NO", "NOK", "918110836", "NO918110836MVA", "org"),
    ("Scandic Hotels AS", "NO", "NOK", "981372778", "NO981372778MVA", None),
    ("Vy Buss AS", "NO", "NOK", "982957826", None, None),
    ("Deloitte AS", "NO", "NOK", "980211282", "NO980211282MVA", "vat"),
    ("Advokatfirmaet Thommessen AS", "NO", "NOK", "957423248", None, "name"),
    ("Microsoft Norge AS", "NO", "NOK", "935566770", "NO935566770MVA", "org"),
    ("Norwegian Air Shuttle ASA", "NO", "NOK", "965920358", None, None),
    ("SAS Norge AS", "NO", "NOK", "913734394", None, None),
    ("Rema 1000 Norge AS", "NO", "NOK", "964973385", None, None),
    ("Fjordkraft AS", "NO", "NOK", "976944801", "NO976944801MVA", "org"),
    ("If Skadeforsikring NUF", "NO", "NOK", "981290666", None, "name"),
    ("Entra ASA", "NO", "NOK", "999296432", "NO999296432MVA", "org"),
    ("Møllerbil AS", "NO", "NOK", "953125374", None, None),
    ("Tekna Kurs AS", "NO", "NOK", "922433135", None, None),
    ("Bergen Kaffebrenneri AS", "NO", "NOK", "912345602", None, None),
    ("Trondheim Catering AS", "NO", "NOK", "923456783", None, None),
    ("Oslo Taxi AS", "NO", "NOK", "934567897", None, None),
    ("Nettpartner AS", "NO", "NOK", "945678909", None, None),
    ("Kantega Design AS", "NO", "NOK", "956789001", None, None),
    ("Nordic Office Furniture AS", "NO", "NOK", "967890103", None, None),
    ("Clas Ohlson AB", "SE", "SEK", "556035-8672", "SE556035867201", "vat"),
    ("Dustin Sverige AB", "SE", "SEK", "556237-4339", "SE556237433901", "org"),
    ("Telia Sverige AB", "SE", "SEK", "556430-0142", None, None),
    ("Kjell & Company AB", "SE", "SEK", "556591-5328", None, None),
    ("Stockholm Konferens AB", "SE", "SEK", "556677-8899", None, None),
    ("SJ AB", "SE", "SEK", "556196-1599", None, None),
    ("Nordisk Rekrytering AB", "SE", "SEK", "556812-3342", None, None),
    ("Göteborg Tryckeri AB", "SE", "SEK", "556923-4452", None, None),
    ("Amazon Web Services EMEA SARL", "LU", "EUR", "B186284", "LU26888617", "org"),
    ("Adobe Systems Software Ireland Ltd", "IE", "EUR", "344720", "IE6364992H", None),
    ("Atlassian BV", "NL", "EUR", "64736539", "NL855875916B01", None),
    ("Slack Technologies Ltd", "IE", "EUR", "617356", "IE3491497NH", None),
    ("Miro Europe BV", "NL", "EUR", "72914459", None, None),
    ("Booking.com BV", "NL", "EUR", "31047344", "NL805734958B01", None),
    ("Zoom Video Communications Inc", "US", "EUR", None, None, None),
    ("Hetzner Online GmbH", "DE", "EUR", "HRB 6089", "DE812871812", None),
)

_CITIES = {
    "NO": ("Oslo", "0150"),
    "SE": ("Stockholm", "111 22"),
    "LU": ("Luxembourg", "L-1855"),
    "IE": ("Dublin", "D02 X285"),
    "NL": ("Amsterdam", "1017 CE"),
    "US": ("San Jose", "95113"),
    "DE": ("Gunzenhausen", "91710"),
}

# Which accounts each kind of vendor is usually coded to.
_ACCOUNT_HINTS = {
    "Telenor": ("6900",),
    "Telia": ("6900",),
    "Atea": ("6551", "6552"),
    "Dustin": ("6551",),
    "Microsoft": ("6552",),
    "Adobe": ("6552",),
    "Atlassian": ("6552",),
    "Slack": ("6552",),
    "Miro": ("6552",),
    "Zoom": ("6552",),
    "Amazon": ("6552",),
    "Hetzner": ("6552",),
    "Posten": ("6800",),
    "Kontorspar": ("6800", "6560"),
    "Clas": ("6560",),
    "Kjell": ("6560",),
    "Elkjøp": ("6540", "6551"),
    "Scandic": ("7140",),
    "Vy": ("7140",),
    "Norwegian": ("7140",),
    "SAS": ("7140",),
    "SJ": ("7140",),
    "Oslo Taxi": ("7140",),
    "Booking": ("7140",),
    "Deloitte": ("6700",),
    "Thommessen": ("6720",),
    "Kantega": ("6720", "7320"),
    "Nettpartner": ("6720",),
    "Rekrytering": ("6720",),
    "Rema": ("7160",),
    "Catering": ("7350", "7160"),
    "Kaffebrenneri": ("7160",),
    "Fjordkraft": ("6340",),
    "If Skade": ("7500",),
    "Entra": ("6300",),
    "Møller": ("7100",),
    "Tekna": ("6860",),
    "Konferens": ("6860",),
    "Tryckeri": ("7320",),
    "Furniture": ("6540",),
}


_STREETS = ("Storgata", "Kungsgatan", "Main Street")
_MEMOS = ("tjenester", "lisens", "reise", "utstyr")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _accounts_for(name: str) -> tuple[str, ...]:
    for key, accounts in _ACCOUNT_HINTS.items():
        if key in name:
            return accounts
    return ("7790",)


def _month_start(day: date, months_back: int) -> date:
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def _vendors_and_suppliers(
    rng: random.Random,
) -> tuple[tuple[SeedVendor, ...], tuple[SeedSupplier, ...]]:
    vendors: list[SeedVendor] = []
    suppliers: list[SeedSupplier] = []
    for index, (name, country, currency, org, vat, existing) in enumerate(_VENDORS):
        city, postal = _CITIES[country]
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:16]
        # A vendor known in Visma by org number shows it in Ramp too; a "name" match shows neither.
        vendors.append(
            SeedVendor(
                id=_uuid(rng),
                name=name,
                country=country,
                currency=currency,
                email=f"invoice@{slug}.example",
                address_line_1=f"{rng.choice(_STREETS)} {index + 1}",
                city=city,
                postal_code=postal,
                org_number=None if existing == "name" or existing == "vat" else org,
                vat_number=None if existing in ("name", "org") else vat,
                net_payment_terms=rng.choice((10, 14, 30, 30, 45)),
            )
        )
        if existing:
            suppliers.append(
                SeedSupplier(
                    number=f"{50001 + len(suppliers)}",
                    name=name.upper() if existing == "name" else name,
                    currency=currency,
                    country=country,
                    corporate_id=org,
                    vat_registration_id=vat,
                )
            )
    return tuple(vendors), tuple(suppliers)


def _line(rng: random.Random, account: str, memo: str, amount_minor: int) -> SeedBillLine:
    project = "X" if rng.random() < 0.6 else rng.choice(("P1001", "P1002", "P1003", "P1004"))
    choices = _TASK_CHOICES.get(project)
    task = f"{project}/{choices[amount_minor % len(choices)]}" if choices else None
    return SeedBillLine(
        amount_minor=amount_minor,
        memo=memo,
        gl_account=account,
        cost_centre=rng.choice(("100", "100", "200", "300", "400", "900")),
        department=rng.choice(("10", "20", "30", "40", "50")),
        project=project,
        vat_code=None,
        project_task=task,
    )


def _bills(
    rng: random.Random, today: date, vendors: tuple[SeedVendor, ...]
) -> tuple[SeedBill, ...]:
    open_from = _month_start(today, 1)
    closed_month = _month_start(today, 2)
    approvals = ["APPROVED"] * 150 + ["PENDING"] * 30 + ["REJECTED"] * 8 + ["INITIALIZED"] * 12
    rng.shuffle(approvals)
    bills = []
    for index, approval in enumerate(approvals):
        vendor = vendors[index % len(vendors)]
        accounts = _accounts_for(vendor.name)
        issued = open_from + timedelta(days=rng.randrange((today - open_from).days + 1))
        lines = tuple(
            _line(
                rng,
                rng.choice(accounts),
                f"{vendor.name.split()[0]} {rng.choice(_MEMOS)}",
                rng.randrange(150_00, 4_000_000) // (100 if rng.random() < 0.3 else 1),
            )
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4)))
        )
        bills.append(
            SeedBill(
                id=_uuid(rng),
                vendor_id=vendor.id,
                invoice_number=f"{vendor.name[:3].upper()}-{2026000 + index}",
                currency=vendor.currency,
                issued_at=issued,
                due_at=issued + timedelta(days=vendor.net_payment_terms),
                lines=lines,
                approval_status=approval,
                memo=f"{vendor.name}: {lines[0].memo}",
                is_credit=index % 37 == 5,
            )
        )
    # The deliberate failures, all approved: three unknown accounts, three closed-period bills.
    approved = [i for i, bill in enumerate(bills) if bill.approval_status == "APPROVED"]
    for position in approved[:3]:
        bill = bills[position]
        bad = (SeedBillLine(**{**bill.lines[0].__dict__, "gl_account": UNKNOWN_ACCOUNT}),)
        bills[position] = SeedBill(**{**bill.__dict__, "lines": bad + bill.lines[1:]})
    for position in approved[3:DELIBERATE_FAILURES]:
        bill = bills[position]
        issued = closed_month + timedelta(days=rng.randrange(25))
        bills[position] = SeedBill(
            **{**bill.__dict__, "issued_at": issued, "due_at": issued + timedelta(days=30)}
        )
    return tuple(bills)


def _purchase_orders(
    rng: random.Random, today: date, vendors: tuple[SeedVendor, ...]
) -> tuple[SeedPurchaseOrder, ...]:
    orders = []
    for index in range(12):
        vendor = vendors[(index * 3) % len(vendors)]
        account = _accounts_for(vendor.name)[0]
        lines = tuple(
            _line(rng, account, f"PO line {n + 1}", rng.randrange(1_000_00, 80_000_00))
            for n in range(rng.choice((1, 2, 3)))
        )
        orders.append(
            SeedPurchaseOrder(
                id=_uuid(rng),
                number=f"PO-{1000 + index}",
                vendor_id=vendor.id,
                currency=vendor.currency,
                promise_date=today + timedelta(days=rng.randrange(7, 60)),
                lines=lines,
                memo=f"Innkjøp fra {vendor.name}",
            )
        )
    return tuple(orders)


def build_demo(today: date) -> Dataset:
    """Build the demo company as of ``today``.

    The random draws happen in the order they always did (vendors, the entity id, bills,
    purchase orders); spend comes from a generator of its own (``_demo_spend``), so adding it
    changed none of the bills.
    """
    rng = random.Random(20261124)
    vendors, suppliers = _vendors_and_suppliers(rng)
    entity_id = _uuid(rng)
    bills = _bills(rng, today, vendors)
    orders = _purchase_orders(rng, today, vendors)
    spend = build_spend(today, entity_id, UNKNOWN_ACCOUNT)
    return Dataset(
        company_name="Nordlys Rådgivning AS",
        base_currency="NOK",
        entities=(
            SeedEntity(entity_id, "Nordlys Rådgivning AS", "NOK", accounts=entity_accounts()),
            SeedEntity(
                spend.second_entity_id,
                "Nordlys Rådgivning AB",
                "SEK",
                is_primary=False,
                accounts=entity_accounts(),
            ),
        ),
        accounts=_ACCOUNTS,
        segments=(
            SeedSegment(1, "Kostnadssted", 3, _COST_CENTRES),
            SeedSegment(2, "Avdeling", 2, _DEPARTMENTS),
        ),
        projects=_PROJECTS,
        vat_codes=_VAT,
        periods=_periods(today, general_ledger=True),
        suppliers=suppliers,
        vendors=vendors,
        bills=bills,
        purchase_orders=orders,
        departments=spend.departments,
        locations=spend.locations,
        users=spend.users,
        card_transactions=spend.card_transactions,
        reimbursements=spend.reimbursements,
        statements=spend.statements,
        transfers=spend.transfers,
    )
