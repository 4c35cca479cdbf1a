"""``ml-connector backfill NAME --since DATE``: sync the ready bills created since a date."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ml_connector.app.runs import BackfillSummary, backfill
from ml_connector.cli._common import (
    Opt,
    app,
    cli_actor,
    console,
    err_console,
    print_json,
    run_with_runtime,
)
from ml_connector.runtime.wiring import Runtime


@app.command("backfill")
def backfill_command(
    name: str,
    since: Annotated[
        datetime,
        Opt(
            "--since",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="Bills created at or after this date (UTC midnight) or time (UTC).",
        ),
    ],
    as_json: Annotated[bool, Opt("--json")] = False,
) -> None:
    """Queue every ready Ramp bill created since a date, then sync them.

    Bills stream page by page, so memory stays flat however far back the date goes. Bills
    already synced are left alone, so running it twice creates nothing new.
    """
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json,
        transient=True,
    ) as bar:
        listing = bar.add_task("listing bills", total=None)
        syncing = bar.add_task("syncing", total=None, visible=False)

        def listed(seen: int, queued: int) -> None:
            bar.update(listing, completed=seen, description=f"listing bills ({queued} to sync)")

        def worked(done: int, total: int) -> None:
            bar.update(syncing, completed=done, total=total, visible=True)

        async def run(rt: Runtime) -> BackfillSummary:
            return await backfill(cli_actor(), rt, name, since, on_listed=listed, on_worked=worked)

        summary = run_with_runtime(run)
    if as_json:
        print_json(summary.as_dict())
        return
    table = Table("measure", "value", title=f"backfill: {summary.connection}")
    for key, value in summary.as_dict().items():
        if key != "connection":
            table.add_row(key, str(value))
    console.print(table)
