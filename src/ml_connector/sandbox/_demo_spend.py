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
from datetime import date, timedelta

from ml_connector.sandbox._demo_cards import add_cards
from ml_connector.sandbox._demo_claims import INACTIVE_ACCOUNT, add_reimbursements
from ml_connector.sandbox._demo_spend_base import SpendWorld, moment_on, month_start, new_uuid
from ml_connector.sandbox.seed_spend import (
    SeedDepartment,
    SeedEntityAccount,
    SeedLocation,
    SeedStatement,
    SeedTransfer,
    SeedUser,
)

__all__ = [
    "CARD_LIABILITY_ACCOUNT",
    "DELIBERATE_REIMBURSEMENT_FAILURES",
    "DELIBERATE_TRANSACTION_FAILURES",
    "EMPLOYEE_PAYABLE_ACCOUNT",
    "INACTIVE_ACCOUNT",
    "SpendWorld",
    "build_spend",
    "entity_accounts",
]

DELIBERATE_TRANSACTION_FAILURES = 2  # one coded to the unknown account, one in a closed period
DELIBERATE_REIMBURSEMENT_FAILURES = 1  # coded to an inactive account
_SEED = 20261201
CARD_LIABILITY_ACCOUNT = "2920"  # where card spend is owed until the statement is paid
EMPLOYEE_PAYABLE_ACCOUNT = "2930"  # reimbursements owed to employees

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


def entity_accounts() -> tuple[SeedEntityAccount, ...]:
    """What the entities' accounting settings in Ramp point at in the shared chart."""
    return (
        SeedEntityAccount(
            CARD_LIABILITY_ACCOUNT, "CARD_LIABILITY_ACCOUNT", classification="LIABILITY"
        ),
        SeedEntityAccount(
            EMPLOYEE_PAYABLE_ACCOUNT,
            "REIMBURSEMENT_ACCOUNTS_PAYABLE_ACCOUNT",
            classification="LIABILITY",
        ),
        SeedEntityAccount("1920", "TRANSFER_BANK_ACCOUNT", classification="ASSET"),
        SeedEntityAccount("1920", "REIMBURSEMENT_BANK_ACCOUNT", classification="ASSET"),
        SeedEntityAccount("2400", "BILL_PAY_ACCOUNTS_PAYABLE_ACCOUNT", classification="LIABILITY"),
    )


def build_spend(today: date, primary_entity_id: str, unknown_account: str) -> SpendWorld:
    """The demo's people and spend as of ``today`` (see the module docstring)."""
    rng = random.Random(_SEED)
    world = SpendWorld(second_entity_id=new_uuid(rng))
    dept_ids = {code: new_uuid(rng) for code, _ in _DEPARTMENTS}
    world.departments = tuple(SeedDepartment(dept_ids[c], name) for c, name in _DEPARTMENTS)
    place_ids = {code: new_uuid(rng) for code, _, _ in _LOCATIONS}
    world.locations = tuple(
        SeedLocation(
            place_ids[code],
            name,
            world.second_entity_id if country == "SE" else primary_entity_id,
        )
        for code, name, country in _LOCATIONS
    )
    users: list[SeedUser] = []
    for index, (first, last, dept, centre, number) in enumerate(_PEOPLE):
        swedish = centre == "400"
        user = SeedUser(
            id=new_uuid(rng),
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
        world.codes[user.id] = (dept, centre)
    world.users = tuple(users)
    add_cards(world, rng, today, unknown_account)
    add_reimbursements(world, rng, today)
    _statements(world, today, primary_entity_id)
    return world


def _statements(world: SpendWorld, today: date, primary_entity_id: str) -> None:
    """Statements for the two months before this one; a transfer pays each, early in the next
    month (the previous month's own payment lands on this month's statement, not yet closed)."""
    older, last, current = month_start(today, 2), month_start(today, 1), month_start(today, 0)
    rng = random.Random(_SEED + 1)
    world.statements = (
        SeedStatement(new_uuid(rng), older, last - timedelta(days=1)),
        SeedStatement(new_uuid(rng), last, current - timedelta(days=1)),
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
                    id=new_uuid(rng),
                    amount_minor=owed,
                    currency=currency,
                    created_at=moment_on(min(paid_on, today), rng, today),
                    entity_id=entity,
                )
            )
    world.transfers = tuple(transfers)
