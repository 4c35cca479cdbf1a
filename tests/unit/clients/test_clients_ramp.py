"""RampClient against inline apps: paging, models, bodies (retries, timeouts and secrets:
test_clients_ramp_retries.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from clients_inline import Inbox, TokenEndpoint
from ramp_inline import app_with, bill_json, json_answer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ml_connector.clients import RampClient
from ml_connector.clients.ramp_models import GLAccountUpload, SyncFailure, SyncSuccess
from ml_connector.errors import (
    FatalVendorError,
)


async def test_list_bills_follows_next_links_verbatim_one_page_at_a_time(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Paging sends filters once, then GETs page.next as given, and streams page by page."""
    pages = {None: ["b-1", "b-2"], "b-2": ["b-3"]}

    def bills(request: Request) -> Response:
        ids = pages[request.query_params.get("start")]
        nxt = f"http://ramp.test/developer/v1/bills?page_size=2&sync_ready=true&start={ids[-1]}"
        return JSONResponse(
            {"data": [bill_json(i) for i in ids], "page": {"next": nxt if len(ids) == 2 else None}}
        )

    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /bills": bills}), page_size=2)
    stream = ramp.list_bills(sync_ready=True)
    first = await anext(stream)
    assert first.id == "b-1"
    assert len(inbox.to("/developer/v1/bills")) == 1  # page two not fetched yet
    rest = [bill.id async for bill in stream]
    assert rest == ["b-2", "b-3"]
    queries = [r.query for r in inbox.to("/developer/v1/bills")]
    assert queries == [
        {"sync_ready": "true", "page_size": "2"},
        {"page_size": "2", "sync_ready": "true", "start": "b-2"},
    ]


async def test_next_link_to_another_host_is_not_followed(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A next-page link to a foreign host stops paging rather than send our token there."""
    page = {"data": [bill_json("b-1")], "page": {"next": "http://evil.test/developer/v1/bills"}}
    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /bills": json_answer(page)}))
    with pytest.raises(FatalVendorError, match="another host"):
        _ = [bill async for bill in ramp.list_bills()]
    assert {r.host for r in inbox.requests} == {"ramp.test"}


async def test_bill_model_reads_money_dates_and_coding(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A bill parses into minor units, UTC date-times (offset or not) and ERP coding ids."""
    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /bills/b-9": json_answer(bill_json("b-9"))}))
    bill = await ramp.get_bill("b-9")
    assert (bill.amount.amount, bill.amount.currency_code) == (96993, "NOK")
    assert bill.issued_at == datetime(2022, 12, 31, tzinfo=UTC)
    assert bill.created_at is not None
    assert bill.created_at.tzinfo is UTC
    assert bill.fx_conversion_rate == Decimal("1.0")
    selection = bill.line_items[0].accounting_field_selections[0]
    assert (selection.external_id, selection.category_info.external_id) == ("6800", "gl_account")
    assert bill.payment is None
    assert bill.vendor.name == "Acme AS"


async def test_vendor_form_answers_and_free_text_are_read_as_ramp_sends_them(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Form answers come out as (label, text) under any label; a NUMBER loses its float tail."""

    def answer(label: str, text: str, kind: str = "TEXT", value: Any = None) -> dict[str, Any]:
        return {
            "label": label,
            "field_id": label,
            "required": False,
            "description": None,
            "conditions": None,
            "value_display_string": text,
            "field": {"field_type": kind, "value": {"value": text if value is None else value}},
        }

    vendor = {
        "id": "v-1",
        "name": "Acme AS",
        "country": "NO",
        "contacts": [],
        "is_active": True,
        "accounting_vendor_remote_id": None,
        "custom_form_collection_response": {
            "custom_form_collection_log_entry": {
                "label": None,
                "forms": [
                    {
                        "label": None,
                        "fields": [
                            answer("Foretaksregister-ID", "923609016"),
                            answer("Avgift", "NO923609016MVA"),
                            answer("Ansatte", "12", "NUMBER", 12.0),
                            answer("Tom", "  "),
                        ],
                    }
                ],
            }
        },
    }
    ramp = make_ramp(app_with(ramp_token, inbox, {"GET /vendors/v-1": json_answer(vendor)}))
    got = await ramp.get_vendor("v-1")
    assert got.form_answers == (
        ("Foretaksregister-ID", "923609016"),
        ("Avgift", "NO923609016MVA"),
        ("Ansatte", "12"),
    )
    assert got.free_texts == ()


async def test_unknown_filters_and_fields_are_refused_before_sending(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """Misspelt filters or fields raise ValueError and nothing reaches Ramp."""
    ramp = make_ramp(app_with(ramp_token, inbox, {}))
    with pytest.raises(ValueError, match="sync_redy"):
        _ = [b async for b in ramp.list_bills(sync_redy=True)]
    with pytest.raises(ValueError, match="amount"):
        await ramp.update_bill("b-1", amount=Decimal("1"))
    with pytest.raises(ValueError, match="1 to 500"):
        await ramp.upload_gl_accounts([GLAccountUpload(str(n), "x") for n in range(501)])
    assert inbox.requests == []


async def test_update_bill_sends_exact_decimal_amounts(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """PATCH bodies carry Decimal amounts as exact literals."""
    ramp = make_ramp(
        app_with(ramp_token, inbox, {"PATCH /bills/b-1": json_answer(bill_json("b-1"))})
    )
    await ramp.update_bill("b-1", line_items=[{"amount": Decimal("969.93"), "memo": "Paper"}])
    (patch,) = inbox.to("/developer/v1/bills/b-1", "PATCH")
    assert patch.body == b'{"line_items":[{"amount":969.93,"memo":"Paper"}]}'


async def test_post_sync_builds_the_spec_body_and_retries_with_the_same_key(
    inbox: Inbox, ramp_token: TokenEndpoint, make_ramp: Callable[..., RampClient]
) -> None:
    """A 5xx on /accounting/syncs is retried (Ramp de-duplicates on the key); the body is exact."""
    answers = iter([JSONResponse({}, status_code=502), JSONResponse({"sync_id": "s-1"}, 201)])
    ramp = make_ramp(
        app_with(ramp_token, inbox, {"POST /accounting/syncs": lambda r: next(answers)})
    )
    sync_id = await ramp.post_sync(
        "BILL_SYNC",
        "key-1",
        successful=[SyncSuccess("b-1", "000123", "https://visma.test/doc/000123")],
        failed=[SyncFailure("b-2", "Accounting period closed")],
    )
    assert sync_id == "s-1"
    posts = inbox.to("/developer/v1/accounting/syncs")
    assert len(posts) == 2
    assert posts[0].body == posts[1].body
    assert posts[0].json() == {
        "idempotency_key": "key-1",
        "sync_type": "BILL_SYNC",
        "successful_syncs": [
            {
                "id": "b-1",
                "reference_id": "000123",
                "deep_link_url": "https://visma.test/doc/000123",
            }
        ],
        "failed_syncs": [{"id": "b-2", "error": {"message": "Accounting period closed"}}],
    }
