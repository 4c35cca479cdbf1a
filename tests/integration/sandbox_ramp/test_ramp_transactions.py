"""GET /transactions and /transactions/{id} in the Ramp sandbox: shape, filters, paging, refunds."""

from __future__ import annotations

import json
from decimal import Decimal

from integration.sandbox_ramp.ramp_kit import ENTITY_ID, error_code
from integration.sandbox_ramp.spend_kit import (
    DEPT_ADVISORY,
    ENTITY_SE,
    LOC_OSLO,
    STATEMENT_FEB,
    TX_ADOBE,
    TX_DECLINED,
    TX_HOTEL,
    TX_PENDING,
    TX_REFUND,
    TX_SEK,
    TX_SPLIT,
    TX_UNCODED,
    USER_INGRID,
    USER_SOFIE,
    SpendWorld,
    data,
    ids_of,
)


async def test_transaction_has_the_spec_shape(spend: SpendWorld) -> None:
    """Amount is a decimal in major units, currency_code, the holder's department and location."""
    response = await spend.get(f"/transactions/{TX_HOTEL}")
    assert response.status_code == 200
    raw = json.loads(response.content, parse_float=Decimal)
    assert raw["amount"] == Decimal("1890.00")
    assert raw["currency_code"] == "NOK"
    assert raw["original_transaction_amount"] == {"amount": 189000, "currency_code": "NOK"}
    assert raw["state"] == "CLEARED"
    assert raw["sync_status"] == "SYNC_READY"
    assert raw["synced_at"] is None
    assert raw["entity_id"] == ENTITY_ID
    holder = raw["card_holder"]
    assert holder["user_id"] == USER_SOFIE
    assert (holder["location_id"], holder["location_name"]) == (LOC_OSLO, "Oslo")
    assert holder["department_name"] == "Technology"
    assert raw["merchant_name"] == "Scandic Hotels"
    assert raw["sk_category_id"] == 25
    assert raw["line_items"] == []  # unsplit: the coding is on the transaction
    coded = {
        s["category_info"]["external_id"]: s["external_id"]
        for s in raw["accounting_field_selections"]
    }
    assert coded == {"gl_account": "6800", "subaccount-1": "100", "vat": "1"}
    assert all(s["type"] == s["category_info"]["type"] for s in raw["accounting_field_selections"])
    assert len(raw["receipts"]) == 1


async def test_foreign_purchase_keeps_the_merchant_amount(spend: SpendWorld) -> None:
    """A purchase in EUR settles in NOK; original_transaction_amount is the EUR amount."""
    raw = (await spend.get(f"/transactions/{TX_ADOBE}")).json()
    assert raw["currency_code"] == "NOK"
    assert raw["amount"] == 578.42
    assert raw["original_transaction_amount"] == {"amount": 4999, "currency_code": "EUR"}


async def test_split_transaction_lists_its_line_items(spend: SpendWorld) -> None:
    """A split carries line_items with amount and converted_amount in minor units."""
    raw = (await spend.get(f"/transactions/{TX_SPLIT}")).json()
    lines = raw["line_items"]
    assert [line["amount"]["amount"] for line in lines] == [60000, 40000]
    assert all(line["converted_amount"] == line["amount"] for line in lines)
    assert sum(line["amount"]["amount"] for line in lines) == 100000
    accounts = [
        next(
            s["external_id"]
            for s in line["accounting_field_selections"]
            if s["type"] == "GL_ACCOUNT"
        )
        for line in lines
    ]
    assert accounts == ["6800", "6540"]


async def test_refund_is_a_negative_transaction(spend: SpendWorld) -> None:
    """A refund is its own cleared transaction with a negative amount and the purchase's coding."""
    raw = (await spend.get(f"/transactions/{TX_REFUND}")).json()
    assert raw["amount"] == -450.0
    assert raw["state"] == "CLEARED"
    refund = spend.sandbox.refund_transaction(TX_HOTEL)  # the rest of the stay
    assert refund["amount"] == Decimal("-1440.00")
    assert spend.sandbox.state.transactions[refund["id"]].refund_of == TX_HOTEL
    again = await spend.http.post(f"/_sandbox/transactions/{TX_HOTEL}/refund", json={})
    assert again.status_code == 400  # nothing left to refund


async def test_declined_only_with_state_all_or_declined(spend: SpendWorld) -> None:
    """Without state the list leaves out declined transactions; ALL and DECLINED include them."""
    default = ids_of(await spend.get("/transactions", page_size=100))
    everything = ids_of(await spend.get("/transactions", page_size=100, state="ALL"))
    declined = ids_of(await spend.get("/transactions", state="DECLINED"))
    pending = ids_of(await spend.get("/transactions", state="PENDING"))
    assert TX_DECLINED not in default
    assert TX_DECLINED in everything
    assert declined == {TX_DECLINED}
    assert pending == {TX_PENDING}
    assert everything - default == {TX_DECLINED}


async def test_sync_filters(spend: SpendWorld) -> None:
    """sync_status supersedes sync_ready; has_no_sync_commits lists what was never synced."""
    ready = ids_of(await spend.get("/transactions", sync_status="SYNC_READY"))
    assert ready == {TX_HOTEL, TX_ADOBE, TX_SEK}
    assert ids_of(await spend.get("/transactions", sync_ready="true")) == ready
    both = await spend.get("/transactions", sync_status="NOT_SYNC_READY", sync_ready="true")
    assert TX_HOTEL not in ids_of(both)
    assert TX_SPLIT in ids_of(both)
    assert ids_of(await spend.get("/transactions", sync_status="SYNCED")) == set()
    never = ids_of(await spend.get("/transactions", has_no_sync_commits="true", page_size=100))
    assert TX_HOTEL in never
    bad = await spend.get("/transactions", sync_status="DONE")
    assert bad.status_code == 422
    assert error_code(bad) == "DEVELOPER_7001"


async def test_entity_user_department_location_filters(spend: SpendWorld) -> None:
    """entity_id, user_id, and the card holder's department and location narrow the list."""
    assert ids_of(await spend.get("/transactions", entity_id=ENTITY_SE)) == {TX_SEK}
    mine = ids_of(await spend.get("/transactions", user_id=USER_INGRID, state="ALL"))
    assert mine == {TX_ADOBE, TX_DECLINED, TX_UNCODED}
    advisory = ids_of(await spend.get("/transactions", department_id=DEPT_ADVISORY))
    assert advisory == {TX_ADOBE, TX_UNCODED, TX_SEK}
    oslo = ids_of(await spend.get("/transactions", location_id=LOC_OSLO))
    assert TX_SEK not in oslo
    assert TX_HOTEL in oslo


async def test_dates_statement_amounts_and_categories(spend: SpendWorld) -> None:
    """from_date/to_date bound user_transaction_time; statement_id, amounts, sk_category_id."""
    early = ids_of(await spend.get("/transactions", to_date="2026-03-03T00:00:00Z"))
    assert early == {TX_HOTEL, TX_UNCODED}
    late = ids_of(await spend.get("/transactions", from_date="2026-03-06", to_date="2026-03-09"))
    assert late == {TX_SPLIT, TX_REFUND}
    assert ids_of(await spend.get("/transactions", statement_id=STATEMENT_FEB)) == {TX_UNCODED}
    big = ids_of(await spend.get("/transactions", min_amount="1000", max_amount="1890.00"))
    assert big == {TX_HOTEL, TX_SPLIT, TX_SEK}
    assert ids_of(await spend.get("/transactions", sk_category_id="25")) == {TX_HOTEL}


async def test_ordering_pages_in_order(spend: SpendWorld) -> None:
    """order_by_amount_desc sorts; paging keeps that order; two orderings are refused."""
    seen: list[str] = []
    response = await spend.get("/transactions", order_by_amount_desc="true", page_size=3)
    while True:
        page = response.json()
        seen += [row["id"] for row in page["data"]]
        if page["page"]["next"] is None:
            break
        response = await spend.http.get(page["page"]["next"], headers=spend.auth)
    amounts = [spend.sandbox.state.transactions[i].amount_minor for i in seen]
    assert amounts == sorted(amounts, reverse=True)
    assert len(seen) == len(set(seen)) == 7  # everything but the declined one
    both = await spend.get("/transactions", order_by_date_asc="true", order_by_amount_asc="true")
    assert both.status_code == 422


async def test_unknown_transaction_and_missing_scope(spend: SpendWorld) -> None:
    """404 for an unknown id; a token without transactions:read gets 403 DEVELOPER_7100."""
    missing = await spend.get("/transactions/7e000000-0000-4000-8000-0000000000ff")
    assert missing.status_code == 404
    form = {"grant_type": "client_credentials", "scope": "bills:read"}
    from integration.sandbox_ramp.ramp_kit import CLIENT_ID, CLIENT_SECRET

    token = (
        await spend.http.post("/developer/v1/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    ).json()["access_token"]
    refused = await spend.http.get(
        "/developer/v1/transactions", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 403
    assert error_code(refused) == "DEVELOPER_7100"


async def test_receipts_download_from_the_file_host(spend: SpendWorld) -> None:
    """A transaction's receipt id resolves to a pre-signed receipt_url on another host."""
    receipt_ids = (await spend.get(f"/transactions/{TX_UNCODED}")).json()["receipts"]
    assert len(receipt_ids) == 2
    receipt = (await spend.get(f"/receipts/{receipt_ids[0]}")).json()
    assert receipt["transaction_id"] == TX_UNCODED
    assert receipt["user_id"] == USER_INGRID
    url = receipt["receipt_url"]
    assert url.startswith("http://files.ramp.test/files/")
    downloaded = await spend.http.get(url)
    assert downloaded.status_code == 200
    assert downloaded.content.startswith(b"%PDF")
    assert "receipt-2026-02-01-Clas Ohlson.pdf" in downloaded.headers["content-disposition"]
    with_auth = await spend.http.get(url, headers=spend.auth)
    assert with_auth.status_code == 400  # a pre-signed link takes no second credential
    spend.clock.advance(3601)
    assert (await spend.http.get(url)).status_code == 403  # valid for one hour
    listed = data(await spend.get("/receipts", transaction_id=TX_UNCODED))
    assert {r["id"] for r in listed} == set(receipt_ids)
