"""Helpers for the Ramp client unit tests: an inline Ramp app, a bill as Ramp sends it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from clients_inline import Inbox, TokenEndpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Handler = Callable[[Request], Any]
Routes = Mapping[str, Handler]


def bill_json(bill_id: str, amount: int = 96993) -> dict[str, Any]:
    selection = {
        "id": "opt-1",
        "name": "6800 Office supplies",
        "external_id": "6800",
        "category_info": {
            "id": "f-1",
            "name": "GL",
            "external_id": "gl_account",
            "type": "GL_ACCOUNT",
        },
    }
    return {
        "id": bill_id,
        "amount": {"amount": amount, "currency_code": "NOK", "minor_unit_conversion_rate": 100},
        "status": "OPEN",
        "approval_status": "APPROVED",
        "sync_status": "NOT_SYNCED",
        "invoice_number": "432",
        "invoice_urls": ["http://files.example/inv-432.pdf"],
        "issued_at": "2022-12-31T00:00:00",
        "due_at": "2023-01-30T00:00:00+00:00",
        "accounting_date": "2022-12-31T00:00:00+00:00",
        "created_at": "2024-05-12T01:37:27.604020",
        "entity_id": "e-1",
        "fx_conversion_rate": "1.0",
        "bill_owner": {"id": "u-1"},
        "vendor": {"id": "v-1", "name": "Acme AS", "remote_id": None, "type": "BUSINESS"},
        "vendor_contact_id": None,
        "accounting_field_selections": [],
        "line_items": [
            {
                "amount": {"amount": amount, "currency_code": "NOK"},
                "memo": "Paper",
                "accounting_field_selections": [selection],
            }
        ],
        "inventory_line_items": [],
        "payment": None,
        "archived_at": None,
        "a_field_ramp_adds_tomorrow": {"x": 1},
    }


def app_with(ramp_token: TokenEndpoint, inbox: Inbox, routes: Routes) -> Starlette:
    """An inline Ramp: the token endpoint plus ``routes`` (``"METHOD /path"`` → handler)."""

    def recording(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            await inbox.take(request)
            result = handler(request)
            answer: Response = await result if asyncio.iscoroutine(result) else result
            return answer

        return endpoint

    built = [ramp_token.route]
    for key, handler in routes.items():
        method, path = key.split(" ", 1)
        built.append(Route("/developer/v1" + path, recording(handler), methods=[method]))
    return Starlette(routes=built)


def json_answer(body: Any, status: int = 200, **headers: str) -> Callable[[Request], Response]:
    return lambda request: JSONResponse(body, status_code=status, headers=headers or None)
