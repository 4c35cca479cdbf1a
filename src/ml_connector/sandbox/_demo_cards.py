"""The demo's card transactions: purchases at home and abroad, splits, refunds, exceptions.

Sixty-four purchases in the current and the previous month (every eighth on a Swedish card, in
SEK; every fifth Norwegian one abroad, bought in EUR or SEK and settled in NOK), hotel stays
split between lodging and dinner, two pending and one declined purchase, three refunds, and two
deliberate exceptions: a purchase coded to the account Visma does not have, and one dated in a
period closed in the general ledger.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ml_connector.sandbox._demo_spend_base import (
    SpendWorld,
    coding,
    converted,
    moment_on,
    month_start,
    new_uuid,
)
from ml_connector.sandbox.seed_lines import SeedBillLine
from ml_connector.sandbox.seed_spend import SeedCardTransaction

__all__ = ["add_cards"]


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


def add_cards(world: SpendWorld, rng: random.Random, today: date, unknown_account: str) -> None:
    open_from = month_start(today, 1)
    span = (today - open_from).days + 1
    norwegians = [u for u in world.users if world.codes[u.id][1] != "400"]
    swedes = [u for u in world.users if world.codes[u.id][1] == "400"]
    cards: list[SeedCardTransaction] = []
    for index in range(64):
        swedish = index % 8 == 7
        holder = rng.choice(swedes if swedish else norwegians)
        settle = "SEK" if swedish else "NOK"
        merchant = rng.choice(_SWEDISH if swedish else (_ABROAD if index % 5 == 0 else _NORWEGIAN))
        charged = rng.randrange(merchant.low, merchant.high)
        amount = converted(rng, charged, merchant.currency, settle)
        when = moment_on(open_from + timedelta(days=rng.randrange(span)), rng, today)
        memo = f"{merchant.name} {when.date().isoformat()}"
        if index % 13 == 4 and amount > 1_000:  # a hotel stay with dinner, split in two
            part = amount * 2 // 3
            lines: tuple[SeedBillLine, ...] = (
                coding(world, rng, holder.id, merchant.account, part, "Overnatting", merchant.vat),
                coding(world, rng, holder.id, "7160", amount - part, "Middag", None),
            )
        else:
            lines = (coding(world, rng, holder.id, merchant.account, amount, memo, merchant.vat),)
        state = "PENDING" if index in (60, 61) else "DECLINED" if index == 62 else "CLEARED"
        cards.append(
            SeedCardTransaction(
                id=new_uuid(rng),
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
                id=new_uuid(rng),
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
    closed_day = month_start(today, 2) + timedelta(days=11)
    out = []
    for account, day, memo in (
        (unknown_account, today - timedelta(days=min(3, today.day - 1)), "Ukjent konto"),
        ("6560", closed_day, "Kjøp i lukket periode"),
    ):
        amount = rng.randrange(20_000, 90_000)
        out.append(
            SeedCardTransaction(
                id=new_uuid(rng),
                user_id=holder.id,
                merchant_name="Clas Ohlson",
                amount_minor=amount,
                currency="NOK",
                transacted_at=moment_on(day, rng, today),
                lines=(coding(world, rng, holder.id, account, amount, memo, None),),
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
