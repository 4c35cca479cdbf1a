"""``ml-connector ping``, ``sync`` and ``status``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ml_connector.app import connection_admin as admin
from ml_connector.app.connection_admin import Connection
from ml_connector.app.runs import ConnectionStatus, sync_now
from ml_connector.app.status import connection_status
from ml_connector.cli._common import (
    Opt,
    app,
    cli_actor,
    console,
    err_console,
    print_json,
    run_with_runtime,
    styled,
)


@app.command()
def ping(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Check a connection's credentials against Ramp and Visma and say what is wrong."""
    results = run_with_runtime(lambda rt: admin.ping(cli_actor(), rt, name))
    if as_json:
        print_json([check.as_dict() for check in results])
    else:
        for check in results:
            mark = "[green]ok[/green]" if check.ok else "[red]FAILED[/red]"
            console.print(styled(f"{{:>6}}: {mark}  {{}}", check.system, check.detail))
    if not all(check.ok for check in results):
        raise typer.Exit(1)


def _progress_sync(
    name: str, once: bool, as_json: bool, only: list[str] | None = None
) -> tuple[dict[str, Any], Connection]:
    """Run one pass; return its summary and the connection as the pass left it."""
    what = ", ".join(only).replace("-", " ") if only else "bills"
    with Progress(
        TextColumn(f"[bold]syncing {escape(what)}"),
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

        return run_with_runtime(
            lambda rt: sync_now(cli_actor(), rt, name, only=only, progress=progress)
        )


@app.command()
def sync(
    name: str,
    once: Annotated[bool, Opt("--once", help="One pass over ready bills, then exit.")] = True,
    as_json: Annotated[bool, Opt("--json")] = False,
    only: Annotated[
        list[str] | None,
        Opt(
            "--only",
            help="Sync only purchase-orders, bills or payments (repeat, or separate with "
            "commas), even when the connection's settings leave them off.",
        ),
    ] = None,
) -> None:
    """Pull what Ramp has for Visma (ready bills; purchase orders and payments when turned on)
    and sync it.

    Exits 1 when the pass paused the connection (say, Visma refused its credentials): the
    summary is still printed, but the sync did not do its job.
    """
    summary, connection = _progress_sync(name, once, as_json, only)
    if as_json:
        print_json(summary)
    else:
        summary_table(summary)
    if connection.status == ConnectionStatus.PAUSED:
        err_console.print(
            styled(
                "[red]error:[/red] connection {} was paused: {}",
                repr(name),
                connection.health_message,
            )
        )
        raise typer.Exit(1)


def summary_table(summary: dict[str, Any]) -> None:
    table = Table("measure", "value", title=f"sync: {summary.get('connection', '')}")
    for key, value in summary.items():
        if key in ("connection", "by_type", "only"):
            continue
        table.add_row(key, str(value))
    console.print(table)
    by_type: dict[str, dict[str, int]] = summary.get("by_type") or {}
    if by_type:
        measures = list(next(iter(by_type.values())))
        per_type = Table("object type", *measures, title="records by object type")
        for kind, counts in by_type.items():
            per_type.add_row(kind, *(str(counts.get(m, 0)) for m in measures))
        console.print(per_type)


@app.command()
def status(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Records per state and object type, the oldest pending record, the last error, and
    vendor calls per synced bill."""

    info = run_with_runtime(
        lambda rt: connection_status(cli_actor(), rt, name, now=datetime.now(UTC))
    )
    if as_json:
        print_json(info.as_dict())
        return
    states = list(info.counts)
    table = Table("object type", *states, title=f"{name}: {info.connection_status}")
    for kind, counts in info.by_type.items():
        table.add_row(kind, *(str(counts.get(s, 0)) for s in states))
    table.add_row(Text("all", style="bold"), *(str(info.counts[s]) for s in states))
    console.print(table)
    if info.health_message:
        console.print(styled("health: {}", info.health_message))
    oldest = info.oldest_pending_record
    if oldest:
        console.print(
            f"oldest pending: {oldest.object_type} {oldest.object_id} "
            f"({oldest.status}, waiting {oldest.age_s:.0f} s)"
        )
    if info.last_error:
        console.print(styled("last error: {}", info.last_error))
    per_bill = info.calls_per_bill
    if per_bill:
        shown = ", ".join(
            f"{system} {ratio if ratio is not None else '—'}" for system, ratio in per_bill.items()
        )
        console.print(f"vendor calls per synced bill ({info.bills_synced} bills): {shown}")
    for alert in info.alerts_firing:
        console.print(styled("[red]alert firing[/red]: {}", alert.summary))
