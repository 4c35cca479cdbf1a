"""``ml-connector serve`` and ``ml-connector worker``: the long-running processes.

``serve`` runs the web app (webhook receivers, ``/healthz``, ``/readyz``) under uvicorn and, by
default, the worker and scheduler in the same process. ``worker`` runs the worker and scheduler
alone, for scale-out behind a shared PostgreSQL store.

Both stop gracefully on SIGTERM or SIGINT: nothing new is claimed, the batch in hand finishes,
and the process exits 0. (``serve`` first stops accepting requests and answers those in hand.)

uvicorn does not interpret ``X-Forwarded-For`` for ``serve`` (``server_config``): the app
believes it only from the proxies named in ``ML_CONNECTOR_TRUSTED_PROXIES``. With
``--behind-https`` responses carry HSTS (see docs/security.md).

``serve`` runs on uvloop's event loop with uvicorn's httptools parser when both are installed
(they are dependencies; without them it falls back to asyncio's loop and h11), and freezes the
objects of its start-up out of the garbage collector's way before it accepts requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import signal
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer
import uvicorn
from starlette.types import ASGIApp

from ml_connector.cli._common import Opt, app, err_console, styled
from ml_connector.errors import ConnectorError
from ml_connector.runtime.retry import RetryPolicy
from ml_connector.runtime.service import Service
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.web.admin import metrics_app
from ml_connector.web.app import create_app
from ml_connector.web.webhooks import ReceiverConfig

__all__ = ["ServiceOptions", "serve", "server_config", "worker"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class ServiceOptions:
    """How the in-process service claims and reconciles."""

    poll_interval_s: float
    reconcile_interval_s: float
    concurrency: int
    lease_s: float = 120.0
    retry_base_s: float = 2.0
    retry_cap_s: float = 900.0

    def build(self, runtime: Runtime) -> Service:
        policy = RetryPolicy(
            max_attempts=runtime.settings.max_attempts,
            base_s=self.retry_base_s,
            cap_s=max(self.retry_cap_s, self.retry_base_s),
        )
        return Service(
            runtime,
            policy=policy,
            poll_interval_s=self.poll_interval_s,
            reconcile_interval_s=self.reconcile_interval_s,
            concurrency=self.concurrency,
            lease_s=self.lease_s,
        )


PollOpt = Annotated[
    float,
    Opt(
        envvar="ML_CONNECTOR_POLL_INTERVAL_S",
        min=0.05,
        help="Seconds between claims when no webhook wakes the worker.",
    ),
]
ReconcileOpt = Annotated[
    float,
    Opt(
        envvar="ML_CONNECTOR_RECONCILE_INTERVAL_S",
        min=1.0,
        help="Seconds between reconciliation passes (a connection's poll_interval_s wins).",
    ),
]
ConcurrencyOpt = Annotated[
    int, Opt(envvar="ML_CONNECTOR_CONCURRENCY", min=1, help="Records worked on at once.")
]
LeaseOpt = Annotated[
    float,
    Opt(
        envvar="ML_CONNECTOR_LEASE_S",
        min=1.0,
        help="Seconds a claimed record stays leased; a dead worker's records return after it.",
    ),
]
RetryBaseOpt = Annotated[
    float,
    Opt(envvar="ML_CONNECTOR_RETRY_BASE_S", min=0.01, help="First retry backoff ceiling (s)."),
]
RetryCapOpt = Annotated[
    float,
    Opt(envvar="ML_CONNECTOR_RETRY_CAP_S", min=0.01, help="Longest retry backoff (s)."),
]


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT ends in exit code 0.

    uvicorn re-raises the signal after its graceful shutdown, so the process dies of it; here
    the shutdown is the whole answer to the signal.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


class LoopChoice(StrEnum):
    """``serve --loop``."""

    AUTO = "auto"
    UVLOOP = "uvloop"
    ASYNCIO = "asyncio"


class HttpChoice(StrEnum):
    """``serve --http``."""

    AUTO = "auto"
    HTTPTOOLS = "httptools"
    H11 = "h11"


def _loop_factory(loop: LoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop for "uvloop", and for "auto" when it is installed; else None
    (asyncio's own)."""
    if loop is LoopChoice.ASYNCIO:
        return None
    try:
        import uvloop
    except ImportError:
        if loop is LoopChoice.UVLOOP:
            raise typer.BadParameter("uvloop is not installed", param_hint="--loop") from None
        return None
    return uvloop.new_event_loop


def _http_protocol(http: HttpChoice) -> str:
    installed = importlib.util.find_spec("httptools") is not None
    if http is HttpChoice.HTTPTOOLS and not installed:
        raise typer.BadParameter("httptools is not installed", param_hint="--http")
    if http is HttpChoice.AUTO:
        return "httptools" if installed else "h11"
    return http.value


def server_config(app: ASGIApp, host: str, port: int, http: str) -> uvicorn.Config:
    """uvicorn's configuration for ``serve`` (and its metrics address).

    ``proxy_headers=False``: uvicorn would otherwise believe ``X-Forwarded-For`` from loopback
    peers (its default ``forwarded_allow_ips``) and replace the peer address with whatever the
    header claims. The app decides which proxies to believe (``ML_CONNECTOR_TRUSTED_PROXIES``,
    ``web/proxies.py``). ``server_header=False``: no software banner.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=http,
        lifespan="on",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )


class _SideServer(uvicorn.Server):
    """A second server in the same process (the metrics port): the main one owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _receiver_config(settings: Settings) -> ReceiverConfig:
    return ReceiverConfig(
        max_age_s=settings.webhook_max_age_s, max_skew_s=settings.webhook_max_skew_s
    )


async def _serve(
    host: str, port: int, http: str, options: ServiceOptions | None, *, behind_https: bool
) -> None:
    settings = Settings(behind_https=True) if behind_https else Settings()
    runtime = await Runtime.open(settings)
    try:
        service = options.build(runtime) if options is not None else None
        app = create_app(runtime, service=service, config=_receiver_config(settings))
        config = server_config(app, host, port, http)
        side: _SideServer | None = None
        if settings.metrics_port is not None:  # /metrics only there, never beside the receivers
            side_config = server_config(
                metrics_app(runtime), settings.metrics_host, settings.metrics_port, http
            )
            side_config.lifespan = "off"
            side = _SideServer(side_config)
        # Everything built so far lives as long as the process: keep it out of every collection.
        gc.collect()
        gc.freeze()
        # On SIGTERM/SIGINT: stop accepting, finish the requests in hand, then the lifespan.
        main = _Server(config)
        if side is None:
            await main.serve()
            return
        metrics_task = asyncio.create_task(side.serve(), name="metrics-server")
        try:
            await main.serve()
        finally:
            side.should_exit = True
            await metrics_task
    finally:
        await runtime.close()


async def _work(options: ServiceOptions) -> None:
    runtime = await Runtime.open(Settings())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in _SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:
        err_console.print("worker running; SIGTERM or Ctrl-C stops it after the batch in hand")
        await options.build(runtime).run(stop)
    finally:
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
        await runtime.close()


def _run(
    main: Coroutine[Any, Any, None],
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(main)
    except ConnectorError as exc:
        err_console.print(styled("[red]error:[/red] {}", exc, multiline=True))
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, Opt(envvar="ML_CONNECTOR_HOST", help="Interface to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, Opt(envvar="ML_CONNECTOR_PORT", help="Port to listen on.")] = 8700,
    no_worker: Annotated[
        bool, Opt("--no-worker", help="Only receive webhooks; run workers with `worker`.")
    ] = False,
    loop: Annotated[
        LoopChoice, Opt(envvar="ML_CONNECTOR_LOOP", help="Event loop (auto: uvloop if installed).")
    ] = LoopChoice.AUTO,
    http: Annotated[
        HttpChoice,
        Opt(envvar="ML_CONNECTOR_HTTP", help="HTTP parser (auto: httptools if installed)."),
    ] = HttpChoice.AUTO,
    poll_interval_s: PollOpt = 1.0,
    reconcile_interval_s: ReconcileOpt = 300.0,
    concurrency: ConcurrencyOpt = 8,
    lease_s: LeaseOpt = 120.0,
    retry_base_s: RetryBaseOpt = 2.0,
    retry_cap_s: RetryCapOpt = 900.0,
    behind_https: Annotated[
        bool,
        Opt(
            "--behind-https",
            help="serve sits behind an https proxy: send HSTS "
            "(also ML_CONNECTOR_BEHIND_HTTPS=true).",
        ),
    ] = False,
) -> None:
    """Receive webhooks (/webhooks/ramp/NAME, /webhooks/visma/NAME) and sync in one process."""
    options = (
        None
        if no_worker
        else ServiceOptions(
            poll_interval_s, reconcile_interval_s, concurrency, lease_s, retry_base_s, retry_cap_s
        )
    )
    _run(
        _serve(host, port, _http_protocol(http), options, behind_https=behind_https),
        _loop_factory(loop),
    )


@app.command()
def worker(
    poll_interval_s: PollOpt = 1.0,
    reconcile_interval_s: ReconcileOpt = 300.0,
    concurrency: ConcurrencyOpt = 8,
    lease_s: LeaseOpt = 120.0,
    retry_base_s: RetryBaseOpt = 2.0,
    retry_cap_s: RetryCapOpt = 900.0,
) -> None:
    """Work the queue and run reconciliation, without the web app (for scale-out)."""
    _run(
        _work(
            ServiceOptions(
                poll_interval_s,
                reconcile_interval_s,
                concurrency,
                lease_s,
                retry_base_s,
                retry_cap_s,
            )
        )
    )
