"""``ml-connector mappings …``: the per-connection mapping table (F5), versioned."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ml_connector.app import mappings as actions
from ml_connector.cli._common import (
    Opt,
    app,
    cli_actor,
    console,
    err_console,
    print_json,
    run_with_runtime,
    write_export,
)
from ml_connector.mapping.bindings import TARGET_HELP, FieldBinding
from ml_connector.mapping.table import MappingRule, Target

__all__ = ["mappings_app", "print_undecided"]

mappings_app = typer.Typer(
    help="The mapping table: Ramp-side coding → Visma account, segments, project, task, VAT."
)
app.add_typer(mappings_app, name="mappings")

_FORMAT_HELP = "csv or json (default: from the file name, else csv)"


def print_undecided(name: str, undecided: Sequence[FieldBinding]) -> None:
    """Name each undecided field, why, and the command that binds it."""
    if not undecided:
        return
    console.print(
        f"{len(undecided)} Ramp field(s) are undecided; bills coded to them will wait until you "
        "bind them:"
    )
    for binding in undecided:
        why = f": {binding.evidence}" if binding.evidence else ""
        console.print(f"  {binding.label}{why}", highlight=False)
        command = f"ml-connector mappings bind {name} {binding.field} --to <{TARGET_HELP}>"
        console.print(f"    {command}", highlight=False)


def _format(fmt: str | None, path: Path | None) -> str:
    if fmt:
        return fmt.lower()
    if path is not None and path.suffix.lower() == ".json":
        return "json"
    return "csv"


@mappings_app.command("show")
def mappings_show(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """The current table and its version."""
    table, version = run_with_runtime(lambda rt: actions.load_table(cli_actor(), rt, name))
    if as_json:
        print_json({**table.to_document(), "version": version.version if version else None})
        return
    if version is None:
        console.print("No mapping table saved yet.")
        return
    console.print(f"Version {version.version}, saved {version.created_at:%Y-%m-%d %H:%M} UTC.")
    view = Table("#", "source", "value", "target", "segment", "visma", "priority", "fallback")
    for number, rule in enumerate(table.rules, start=1):
        view.add_row(
            str(number),
            rule.source,
            rule.value,
            rule.target.value,
            "" if rule.segment is None else str(rule.segment),
            rule.visma_value,
            str(rule.priority),
            "yes" if rule.is_fallback else "",
        )
    console.print(view)


@mappings_app.command("set")
def mappings_set(
    name: str,
    source: Annotated[
        str, typer.Argument(help="Ramp field id, or @entity/@account/@project/@default.")
    ],
    value: Annotated[
        str, typer.Argument(help="Ramp option id, entity id, account, project id, or *.")
    ],
    target: Annotated[Target, typer.Argument(help="What to set on the Visma line.")],
    visma_value: Annotated[str, typer.Argument(help="The Visma value.")],
    segment: Annotated[int | None, Opt(help="Segment id, for segment targets.")] = None,
    priority: Annotated[int, Opt(help="Higher wins when several rows match.")] = 0,
    fallback: Annotated[
        bool, Opt("--fallback", help="Fill the target only when coding left it empty.")
    ] = False,
    no_check: Annotated[
        bool, Opt("--no-check", help="Skip checking the value against Visma.")
    ] = False,
) -> None:
    """Add or replace one row (a new version).

    A project's task: ``mappings set NAME @project P1002 task 02``.
    """
    rule = MappingRule(source, value, target, visma_value, segment, priority, fallback)
    version = run_with_runtime(
        lambda rt: actions.set_rule(cli_actor(), rt, name, rule, check_visma=not no_check)
    )
    console.print(f"Saved mapping version {version.version}.")


@mappings_app.command("unset")
def mappings_unset(
    name: str,
    source: str,
    value: str,
    target: Target,
    segment: Annotated[int | None, Opt(help="Segment id, for segment targets.")] = None,
) -> None:
    """Remove the rows of one match and target (a new version)."""
    version = run_with_runtime(
        lambda rt: actions.unset_rule(cli_actor(), rt, name, source, value, target, segment)
    )
    console.print(f"Saved mapping version {version.version}.")


@mappings_app.command("import")
def mappings_import(
    name: str,
    path: Annotated[Path, typer.Argument(help="The file to read; - for standard input.")],
    fmt: Annotated[str | None, Opt("--format", help=_FORMAT_HELP)] = None,
    no_check: Annotated[
        bool, Opt("--no-check", help="Skip checking values against Visma.")
    ] = False,
) -> None:
    """Replace the whole table with a CSV or JSON file (a new version)."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
    chosen = _format(fmt, None if str(path) == "-" else path)
    version = run_with_runtime(
        lambda rt: actions.import_table(
            cli_actor(), rt, name, text, chosen, check_visma=not no_check
        )
    )
    console.print(f"Imported as mapping version {version.version}.")


@mappings_app.command("export")
def mappings_export(
    name: str,
    output: Annotated[Path | None, Opt(help="File to write; standard output if omitted.")] = None,
    fmt: Annotated[str | None, Opt("--format", help=_FORMAT_HELP)] = None,
) -> None:
    """Write the current table as CSV or JSON."""
    text = run_with_runtime(
        lambda rt: actions.export_table(cli_actor(), rt, name, _format(fmt, output))
    )
    if output is None:
        write_export(text)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"Wrote {output}.")


@mappings_app.command("pull")
def mappings_pull(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Bind Ramp's fields from the evidence, refresh the known values from Ramp and Visma, and
    list the Ramp values nothing maps yet."""
    report = run_with_runtime(lambda rt: actions.pull(cli_actor(), rt, name))
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"Ramp: {report.ramp_fields} fields, {report.ramp_values} values. "
        f"Visma: {report.visma_values} usable values."
    )
    if report.bindings is not None:
        saved = "saved" if report.bindings.written else "unchanged"
        version = report.bindings.version
        console.print(
            f"Field bindings: {report.bindings.summary()} (version {version}, {saved}).",
            markup=False,
            highlight=False,
        )
        print_undecided(name, report.bindings.undecided)
    if not report.unmapped:
        console.print("Every Ramp-originated value is mapped.")
    for field, values in report.unmapped.items():
        console.print(f"unmapped {field}: {', '.join(values)}", highlight=False)
