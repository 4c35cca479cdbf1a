"""The demo company: Nordlys Rådgivning AS, a Norwegian advisory firm with Swedish and EU suppliers.

Deterministic: the same ``today`` gives the same dataset. Numbers a reader may want to check:
about 200 bills, 40 vendors (14 already suppliers in Visma), 3 currencies, and exactly
``DELIBERATE_FAILURES`` approved bills that cannot sync (unknown account, closed period).
The people and spend (card transactions, reimbursements, statements, transfers, a second
entity in Sweden) come from ``_demo_spend``, with ``DELIBERATE_TRANSACTION_FAILURES`` card
transactions and ``DELIBERATE_REIMBURSEMENT_FAILURES`` reimbursements that cannot post.
The fixed chart and vendor list are in ``_demo_chart``.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from ml_connector.sandbox._demo_chart import (
    ACCOUNT_HINTS,
    ACCOUNTS,
    CITIES,
    COST_CENTRES,
    DEPARTMENTS,
    MEMOS,
    PROJECTS,
    STREETS,
    TASK_CHOICES,
    VAT,
    VENDORS,
)
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
    SeedBill,
    SeedBillLine,
    SeedEntity,
    SeedPurchaseOrder,
    SeedSegment,
    SeedSupplier,
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


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _accounts_for(name: str) -> tuple[str, ...]:
    for key, accounts in ACCOUNT_HINTS.items():
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
    for index, (name, country, currency, org, vat, existing) in enumerate(VENDORS):
        city, postal = CITIES[country]
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:16]
        # A vendor known in Visma by org number shows it in Ramp too; a "name" match shows neither.
        vendors.append(
            SeedVendor(
                id=_uuid(rng),
                name=name,
                country=country,
                currency=currency,
                email=f"invoice@{slug}.example",
                address_line_1=f"{rng.choice(STREETS)} {index + 1}",
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
    choices = TASK_CHOICES.get(project)
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
                f"{vendor.name.split()[0]} {rng.choice(MEMOS)}",
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
        accounts=ACCOUNTS,
        segments=(
            SeedSegment(1, "Kostnadssted", 3, COST_CENTRES),
            SeedSegment(2, "Avdeling", 2, DEPARTMENTS),
        ),
        projects=PROJECTS,
        vat_codes=VAT,
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
