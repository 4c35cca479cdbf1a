"""What every command module shares: the Typer apps, consoles, and the runtime bridge."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from ml_connector.app.principal import Actor
from ml_connector.cli._safe import SafeConsole, print_json, styled, write_export
from ml_connector.errors import ConnectorError
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings

__all__ = [
    "Opt",
    "app",
    "cli_actor",
    "connection_app",
    "console",
    "err_console",
    "keys_app",
    "print_json",
    "run_with_runtime",
    "sandbox_app",
    "styled",
    "write_export",
]

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

# Everything the commands print goes through these two (see ``cli._safe``).
console = SafeConsole()
err_console = SafeConsole(stderr=True)
T = TypeVar("T")


def run_with_runtime(coro_fn: Callable[[Runtime], Awaitable[T]]) -> T:
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
        # Messages quote vendors and ids: shown literally, "[redacted]" or "[1]" included.
        err_console.print(styled("[red]error:[/red] {}", exc, multiline=True))
        raise typer.Exit(1) from None


Opt = typer.Option


def cli_actor() -> Actor:
    """Who acts from the command line: a local administrator named by the OS login."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Actor.local_admin(login)
