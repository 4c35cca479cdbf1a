"""Mapping table actions of the CLI, the admin API and the dashboard's mapping editor.

Every change goes the same way: build the new table, validate it (conflicts always; targets
against Visma's master data unless told not to), save it as the next version, and hand it to
the connection's cached flow context so this process uses it at once. Other processes pick it
up when they next build the connection's context.

Every save records its author (``app/authorship.py``). ``pull`` refreshes the field bindings
(``runtime.bindings``) and the catalog of known values
from both sides, and reports which Ramp-originated values the table does not cover yet;
``unmapped_in_catalog`` answers the same question from the stored catalog, without calling
either vendor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ml_connector.app.authorship import author_of
from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.errors import ConfigurationError
from ml_connector.flows.chart_plan import ChartKind
from ml_connector.mapping.csvio import read_csv, write_csv
from ml_connector.mapping.table import (
    MappingRule,
    MappingTable,
    MappingTableError,
    Target,
    renumbered,
)
from ml_connector.mapping.table_checks import validate
from ml_connector.runtime.bindings import BindingReport, refresh
from ml_connector.runtime.field_discovery import read_ramp_fields
from ml_connector.runtime.wiring import Runtime, bound_rules
from ml_connector.store import Connection, MappingVersion

__all__ = [
    "PullReport",
    "export_table",
    "import_table",
    "load_table",
    "pull",
    "save_table",
    "set_rule",
    "unmapped_in_catalog",
    "unset_rule",
]


async def load_table(
    actor: Actor, runtime: Runtime, name: str
) -> tuple[MappingTable, MappingVersion | None]:
    """The connection's current table and its version (an empty table before the first save)."""
    connection = await connection_named(actor, runtime, name)
    actor.require_on(Permission.VIEW, connection.id, "show the mappings")
    current = await runtime.store.current_mapping(connection.id)
    if current is None:
        return MappingTable(), None
    return MappingTable.from_document(current.document), current


async def save_table(
    actor: Actor,
    runtime: Runtime,
    name: str,
    table: MappingTable,
    *,
    note: str = "",
    check_visma: bool = True,
) -> MappingVersion:
    """Validate and save ``table`` as the next version; MappingTableError names bad rows."""
    connection = await connection_named(actor, runtime, name)
    actor.require_on(Permission.ACT, connection.id, "change the mappings")
    ctx = await runtime.context(connection)
    if check_visma:
        ctx.master.invalidate()  # validate against Visma as it is now, not a cached copy
    master = await ctx.master.get() if check_visma else None
    problems = validate(table, master)
    if problems:
        raise MappingTableError(problems)
    version = await runtime.store.save_mapping_version(
        connection.id, table.to_document(), author=author_of(actor), note=note
    )
    ctx.rules = ctx.rules.with_table(table, version.version)
    return version


async def set_rule(
    actor: Actor, runtime: Runtime, name: str, rule: MappingRule, *, check_visma: bool = True
) -> MappingVersion:
    """Add a row, or replace the row for the same match and slot."""
    table, _ = await load_table(actor, runtime, name)
    changed = renumbered(table.with_rule(rule))
    note = f"set {rule.source}={rule.value} → {rule.target_key} {rule.visma_value}"
    return await save_table(actor, runtime, name, changed, note=note, check_visma=check_visma)


async def unset_rule(
    actor: Actor,
    runtime: Runtime,
    name: str,
    source: str,
    value: str,
    target: Target,
    segment: int | None = None,
) -> MappingVersion:
    """Remove the rows for one match and slot; ConfigurationError when there are none."""
    table, _ = await load_table(actor, runtime, name)
    smaller, removed = table.without(source, value, target, segment)
    if not removed:
        raise ConfigurationError(f"no mapping for {source}={value} → {target.value}")
    note = f"unset {source}={value} → {target.value}"
    return await save_table(actor, runtime, name, renumbered(smaller), note=note, check_visma=False)


def parse_table(text: str, fmt: str) -> MappingTable:
    """A table from CSV or JSON text; MappingTableError names the bad lines or rows."""
    if fmt == "csv":
        return read_csv(text)
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        return MappingTable.from_document(data)
    raise ConfigurationError(f"unknown format {fmt!r}: use csv or json")


async def import_table(
    actor: Actor, runtime: Runtime, name: str, text: str, fmt: str, *, check_visma: bool = True
) -> MappingVersion:
    """Replace the whole table with the file's rows (a new version)."""
    table = parse_table(text, fmt)
    return await save_table(
        actor, runtime, name, table, note=f"import ({fmt})", check_visma=check_visma
    )


async def export_table(actor: Actor, runtime: Runtime, name: str, fmt: str) -> str:
    """The current table as CSV or JSON text."""
    table, version = await load_table(actor, runtime, name)
    if fmt == "csv":
        return write_csv(table)
    if fmt == "json":
        document = {**table.to_document(), "version": version.version if version else None}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    raise ConfigurationError(f"unknown format {fmt!r}: use csv or json")


@dataclass(frozen=True)
class PullReport:
    """What ``mappings pull`` found: the catalog's size, the values still unmapped, and the
    field bindings discovery saved."""

    ramp_fields: int
    ramp_values: int
    visma_values: int
    unmapped: dict[str, list[str]]  # Ramp field → option ids no row covers
    bindings: BindingReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ramp_fields": self.ramp_fields,
            "ramp_values": self.ramp_values,
            "visma_values": self.visma_values,
            "unmapped": self.unmapped,
            "bindings": self.bindings.as_dict() if self.bindings is not None else None,
        }


async def pull(actor: Actor, runtime: Runtime, name: str) -> PullReport:
    """Refresh the field bindings and the catalog of both sides' values; list the Ramp values
    nothing maps.

    Fields bound to a target (pass-through) or ignored need no rows; every other field's options
    are Ramp-originated and need rows (or a ``*`` row) in the table, or a binding.
    """
    connection = await connection_named(actor, runtime, name)
    actor.require_on(Permission.ACT, connection.id, "pull the catalog")
    ctx = await runtime.context(connection)
    found = await read_ramp_fields(ctx.ramp)
    bindings = await refresh(runtime, name, write=True, ramp_fields=found)
    ctx = await runtime.context(connection)  # its rules now read the new bindings
    master = await ctx.master.get()
    ours = {
        e.visma_id
        for e in await runtime.store.list_chart_entries(connection.id, ChartKind.FIELD.value)
    }
    ramp: dict[str, dict[str, Any]] = {
        key: {"name": found.fields[key].name or key, "options": found.options(key)}
        for key in found.listed()
        if not found.fields[key].gl_category
    }
    segments = {
        str(sid): sorted(v for v, active in seg.values.items() if active)
        for sid, seg in master.segments.items()
    }
    accounts = sorted(a for a, info in master.accounts.items() if info.active)
    projects = sorted(p for p, info in master.projects.items() if info.visible_in_ap)
    vat = sorted(master.vat_codes)
    visma: dict[str, Any] = {
        "accounts": accounts,
        "segments": segments,
        "projects": projects,
        "vat": vat,
    }
    await runtime.store.save_mapping_catalog(connection.id, {"ramp": ramp, "visma": visma})
    handled = ctx.rules.passthrough_fields | ctx.rules.ignored_fields
    unmapped = _unmapped(ramp, ours, handled, ctx.rules.table)
    visma_values = len(accounts) + sum(len(v) for v in segments.values()) + len(projects) + len(vat)
    return PullReport(
        ramp_fields=len(ramp),
        ramp_values=sum(len(f["options"]) for f in ramp.values()),
        visma_values=visma_values,
        unmapped=unmapped,
        bindings=bindings,
    )


def _unmapped(
    ramp: dict[str, Any], ours: set[str], handled: frozenset[str], table: MappingTable
) -> dict[str, list[str]]:
    """Per Ramp-originated field, the option ids no (non-fallback) row of ``table`` covers."""
    unmapped: dict[str, list[str]] = {}
    for field_id in sorted(set(ramp) - ours - handled):
        options = ramp[field_id].get("options") or {}
        missing = [
            option
            for option in sorted(options)
            if not any(r.matches(field_id, option) and not r.is_fallback for r in table.rules)
        ]
        if missing:
            unmapped[field_id] = missing
    return unmapped


async def unmapped_in_catalog(
    runtime: Runtime, connection: Connection, table: MappingTable
) -> dict[str, list[str]] | None:
    """``pull``'s unmapped list from the stored catalog (None before the first pull)."""
    catalog = await runtime.store.get_mapping_catalog(connection.id)
    if catalog is None:
        return None
    ours = {
        e.visma_id
        for e in await runtime.store.list_chart_entries(connection.id, ChartKind.FIELD.value)
    }
    ramp = catalog.data.get("ramp") or {}
    stored = await runtime.store.current_bindings(connection.id)
    rules = bound_rules(connection.settings, connection.name, stored)
    return _unmapped(ramp, ours, rules.passthrough_fields | rules.ignored_fields, table)
