"""``ml-connector chart …`` (F4 chart alignment) and ``ml-connector suppliers match``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ml_connector.app import chart as actions
from ml_connector.app.chart import ChartAction, ChartPushResult
from ml_connector.app.suppliers import SupplierProposal, propose_supplier_links
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

__all__ = ["chart_app", "suppliers_app"]

chart_app = typer.Typer(help="Push Visma's chart of accounts and dimensions to Ramp.")
suppliers_app = typer.Typer(help="Ramp vendors and Visma suppliers.")
app.add_typer(chart_app, name="chart")
app.add_typer(suppliers_app, name="suppliers")


def _show_push(result: ChartPushResult) -> None:
    summary = result.summary()
    verb = "would" if result.dry_run else "did"
    if result.connection_created:
        console.print(f"Ramp accounting connection: {verb} create it.")
    retired = [c for c in result.changes if c.action is ChartAction.RETIRE]
    if retired:
        console.print(
            f"{len(retired)} value(s) in Ramp match nothing active in Visma and no mapping "
            f"row; the push {verb} retire them:"
        )
        for change in retired:
            shown = change.describe()
            where = f" in field {shown['field']}" if shown.get("field") else ""
            console.print(
                f"  {change.kind} {change.visma_id} ({shown.get('name', '')}){where}",
                markup=False,
                highlight=False,
            )
    table = Table("change", "count")
    counts = summary["planned"] if result.dry_run else summary["applied"]
    for key, count in sorted(counts.items()):
        table.add_row(key, str(count))
    console.print(table)
    if result.dry_run:
        for change in result.changes:
            console.print(change.describe(), highlight=False)
    if result.adopted:
        console.print(f"{result.adopted} value(s) already in Ramp were adopted, not re-posted.")
    for failure in result.failures:
        err_console.print(
            styled("[red]refused:[/red] {} {}: {}", failure.kind, failure.visma_id, failure.message)
        )


@chart_app.command("push")
def chart_push(
    name: str,
    dry_run: Annotated[bool, Opt("--dry-run", help="Print the diff; write nothing.")] = False,
    as_json: Annotated[bool, Opt("--json")] = False,
) -> None:
    """Align Ramp's chart with Visma's: post new values, patch changed, remove inactive, and
    retire values Ramp holds that Visma lacks (--dry-run lists them first)."""
    result = run_with_runtime(lambda rt: actions.push(cli_actor(), rt, name, dry_run=dry_run))
    if as_json:
        print_json(
            {**result.summary(), "changes": [c.describe() for c in result.changes]}
            if dry_run
            else result.summary()
        )
    else:
        _show_push(result)
    if result.failures:
        raise typer.Exit(2)


@chart_app.command("status")
def chart_status(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """What the chart map holds per kind, refused values, and where polling stands."""
    status = run_with_runtime(lambda rt: actions.chart_status(cli_actor(), rt, name))
    if as_json:
        print_json(status.as_dict())
        return
    table = Table("kind", "active", "removed", "refused")
    for kind, counts in sorted(status.counts.items()):
        table.add_row(kind, str(counts["active"]), str(counts["removed"]), str(counts["failed"]))
    console.print(table)
    for failure in status.failures:
        console.print(
            f"refused: {failure['kind']} {failure['visma_id']}: {failure['error']}",
            highlight=False,
        )
    for cursor, value in sorted(status.cursors.items()):
        console.print(f"{cursor} = {value}", highlight=False)


@suppliers_app.command("match")
def suppliers_match(
    name: str,
    dry_run: Annotated[
        bool, Opt("--dry-run", help="Required: show proposed links and creations only.")
    ] = False,
    as_json: Annotated[bool, Opt("--json")] = False,
) -> None:
    """Show, for each Ramp vendor, the supplier it would link to or that would be created."""
    if not dry_run:
        err_console.print(
            "Only --dry-run is supported: links and suppliers are made as bills sync."
        )
        raise typer.Exit(2)
    proposals: list[SupplierProposal] = run_with_runtime(
        lambda rt: propose_supplier_links(cli_actor(), rt, name)
    )
    if as_json:
        print_json([p.as_dict() for p in proposals])
        return
    table = Table("vendor", "action", "supplier", "matched by", "note")
    for p in proposals:
        supplier = f"{p.supplier} {p.supplier_name or ''}".strip() if p.supplier else ""
        table.add_row(p.vendor_name, p.action, supplier, p.matched_by or "", p.warning or "")
    console.print(table)
    counts = {a: sum(p.action == a for p in proposals) for a in ("linked", "link", "create")}
    err_console.print(
        f"{counts['linked']} linked, {counts['link']} to link, {counts['create']} to create."
    )
