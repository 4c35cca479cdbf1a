"""A person's field bindings: bind one Ramp field to a target, and the view people read.

A binding is validated (a segment must exist in Visma), saved as a new field-bindings version
with the author (``runtime.bindings`` applies it to the newest version, so discovery never
overwrites it), and written to the connection's audit trail. ``fields_view`` is what
``mappings fields`` and the mapping editor show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ml_connector.app.authorship import author_of, binding_identity
from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Forbidden, Permission
from ml_connector.app.views_mappings import BoundField, FieldRow, FieldsView
from ml_connector.audit import AuditKind
from ml_connector.errors import ConfigurationError, StoreError
from ml_connector.mapping.bindings import (
    TARGET_HELP,
    BindingSet,
    DecidedBy,
    FieldBinding,
    effective,
    implicit_bindings,
    parse_target,
    target_label,
)
from ml_connector.runtime.bindings import load_bindings, now_stamp, save_bindings
from ml_connector.runtime.wiring import Runtime, coding_rules, fields_configured
from ml_connector.store import BindingVersion, Connection

__all__ = ["bind_field", "bind_field_view", "fields_view"]

_MAX_FIELD_ID = 200


def _field_id(text: str) -> str:
    field_id = text.strip()
    if not field_id or len(field_id) > _MAX_FIELD_ID or not field_id.isprintable():
        raise ConfigurationError(
            f"{text!r} is not a Ramp field id (the ERP id bills show, e.g. dim_kst)"
        )
    return field_id


async def _check_target(rt: Runtime, connection: Connection, target: str) -> None:
    """A segment target must name a segment Visma's SUBACCOUNT has."""
    if not target.startswith("segment:"):
        return
    ctx = await rt.context(connection)
    ctx.master.invalidate()
    segments = (await ctx.master.get()).segments
    number = int(target.partition(":")[2])
    if number not in segments:
        have = ", ".join(f"{sid} ({s.description})" for sid, s in sorted(segments.items()))
        raise ConfigurationError(
            f"Visma's SUBACCOUNT has no segment {number}; it has {have or 'no segments'}"
        )


def _must_bind(actor: Actor, connection: Connection) -> None:
    if not actor.may(Permission.ACT):
        raise Forbidden("a viewer cannot change mappings or push the chart")
    actor.require_on(Permission.ACT, connection.id, "bind a field")


async def bind_field(
    actor: Actor,
    rt: Runtime,
    name: str,
    field_id: str,
    target: str,
    *,
    note: str = "",
    via: str | None = None,
) -> tuple[FieldBinding, BindingVersion]:
    """A person binds one field (``target``: segment:N, project, task, vat, account, ignore).

    ``via`` ("id" or "code") says which of an option's ERP id and code is the Visma value; by
    default the field keeps what discovery found. Saved as a new version and audited.
    """
    connection = await connection_named(actor, rt, name)
    _must_bind(actor, connection)
    field_id, chosen = _field_id(field_id), parse_target(target)
    if via not in (None, "id", "code"):
        raise ConfigurationError(f"{via!r} is not id or code")
    await _check_target(rt, connection, chosen)
    at, author = now_stamp(), author_of(actor)
    evidence = note.strip() or f"bound to {target_label(chosen)} by {author or 'a person'}"

    def apply(current: BindingSet) -> BindingSet:
        old = current.get(field_id) or FieldBinding(field_id)
        binding = replace(
            old,
            target=chosen,
            decided_by=DecidedBy.PERSON.value,
            evidence=evidence,
            via=via or old.via,
            author=author,
            decided_at=at,
        )
        return current.with_binding(binding)

    text = f"bind {field_id} → {target_label(chosen)}"
    after, version, _ = await save_bindings(rt, connection, apply, author=author, note=text)
    if version is None:
        raise StoreError("the binding was not saved")
    data = {**binding_identity(actor), "action": "bind field", "field": field_id}
    data |= {"target": chosen, "version": version.version, "note": note}
    await rt.store.append_audit(connection.id, None, AuditKind.USER_ACTION.value, data)
    return after.get(field_id) or FieldBinding(field_id, chosen), version


async def bind_field_view(
    actor: Actor,
    rt: Runtime,
    connection: Connection,
    field_id: str,
    target: str,
    *,
    note: str = "",
    via: str | None = None,
) -> BoundField:
    """:func:`bind_field` for the admin API and the dashboard: the saved binding as they show
    it. A target that is not one of the documented ones, or a segment Visma does not have, is
    ValueError."""
    _must_bind(actor, connection)
    try:
        binding, version = await bind_field(
            actor, rt, connection.name, field_id, target, note=note, via=via
        )
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None
    return BoundField(version.version, binding)


async def fields_view(actor: Actor, rt: Runtime, connection: Connection) -> FieldsView:
    """Each field's binding (stored, or implied by the settings), for people to read."""
    actor.require_on(Permission.VIEW, connection.id, "show field bindings")
    bindings, stored = await load_bindings(rt, connection)
    configured = fields_configured(connection.settings)
    implied = implicit_bindings(coding_rules(connection.settings), configured=configured)
    shown = effective(implied, bindings if stored is not None else None)
    table = await rt.store.current_mapping(connection.id)
    rows_by_field: dict[str, int] = {}
    for row in (table.document.get("rules") or []) if table is not None else []:
        if isinstance(row, Mapping) and isinstance(row.get("source"), str):
            rows_by_field[row["source"]] = rows_by_field.get(row["source"], 0) + 1
    return FieldsView(
        version=stored.version if stored is not None else None,
        saved_at=stored.created_at.isoformat() if stored is not None else None,
        author=stored.author if stored is not None else None,
        targets_help=TARGET_HELP,
        fields=tuple(
            FieldRow(b, bindings.get(b.field) is not None, rows_by_field.get(b.field, 0))
            for b in shown.bindings
        ),
    )
