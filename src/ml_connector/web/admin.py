"""The operator-facing routes, assembled: dashboard (``/ui``), admin API (``/api/v1``), metrics.

``create_app`` mounts :func:`admin_routes` beside the webhook receivers. ``/metrics`` carries
counts and configured connection names, no secrets. Settings can protect it
(docs/security.md, "Webhooks and metrics"):

- ``ML_CONNECTOR_METRICS_TOKEN``: only a request with ``Authorization: Bearer <token>`` gets
  the metrics (compared in constant time); others get 401.
- ``ML_CONNECTOR_METRICS_PORT`` (and ``_HOST``): ``serve`` answers ``/metrics`` only on that
  separate address (:func:`metrics_app`), and the main app has no ``/metrics`` at all.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ml_connector.metrics import CONTENT_TYPE
from ml_connector.runtime.metrics_feed import render_metrics
from ml_connector.runtime.wiring import Runtime
from ml_connector.web.api import api_routes
from ml_connector.web.auth import Auth, AuthConfig
from ml_connector.web.ui import ui_routes

__all__ = ["admin_routes", "metrics_app", "metrics_route"]


def metrics_route(runtime: Runtime) -> Route:
    """``GET /metrics``, behind the metrics token when the settings name one."""
    secret = runtime.settings.metrics_token
    expected = secret.get_secret_value().encode() if secret is not None else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), expected
            ):
                return JSONResponse(
                    {"error": "a bearer token is required for /metrics"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        body = await render_metrics(runtime.store, now=datetime.now(UTC))
        return Response(body, media_type=CONTENT_TYPE)

    return Route("/metrics", metrics, methods=["GET"])


def metrics_app(runtime: Runtime) -> Starlette:
    """An app that serves only ``/metrics`` (for a separate metrics address)."""
    return Starlette(routes=[metrics_route(runtime)])


def admin_routes(runtime: Runtime, auth: Auth | None = None) -> list[BaseRoute]:
    """Routes for the dashboard, the admin API and ``/metrics`` (unless it has its own port).

    ``auth`` defaults to the runtime's settings (session lifetimes, login limits, trusted
    proxies) with secure cookies; tests pass their own (a test clock, other limits).
    """
    auth = auth or Auth(runtime.store, runtime.vault, AuthConfig.from_settings(runtime.settings))
    # With a separate metrics address, the main app does not answer /metrics at all.
    metrics = [] if runtime.settings.metrics_port is not None else [metrics_route(runtime)]
    return [*metrics, *api_routes(runtime, auth), *ui_routes(runtime, auth)]
