"""Field bindings as the engine keeps them: discovery, the chart push's own, and saving.

- ``refresh`` discovers what each Ramp accounting field is (``runtime.field_discovery`` reads,
  ``mapping.bindings`` decides) and, with ``write``, saves a new version when anything changed.
  ``connection add`` and ``mappings pull`` write; ``ping`` only reports.
- ``bind_chart_fields`` runs after a chart push: the fields the push created bind themselves.
- A person's binding and the view people read are user actions: ``app/bindings.py``.

Every save is based on the version it read; when another save landed in between, the change is
applied again to the newer version, so discovery never overwrites a binding a person just set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ml_connector.errors import StoreError
from ml_connector.flows.chart import ChartConfig, ChartKind
from ml_connector.mapping.bindings import (
    BindingSet,
    DecidedBy,
    FieldBinding,
    discovered_bindings,
    implicit_bindings,
    merge,
)
from ml_connector.mapping.field_names import Synonyms
from ml_connector.runtime.field_discovery import RampFields, read_ramp_fields, visma_values
from ml_connector.runtime.wiring import Runtime, coding_rules, fields_configured
from ml_connector.store import BindingVersion, Connection

__all__ = [
    "BindingReport",
    "bind_chart_fields",
    "chart_targets",
    "load_bindings",
    "now_stamp",
    "refresh",
    "save_bindings",
]

_SAVE_TRIES = 5


def now_stamp() -> str:
    """Now, to the second, as bindings record when they were decided."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


async def load_bindings(
    rt: Runtime, connection: Connection
) -> tuple[BindingSet, BindingVersion | None]:
    """The stored bindings and their version (an empty set before the first save)."""
    stored = await rt.store.current_bindings(connection.id)
    if stored is None:
        return BindingSet(), None
    return BindingSet.from_document(stored.document), stored


def _configured(connection: Connection) -> BindingSet | None:
    if not fields_configured(connection.settings):
        return None
    return implicit_bindings(coding_rules(connection.settings), configured=True)


async def chart_targets(rt: Runtime, connection: Connection) -> dict[str, str]:
    """The fields the chart push created in Ramp, with the target each one carries."""
    config = ChartConfig.from_settings(connection.settings, coding_rules(connection.settings))
    wanted = {f: f"segment:{s}" for f, s in config.segment_fields.items()}
    for target, name in (("project", config.project_field), ("vat", config.vat_field)):
        if name:
            wanted[name] = target
    made = await rt.store.list_chart_entries(connection.id, ChartKind.FIELD.value)
    return {e.visma_id: wanted[e.visma_id] for e in made if e.visma_id in wanted and e.ramp_id}


async def save_bindings(
    rt: Runtime,
    connection: Connection,
    change: Callable[[BindingSet], BindingSet],
    *,
    author: str,
    note: str,
) -> tuple[BindingSet, BindingVersion | None, bool]:
    """Apply ``change`` to the newest version and save it if it differs.

    Returns (the bindings after, their version, whether a version was written).
    """
    for _ in range(_SAVE_TRIES):
        current, stored = await load_bindings(rt, connection)
        changed = change(current)
        if changed == current:
            return current, stored, False
        base = stored.version if stored is not None else None
        saved = await rt.store.save_binding_version(
            connection.id, changed.to_document(), base=base, author=author, note=note
        )
        if saved is not None:
            return changed, saved, True
    raise StoreError("the field bindings kept changing while being saved; try again")


@dataclass(frozen=True)
class BindingReport:
    """What discovery found, and whether it was saved."""

    bindings: BindingSet
    version: int | None  # the stored version after (None: nothing stored)
    written: bool
    changed: tuple[str, ...]  # fields whose binding is (or would be) new or different
    seen: tuple[str, ...]  # fields Ramp showed this time
    bills_read: int

    @property
    def undecided(self) -> tuple[FieldBinding, ...]:
        return tuple(b for b in self.bindings.undecided if b.field in self.seen)

    def summary(self) -> str:
        shown = [b for b in self.bindings.bindings if b.field in self.seen]
        ignored = sum(1 for b in shown if b.target == "ignore")
        bound = len(shown) - ignored - len(self.undecided)
        text = f"{len(shown)} Ramp field(s): {bound} bound, {ignored} ignored, "
        text += f"{len(self.undecided)} undecided"
        if self.undecided:
            text += " (" + ", ".join(b.label for b in self.undecided) + ")"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "written": self.written,
            "changed": list(self.changed),
            "bills_read": self.bills_read,
            "summary": self.summary(),
            "fields": [b.to_dict() for b in self.bindings.bindings if b.field in self.seen],
            "undecided": [b.field for b in self.undecided],
        }


async def refresh(
    rt: Runtime, name: str, *, write: bool, ramp_fields: RampFields | None = None
) -> BindingReport:
    """Discover every Ramp field's binding; with ``write``, save a version if anything changed.

    ``ramp_fields``: what was read of Ramp already (``mappings pull`` reads it once for both).
    """
    connection = await rt.store.get_connection(name)
    ctx = await rt.context(connection)
    found = ramp_fields or await read_ramp_fields(ctx.ramp)
    ctx.master.invalidate()  # decide against Visma as it is now
    visma = visma_values(await ctx.master.get())
    chart = await chart_targets(rt, connection)
    names = Synonyms.from_settings(connection.settings)
    at = now_stamp()

    def apply(current: BindingSet) -> BindingSet:
        decided = discovered_bindings(
            found.facts(),
            visma,
            names=names,
            chart=chart,
            configured=_configured(connection),
            stored=current,
            at=at,
        )
        return merge(current, decided)

    before, stored = await load_bindings(rt, connection)
    if write:
        after, version, written = await save_bindings(
            rt, connection, apply, author="discovery", note="discovered from Ramp and Visma"
        )
    else:
        after, version, written = apply(before), stored, False
    changed = tuple(
        b.field for b in after.bindings if before.get(b.field) != b and b.field in found.fields
    )
    return BindingReport(
        bindings=after,
        version=version.version if version is not None else None,
        written=written,
        changed=changed,
        seen=tuple(sorted(found.fields)),
        bills_read=found.bills_read,
    )


async def bind_chart_fields(rt: Runtime, connection: Connection) -> BindingVersion | None:
    """After a push: the fields the push created bind themselves (people's bindings stay)."""
    chart = await chart_targets(rt, connection)
    if not chart:
        return None
    at = now_stamp()
    evidence = "the connector's chart push created this field"

    def apply(current: BindingSet) -> BindingSet:
        found = []
        for field_id, target in chart.items():
            old = current.get(field_id) or FieldBinding(field_id)
            if old.target == target and old.decided_by == DecidedBy.CHART_PUSH.value:
                continue
            made = FieldBinding(field_id, target, DecidedBy.CHART_PUSH.value, evidence)
            found.append(replace(made, ramp_id=old.ramp_id, name=old.name, types=old.types,
                                 author="chart push", decided_at=at))  # fmt: skip
        return merge(current, found)

    _, version, written = await save_bindings(
        rt, connection, apply, author="chart push", note="fields the chart push created"
    )
    return version if written else None
