"""The demo company's people and spend: card transactions, reimbursements, statements, transfers.

Drawn from a random generator of its own, after everything else, so the demo's bills, vendors
and purchase orders are exactly what they were before spend existed. Deterministic for a given
``today``. What it holds:

- a second Ramp entity, Nordlys Rådgivning AB in Stockholm (SEK), beside the Norwegian primary
  one; Ramp departments (Advisory, Technology, …) and locations (Oslo, Bergen, Trondheim,
  Stockholm) that mirror the Visma cost centres and departments by name;
- twelve employees with cards; card spend in the current and the previous month, in NOK (the
  Norwegian cards) and SEK (the Swedish ones), some bought in EUR or SEK abroad
  (``original_transaction_amount``), a few split over two accounts, a few refunds, two pending
  and one declined purchase; most are marked ready to sync, some wait for review;
- reimbursements: out-of-pocket (some paid abroad in EUR or SEK), mileage at the state rates
  (NOK 3.50/km, SEK 2.50/km; Ramp's ``distance`` is in miles) and a per-diem; one awaits review,
  one was rejected;
- statements for the two months before this one, and the transfers that paid them;
- deliberate exceptions, each marked ready to sync: a card transaction coded to an account
  Visma does not have, one dated in a period closed in the general ledger, and a reimbursement
  coded to an inactive account.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.seed_lines import SeedBillLine
from ml_connector.sandbox.seed_spend import (
    SeedCardTransaction,
    SeedDepartment,
    SeedLocation,
    SeedReimbursement,
    SeedStatement,
    SeedTransfer,
    SeedUser,
)

__all__ = [
    "DELIBERATE_REIMBURSEMENT_FAILURES",
    "DELIBERATE_TRANSACTION_FAILURES",
    "INACTIVE_ACCOUNT",
    "SpendWorld",
    "build_spend",
]

DELIBERATE_TRANSACTION_FAILURES = 2  # one coded to the unknown account, one in a closed period
DELIBERATE_REIMBURSEMENT_FAILURES = 1  # coded to an inactive account
INACTIVE_ACCOUNT = "6590"
_SEED = 20261201
_MILE_KM = Decimal("1.609344")

# Ramp departments mirror the Visma department segment (by name), locations the cost centres.
_DEPARTMENTS = (
    ("10", "Advisory"),
    ("20", "Technology"),
    ("30", "Sales"),
    ("40", "Administration"),
    ("50", "People"),
)
_LOCATIONS = (
    ("100", "Oslo", "NO"),
    ("200", "Bergen", "NO"),
    ("300", "Trondheim", "NO"),
    ("400", "Stockholm", "SE"),
)
# first name, last name, department code, cost centre, employee number
_PEOPLE = (
    ("Ingrid", "Bakke", "10", "100", "1001"),
    ("Lars", "Haugen", "10", "100", "1002"),
    ("Sofie", "Nilsen", "20", "100", "1003"),
    ("Magnus", "Dahl", "20", "200", "1004"),
    ("Thea", "Berg", "30", "200", "1005"),
    ("Emil", "Solberg", "30", "300", "1006"),
    ("Nora", "Lunde", "40", "100", "1007"),
    ("Jonas", "Strand", "50", "300", "1008"),
    ("Ida", "Moen", "10", "200", "1009"),
    ("Henrik", "Eide", "20", "300", "1010"),
    ("Elsa", "Lindqvist", "10", "400", "2001"),
    ("Oskar", "Sjöberg", "30", "400", "2002"),
)


@dataclass(frozen=True)
class _Merchant:
    name: str
    mcc: str
    category: tuple[int, str]
    account: str
    low: int  # amount range in minor units of ``currency``
    high: int
    currency: str = "NOK"  # what the merchant charges in
    country: str = "NO"
    city: str = "OSLO"
    vat: str | None = None  # explicit VAT code on the coding (None: the account's default)


_TRAVEL = (17, "Travel")
_MEALS = (8, "Restaurants")
_SOFTWARE = (40, "SaaS / Software")
_OFFICE = (13, "Office supplies")
_NORWEGIAN = (
    _Merchant("Scandic Hotels", "7011", (25, "Lodging"), "7140", 120_000, 290_000, city="BERGEN"),
    _Merchant("Vy", "4112", _TRAVEL, "7140", 25_000, 140_000),
    _Merchant("SAS", "4511", (22, "Airlines"), "7140", 90_000, 420_000),
    _Merchant("Oslo Taxi", "4121", _TRAVEL, "7140", 15_000, 65_000),
    _Merchant("Rema 1000", "5411", (11, "Groceries"), "7160", 8_000, 90_000),
    _Merchant("Peppes Pizza", "5812", _MEALS, "7350", 45_000, 380_000, vat="0"),
    _Merchant("Elkjøp", "5732", (31, "Electronics"), "6551", 90_000, 1_200_000),
    _Merchant("Clas Ohlson", "5251", _OFFICE, "6560", 9_000, 150_000),
    _Merchant("Telenor", "4814", (19, "Telecom"), "6900", 29_900, 89_900),
    _Merchant("Microsoft", "5734", _SOFTWARE, "6552", 12_500, 390_000),
    _Merchant("Tekna Kurs", "8299", (29, "Education"), "6860", 250_000, 900_000),
)
_ABROAD = (
    _Merchant("Adobe", "5734", _SOFTWARE, "6552", 2_499, 8_999, "EUR", "IE", "DUBLIN"),
    _Merchant("Atlassian", "5734", _SOFTWARE, "6552", 1_200, 24_000, "EUR", "NL", "AMSTERDAM"),
    _Merchant(
        "Amazon Web Services", "4816", _SOFTWARE, "6552", 3_000, 60_000, "EUR", "LU", "LUXEMBOURG"
    ),
    _Merchant(
        "Booking.com",
        "4722",
        (25, "Lodging"),
        "7140",
        11_000,
        45_000,
        "EUR",
        "NL",
        "AMSTERDAM",
        "0",
    ),
    _Merchant("SJ", "4112", _TRAVEL, "7140", 19_500, 129_000, "SEK", "SE", "STOCKHOLM", "0"),
    _Merchant(
        "Stockholm Konferens",
        "7399",
        (29, "Education"),
        "6860",
        150_000,
        650_000,
        "SEK",
        "SE",
        "STOCKHOLM",
        "0",
    ),
)
_SWEDISH = (
    _Merchant("SJ", "4112", _TRAVEL, "7140", 19_500, 129_000, "SEK", "SE", "STOCKHOLM"),
    _Merchant("Taxi Stockholm", "4121", _TRAVEL, "7140", 15_000, 60_000, "SEK", "SE", "STOCKHOLM"),
    _Merchant("Espresso House", "5814", _MEALS, "7160", 4_500, 32_000, "SEK", "SE", "STOCKHOLM"),
    _Merchant(
        "Kjell & Company",
        "5732",
        (31, "Electronics"),
        "6551",
        9_900,
        250_000,
        "SEK",
        "SE",
        "STOCKHOLM",
    ),
)
# NOK per unit of foreign currency, with a little daily movement (the card network's rate).
_RATES = {"EUR": (Decimal("11.52"), Decimal("11.78")), "SEK": (Decimal("0.965"), Decimal("1.005"))}
_PROJECTS = (("P1001", None), ("P1002", "01"), ("P1002", "02"), ("P1003", None), ("P1004", "01"))


@dataclass
class SpendWorld:
    """The spend part of the demo dataset (``Dataset`` fields) and the second entity's id."""

    second_entity_id: str
    departments: tuple[SeedDepartment, ...] = ()
    locations: tuple[SeedLocation, ...] = ()
    users: tuple[SeedUser, ...] = ()
    card_transactions: tuple[SeedCardTransaction, ...] = ()
    reimbursements: tuple[SeedReimbursement, ...] = ()
    statements: tuple[SeedStatement, ...] = ()
    transfers: tuple[SeedTransfer, ...] = ()
    _codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (dept, cc)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _month_start(day: date, months_back: int) -> date:
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def _at(day: date, rng: random.Random, today: date) -> datetime:
    """A moment on ``day`` during opening hours (UTC), never after ``today``."""
    chosen = min(day, today)
    return datetime.combine(chosen, time(7 + rng.randrange(12), rng.randrange(60)), tzinfo=UTC)


def build_spend(today: date, primary_entity_id: str, unknown_account: str) -> SpendWorld:
    """The demo's people and spend as of ``today`` (see the module docstring)."""
    rng = random.Random(_SEED)
    world = SpendWorld(second_entity_id=_uuid(rng))
    dept_ids = {code: _uuid(rng) for code, _ in _DEPARTMENTS}
    world.departments = tuple(SeedDepartment(dept_ids[c], name) for c, name in _DEPARTMENTS)
    place_ids = {code: _uuid(rng) for code, _, _ in _LOCATIONS}
    world.locations = tuple(
        SeedLocation(
            place_ids[code],
            name,
            world.second_entity_id if country == "SE" else primary_entity_id,
        )
        for code, name, country in _LOCATIONS
    )
    users = []
    for index, (first, last, dept, centre, number) in enumerate(_PEOPLE):
        swedish = centre == "400"
        user = SeedUser(
            id=_uuid(rng),
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower().replace('ö', 'o')}@nordlys.example",
            department_id=dept_ids[dept],
            location_id=place_ids[centre],
            entity_id=world.second_entity_id if swedish else primary_entity_id,
            employee_id=f"E{number}",
            manager_id=None if index in (0, 10) else (users[10].id if swedish else users[0].id),
        )
        users.append(user)
        world._codes[user.id] = (dept, centre)
    world.users = tuple(users)
    _cards(world, rng, today, unknown_account)
    _reimbursements(world, rng, today)
    _statements(world, today, primary_entity_id)
    return world


def _coding(
    world: SpendWorld,
    rng: random.Random,
    user_id: str,
    account: str,
    amount: int,
    memo: str,
    vat: str | None,
) -> SeedBillLine:
    dept, centre = world._codes[user_id]
    project, task = ("X", None) if rng.random() < 0.7 else rng.choice(_PROJECTS)
    return SeedBillLine(
        amount_minor=amount,
        memo=memo,
        gl_account=account,
        cost_centre=centre,
        department=dept,
        project=project,
        vat_code=vat,
        project_task=f"{project}/{task}" if task else None,
    )


def _converted(rng: random.Random, amount: int, currency: str, settle: str) -> int:
    """``amount`` (minor units of ``currency``) in ``settle`` at the day's card rate."""
    if currency == settle:
        return amount
    low, high = _RATES[currency]  # NOK per unit: the demo converts into NOK only
    rate = low + (high - low) * Decimal(rng.randrange(101)) / 100
    return int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _cards(world: SpendWorld, rng: random.Random, today: date, unknown_account: str) -> None:
    open_from = _month_start(today, 1)
    span = (today - open_from).days + 1
    norwegians = [u for u in world.users if world._codes[u.id][1] != "400"]
    swedes = [u for u in world.users if world._codes[u.id][1] == "400"]
    cards: list[SeedCardTransaction] = []
    for index in range(64):
        swedish = index % 8 == 7
        holder = rng.choice(swedes if swedish else norwegians)
        settle = "SEK" if swedish else "NOK"
        merchant = rng.choice(_SWEDISH if swedish else (_ABROAD if index % 5 == 0 else _NORWEGIAN))
        charged = rng.randrange(merchant.low, merchant.high)
        amount = _converted(rng, charged, merchant.currency, settle)
        when = _at(open_from + timedelta(days=rng.randrange(span)), rng, today)
        memo = f"{merchant.name} {when.date().isoformat()}"
        if index % 13 == 4 and amount > 1_000:  # a hotel stay with dinner, split in two
            part = amount * 2 // 3
            lines: tuple[SeedBillLine, ...] = (
                _coding(world, rng, holder.id, merchant.account, part, "Overnatting", merchant.vat),
                _coding(world, rng, holder.id, "7160", amount - part, "Middag", None),
            )
        else:
            lines = (_coding(world, rng, holder.id, merchant.account, amount, memo, merchant.vat),)
        state = "PENDING" if index in (60, 61) else "DECLINED" if index == 62 else "CLEARED"
        cards.append(
            SeedCardTransaction(
                id=_uuid(rng),
                user_id=holder.id,
                merchant_name=merchant.name,
                amount_minor=amount,
                currency=settle,
                transacted_at=when,
                lines=lines,
                original_amount_minor=charged if merchant.currency != settle else None,
                original_currency=merchant.currency if merchant.currency != settle else None,
                state=state,
                sync_ready=state == "CLEARED" and index % 6 != 3,
                memo=memo,
                merchant_category_code=merchant.mcc,
                sk_category_id=merchant.category[0],
                sk_category_name=merchant.category[1],
                merchant_country=merchant.country,
                merchant_city=merchant.city,
                receipts=0 if index % 9 == 8 else 1,
            )
        )
    cards += _refunds(world, rng, today, cards)
    cards += _card_exceptions(world, rng, today, unknown_account)
    world.card_transactions = tuple(cards)


def _refunds(
    world: SpendWorld, rng: random.Random, today: date, cards: list[SeedCardTransaction]
) -> list[SeedCardTransaction]:
    """Three merchant refunds: all or part of a cleared purchase, coded like it."""
    refunds = []
    candidates = [
        c for c in cards if c.state == "CLEARED" and len(c.lines) == 1 and c.amount_minor > 20_000
    ]
    for number, bought in enumerate(candidates[:3]):
        back = bought.amount_minor if number == 0 else bought.amount_minor // 4
        when = max(bought.transacted_at + timedelta(days=2), bought.transacted_at)
        when = min(when, datetime.combine(today, time(6), tzinfo=UTC))
        original = bought.original_amount_minor
        refunds.append(
            SeedCardTransaction(
                id=_uuid(rng),
                user_id=bought.user_id,
                merchant_name=bought.merchant_name,
                amount_minor=-back,
                currency=bought.currency,
                transacted_at=max(when, bought.transacted_at),
                lines=(
                    SeedBillLine(
                        **{**bought.lines[0].__dict__, "amount_minor": -back, "memo": "Refusjon"}
                    ),
                ),
                original_amount_minor=None
                if original is None
                else -(original * back // bought.amount_minor),
                original_currency=bought.original_currency,
                sync_ready=True,
                memo=f"Refund: {bought.memo}",
                merchant_category_code=bought.merchant_category_code,
                sk_category_id=bought.sk_category_id,
                sk_category_name=bought.sk_category_name,
                merchant_country=bought.merchant_country,
                merchant_city=bought.merchant_city,
                receipts=0,
                refund_of=bought.id,
            )
        )
    return refunds


def _card_exceptions(
    world: SpendWorld, rng: random.Random, today: date, unknown_account: str
) -> list[SeedCardTransaction]:
    holder = world.users[1]
    closed_day = _month_start(today, 2) + timedelta(days=11)
    out = []
    for account, day, memo in (
        (unknown_account, today - timedelta(days=min(3, today.day - 1)), "Ukjent konto"),
        ("6560", closed_day, "Kjøp i lukket periode"),
    ):
        amount = rng.randrange(20_000, 90_000)
        out.append(
            SeedCardTransaction(
                id=_uuid(rng),
                user_id=holder.id,
                merchant_name="Clas Ohlson",
                amount_minor=amount,
                currency="NOK",
                transacted_at=_at(day, rng, today),
                lines=(_coding(world, rng, holder.id, account, amount, memo, None),),
                sync_ready=True,
                memo=memo,
                merchant_category_code="5251",
                sk_category_id=_OFFICE[0],
                sk_category_name=_OFFICE[1],
                merchant_country="NO",
                merchant_city="OSLO",
            )
        )
    return out


def _reimbursements(world: SpendWorld, rng: random.Random, today: date) -> None:
    open_from = _month_start(today, 1)
    span = (today - open_from).days + 1
    claims: list[SeedReimbursement] = []
    plans = [
        ("OUT_OF_POCKET", "Parkering Oslo S", "7140", 9_000, 45_000, "NOK"),
        ("OUT_OF_POCKET", "Taxi fra Gardermoen", "7140", 45_000, 110_000, "NOK"),
        ("OUT_OF_POCKET", "Kundemiddag", "7350", 80_000, 260_000, "NOK"),
        ("OUT_OF_POCKET", "Hotell København", "7140", 90_000, 180_000, "EUR"),
        ("OUT_OF_POCKET", "Tog Göteborg", "7140", 29_000, 89_000, "SEK"),
        ("OUT_OF_POCKET", "Bøker og kurs", "6860", 19_000, 89_000, "NOK"),
        ("PER_DIEM", "Diett kundebesøk Tromsø", "7160", 0, 0, "NOK"),
    ]
    norwegians = [u for u in world.users if world._codes[u.id][1] != "400"]
    for index, (kind, memo, account, low, high, currency) in enumerate(plans * 2):
        person = norwegians[(index * 3) % len(norwegians)]
        day = min(open_from + timedelta(days=rng.randrange(span)), today)
        if kind == "PER_DIEM":
            charged = 86_500 * (1 + index % 3)  # a full-day allowance, one to three days
        else:
            charged = rng.randrange(low // 100, high // 100) * 100
        amount = _converted(rng, charged, currency, "NOK")
        state = (
            "PENDING"
            if index == 5
            else "REJECTED"
            if index == 9
            else "REIMBURSED"
            if index % 2
            else "APPROVED"
        )
        claims.append(
            SeedReimbursement(
                id=_uuid(rng),
                user_id=person.id,
                amount_minor=amount,
                currency="NOK",
                transaction_date=day,
                type=kind,
                merchant=None if kind == "PER_DIEM" else memo,
                lines=(
                    _coding(
                        world,
                        rng,
                        person.id,
                        account,
                        amount,
                        memo,
                        "0" if kind == "PER_DIEM" else None,
                    ),
                ),
                original_amount_minor=charged if currency != "NOK" else None,
                original_currency=currency if currency != "NOK" else None,
                state=state,
                sync_ready=state in ("APPROVED", "REIMBURSED"),
                memo=memo,
                receipts=0 if kind == "PER_DIEM" else 1,
            )
        )
    claims += _mileage(world, rng, today, open_from, span)
    inactive = norwegians[2]
    amount = rng.randrange(15_000, 60_000)
    claims.append(
        SeedReimbursement(
            id=_uuid(rng),
            user_id=inactive.id,
            amount_minor=amount,
            currency="NOK",
            transaction_date=min(open_from + timedelta(days=3), today),
            merchant="Jernia",
            lines=(
                _coding(world, rng, inactive.id, INACTIVE_ACCOUNT, amount, "Driftsmateriell", None),
            ),
            sync_ready=True,
            memo="Driftsmateriell (konto ikke i bruk)",
        )
    )
    world.reimbursements = tuple(claims)


def _mileage(
    world: SpendWorld, rng: random.Random, today: date, open_from: date, span: int
) -> list[SeedReimbursement]:
    trips = (
        ("Oslo", "Drammen", 42, "NOK", Decimal("3.50"), 1),
        ("Bergen", "Voss", 104, "NOK", Decimal("3.50"), 3),
        ("Trondheim", "Røros", 156, "NOK", Decimal("3.50"), 5),
        ("Stockholm", "Uppsala", 71, "SEK", Decimal("2.50"), 10),
        ("Stockholm", "Västerås", 112, "SEK", Decimal("2.50"), 11),
    )
    out = []
    for start, end, one_way_km, currency, per_km, who in trips:
        person = world.users[who]
        km = one_way_km * 2  # there and back
        amount = int((km * per_km * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        miles = (Decimal(km) / _MILE_KM).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        out.append(
            SeedReimbursement(
                id=_uuid(rng),
                user_id=person.id,
                amount_minor=amount,
                currency=currency,
                transaction_date=min(open_from + timedelta(days=rng.randrange(span)), today),
                type="MILEAGE",
                lines=(
                    _coding(world, rng, person.id, "7100", amount, f"Kjøring {start}-{end}", "0"),
                ),
                distance_miles=miles,
                start_location=start,
                end_location=start,
                waypoints=(end,),
                state="APPROVED",
                sync_ready=True,
                memo=f"Kjøregodtgjørelse {start}-{end} t/r, {km} km",
                receipts=0,
            )
        )
    return out


def _statements(world: SpendWorld, today: date, primary_entity_id: str) -> None:
    """Statements for the two months before this one; a transfer pays each, early in the next
    month (the previous month's own payment lands on this month's statement, not yet closed)."""
    older, last, current = _month_start(today, 2), _month_start(today, 1), _month_start(today, 0)
    rng = random.Random(_SEED + 1)
    world.statements = (
        SeedStatement(_uuid(rng), older, last - timedelta(days=1)),
        SeedStatement(_uuid(rng), last, current - timedelta(days=1)),
    )
    transfers = []
    for entity, currency in ((primary_entity_id, "NOK"), (world.second_entity_id, "SEK")):
        entity_users = {u.id for u in world.users if u.entity_id == entity}
        for period, paid_on in (
            (world.statements[0], last + timedelta(days=4)),
            (world.statements[1], current + timedelta(days=4)),
        ):
            owed = sum(
                c.amount_minor
                for c in world.card_transactions
                if c.state == "CLEARED"
                and c.user_id in entity_users
                and period.start <= c.transacted_at.date() <= period.end
            )
            if owed <= 0:
                continue
            transfers.append(
                SeedTransfer(
                    id=_uuid(rng),
                    amount_minor=owed,
                    currency=currency,
                    created_at=_at(min(paid_on, today), rng, today),
                    entity_id=entity,
                )
            )
    world.transfers = tuple(transfers)
