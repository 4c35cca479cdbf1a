"""What the demo's spend modules share: the world being built and the helpers that draw it.

``SpendWorld`` collects the ``Dataset`` fields ``_demo_spend`` adds; ``coding`` codes an amount
the way the demo's people do (their own cost centre and department, mostly no project);
``converted`` turns a foreign amount into NOK at a card network's rate of the day.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
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

__all__ = ["SpendWorld", "coding", "converted", "moment_on", "month_start", "new_uuid"]

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
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (dept, cc)


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def month_start(day: date, months_back: int) -> date:
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def moment_on(day: date, rng: random.Random, today: date) -> datetime:
    """A moment on ``day`` during opening hours (UTC), never after ``today``."""
    chosen = min(day, today)
    return datetime.combine(chosen, time(7 + rng.randrange(12), rng.randrange(60)), tzinfo=UTC)


def coding(
    world: SpendWorld,
    rng: random.Random,
    user_id: str,
    account: str,
    amount: int,
    memo: str,
    vat: str | None,
) -> SeedBillLine:
    dept, centre = world.codes[user_id]
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


def converted(rng: random.Random, amount: int, currency: str, settle: str) -> int:
    """``amount`` (minor units of ``currency``) in ``settle`` at the day's card rate."""
    if currency == settle:
        return amount
    low, high = _RATES[currency]  # NOK per unit: the demo converts into NOK only
    rate = low + (high - low) * Decimal(rng.randrange(101)) / 100
    return int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
