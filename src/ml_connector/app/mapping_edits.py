"""The mapping editor of the admin API and the dashboard: the view, and whole-table edits.

A view holds the current table (rules in the JSON row form, each with its row number), the
connection's defaults (the ``@default`` rows for the account, the project and the VAT code),
and the unmapped values found two ways: records stopped because coding named a value nothing
maps (the account, option or value is quoted in their message), and the stored catalog's
unmapped options (``mappings pull``). An edit builds the whole new table first (a replacement,
or rows set and removed and defaults changed), validates it against Visma's master data as it
is now, and saves it as the next version with the user as author; a dry run stops after
validating. Any problem refuses the whole edit: :class:`MappingTableError` names the row.
Edits need an operator or an admin and are written to the audit trail with the user's identity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_connector.app.mappings import load_table, save_table, unmapped_in_catalog
from ml_connector.app.principal import Actor, Forbidden, Permission
from ml_connector.app.views_mappings import EditResult, MappingsView
from ml_connector.audit import AuditKind
from ml_connector.mapping.table import (
    ANY,
    SOURCE_DEFAULT,
    MappingRule,
    MappingTable,
    MappingTableError,
    Problem,
    Target,
    parse_row,
    renumbered,
)
from ml_connector.mapping.table_checks import validate
from ml_connector.runtime.wiring import Runtime, coding_rules
from ml_connector.store import Connection, SyncStatus

__all__ = [
    "DEFAULT_TARGETS",
    "MappingEdit",
    "MappingRule",
    "MappingTableError",
    "Problem",
    "Target",
    "edit_mappings",
    "mappings_view",
    "problems_of",
    "rule_from_fields",
]

DEFAULT_TARGETS = (Target.ACCOUNT, Target.PROJECT, Target.VAT)
_UNMAPPED_CODES = {
    "unmapped_value",
    "account_unknown",
    "account_inactive",
    "segment_value_unknown",
    "segment_value_inactive",
    "vat_unknown",
    "http_400",
}
# What stopped records quote: "Ramp gl_account '6999'", "GL account 6999", "Account '6999'".
_QUOTED = [
    (re.compile(r"Ramp (\S+) '([^']+)'"), None),
    (re.compile(r"GL account (\S+?)\b(?: \(|\s)"), Target.ACCOUNT),
    (re.compile(r"Account '([^']+)' cannot be found"), Target.ACCOUNT),
    (re.compile(r"VAT code (\S+) does not exist"), Target.VAT),
]


def _must_edit(actor: Actor, connection: Connection) -> None:
    if not actor.may(Permission.ACT):
        raise Forbidden("a viewer cannot change mappings or push the chart")
    actor.require_on(Permission.ACT, connection.id, "change the mappings")


def _defaults(table: MappingTable) -> dict[str, str]:
    found = {t.value: "" for t in DEFAULT_TARGETS}
    for rule in table.rules:
        if rule.source == SOURCE_DEFAULT and rule.target in DEFAULT_TARGETS:
            found[rule.target.value] = rule.visma_value
    return found


async def _stopped_values(rt: Runtime, connection: Connection) -> list[dict[str, Any]]:
    """Values quoted by records stopped for unmapped or unknown coding, most frequent first."""
    records = await rt.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION, limit=5_000
    )
    gl_field = min(coding_rules(connection.settings).gl_fields, default="")
    found: dict[tuple[str, str, str], list[int]] = {}
    for record in records:
        if record.error_code not in _UNMAPPED_CODES or not record.last_error:
            continue
        for pattern, target in _QUOTED:
            match = pattern.search(record.last_error)
            if match is None:
                continue
            if target is None:
                key = (match[1], match[2], "")
            else:  # an account quoted bare came through the GL field: map it there
                source = gl_field if target is Target.ACCOUNT else ""
                key = (source, match[1], target.value)
            found.setdefault(key, []).append(record.id)
            break
    return sorted(
        (
            {
                "source": source,
                "value": value,
                "target": target,
                "count": len(ids),
                "record_ids": ids[:20],
            }
            for (source, value, target), ids in found.items()
        ),
        key=lambda item: (-item["count"], item["value"]),
    )


async def mappings_view(actor: Actor, rt: Runtime, connection: Connection) -> MappingsView:
    """The table, its defaults, the unmapped values, and the catalog's Visma values."""
    table, version = await load_table(actor, rt, connection.name)
    catalog = await rt.store.get_mapping_catalog(connection.id)
    visma = (catalog.data.get("visma") if catalog else None) or {}
    return MappingsView(
        version=version.version if version else None,
        author=version.author if version else None,
        note=version.note if version else None,
        saved_at=version.created_at.isoformat() if version else None,
        document=table.to_document(),
        rules=[{"row": n, **r.to_row()} for n, r in enumerate(table.rules, start=1)],
        defaults=_defaults(table),
        unmapped={
            "from_records": await _stopped_values(rt, connection),
            "from_catalog": await unmapped_in_catalog(rt, connection, table),
            "catalog_pulled_at": catalog.pulled_at.isoformat() if catalog else None,
        },
        visma_values={
            "accounts": list(visma.get("accounts") or []),
            "projects": list(visma.get("projects") or []),
            "vat": list(visma.get("vat") or []),
            "segments": sorted(int(k) for k in (visma.get("segments") or {}) if str(k).isdigit()),
        },
    )


def rule_from_fields(fields: Mapping[str, Any], where: str) -> MappingRule:
    """A rule from a JSON row or form fields; MappingTableError names what is wrong."""
    texts = {k: "" if v is None else str(v) for k, v in fields.items()}
    if isinstance(fields.get("fallback"), bool):
        texts["fallback"] = "true" if fields["fallback"] else "false"
    rule, problems = parse_row(texts, where, column=lambda name: f"{where} ({name})")
    if rule is None:
        raise MappingTableError(problems or [Problem(where, "is not a valid rule")])
    return rule


@dataclass(frozen=True)
class MappingEdit:
    """One edit: a whole new table, or rows to set and remove and defaults to change."""

    replace: tuple[MappingRule, ...] | None = None
    set_rules: tuple[MappingRule, ...] = ()
    remove_rows: tuple[int, ...] = ()  # row numbers of the current table (1-based)
    defaults: Mapping[str, str] | None = None  # target → Visma value ("" removes the default)
    note: str = ""

    def apply(self, table: MappingTable) -> MappingTable:
        if self.replace is not None:
            return renumbered(MappingTable(self.replace))
        bad = [n for n in self.remove_rows if not 1 <= n <= len(table.rules)]
        if bad:
            raise MappingTableError(
                [Problem(f"row {n}", "there is no such row to remove") for n in bad]
            )
        gone = set(self.remove_rows)
        edited = MappingTable(tuple(r for n, r in enumerate(table.rules, start=1) if n not in gone))
        for target_name, value in (self.defaults or {}).items():
            target = Target(target_name)
            edited, _ = edited.without(SOURCE_DEFAULT, ANY, target)
            if value.strip():
                edited = edited.with_rule(MappingRule(SOURCE_DEFAULT, ANY, target, value.strip()))
        for rule in self.set_rules:
            edited = edited.with_rule(rule)
        return renumbered(edited)

    def describe(self) -> str:
        if self.note:
            return self.note
        if self.replace is not None:
            return f"replaced the table ({len(self.replace)} rows)"
        parts = []
        if self.set_rules:
            parts.append(
                "set "
                + ", ".join(
                    f"{r.source}={r.value} → {r.target_key} {r.visma_value}" for r in self.set_rules
                )
            )
        if self.remove_rows:
            parts.append("removed rows " + ", ".join(str(n) for n in self.remove_rows))
        if self.defaults is not None:
            parts.append(
                "defaults " + ", ".join(f"{k}={v or '-'}" for k, v in self.defaults.items())
            )
        return "; ".join(parts) or "no change"


async def edit_mappings(
    actor: Actor,
    rt: Runtime,
    connection: Connection,
    edit: MappingEdit,
    *,
    dry_run: bool = False,
) -> EditResult:
    """Validate (against Visma) and save an edit; with ``dry_run`` validate only.

    Raises MappingTableError with every problem; nothing is saved then.
    """
    _must_edit(actor, connection)
    table, current = await load_table(actor, rt, connection.name)
    edited = edit.apply(table)
    note = edit.describe()
    if dry_run:
        ctx = await rt.context(connection)
        ctx.master.invalidate()
        problems = validate(edited, await ctx.master.get())
        if problems:
            raise MappingTableError(problems)
        return EditResult(False, current.version if current else None, len(edited))
    version = await save_table(actor, rt, connection.name, edited, note=note)
    await rt.store.append_audit(
        connection.id,
        None,
        AuditKind.USER_ACTION.value,
        {
            **actor.identity(),
            "action": "mappings",
            "version": version.version,
            "note": note,
        },
    )
    return EditResult(True, version.version, len(edited))


def problems_of(exc: MappingTableError) -> list[dict[str, str]]:
    """The problems of a refused edit, as the API and the page show them."""
    return [{"where": p.where, "message": p.message} for p in exc.problems]
