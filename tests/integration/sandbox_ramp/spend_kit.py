"""A small company with people and spend for the Ramp sandbox's spend tests.

``spend_company()`` is ``ramp_kit.small_company()`` plus a second entity (Swedish), two
departments, two locations, three users, card transactions (one foreign, one split, one pending,
one declined, one refund), reimbursements (one mileage, one repayment), a statement and two
transfers. Fixed ids, so tests can name them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from integration.sandbox_ramp.ramp_kit import (
    ENTITY_ID,
    ManualClock,
    Receiver,
    client_for,
    fetch_token,
    make_sandbox,
    small_company,
)
from ml_connector.sandbox.ramp import RampSandbox
from ml_connector.sandbox.seed import (
    Dataset,
    SeedBillLine,
    SeedCardTransaction,
    SeedDepartment,
    SeedEntity,
    SeedEntityAccount,
    SeedLocation,
    SeedReimbursement,
    SeedStatement,
    SeedTransfer,
    SeedUser,
)

SPEND_SCOPES = (
    "bills:read accounting:read accounting:write entities:read transactions:read "
    "reimbursements:read transfers:read statements:read users:read departments:read "
    "departments:write locations:read locations:write receipts:read business:read"
)
ENTITY_SE = "5bcc3734-f03a-4756-bc4b-afeb52d7385e"
DEPT_ADVISORY = "d0000000-0000-4000-8000-000000000010"
DEPT_TECH = "d0000000-0000-4000-8000-000000000020"
LOC_OSLO = "10c00000-0000-4000-8000-000000000100"
LOC_STOCKHOLM = "10c00000-0000-4000-8000-000000000400"
USER_INGRID = "a5e00000-0000-4000-8000-000000000001"  # Oslo, Advisory, manager
USER_SOFIE = "a5e00000-0000-4000-8000-000000000002"  # Oslo, Technology
USER_ELSA = "a5e00000-0000-4000-8000-000000000003"  # Stockholm, Swedish entity
TX_HOTEL = "7e000000-0000-4000-8000-000000000001"  # NOK, ready, coded
TX_ADOBE = "7e000000-0000-4000-8000-000000000002"  # EUR bought, NOK settled, ready
TX_SPLIT = "7e000000-0000-4000-8000-000000000003"  # split over two accounts, not ready
TX_PENDING = "7e000000-0000-4000-8000-000000000004"
TX_DECLINED = "7e000000-0000-4000-8000-000000000005"
TX_REFUND = "7e000000-0000-4000-8000-000000000006"  # refund of TX_HOTEL (part)
TX_SEK = "7e000000-0000-4000-8000-000000000007"  # Swedish entity, SEK
TX_UNCODED = "7e000000-0000-4000-8000-000000000008"  # cleared, no coding, not ready
RE_TAXI = "2e000000-0000-4000-8000-000000000001"  # ready
RE_MILEAGE = "2e000000-0000-4000-8000-000000000002"  # ready
RE_PENDING = "2e000000-0000-4000-8000-000000000003"  # awaiting review
RE_REPAYMENT = "2e000000-0000-4000-8000-000000000004"  # USER_TO_BUSINESS
RE_SEK = "2e000000-0000-4000-8000-000000000005"  # Swedish entity
STATEMENT_FEB = "5a000000-0000-4000-8000-000000000002"
TRANSFER_FEB = "7f000000-0000-4000-8000-000000000001"  # pays January, made in February
TRANSFER_MAR = "7f000000-0000-4000-8000-000000000002"  # pays February, made in March


def _at(day: int, month: int = 3, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _coded(amount: int, account: str, **coding: Any) -> SeedBillLine:
    return SeedBillLine(amount_minor=amount, memo=f"{account} spend", gl_account=account, **coding)


def _people() -> dict[str, Any]:
    return {
        "departments": (
            SeedDepartment(DEPT_ADVISORY, "Advisory"),
            SeedDepartment(DEPT_TECH, "Technology"),
        ),
        "locations": (
            SeedLocation(LOC_OSLO, "Oslo", ENTITY_ID),
            SeedLocation(LOC_STOCKHOLM, "Stockholm", ENTITY_SE),
        ),
        "users": (
            SeedUser(USER_INGRID, "Ingrid", "Bakke", "ingrid@testfjord.example", DEPT_ADVISORY,
                     LOC_OSLO, employee_id="E1", role="BUSINESS_ADMIN"),
            SeedUser(USER_SOFIE, "Sofie", "Nilsen", "sofie@testfjord.example", DEPT_TECH,
                     LOC_OSLO, employee_id="E2", manager_id=USER_INGRID),
            SeedUser(USER_ELSA, "Elsa", "Lindqvist", "elsa@testfjord.example", DEPT_ADVISORY,
                     LOC_STOCKHOLM, entity_id=ENTITY_SE, employee_id="S1"),
        ),
    }  # fmt: skip


def _cards() -> tuple[SeedCardTransaction, ...]:
    def card(
        card_id: str, user: str, merchant: str, amount: int, when: datetime, **extra: Any
    ) -> SeedCardTransaction:
        return SeedCardTransaction(
            card_id, user, merchant, amount, extra.pop("currency", "NOK"), when, **extra
        )

    return (
        card(TX_HOTEL, USER_SOFIE, "Scandic Hotels", 189000, _at(2),
             lines=(_coded(189000, "6800", cost_centre="100", vat_code="1"),), sync_ready=True,
             memo="Hotel", merchant_category_code="7011", sk_category_id=25,
             sk_category_name="Lodging", merchant_country="NO", merchant_city="BERGEN"),
        card(TX_ADOBE, USER_INGRID, "Adobe", 57842, _at(4),
             lines=(_coded(57842, "6540"),), original_amount_minor=4999,
             original_currency="EUR", sync_ready=True, merchant_country="IE"),
        card(TX_SPLIT, USER_SOFIE, "Peppes Pizza", 100000, _at(6),
             lines=(_coded(60000, "6800", cost_centre="100"),
                    _coded(40000, "6540", cost_centre="200"))),
        card(TX_PENDING, USER_SOFIE, "Vy", 39900, _at(10), state="PENDING"),
        card(TX_DECLINED, USER_INGRID, "Casino Royale", 500000, _at(10, hour=23),
             state="DECLINED", receipts=0),
        card(TX_REFUND, USER_SOFIE, "Scandic Hotels", -45000, _at(8),
             lines=(_coded(-45000, "6800", cost_centre="100", vat_code="1"),),
             refund_of=TX_HOTEL, receipts=0),
        card(TX_SEK, USER_ELSA, "SJ", 129500, _at(3), currency="SEK",
             lines=(_coded(129500, "6540"),), sync_ready=True),
        card(TX_UNCODED, USER_INGRID, "Clas Ohlson", 9900, _at(1, month=2), receipts=2),
    )  # fmt: skip


def _claims() -> tuple[SeedReimbursement, ...]:
    return (
        SeedReimbursement(RE_TAXI, USER_SOFIE, 45000, "NOK", date(2026, 3, 5), merchant="Oslo Taxi",
                          lines=(_coded(45000, "6800"),), sync_ready=True, memo="Taxi"),
        SeedReimbursement(RE_MILEAGE, USER_INGRID, 29400, "NOK", date(2026, 3, 7), type="MILEAGE",
                          lines=(_coded(29400, "6540", vat_code="0"),),
                          distance_miles=Decimal("52.20"),
                          start_location="Oslo", end_location="Oslo", waypoints=("Drammen",),
                          sync_ready=True, receipts=0),
        SeedReimbursement(RE_PENDING, USER_SOFIE, 12000, "NOK", date(2026, 3, 9), state="PENDING",
                          merchant="Narvesen", original_amount_minor=1100,
                          original_currency="EUR"),
        SeedReimbursement(RE_REPAYMENT, USER_SOFIE, 5000, "NOK", date(2026, 3, 9),
                          type="PAYBACK_FULL", receipts=0),
        SeedReimbursement(RE_SEK, USER_ELSA, 24900, "SEK", date(2026, 3, 2), merchant="Pressbyrån",
                          lines=(_coded(24900, "6800"),), sync_ready=True),
    )  # fmt: skip


def spend_company() -> Dataset:
    """``small_company()`` with a Swedish entity, people, card spend, reimbursements and
    statements (see the module docstring)."""
    base = small_company()
    liability = (SeedEntityAccount("2920", "CARD_LIABILITY_ACCOUNT", classification="LIABILITY"),)
    return dataclasses.replace(
        base,
        entities=(
            dataclasses.replace(base.entities[0], accounts=liability),
            SeedEntity(ENTITY_SE, "Testfjord AB", "SEK", is_primary=False, accounts=liability),
        ),
        card_transactions=_cards(),
        reimbursements=_claims(),
        statements=(SeedStatement(STATEMENT_FEB, date(2026, 2, 1), date(2026, 2, 28)),),
        transfers=(
            SeedTransfer(TRANSFER_FEB, 120000, "NOK", _at(5, month=2)),
            SeedTransfer(TRANSFER_MAR, 9900, "NOK", _at(5), status="INITIATED"),
        ),
        **_people(),
    )


def make_spend_sandbox(clock: ManualClock, **options: Any) -> RampSandbox:
    options.setdefault("dataset", spend_company())
    return make_sandbox(clock, **options)


@asynccontextmanager
async def spend_session(
    clock: ManualClock, **options: Any
) -> AsyncIterator[tuple[RampSandbox, httpx.AsyncClient, dict[str, str]]]:
    """A spend sandbox, a client, and bearer headers with every spend scope."""
    sandbox = make_spend_sandbox(clock, **options)
    async with client_for(sandbox) as http:
        token = await fetch_token(http, SPEND_SCOPES)
        yield sandbox, http, {"Authorization": f"Bearer {token}"}


@dataclass
class SpendWorld:
    """What a spend test works with."""

    sandbox: RampSandbox
    http: httpx.AsyncClient
    auth: dict[str, str]
    clock: ManualClock
    receiver: Receiver

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"/developer/v1{path}", params=params, headers=self.auth)

    async def sync(self, key: str, sync_type: str, **lists: Any) -> httpx.Response:
        body = {"idempotency_key": key, "sync_type": sync_type, **lists}
        return await self.http.post("/developer/v1/accounting/syncs", json=body, headers=self.auth)


def data(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def ids_of(response: httpx.Response) -> set[str]:
    return {row["id"] for row in data(response)}
