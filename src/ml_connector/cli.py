"""The ``ml-connector`` command line (Typer). Every option can also come from an environment
variable, named in ``--help``. Commands bridge to the async core with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ml_connector.errors import ConnectorError
from ml_connector.log import configure_logging
from ml_connector.runtime import admin
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import (
    DEFAULT_RAMP_BASE_URL,
    DEFAULT_VISMA_BASE_URL,
    DEFAULT_VISMA_TOKEN_URL,
    Settings,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="ml-connector",
    help="Ramp → Visma.net ERP: approved bills become supplier invoices, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
connection_app = typer.Typer(help="Manage connections (a Ramp business + a Visma company).")
keys_app = typer.Typer(help="Manage the vault's master keys.")
sandbox_app = typer.Typer(help="Run the built-in Ramp and Visma sandboxes.")
app.add_typer(connection_app, name="connection")
app.add_typer(keys_app, name="keys")
app.add_typer(sandbox_app, name="sandbox")

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def _run(coro_fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open a runtime, run ``coro_fn`` with it, close it; ConnectorError → exit code 1."""

    async def main() -> T:
        runtime = await Runtime.open(Settings())
        try:
            return await coro_fn(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except ConnectorError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# --- connections ------------------------------------------------------------------------------

Opt = typer.Option


@connection_app.command("add")
def connection_add(
    name: str,
    ramp_client_id: Annotated[str, Opt(envvar="ML_CONNECTOR_RAMP_CLIENT_ID")],
    ramp_client_secret: Annotated[
        str, Opt(envvar="ML_CONNECTOR_RAMP_CLIENT_SECRET", prompt=True, hide_input=True)
    ],
    visma_client_id: Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_CLIENT_ID")],
    visma_client_secret: Annotated[
        str, Opt(envvar="ML_CONNECTOR_VISMA_CLIENT_SECRET", prompt=True, hide_input=True)
    ],
    visma_tenant_id: Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_TENANT_ID")],
    visma_company_id: Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_COMPANY_ID")],
    ramp_base_url: Annotated[str, Opt(envvar="ML_CONNECTOR_RAMP_BASE_URL")] = DEFAULT_RAMP_BASE_URL,
    visma_base_url: Annotated[
        str, Opt(envvar="ML_CONNECTOR_VISMA_BASE_URL")
    ] = DEFAULT_VISMA_BASE_URL,
    visma_token_url: Annotated[
        str, Opt(envvar="ML_CONNECTOR_VISMA_TOKEN_URL")
    ] = DEFAULT_VISMA_TOKEN_URL,
    default_vat: Annotated[
        str | None, Opt(help="VAT code for lines whose account has no VAT mapping.")
    ] = None,
    default_project: Annotated[str | None, Opt(help='Project for uncoded lines, e.g. "X".')] = None,
) -> None:
    """Add a connection; its credentials are encrypted at rest."""
    credentials = {
        "ramp_client_id": ramp_client_id,
        "ramp_client_secret": ramp_client_secret,
        "visma_client_id": visma_client_id,
        "visma_client_secret": visma_client_secret,
        "visma_tenant_id": visma_tenant_id,
        "visma_company_id": visma_company_id,
    }
    mapping = {
        k: v
        for k, v in {"default_vat": default_vat, "default_project": default_project}.items()
        if v
    }
    connection = _run(
        lambda rt: admin.add_connection(
            rt,
            name,
            credentials=credentials,
            ramp_base_url=ramp_base_url,
            visma_base_url=visma_base_url,
            visma_token_url=visma_token_url,
            settings={"mapping": mapping},
        )
    )
    console.print(f"Added connection [bold]{connection.name}[/bold] (id {connection.id}).")


@connection_app.command("list")
def connection_list(as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """List connections (secrets are never shown)."""
    rows = _run(admin.describe_connections)
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "name", "status", "ramp", "visma", "health")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["status"],
            row["ramp_base_url"],
            row["visma_base_url"],
            row["health_message"] or "ok",
        )
    console.print(table)


@connection_app.command("show")
def connection_show(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Show one connection; secrets are masked."""
    row = _run(lambda rt: admin.describe_connection(rt, name))
    if as_json:
        _print_json(row)
        return
    table = Table("field", "value")
    for key, value in row.items():
        table.add_row(
            key, json.dumps(value, default=str) if isinstance(value, dict) else str(value)
        )
    console.print(table)


@connection_app.command("resume")
def connection_resume(name: str) -> None:
    """Resume a paused connection (after fixing its credentials)."""
    _run(lambda rt: admin.resume_connection(rt, name))
    console.print(f"Connection [bold]{name}[/bold] resumed.")


# --- ping, sync, status -----------------------------------------------------------------------


@app.command()
def ping(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Check a connection's credentials against Ramp and Visma and say what is wrong."""
    results = _run(lambda rt: admin.ping(rt, name))
    if as_json:
        _print_json(results)
    else:
        for check in results:
            mark = "[green]ok[/green]" if check["ok"] else "[red]FAILED[/red]"
            console.print(f"{check['system']:>6}: {mark}  {check['detail']}")
    if not all(check["ok"] for check in results):
        raise typer.Exit(1)


def _progress_sync(name: str, once: bool, as_json: bool) -> dict[str, Any]:
    from ml_connector.runtime.sync import sync_once

    with Progress(
        TextColumn("[bold]syncing bills"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json,
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = _run(lambda rt: sync_once(rt, name, progress=progress))
    return summary.as_dict()


@app.command()
def sync(
    name: str,
    once: Annotated[bool, Opt("--once", help="One pass over ready bills, then exit.")] = True,
    as_json: Annotated[bool, Opt("--json")] = False,
) -> None:
    """Pull Ramp bills that are ready and sync them to Visma."""
    summary = _progress_sync(name, once, as_json)
    if as_json:
        _print_json(summary)
    else:
        _summary_table(summary)


def _summary_table(summary: dict[str, Any]) -> None:
    table = Table("measure", "value", title=f"sync: {summary.get('connection', '')}")
    for key, value in summary.items():
        if key != "connection":
            table.add_row(key, str(value))
    console.print(table)


@app.command()
def status(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Counts per record state, the oldest pending record and the last error."""
    info = _run(lambda rt: admin.status(rt, name))
    if as_json:
        _print_json(info)
        return
    table = Table("state", "records", title=f"{name}: {info['connection_status']}")
    for state, count in info["counts"].items():
        table.add_row(state, str(count))
    console.print(table)
    if info.get("last_error"):
        console.print(f"last error: {info['last_error']}")


# --- keys -------------------------------------------------------------------------------------


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new master key and re-encrypt every connection's credentials with it."""
    count = _run(admin.rotate_keys)
    console.print(f"Re-encrypted {count} connection(s) under a new master key.")


# --- demo and sandboxes -----------------------------------------------------------------------


@app.command()
def demo(
    once: Annotated[bool, Opt("--once/--keep-running", help="Exit after the sync.")] = True,
    as_json: Annotated[bool, Opt("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the whole product against the built-in sandboxes on an embedded SQLite store."""
    from ml_connector.demo import run_demo

    try:
        summary = asyncio.run(run_demo(once=once, quiet=as_json, console=err_console))
    except ConnectorError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        _print_json(summary)
    else:
        _summary_table(summary)
    if summary["duplicates"] or summary["unaccounted"]:
        raise typer.Exit(1)


def _register_sandbox_commands() -> None:
    from ml_connector.sandbox.serve import register

    register(sandbox_app)


_register_sandbox_commands()


def main() -> None:
    """Console-script entry point."""
    configure_logging(Settings())
    app()
