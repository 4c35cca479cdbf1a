"""The ASGI app ``ml-connector serve`` runs: webhook receivers, health probes, and the service.

Routes:

- ``POST /webhooks/ramp/{connection}`` and ``POST /webhooks/visma/{connection}``: the receivers
  (``web/webhooks.py``).
- ``GET /healthz``: the process answers (liveness).
- ``GET /readyz``: the store answers and the background tasks are running (readiness); 503
  otherwise, with the reason.

The lifespan runs, beside the requests:

- the :class:`~ml_connector.runtime.service.Service` when one is given (``serve`` without
  ``--no-worker``); a webhook that queues work wakes it (``Service.wake``);
- a sweeper that applies inbox events a crash left ``received`` (every ``sweep_interval_s``,
  events older than ``sweep_after_s``), and hourly deletes settled events and rejections
  older than ``retention_days``, expired sessions, stale login counters, and security log
  entries older than ``settings.security_log_retention_days``.
  Each deleted event leaves its compact key behind for ``SEEN_KEEP``, so a replay of it is
  still recognised.

The receivers never accept a signed time older than the inbox retention: ``create_app`` caps
the receiver's ``max_age_s`` at ``retention_days``.

The receivers' group commit (``web/ingest.py``) needs no task while idle: its flusher runs only
while events wait. On shutdown (uvicorn stops accepting and finishes the requests in hand first)
the ingestor writes what still waits and refuses more, then the service and the sweeper are told
to stop; the service finishes the batch it holds and claims nothing new.

The receivers are answered before Starlette's middleware and router (``ConnectorApp``): they
are the hot path and need neither. Middleware added to the app therefore sees every route but
the two ``/webhooks/...`` ones.

The app does not own the runtime: whoever built it closes it after the app has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ml_connector.errors import ConnectorError
from ml_connector.runtime.housekeeping import check_store, prune_inbox, prune_security_log
from ml_connector.runtime.service import Service
from ml_connector.runtime.webhooks import sweep_events
from ml_connector.runtime.wiring import Runtime
from ml_connector.web.admin import admin_routes
from ml_connector.web.auth import Auth, AuthConfig
from ml_connector.web.headers import SecurityHeaders
from ml_connector.web.webhooks import ReceiverConfig, WebhookReceiver, receiver_route

__all__ = ["SEEN_KEEP", "ConnectorApp", "create_app"]

log = structlog.get_logger(__name__)
_PRUNE_S = 3600.0  # how often the sweeper applies the retention
# How long a pruned event's key is kept after pruning (at least the retention itself).
SEEN_KEEP = timedelta(days=365)


async def _housekeeping(runtime: Runtime, auth: Auth) -> None:
    """Hourly: expired sessions, stale login counters, security log entries past retention."""
    await auth.housekeeping()
    pruned = await prune_security_log(runtime)
    if pruned:
        log.info("security log pruned", entries=pruned)


async def _sweep_loop(
    runtime: Runtime,
    auth: Auth,
    stop: asyncio.Event,
    interval_s: float,
    after_s: float,
    retention_days: float | None,
) -> None:
    pruned_at: float | None = None
    while not stop.is_set():
        try:
            swept = await sweep_events(runtime.store, older_than_s=after_s)
            if swept:
                log.info("inbox swept", applied=swept)
            now = time.monotonic()
            if pruned_at is None or now - pruned_at > _PRUNE_S:
                pruned_at = now
                await _housekeeping(runtime, auth)
                if retention_days is not None:
                    events, rejections = await prune_inbox(runtime, retention_days, SEEN_KEEP)
                    if events or rejections:
                        log.info("inbox pruned", events=events, rejections=rejections)
        except ConnectorError as exc:
            log.warning("inbox sweep failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


class ConnectorApp(Starlette):
    """Starlette, except that ``POST /webhooks/{ramp|visma}/{name}`` goes straight to the
    receiver's ASGI handler. ``kwargs`` are Starlette's (routes, lifespan, …)."""

    def __init__(self, receiver: WebhookReceiver, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            route = receiver_route(path[len(root) :] if root and path.startswith(root) else path)
            if route is not None:
                await self.receiver.handle(scope, receive, send, *route)
                return
        await super().__call__(scope, receive, send)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _readyz(
    runtime: Runtime, tasks: dict[str, asyncio.Task[None]]
) -> Callable[[Request], Awaitable[Response]]:
    """Ready while the background tasks run and the store answers."""

    async def readyz(request: Request) -> Response:
        problems = [f"{name} stopped" for name, task in tasks.items() if task.done()]
        try:
            await check_store(runtime)
        except (ConnectorError, TimeoutError) as exc:
            problems.append(f"store unavailable: {type(exc).__name__}")
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return readyz


def _capped(config: ReceiverConfig | None, retention_days: float | None) -> ReceiverConfig:
    """The receiver's config; an event older than the inbox retention is never accepted."""
    config = config or ReceiverConfig()
    if retention_days is not None and config.max_age_s > retention_days * 86_400:
        config = dataclasses.replace(config, max_age_s=retention_days * 86_400)
    return config


def create_app(
    runtime: Runtime,
    *,
    service: Service | None = None,
    on_work: Callable[[], None] | None = None,
    config: ReceiverConfig | None = None,
    sweep_interval_s: float = 30.0,
    sweep_after_s: float = 30.0,
    retention_days: float | None = 30.0,
    auth: Auth | None = None,
) -> ConnectorApp:
    """The app for ``runtime``; with ``service``, the worker and scheduler run in its lifespan.

    ``on_work`` is called whenever a webhook queued work; it defaults to ``service.wake``.
    Settled inbox events and rejections older than ``retention_days`` are deleted (hourly);
    None keeps them forever. ``auth`` defaults to one configured from the runtime's settings
    (tests pass their own, with a clock). Responses carry the security headers
    (``web/headers.py``), with HSTS when ``settings.behind_https``.
    """
    auth = auth or Auth(runtime.store, runtime.vault, AuthConfig.from_settings(runtime.settings))
    wake = on_work if on_work is not None else (service.wake if service is not None else None)
    receiver = WebhookReceiver(runtime, on_work=wake, config=_capped(config, retention_days))
    tasks: dict[str, asyncio.Task[None]] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        receiver.ingestor.open()
        if service is not None:
            tasks["service"] = asyncio.create_task(service.run(stop), name="service")
        tasks["sweeper"] = asyncio.create_task(
            _sweep_loop(runtime, auth, stop, sweep_interval_s, sweep_after_s, retention_days),
            name="sweeper",
        )
        try:
            yield
        finally:
            await receiver.ingestor.close()
            await receiver.rejections.close()
            stop.set()
            results = await asyncio.gather(*tasks.values(), return_exceptions=True)
            for name, result in zip(tasks, results, strict=True):
                if isinstance(result, BaseException):
                    log.error("background task failed", task=name, error=repr(result))
            tasks.clear()

    routes = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz(runtime, tasks), methods=["GET"]),
        *admin_routes(runtime, auth),  # /ui, /api/v1, /metrics
    ]
    hsts = runtime.settings.hsts_max_age_s if runtime.settings.behind_https else None
    middleware = [Middleware(SecurityHeaders, hsts_max_age_s=hsts)]
    app = ConnectorApp(receiver, routes=routes, lifespan=lifespan, middleware=middleware)
    state: Any = app.state
    state.receiver = receiver
    state.tasks = tasks
    return app
