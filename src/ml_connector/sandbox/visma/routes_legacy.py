"""The legacy REST webhook registration (Visma.net API 9.11, removed by Visma on 30.04.2025).

Served at ``/resources/v1/...`` and ``/API/resources/v1/...`` so connectors that still register
this way can be tested: ``GET /resources/v1/event`` lists the event names,
``POST /resources/v1/subscription`` with ``{"event": "supplier_changed", "hookUri": "https://…"}``
answers 201 + ``Location`` + the ``SubscriptionDto``; ``GET`` lists, ``GET|PUT|DELETE
/subscription/{id}`` read, change and remove one. One subscription per event per client and
company (a second one is refused with 400). Notifications to these hooks are signed like the
portal ones when the sandbox has a webhook secret.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.responses import ApiError, json_response
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.state import Subscription

__all__ = ["LEGACY_EVENTS", "register"]

# Legacy event name -> (name, description); every name in webhooks.EVENTS must appear here.
LEGACY_EVENTS = {
    "supplier_changed": ("Supplier changed", "Triggered after creation or update of a Supplier"),
    "account_changed": ("Account changed", "Triggered after creation or update of an Account"),
    "segment_changed": ("Segment changed", "Triggered after a segment value changes"),
    "project_changed": ("Project changed", "Triggered after a Project changes"),
    "apinvoice_statuschanged": (
        "AP invoice status changed",
        "Triggered when a supplier invoice changes status",
    ),
    "purchaseorder_changed": (
        "Purchase order changed",
        "Triggered after creation or update of a Purchase order",
    ),
}


def _dto(subscription: Subscription) -> dict[str, Any]:
    return {"id": subscription.id, "event": subscription.event, "hookUri": subscription.hook_uri}


def _body(request: ApiRequest) -> tuple[str, str]:
    data = request.json()
    if not isinstance(data, dict):
        raise ApiError.bad_request("The request is invalid. A subscription object is required.")
    event, hook_uri = data.get("event"), data.get("hookUri")
    if not isinstance(event, str) or not isinstance(hook_uri, str) or not hook_uri:
        raise ApiError.bad_request("The request is invalid. 'event' and 'hookUri' are required.")
    if event not in LEGACY_EVENTS:
        raise ApiError.bad_request(f"Unknown event type '{event}'.")
    if not hook_uri.startswith(("http://", "https://")):
        raise ApiError.bad_request(f"'{hook_uri}' is not an absolute http(s) URL.")
    return event, hook_uri


def _find(request: ApiRequest) -> Subscription:
    raw = request.params["id"]
    subscription = request.company.subscriptions.get(int(raw)) if raw.isdigit() else None
    if subscription is None or subscription.client_id != request.grant.client_id:
        raise ApiError.not_found(f"Subscription {raw} was not found.")
    return subscription


def list_events(request: ApiRequest) -> Response:
    return json_response(
        [
            {"eventType": event, "name": name, "description": description}
            for event, (name, description) in LEGACY_EVENTS.items()
        ]
    )


def list_subscriptions(request: ApiRequest) -> Response:
    mine = [
        _dto(s)
        for s in request.company.subscriptions.values()
        if s.client_id == request.grant.client_id
    ]
    return json_response(mine)


def post_subscription(request: ApiRequest) -> Response:
    company = request.company
    event, hook_uri = _body(request)
    for existing in company.subscriptions.values():
        if existing.event == event and existing.client_id == request.grant.client_id:
            raise ApiError.bad_request(
                f"A subscription for '{event}' already exists (id {existing.id})."
            )
    number = int(company.next_number("subscription", 1, lambda n: int(n) in company.subscriptions))
    subscription = Subscription(number, event, hook_uri, request.grant.client_id)
    company.subscriptions[number] = subscription
    location = request.url("resources", "v1", "subscription", str(number))
    return json_response(_dto(subscription), status=201, headers={"Location": location})


def get_subscription(request: ApiRequest) -> Response:
    return json_response(_dto(_find(request)))


def put_subscription(request: ApiRequest) -> Response:
    subscription = _find(request)
    subscription.event, subscription.hook_uri = _body(request)
    return Response(status_code=204)


def delete_subscription(request: ApiRequest) -> Response:
    subscription = _find(request)
    del request.company.subscriptions[subscription.id]
    return Response(status_code=204)


def register(router: Router) -> None:
    router.add("GET", "/resources/v1/event", list_events)
    router.add("GET", "/resources/v1/subscription", list_subscriptions)
    router.add("POST", "/resources/v1/subscription", post_subscription)
    router.add("GET", "/resources/v1/subscription/{id}", get_subscription)
    router.add("PUT", "/resources/v1/subscription/{id}", put_subscription)
    router.add("DELETE", "/resources/v1/subscription/{id}", delete_subscription)
