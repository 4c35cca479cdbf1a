"""``ml-connector demo`` and ``ml-connector sandbox ramp|visma``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from ml_connector.cli._common import Opt, app, err_console, print_json, sandbox_app, styled
from ml_connector.cli.operations import summary_table
from ml_connector.errors import ConnectorError


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
        err_console.print(styled("[red]error:[/red] {}", exc, multiline=True))
        raise typer.Exit(1) from None
    if as_json:
        print_json(summary)
    else:
        summary_table(summary)
    if summary["duplicates"] or summary["unaccounted"]:
        raise typer.Exit(1)


def _register_sandbox_commands() -> None:
    from ml_connector.sandbox.serve import register

    register(sandbox_app)


_register_sandbox_commands()
