"""Serve the sandboxes over real HTTP (uvicorn), from the CLI or inside the demo.

``ml-connector sandbox ramp|visma`` run one sandbox in the foreground; ``start_server`` runs an
ASGI app on a loopback socket inside the current event loop and returns once it accepts
connections (the demo and the acceptance tests use it).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from starlette.types import ASGIApp

from ml_connector.sandbox.seed import Dataset, demo_dataset, empty_dataset
from ml_connector.sandbox.seed_files import load_dataset

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
    # proxy_headers off, as in ``serve``: the app, not uvicorn, decides whom to believe.
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", access_log=False, proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return RunningServer(server, task, f"http://{host}:{bound_port}")


def _dataset(seed: str) -> Dataset:
    """``demo``, ``empty``, or a dataset file (``*.json``, see ``sandbox.seed_files``)."""
    if seed == "demo":
        return demo_dataset()
    if seed == "empty":
        return empty_dataset()
    if seed.endswith(".json"):
        try:
            return load_dataset(Path(seed))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--seed") from None
    raise typer.BadParameter("seed must be 'demo', 'empty' or a dataset file (*.json)")


Opt = typer.Option

# The commands' options, one alias each (the names are what ``--help`` shows).
_Host = Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_HOST")]
_Seed = Annotated[
    str,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_SEED",
        help="demo, empty, or a dataset file (*.json, see sandbox/seed_files.py).",
    ),
]
_RampClientId = Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_RAMP_CLIENT_ID")]
_RampClientSecret = Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_RAMP_CLIENT_SECRET")]
_RampPort = Annotated[int, Opt(envvar="ML_CONNECTOR_SANDBOX_RAMP_PORT")]
_FileUrlTtl = Annotated[
    float,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_RAMP_FILE_URL_TTL",
        help="Seconds an invoice file link stays valid (0: never expires).",
    ),
]
_FilesBaseUrl = Annotated[
    str | None,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_RAMP_FILES_BASE_URL",
        help="Origin of the file host (default: this server under another host name, "
        "127.0.0.1 <-> localhost).",
    ),
]
_NewerEventTypes = Annotated[
    bool,
    Opt(
        "--newer-event-types",
        envvar="ML_CONNECTOR_SANDBOX_RAMP_NEWER_EVENT_TYPES",
        help="Also accept the 2026 webhook event types (bills.ready_to_sync, …).",
    ),
]
_VismaClientId = Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_CLIENT_ID")]
_VismaClientSecret = Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_CLIENT_SECRET")]
_TenantId = Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_TENANT_ID")]
_CompanyId = Annotated[str, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_COMPANY_ID")]
_VismaPort = Annotated[int, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_PORT")]
_RateLimit = Annotated[int | None, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_RATE_LIMIT")]
_LenientTasks = Annotated[
    bool,
    Opt(
        "--lenient-project-tasks",
        envvar="ML_CONNECTOR_SANDBOX_VISMA_LENIENT_PROJECT_TASKS",
        help="Accept project lines without a project task (not what Visma does).",
    ),
]
_FiscalStart = Annotated[
    int,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_VISMA_FISCAL_YEAR_START",
        min=1,
        max=12,
        help="Month the financial year starts in (7: a July year).",
    ),
]
_FiscalNext = Annotated[
    bool,
    Opt(
        "--fiscal-year-belongs-to-next/--fiscal-year-named-by-start",
        envvar="ML_CONNECTOR_SANDBOX_VISMA_FISCAL_YEAR_NEXT",
        help="Number a year after the calendar year it ends in (Visma's 'Belongs to next year').",
    ),
]
_Release = Annotated[
    str,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_VISMA_RELEASE",
        help="background (202 + background request, the current API) or legacy "
        "(the 9.11 actionResult).",
    ),
]
_BackgroundSteps = Annotated[
    int,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_VISMA_BACKGROUND_STEPS",
        min=0,
        help="Later requests before a queued release runs (0: at once).",
    ),
]
_MaxPageSize = Annotated[int, Opt(envvar="ML_CONNECTOR_SANDBOX_VISMA_MAX_PAGE_SIZE", min=1)]
_PageMetadata = Annotated[
    str,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_VISMA_PAGE_METADATA",
        help="full, total_only (no maxPageSize) or none.",
    ),
]
_ValidationStatus = Annotated[
    int,
    Opt(
        envvar="ML_CONNECTOR_SANDBOX_VISMA_VALIDATION_STATUS",
        help="HTTP status of business refusals on writes: 400 or 500.",
    ),
]
_PoItems = Annotated[
    list[str] | None,
    Opt(
        "--po-inventory-item",
        envvar="ML_CONNECTOR_SANDBOX_VISMA_PO_ITEMS",
        help="Purchase-order lines must name an inventory item; the company's items "
        "(repeat: ID or ID=description).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``ramp`` and ``visma`` commands to the ``sandbox`` command group."""
    app.command("ramp")(ramp)
    app.command("visma")(visma)


def ramp(
    client_id: _RampClientId,
    client_secret: _RampClientSecret,
    host: _Host = "127.0.0.1",
    port: _RampPort = 8710,
    seed: _Seed = "demo",
    file_url_ttl_s: _FileUrlTtl = 3600.0,
    files_base_url: _FilesBaseUrl = None,
    newer_event_types: _NewerEventTypes = False,
) -> None:
    """Run the Ramp sandbox (Developer API under /developer/v1, control API under /_sandbox,
    invoice files under /files on another host name)."""
    from ml_connector.sandbox.ramp import RampSandbox

    sandbox = RampSandbox(
        client_id,
        client_secret,
        dataset=_dataset(seed),
        file_url_ttl_s=file_url_ttl_s or None,
        files_base_url=files_base_url,
        newer_event_types=newer_event_types,
    )
    uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")


def visma(
    client_id: _VismaClientId,
    client_secret: _VismaClientSecret,
    tenant_id: _TenantId,
    company_id: _CompanyId,
    host: _Host = "127.0.0.1",
    port: _VismaPort = 8720,
    seed: _Seed = "demo",
    rate_limit_per_hour: _RateLimit = None,
    lenient_project_tasks: _LenientTasks = False,
    fiscal_year_start_month: _FiscalStart = 1,
    fiscal_year_belongs_to_next: _FiscalNext = False,
    release: _Release = "background",
    background_steps: _BackgroundSteps = 2,
    max_page_size: _MaxPageSize = 1000,
    page_metadata: _PageMetadata = "full",
    validation_status: _ValidationStatus = 400,
    po_inventory_items: _PoItems = None,
) -> None:
    """Run the Visma.net ERP sandbox (/v1/..., token at /connect/token, control /_sandbox)."""
    from ml_connector.sandbox.visma import VismaSandbox
    from ml_connector.sandbox.visma.behaviour import CompanyBehaviour

    items: dict[str, str] = {}
    for item in po_inventory_items or []:
        number, _, description = item.partition("=")
        items[number.strip()] = description.strip() or number.strip()
    try:
        behaviour = CompanyBehaviour(
            max_page_size=max_page_size,
            page_metadata=page_metadata,  # type: ignore[arg-type]
            release=release,  # type: ignore[arg-type]
            background_steps=background_steps,
            fiscal_year_start_month=fiscal_year_start_month,
            fiscal_year_belongs_to_next=fiscal_year_belongs_to_next,
            validation_status=validation_status,
            po_lines_need_inventory=bool(items),
            inventory_items=items,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    sandbox = VismaSandbox(
        client_id,
        client_secret,
        tenant_id,
        company_id,
        dataset=_dataset(seed),
        rate_limit_per_hour=rate_limit_per_hour,
        require_project_task=not lenient_project_tasks,
        behaviour=behaviour,
    )
    uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")
