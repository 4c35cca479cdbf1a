"""The demo's reimbursements: out-of-pocket (some paid abroad), mileage, a per-diem.

Mileage pays the state rates (NOK 3.50/km, SEK 2.50/km) for a round trip; Ramp's ``distance``
is in miles. One claim awaits review, one was rejected, and one (the deliberate exception) is
coded to an account Visma keeps inactive.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox._demo_spend_base import (
    SpendWorld,
    coding,
    converted,
    month_start,
    new_uuid,
)
from ml_connector.sandbox.seed_spend import SeedReimbursement, SeedUser

__all__ = ["INACTIVE_ACCOUNT", "add_reimbursements"]

INACTIVE_ACCOUNT = "6590"
_MILE_KM = Decimal("1.609344")


# Out-of-pocket and per-diem claims: kind, memo, account, low, high (minor units), currency.
_PLANS = (
    ("OUT_OF_POCKET", "Parkering Oslo S", "7140", 9_000, 45_000, "NOK"),
    ("OUT_OF_POCKET", "Taxi fra Gardermoen", "7140", 45_000, 110_000, "NOK"),
    ("OUT_OF_POCKET", "Kundemiddag", "7350", 80_000, 260_000, "NOK"),
    ("OUT_OF_POCKET", "Hotell København", "7140", 90_000, 180_000, "EUR"),
    ("OUT_OF_POCKET", "Tog Göteborg", "7140", 29_000, 89_000, "SEK"),
    ("OUT_OF_POCKET", "Bøker og kurs", "6860", 19_000, 89_000, "NOK"),
    ("PER_DIEM", "Diett kundebesøk Tromsø", "7160", 0, 0, "NOK"),
)


def add_reimbursements(world: SpendWorld, rng: random.Random, today: date) -> None:
    open_from = month_start(today, 1)
    span = (today - open_from).days + 1
    norwegians = [u for u in world.users if world.codes[u.id][1] != "400"]
    claims: list[SeedReimbursement] = [
        _claim(world, rng, (today, open_from, span), norwegians, index, plan)
        for index, plan in enumerate(_PLANS * 2)
    ]
    claims += _mileage(world, rng, today, open_from, span)
    claims.append(_inactive_claim(world, rng, today, open_from, norwegians[2]))
    world.reimbursements = tuple(claims)


def _claim(
    world: SpendWorld,
    rng: random.Random,
    window: tuple[date, date, int],
    norwegians: list[SeedUser],
    index: int,
    plan: tuple[str, str, str, int, int, str],
) -> SeedReimbursement:
    """The ``index``-th out-of-pocket or per-diem claim, by a Norwegian employee."""
    today, open_from, span = window
    kind, memo, account, low, high, currency = plan
    person = norwegians[(index * 3) % len(norwegians)]
    day = min(open_from + timedelta(days=rng.randrange(span)), today)
    if kind == "PER_DIEM":
        charged = 86_500 * (1 + index % 3)  # a full-day allowance, one to three days
    else:
        charged = rng.randrange(low // 100, high // 100) * 100
    amount = converted(rng, charged, currency, "NOK")
    state = (
        "PENDING"
        if index == 5
        else "REJECTED"
        if index == 9
        else "REIMBURSED"
        if index % 2
        else "APPROVED"
    )
    return SeedReimbursement(
        id=new_uuid(rng),
        user_id=person.id,
        amount_minor=amount,
        currency="NOK",
        transaction_date=day,
        type=kind,
        merchant=None if kind == "PER_DIEM" else memo,
        lines=(
            coding(
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


def _inactive_claim(
    world: SpendWorld, rng: random.Random, today: date, open_from: date, person: SeedUser
) -> SeedReimbursement:
    """A claim coded to an account that is not in use: it cannot post."""
    amount = rng.randrange(15_000, 60_000)
    return SeedReimbursement(
        id=new_uuid(rng),
        user_id=person.id,
        amount_minor=amount,
        currency="NOK",
        transaction_date=min(open_from + timedelta(days=3), today),
        merchant="Jernia",
        lines=(coding(world, rng, person.id, INACTIVE_ACCOUNT, amount, "Driftsmateriell", None),),
        sync_ready=True,
        memo="Driftsmateriell (konto ikke i bruk)",
    )


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
                id=new_uuid(rng),
                user_id=person.id,
                amount_minor=amount,
                currency=currency,
                transaction_date=min(open_from + timedelta(days=rng.randrange(span)), today),
                type="MILEAGE",
                lines=(
                    coding(world, rng, person.id, "7100", amount, f"Kjøring {start}-{end}", "0"),
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
