"""Keyset pagination of the Ramp sandbox: page_size bounds, start, and page.next URLs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integration.sandbox_ramp.ramp_kit import BASE_URL, VENDOR_A, bearer, error_code, ids
from ml_connector.sandbox.ramp import RampSandbox

BILLS = "/developer/v1/bills"


def _add_bills(sandbox: RampSandbox, count: int, approval_status: str = "APPROVED") -> list[str]:
    return [
        sandbox.create_bill(
            vendor_id=VENDOR_A,
            invoice_number=f"P-{n}",
            lines=[{"amount_minor": 1000 + n, "gl_account": "6800"}],
            approval_status=approval_status,
        )["id"]
        for n in range(count)
    ]


async def test_walk_follows_page_next_until_null(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Following page.next verbatim visits every bill exactly once, in creation order."""
    _add_bills(sandbox, 7)
    seen: list[str] = []
    url: str | None = f"{BILLS}?page_size=3"
    pages = 0
    while url:
        response = await client.get(url, headers=bearer(token))
        assert response.status_code == 200
        page = response.json()
        seen += ids(page)
        url = page["page"]["next"]
        pages += 1
    expected = [b.id for b in sorted(sandbox.state.bills.values(), key=lambda b: b.seq)]
    live = [i for i in expected if sandbox.state.bills[i].archived_at is None]
    assert seen == live
    assert pages == 4  # 11 bills, 3 per page


async def test_next_is_a_full_url_keeping_filters(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """page.next is absolute, on the request's base URL, and keeps every filter."""
    _add_bills(sandbox, 5)
    response = await client.get(
        BILLS,
        params={"page_size": 2, "approval_status": "APPROVED", "vendor_id": VENDOR_A},
        headers=bearer(token),
    )
    next_url = response.json()["page"]["next"]
    parts = urlsplit(next_url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    assert parts.path == BILLS
    assert query["approval_status"] == ["APPROVED"]
    assert query["vendor_id"] == [VENDOR_A]
    assert query["page_size"] == ["2"]
    assert query["start"] == [ids(response.json())[-1]]


async def test_filtered_walk_only_returns_matches(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """A filter applies on every page, not only the first."""
    pending = _add_bills(sandbox, 5, approval_status="PENDING")
    _add_bills(sandbox, 5)
    seen: list[str] = []
    url: str | None = f"{BILLS}?page_size=2&approval_status=PENDING"
    while url:
        page = (await client.get(url, headers=bearer(token))).json()
        seen += ids(page)
        url = page["page"]["next"]
    assert set(pending) <= set(seen)
    assert all(sandbox.state.bills[i].approval_status == "PENDING" for i in seen)


async def test_default_page_size_is_twenty(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """Without page_size a page holds 20 objects."""
    _add_bills(sandbox, 25)
    page = (await client.get(BILLS, headers=bearer(token))).json()
    assert len(page["data"]) == 20
    assert page["page"]["next"] is not None


@pytest.mark.parametrize("size", ["1", "101", "0", "-5"])
async def test_page_size_out_of_range_is_422(
    client: httpx.AsyncClient, token: str, size: str
) -> None:
    """page_size outside 2..100 answers 422 DEVELOPER_7001 with Ramp's documented envelope."""
    response = await client.get(BILLS, params={"page_size": size}, headers=bearer(token))
    assert response.status_code == 422
    body = response.json()
    assert body["error_v2"] == {
        "error_code": "DEVELOPER_7001",
        "additional_info": {"page_size": ["Value must be between 2 and 100"]},
        "notes": "",
        "message": "Value must be between 2 and 100",
    }
    assert body["error"] == {"page_size": ["Value must be between 2 and 100"]}


@pytest.mark.parametrize("size", ["2", "100"])
async def test_page_size_bounds_are_inclusive(
    client: httpx.AsyncClient, token: str, size: str
) -> None:
    """2 and 100 are both accepted."""
    response = await client.get(BILLS, params={"page_size": size}, headers=bearer(token))
    assert response.status_code == 200


async def test_unknown_start_is_422(client: httpx.AsyncClient, token: str) -> None:
    """A start id that names no object of the resource is a validation error."""
    response = await client.get(BILLS, params={"start": "nope"}, headers=bearer(token))
    assert response.status_code == 422
    assert error_code(response) == "DEVELOPER_7001"


async def test_start_survives_the_anchor_leaving_the_filter(
    client: httpx.AsyncClient, sandbox: RampSandbox, token: str
) -> None:
    """If the last object of a page is archived before the next call, the walk continues."""
    _add_bills(sandbox, 4)
    first = (await client.get(f"{BILLS}?page_size=2", headers=bearer(token))).json()
    sandbox.archive_bill(ids(first)[-1])
    second = (await client.get(first["page"]["next"], headers=bearer(token))).json()
    assert second["data"]
    assert not set(ids(first)) & set(ids(second))


async def test_last_page_has_null_next(client: httpx.AsyncClient, token: str) -> None:
    """When everything fits in one page, page.next is null."""
    page = (await client.get(f"{BILLS}?page_size=100", headers=bearer(token))).json()
    assert page["page"] == {"next": None}


async def test_other_lists_paginate_too(client: httpx.AsyncClient, token: str) -> None:
    """GL accounts page the same way (2 per page over the seeded chart)."""
    url: str | None = "/developer/v1/accounting/accounts?page_size=2"
    count = 0
    while url:
        page = (await client.get(url, headers=bearer(token))).json()
        count += len(page["data"])
        url = page["page"]["next"]
    assert count == 5  # four seeded accounts plus 9999, created on demand by a bill
