"""``ml-connector mappings fields`` and ``mappings bind``: what each Ramp field feeds in Visma."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ml_connector.app import bindings as actions
from ml_connector.app.connections import connection_named
from ml_connector.app.views_mappings import FieldsView
from ml_connector.cli._common import Opt, cli_actor, console, print_json, run_with_runtime
from ml_connector.cli.mappings import mappings_app
from ml_connector.mapping.bindings import TARGET_HELP, FieldBinding, target_label
from ml_connector.runtime.wiring import Runtime

__all__ = ["mappings_bind", "mappings_fields"]


@mappings_app.command("fields")
def mappings_fields(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Each Ramp accounting field: the types bills show, its binding and how it was decided."""

    async def view(rt: Runtime) -> FieldsView:
        actor = cli_actor()
        return await actions.fields_view(actor, rt, await connection_named(actor, rt, name))

    shown = run_with_runtime(view)
    if as_json:
        print_json(shown.as_dict())
        return
    if shown.version is None:
        console.print(
            "No field bindings saved yet; the chart push's field ids apply. Run "
            f"`ml-connector mappings pull {name}` to bind Ramp's fields."
        )
    else:
        saved = str(shown.saved_at)[:16].replace("T", " ")
        console.print(f"Field bindings version {shown.version}, saved {saved} UTC.")
    table = Table("Ramp field", "name", "types on bills", "binding", "decided by", "evidence")
    # "(implied)": not stored; the settings' (or the chart push's) field ids, which apply until
    # a binding for the field is saved.
    for row in shown.fields:
        entry = row.entry
        decided = entry.decided_by or "-"
        if entry.author and entry.decided_by == "person":
            decided += f" ({entry.author}, {entry.decided_at})"
        if not row.stored:
            decided += " (implied)"
        cells = (
            entry.field,
            entry.name,
            ", ".join(entry.types) or "-",
            row.label + (" by code" if entry.via == "code" else ""),
            decided,
            entry.evidence,
        )
        table.add_row(*(str(c) for c in cells))
    console.print(table)


@mappings_app.command("bind")
def mappings_bind(
    name: str,
    field: Annotated[str, typer.Argument(help="The Ramp field's ERP id, as bills show it.")],
    to: Annotated[str, Opt("--to", help=f"What the field's values are: {TARGET_HELP}.")],
    values: Annotated[
        str | None,
        Opt("--values", help="id or code: which of an option's ERP id and code is the value."),
    ] = None,
    note: Annotated[str, Opt(help="Why, for the change log.")] = "",
) -> None:
    """Bind a Ramp field to a Visma target (a new version of the bindings, audited)."""

    async def bind(rt: Runtime) -> tuple[FieldBinding, int]:
        binding, version = await actions.bind_field(
            cli_actor(), rt, name, field, to, note=note, via=values
        )
        return binding, version.version

    binding, version = run_with_runtime(bind)
    done = (
        f"Ramp field {binding.label} is ignored from now on"
        if binding.target == "ignore"
        else f"Bound {binding.label} to {target_label(binding.target)}"
    )
    console.print(
        f"{done} (field bindings version {version}). Bills that waited for it sync on their "
        f"next retry, or now: ml-connector replay {name} --status needs_attention",
        highlight=False,
    )
