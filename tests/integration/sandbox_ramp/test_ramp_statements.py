"""Card statements and transfers (statement payments) in the Ramp sandbox."""

from __future__ import annotations

from datetime import date

from integration.sandbox_ramp.ramp_kit import ENTITY_ID
from integration.sandbox_ramp.spend_kit import (
    STATEMENT_FEB,
    TRANSFER_FEB,
    TRANSFER_MAR,
    TX_HOTEL,
    TX_REFUND,
    TX_SEK,
    TX_UNCODED,
    SpendWorld,
    data,
    ids_of,
)


async def test_transfer_has_the_spec_shape(spend: SpendWorld) -> None:
    """A transfer: CurrencyAmount in minor units, status, sync_status, entity, payment id."""
    raw = (await spend.get(f"/transfers/{TRANSFER_FEB}")).json()
    assert raw["amount"] == {"amount": 120000, "currency_code": "NOK"}
    assert (raw["status"], raw["sync_status"]) == ("COMPLETED", "SYNC_READY")
    assert raw["entity_id"] == ENTITY_ID
    assert raw["payment_id"]
    assert set(raw) == {
        "id",
        "amount",
        "created_at",
        "entity_id",
        "payment_id",
        "status",
        "sync_status",
    }


async def test_transfer_filters(spend: SpendWorld) -> None:
    """status, sync_status, statement_id and dates narrow the transfers."""
    assert ids_of(await spend.get("/transfers", status="COMPLETED")) == {TRANSFER_FEB}
    assert ids_of(await spend.get("/transfers", sync_status="NOT_SYNC_READY")) == {TRANSFER_MAR}
    assert ids_of(await spend.get("/transfers", statement_id=STATEMENT_FEB)) == {TRANSFER_FEB}
    assert ids_of(await spend.get("/transfers", from_date="2026-03-01")) == {TRANSFER_MAR}
    completed = await spend.http.post(f"/_sandbox/transfers/{TRANSFER_MAR}/complete")
    assert completed.json()["sync_status"] == "SYNC_READY"


async def test_statement_figures_and_lines(spend: SpendWorld) -> None:
    """A statement holds its period's cleared card spend and payments, with balances."""
    raw = (await spend.get(f"/statements/{STATEMENT_FEB}")).json()
    assert raw["start_date"] == "2026-02-01T00:00:00+00:00"
    assert raw["charges"] == {"amount": 9900, "currency_code": "NOK"}
    assert raw["payments"] == {"amount": 120000, "currency_code": "NOK"}
    assert raw["ending_balance"] == {"amount": 9900 - 120000, "currency_code": "NOK"}
    assert [(line["id"], line["type"]) for line in raw["statement_lines"]] == [
        (TX_UNCODED, "CARD_TRANSACTION"),
        (TRANSFER_FEB, "TRANSFER_PAYMENT"),
    ]
    assert raw["balance_sections"][0]["entity_id"] == ENTITY_ID
    pdf = await spend.http.get(raw["statement_url"])
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


async def test_closing_a_period_builds_the_next_statement(spend: SpendWorld) -> None:
    """A statement created for March takes March's cleared spend and carries February's balance."""
    march = spend.sandbox.create_statement(start=date(2026, 3, 1), end=date(2026, 3, 14))
    lines = {line["id"] for line in march["statement_lines"]}
    assert {TX_HOTEL, TX_REFUND, TX_SEK} <= lines
    assert TRANSFER_MAR in lines
    nok = next(
        s for s in march["balance_sections"] if s["opening_balance"]["currency_code"] == "NOK"
    )
    assert nok["opening_balance"]["amount"] == 9900 - 120000
    assert nok["credits"]["amount"] == 45000
    assert march["preceding_statement_id"] == STATEMENT_FEB
    sek = next(s for s in march["balance_sections"] if s["charges"]["currency_code"] == "SEK")
    assert sek["charges"]["amount"] == 129500
    listed = ids_of(await spend.get("/statements"))
    assert listed == {STATEMENT_FEB, march["id"]}
    early = data(await spend.get("/statements", to_date="2026-03-01T00:00:00Z"))
    assert [s["id"] for s in early] == [STATEMENT_FEB]
    overlap = await spend.http.post(
        "/_sandbox/statements", json={"start": "2026-03-10", "end": "2026-03-20"}
    )
    assert overlap.status_code == 400
