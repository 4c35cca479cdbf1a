"""VismaClient paging as Visma pages: capped silently, metadata partly or wholly left out.

Visma caps ``pageSize`` without saying so and may leave out ``metadata.maxPageSize`` (reference
§4). The client must read on past a short page until a page comes back empty or
``metadata.totalCount`` records were read; endpoints without paging are read once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from clients_inline import Inbox, TokenEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from test_clients_visma import app_with

from ml_connector.clients import VismaClient
from ml_connector.errors import FatalVendorError

SUPPLIERS = [{"number": f"{50000 + n}", "name": f"Supplier {n}"} for n in range(23)]


def capped(cap: int, metadata: Callable[[int], dict[str, Any] | None]) -> Callable[..., Response]:
    """A supplier list that answers at most ``cap`` rows per page, whatever was asked."""

    def page(request: Request) -> Response:
        number = int(request.query_params["pageNumber"])
        size = min(int(request.query_params["pageSize"]), cap)
        rows = SUPPLIERS[(number - 1) * size : number * size]
        meta = metadata(len(SUPPLIERS))
        return JSONResponse([{**row, "metadata": meta} if meta else row for row in rows])

    return page


@pytest.mark.parametrize(
    ("metadata", "requests"),
    [
        (lambda total: {"totalCount": total}, 5),  # stops at totalCount: 5+5+5+5+3
        (lambda total: None, 6),  # no metadata: reads on until the empty sixth page
    ],
    ids=["total-count-only", "no-metadata"],
)
async def test_short_pages_do_not_end_the_list(
    inbox: Inbox,
    visma_token: TokenEndpoint,
    make_visma: Callable[..., VismaClient],
    metadata: Callable[[int], dict[str, Any] | None],
    requests: int,
) -> None:
    """Asked for 100, answered 5 at a time without maxPageSize: all 23 suppliers are read."""
    app = app_with(visma_token, inbox, {"GET /v1/supplier": capped(5, metadata)})
    visma = make_visma(app, page_size=100)

    got = [s.number async for s in visma.list_suppliers()]

    assert got == [s["number"] for s in SUPPLIERS]
    calls = inbox.to("/v1/supplier")
    assert [c.query["pageNumber"] for c in calls] == [str(n) for n in range(1, requests + 1)]
    assert {c.query["pageSize"] for c in calls} == {"100"}  # nothing told it otherwise


async def test_max_page_size_when_given_sizes_the_next_requests(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """With maxPageSize present the client asks for that much from the second page on."""
    meta = {"totalCount": len(SUPPLIERS), "maxPageSize": 10}
    app = app_with(visma_token, inbox, {"GET /v1/supplier": capped(10, lambda total: meta)})
    visma = make_visma(app, page_size=1000)

    assert len([s async for s in visma.list_suppliers()]) == len(SUPPLIERS)
    sizes = [c.query["pageSize"] for c in inbox.to("/v1/supplier")]
    assert sizes == ["1000", "10", "10"]


async def test_a_page_repeated_before_total_count_stops_with_an_error(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """A server that ignores pageNumber while saying more exist: an error, never a short list."""

    def same_page(request: Request) -> Response:
        rows = SUPPLIERS[:5]
        return JSONResponse([{**row, "metadata": {"totalCount": 23}} for row in rows])

    visma = make_visma(app_with(visma_token, inbox, {"GET /v1/supplier": same_page}))
    with pytest.raises(FatalVendorError, match="5 of 23 records"):
        _ = [s async for s in visma.list_suppliers()]
    assert len(inbox.to("/v1/supplier")) == 2


async def test_unpaged_endpoints_are_read_once(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """Periods have no paging parameters in the spec: one request, no pageNumber sent."""
    periods = [
        {"year": 2026, "period": "202601", "startDate": "2025-07-01T00:00:00"},
        {"year": 2026, "period": "202602", "startDate": "2025-08-01T00:00:00"},
    ]
    routes = {"GET /v1/financialPeriod": lambda r: JSONResponse(periods)}
    visma = make_visma(app_with(visma_token, inbox, routes))

    got = await visma.list_financial_periods()

    assert [p.period for p in got] == ["202601", "202602"]
    assert str(got[0].start_date) == "2025-07-01"
    (call,) = inbox.to("/v1/financialPeriod")
    assert call.query == {}
