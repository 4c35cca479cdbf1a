"""The operator-facing routes, assembled: dashboard (``/ui``), admin API (``/api/v1``), metrics.

``create_app`` mounts :func:`admin_routes` beside the webhook receivers. ``/metrics`` is
unauthenticated like the health probes; it carries counts and connection names, no secrets.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ml_connector.metrics import CONTENT_TYPE, render_metrics
from ml_connector.runtime.wiring import Runtime
from ml_connector.web.api import api_routes
from ml_connector.web.auth import Auth, AuthConfig
from ml_connector.web.ui import ui_routes

__all__ = ["admin_routes"]


def admin_routes(runtime: Runtime, auth: Auth | None = None) -> list[BaseRoute]:
    """Routes for the dashboard, the admin API and ``/metrics``.

    ``auth`` defaults to the runtime's settings (session lifetimes, login limits, trusted
    proxies) with secure cookies; tests pass their own (a test clock, other limits).
    """
    auth = auth or Auth(runtime.store, runtime.vault, AuthConfig.from_settings(runtime.settings))

    async def metrics(request: Request) -> Response:
        body = await render_metrics(runtime.store, now=datetime.now(UTC))
        return Response(body, media_type=CONTENT_TYPE)

    return [
        Route("/metrics", metrics, methods=["GET"]),
        *api_routes(runtime, auth),
        *ui_routes(runtime, auth),
    ]
