"""``ml-connector records …``, ``replay`` and ``audit …``: look at, explain and redo work."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ml_connector.app import audit_trail, connections, replay
from ml_connector.app import records as record_views
from ml_connector.app.records import SyncStatus
from ml_connector.cli._common import (
    Opt,
    app,
    cli_actor,
    console,
    err_console,
    print_json,
    run_with_runtime,
    styled,
    write_export,
)
from ml_connector.runtime.wiring import Runtime

__all__ = ["audit_app", "records_app"]

records_app = typer.Typer(help="Sync records: one per Ramp object, with status and history.")
audit_app = typer.Typer(help="The hash-chained audit trail.")
app.add_typer(records_app, name="records")
app.add_typer(audit_app, name="audit")


@records_app.command("list")
def records_list(
    name: str,
    status: Annotated[SyncStatus | None, Opt(help="Only records in this state.")] = None,
    limit: Annotated[int, Opt(min=1)] = 50,
    as_json: Annotated[bool, Opt("--json")] = False,
) -> None:
    """The connection's records, most recently changed first."""
    rows = run_with_runtime(
        lambda rt: record_views.list_records(cli_actor(), rt, name, status=status, limit=limit)
    )
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    table = Table("ramp id", "status", "attempts", "visma", "error")
    for row in rows:
        table.add_row(
            str(row.ramp_id),
            str(row.status),
            str(row.attempts),
            str(row.visma_ref or ""),
            str(row.error or ""),
        )
    console.print(table)


@records_app.command("show")
def records_show(name: str, ramp_id: str) -> None:
    """One record: status, attempts, the last payload sent and the full timeline."""
    shown = run_with_runtime(
        lambda rt: record_views.describe_record(cli_actor(), rt, name, ramp_id)
    )
    print_json(shown.as_dict())


@app.command("replay")
def replay_command(
    name: str,
    ramp_ids: Annotated[list[str] | None, typer.Argument(help="Ramp bill ids to replay.")] = None,
    status: Annotated[SyncStatus | None, Opt(help="Replay every record in this state.")] = None,
    failed_since: Annotated[
        datetime | None, Opt(help="Replay everything that failed since this time (UTC).")
    ] = None,
    dry_run: Annotated[bool, Opt("--dry-run", help="Show the payload diff; send nothing.")] = False,
) -> None:
    """Redo records: one, many, or everything failed since T (``--dry-run`` to preview)."""
    since = failed_since.astimezone() if failed_since else None

    actor = cli_actor()

    async def go(rt: Runtime) -> list[replay.ReplayItem]:
        connection = await connections.connection_named(actor, rt, name)
        chosen = await replay.select_records(
            actor, rt, connection.id, ramp_ids=ramp_ids or (), status=status, failed_since=since
        )
        return await replay.replay(actor, rt, name, chosen, dry_run=dry_run)

    items = run_with_runtime(go)
    for item in items:
        verdict = f"{item.status_before} → {item.status_after}"
        console.print(styled("[bold]{}[/bold]  {}  {}", item.ramp_id, verdict, item.error))
        if item.diff:
            console.print(item.diff, highlight=False)
    err_console.print(f"{len(items)} record(s) {'previewed' if dry_run else 'replayed'}.")


@audit_app.command("export")
def audit_export(
    name: str,
    fmt: Annotated[str, Opt("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, Opt(help="File to write; standard output if omitted.")] = None,
) -> None:
    """Export the connection's whole timeline."""
    rows = run_with_runtime(lambda rt: audit_trail.audit_rows(cli_actor(), rt, name))
    text = audit_trail.export_audit(rows, fmt)
    if output is None:
        write_export(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"Wrote {output}.")


@audit_app.command("prune")
def audit_prune(
    name: str,
    older_than: Annotated[
        float, Opt("--older-than", help="Delete entries older than this many days.")
    ],
) -> None:
    """Delete the oldest audit entries; the rest of the chain still verifies."""
    pruned = run_with_runtime(
        lambda rt: audit_trail.prune_audit(cli_actor(), rt, name, older_than_days=older_than)
    )
    console.print(f"Pruned {pruned} audit entr{'y' if pruned == 1 else 'ies'} of {name}.")


@audit_app.command("verify")
def audit_verify(name: str) -> None:
    """Check the hash chain; exit 1 and name each break if anything was altered."""
    problems = run_with_runtime(lambda rt: audit_trail.verify_audit(cli_actor(), rt, name))
    if problems:
        for problem in problems:
            err_console.print(styled("[red]tampered:[/red] {}", problem))
        raise typer.Exit(1)
    console.print("Audit trail intact.")
