"""``/developer/v1/webhooks``: subscribe, list, get, delete, verify.

The spec declares no scope on these routes, but Ramp's webhooks page says subscribing needs the
read scope of each event's resource (``bills.*`` needs ``bills:read``); the sandbox enforces
that with a 403 ``DEVELOPER_7100``. Other checks: ``endpoint_url`` must be an http(s) URL,
every event type must be one Ramp knows, and ``additional_headers`` allows at most five
headers (names up to 100 characters, values 1-1000, and not Host, User-Agent, Content-Type,
the signature headers or any X-Forwarded*/X-Real*/X-Original* name). Event types are the spec's
enum, plus the 2026 ones when the sandbox runs with ``newer_event_types``.

There is no update: to change a subscription, delete it and create a new one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp.api import api_of, api_route, json_response
from ml_connector.sandbox.ramp.bodies import WebhookCreateIn, WebhookVerifyIn, read_json
from ml_connector.sandbox.ramp.errors import ErrorCode, RampApiError
from ml_connector.sandbox.ramp.webhooks import Subscription, required_read_scopes

__all__ = ["webhook_routes"]

_RESERVED = frozenset(
    {"host", "user-agent", "content-type", "content-length", "x-ramp-signature"}
    | {"x-ramp-webhook-id", "x-ramp-webhook-signature"}
)
_RESERVED_PREFIXES = ("x-forwarded", "x-real", "x-original")


def _check_headers(headers: dict[str, str]) -> None:
    if len(headers) > 5:
        raise RampApiError.invalid("additional_headers", "At most 5 headers are allowed.")
    for name, value in headers.items():
        lowered = name.lower()
        if not 0 < len(name) <= 100 or not 0 < len(value) <= 1000:
            raise RampApiError.invalid("additional_headers", f"Header {name!r} is too long.")
        if lowered in _RESERVED or lowered.startswith(_RESERVED_PREFIXES):
            raise RampApiError.invalid("additional_headers", f"Header {name!r} is reserved.")


def find(request: Request) -> Subscription:
    ctx = api_of(request)
    webhook_id = request.path_params["webhook_id"]
    found = ctx.hub.subscriptions.get(webhook_id)
    if found is None:
        raise RampApiError.not_found("Webhook subscription", webhook_id)
    return found


async def create(request: Request) -> Response:
    ctx = api_of(request)
    body = await read_json(request, WebhookCreateIn)
    url = urlsplit(body.endpoint_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise RampApiError.invalid("endpoint_url", "Not a valid URL.")
    if not body.event_types:
        raise RampApiError.invalid("event_types", "Give at least one event type.")
    unknown = sorted(set(body.event_types) - ctx.hub.accepted_event_types)
    if unknown:
        raise RampApiError.invalid("event_types", f"Unknown event types: {unknown}.")
    headers = body.additional_headers or {}
    _check_headers(headers)
    token = ctx.tokens.authenticate(request, None)
    missing = sorted(required_read_scopes(body.event_types) - token.scopes)
    if missing:
        raise RampApiError(
            403,
            f"Subscribing to these events needs the scopes: {' '.join(missing)}.",
            code=ErrorCode.MISSING_SCOPE,
        )
    subscription = ctx.hub.subscribe(body.endpoint_url, body.event_types, headers)
    return json_response(subscription.to_json(ctx.state.business_id, with_secret=True), status=201)


async def list_all(request: Request) -> Response:
    ctx = api_of(request)
    subscriptions = sorted(ctx.hub.subscriptions.values(), key=lambda s: s.seq)
    return json_response([s.to_json(ctx.state.business_id) for s in subscriptions])


async def get_one(request: Request) -> Response:
    ctx = api_of(request)
    return json_response(find(request).to_json(ctx.state.business_id))


async def delete_one(request: Request) -> Response:
    ctx = api_of(request)
    del ctx.hub.subscriptions[find(request).id]
    return Response(status_code=204)


async def verify(request: Request) -> Response:
    ctx = api_of(request)
    subscription = find(request)
    body = await read_json(request, WebhookVerifyIn)
    if not ctx.hub.verify(subscription, body.challenge):
        raise RampApiError.invalid("challenge", "The challenge does not match.", status=400)
    return json_response({"success": True})


def webhook_routes() -> list[Route]:
    one = "/webhooks/{webhook_id}"
    return [
        api_route("/webhooks", create, methods=["POST"], scope=None),
        api_route("/webhooks", list_all, methods=["GET"], scope=None),
        api_route(one, get_one, methods=["GET"], scope=None),
        api_route(one, delete_one, methods=["DELETE"], scope=None),
        api_route(f"{one}/verify", verify, methods=["POST"], scope=None),
    ]
