"""Serve the sandboxes over real HTTP (uvicorn), from the CLI or inside the demo.

``ml-connector sandbox ramp|visma`` run one sandbox in the foreground; ``start_server`` runs an
ASGI app on a loopback socket inside the current event loop and returns once it accepts
connections (the demo and the acceptance tests use it).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Annotated

import typer
import uvicorn
from starlette.types import ASGIApp

from ml_connector.sandbox.seed import Dataset, demo_dataset, empty_dataset

__all__ = ["RunningServer", "register", "start_server"]


@dataclass
class RunningServer:
    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def start_server(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start ``app`` under uvicorn on ``host:port`` (0 = any free port); wait until it listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return RunningServer(server, task, f"http://{host}:{bound_port}")


def _dataset(seed: str) -> Dataset:
    if seed not in ("demo", "empty"):
        raise typer.BadParameter("seed must be 'demo' or 'empty'")
    return demo_dataset() if seed == "demo" else empty_dataset()


Opt = typer.Option


def register(app: typer.Typer) -> None:
    """Add the ``ramp`` and ``visma`` commands to the ``sandbox`` command group."""

    @app.command("ramp")
    def ramp(
        client_id: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_RAMP_CLIENT_ID")],
        client_secret: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_RAMP_CLIENT_SECRET")],
        host: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_HOST")] = "127.0.0.1",
        port: Annotated[int, Opt(envvar="ML_CONNECTOR_SANDBOX_RAMP_PORT")] = 8710,
        seed: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_SEED")] = "demo",
        newer_event_types: Annotated[
            bool,
            Opt(
                "--newer-event-types",
                envvar="ML_CONNECTOR_SANDBOX_RAMP_NEWER_EVENT_TYPES",
                help="Also accept the 2026 webhook event types (bills.ready_to_sync, …).",
            ),
        ] = False,
    ) -> None:
        """Run the Ramp sandbox (Developer API under /developer/v1, control API under /_sandbox)."""
        from ml_connector.sandbox.ramp import RampSandbox

        sandbox = RampSandbox(
            client_id, client_secret, dataset=_dataset(seed), newer_event_types=newer_event_types
        )
        uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")

    @app.command("visma")
    def visma(
        client_id: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_CLIENT_ID")],
        client_secret: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_CLIENT_SECRET")],
        tenant_id: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_TENANT_ID")],
        company_id: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_COMPANY_ID")],
        host: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_HOST")] = "127.0.0.1",
        port: Annotated[int, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_PORT")] = 8720,
        seed: Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_SEED")] = "demo",
        rate_limit_per_hour: Annotated[
            int | None, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_RATE_LIMIT")
        ] = None,
    ) -> None:
        """Run the Visma.net ERP sandbox (/v1/..., token at /connect/token, control /_sandbox)."""
        from ml_connector.sandbox.visma import VismaSandbox

        sandbox = VismaSandbox(
            client_id,
            client_secret,
            tenant_id,
            company_id,
            dataset=_dataset(seed),
            rate_limit_per_hour=rate_limit_per_hour,
        )
        uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")
