"""Paging, metadata, date-time condition filters, routing case and the legacy prefix."""

from __future__ import annotations

import httpx
import pytest

from integration.sandbox_visma.visma_kit import ManualClock, send
from ml_connector.sandbox.visma import VismaSandbox


def _add_suppliers(sandbox: VismaSandbox, count: int) -> None:
    for index in range(count):
        sandbox.add_supplier(f"Leverandør {index:02d}")


async def test_pages_carry_metadata_on_every_record(
    client: httpx.AsyncClient, sandbox: VismaSandbox, token: str
) -> None:
    """Each record repeats metadata{totalCount, maxPageSize}; pages split the list in order."""
    _add_suppliers(sandbox, 6)  # 4 seeded + 6 = 10
    first = (await send(client, "GET", "/v1/supplier?pageNumber=1&pageSize=4", token)).json()
    third = (await send(client, "GET", "/v1/supplier?pageNumber=3&pageSize=4", token)).json()
    assert len(first) == 4
    assert len(third) == 2
    assert all(r["metadata"] == {"totalCount": 10, "maxPageSize": 1000} for r in first + third)
    numbers = [r["number"] for r in first]
    assert numbers == sorted(numbers)


async def test_page_past_the_end_is_empty(client: httpx.AsyncClient, token: str) -> None:
    """Asking beyond the last page answers an empty array, not an error."""
    response = await send(client, "GET", "/v1/supplier?pageNumber=9&pageSize=4", token)
    assert (response.status_code, response.json()) == (200, [])


async def test_page_size_is_capped_silently(clock: ManualClock) -> None:
    """A pageSize above max_page_size returns max_page_size records and says so in metadata."""
    from integration.sandbox_visma.visma_kit import client_for, fetch_token, make_sandbox

    sandbox = make_sandbox(clock, max_page_size=3)
    async with client_for(sandbox) as http:
        token = await fetch_token(http)
        page = (await send(http, "GET", "/v1/supplier?pageNumber=1&pageSize=500", token)).json()
        assert len(page) == 3
        assert page[0]["metadata"] == {"totalCount": 4, "maxPageSize": 3}
        unpaged = (await send(http, "GET", "/v1/supplier", token)).json()
        assert len(unpaged) == 3


async def test_invalid_page_number_is_400(client: httpx.AsyncClient, token: str) -> None:
    """pageNumber 0 or a non-number is refused with a message body."""
    for query in ("pageNumber=0", "pageSize=abc"):
        response = await send(client, "GET", f"/v1/supplier?{query}", token)
        assert response.status_code == 400
        assert response.json()["message"].startswith("VismaId: ")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [(">", ["B"]), (">=", ["A", "B"]), ("<", ["seed"]), ("<=", ["seed", "A"])],
)
async def test_last_modified_conditions(
    client: httpx.AsyncClient,
    sandbox: VismaSandbox,
    clock: ManualClock,
    token: str,
    condition: str,
    expected: list[str],
) -> None:
    """lastModifiedDateTime with >, >=, <, <= compares against each record's last write."""
    clock.advance(60)
    sandbox.add_supplier("A")  # written at 2026-03-15T10:01:00
    clock.advance(60)
    sandbox.add_supplier("B")
    response = await send(client, "GET", "/v1/supplier", token)
    seeded = {r["number"] for r in response.json() if r["name"] not in ("A", "B")}
    filtered = await client.get(
        "/v1/supplier",
        params={
            "lastModifiedDateTime": "2026-03-15T10:01:00.000",
            "lastModifiedDateTimeCondition": condition,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    names = [r["name"] if r["number"] not in seeded else "seed" for r in filtered.json()]
    assert list(dict.fromkeys(names)) == expected


async def test_every_write_bumps_last_modified(
    client: httpx.AsyncClient, sandbox: VismaSandbox, clock: ManualClock, token: str
) -> None:
    """A PUT moves lastModifiedDateTime to the clock's time and the record into a > filter."""
    clock.advance(1800.25)
    response = await send(client, "PUT", "/v1/supplier/50001", token, {"note": {"value": "x"}})
    assert response.status_code == 204
    one = (await send(client, "GET", "/v1/supplier/50001", token)).json()
    assert one["lastModifiedDateTime"] == "2026-03-15T10:30:00.250"
    changed = await send(
        client,
        "GET",
        "/v1/supplier?lastModifiedDateTime=2026-03-15%2010:30:00&lastModifiedDateTimeCondition=%3E",
        token,
    )
    assert [r["number"] for r in changed.json()] == ["50001"]


@pytest.mark.parametrize(
    "query",
    [
        "lastModifiedDateTime=2026-03-01",
        "lastModifiedDateTimeCondition=%3E",
        "lastModifiedDateTime=2026-03-01T00:00:00Z&lastModifiedDateTimeCondition=%3E",
        "lastModifiedDateTime=2026-03-01&lastModifiedDateTimeCondition=eq",
    ],
)
async def test_bad_date_filters_are_400(client: httpx.AsyncClient, token: str, query: str) -> None:
    """A lone date or condition, a Z suffix or an unknown operator is refused."""
    response = await send(client, "GET", f"/v1/supplier?{query}", token)
    assert response.status_code == 400


async def test_unknown_query_parameters_are_ignored(client: httpx.AsyncClient, token: str) -> None:
    """A misspelt filter is ignored silently and the list comes back unfiltered (faithful)."""
    response = await send(client, "GET", "/v1/supplier?statuss=Inactive", token)
    assert len(response.json()) == 4


async def test_filters_narrow_supplier_lists(client: httpx.AsyncClient, token: str) -> None:
    """name, status, vatRegistrationId and corporateId each select matching suppliers."""
    cases = {
        "name=kontorland%20as": ["50001"],
        "status=OnHold": ["50002"],
        "vatRegistrationId=NO912345678MVA": ["50001"],
        "corporateId=5561234567": ["50004"],
        "greaterThanValue=50002": ["50003", "50004"],
    }
    for query, numbers in cases.items():
        response = await send(client, "GET", f"/v1/supplier?{query}", token)
        assert [r["number"] for r in response.json()] == numbers, query


@pytest.mark.parametrize(
    "path",
    [
        "/v1/supplier/50001",
        "/V1/SUPPLIER/50001",
        "/API/controller/api/v1/supplier/50001",
        "/api/Controller/API/v1/Supplier/50001/",
    ],
)
async def test_routing_is_case_insensitive_with_legacy_prefix(
    client: httpx.AsyncClient, token: str, path: str
) -> None:
    """Any casing of the path, with or without /API/controller/api, reaches the same supplier."""
    response = await send(client, "GET", path, token)
    assert response.status_code == 200
    assert response.json()["name"] == "Kontorland AS"


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient, token: str) -> None:
    """An unknown path is 404; a known path with an unsupported verb is 405."""
    assert (await send(client, "GET", "/v1/nosuchthing", token)).status_code == 404
    wrong = await send(client, "DELETE", "/v1/supplier/50001", token)
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["allow"]


async def test_unknown_key_is_404(client: httpx.AsyncClient, token: str) -> None:
    """Reading a supplier that does not exist is 404 with a message."""
    response = await send(client, "GET", "/v1/supplier/99999", token)
    assert response.status_code == 404
    assert "99999" in response.json()["message"]
