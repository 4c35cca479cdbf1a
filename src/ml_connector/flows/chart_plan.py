"""The chart push's vocabulary and its diff, pure: what Ramp should hold, and what to change.

``VismaChart`` is what a read of Visma says Ramp should hold; the chart map (``store.chart``)
says what earlier pushes put there. ``plan`` compares the two and returns the writes, in a
stable order: creates, updates and reactivations of what Visma wants, removals of what it no
longer does. ``retirements`` looks at what Ramp holds besides (values the push did not create:
a Universal CSV import, an earlier connection, a person) and picks those that match no active
Visma value and no mapping rule. ``flows.chart`` reads Visma and carries a plan out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ml_connector.mapping.table import MappingTable
from ml_connector.store import ChartEntry

__all__ = [
    "ChartAction",
    "ChartChange",
    "ChartFailure",
    "ChartItem",
    "ChartKind",
    "ChartPushResult",
    "FieldSpec",
    "Group",
    "HeldValue",
    "VismaChart",
    "plan",
    "retirements",
]


class ChartKind(StrEnum):
    """What a chart value is on Ramp's side."""

    GL_ACCOUNT = "gl_account"  # /accounting/accounts
    FIELD = "field"  # /accounting/fields (one per segment, project, VAT)
    OPTION = "option"  # /accounting/field-options, scope = the field's ERP id
    VENDOR = "vendor"  # /accounting/vendors


class ChartAction(StrEnum):
    CREATE = "create"  # POST in a batch
    UPDATE = "update"  # PATCH name/code
    REACTIVATE = "reactivate"  # PATCH reactivate (and name/code)
    REMOVE = "remove"  # DELETE (soft: inactive in Ramp) a value the push made
    RETIRE = "retire"  # take a value the push did not make out of use (see ``retirements``)


Group = tuple[ChartKind, str]


@dataclass(frozen=True)
class ChartItem:
    """One value as Ramp should show it; ``visma_id`` is also its ERP id (``remote_id``)."""

    kind: ChartKind
    visma_id: str
    name: str
    scope: str = ""
    code: str | None = None
    classification: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.scope, self.visma_id)

    @property
    def content_hash(self) -> str:
        """A digest of what Ramp shows; a different hash means a PATCH is due."""
        content = [self.name, self.code, self.classification]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()


@dataclass(frozen=True)
class FieldSpec:
    """A custom field the push keeps in Ramp: its ERP id and its name."""

    field_id: str
    name: str


@dataclass
class VismaChart:
    """What Visma says Ramp should hold, as far as this read saw.

    ``wanted`` holds the usable values per group, ``retired`` those seen but not usable
    (inactive, blocked, hidden from AP). Groups in ``complete`` were read in full, so anything
    mapped but not wanted there is gone; ``prefixes`` marks parts of a group read in full (the
    task options of each project read). ``aliases`` are other ids that name a wanted value (a
    bare task id). ``high_water`` is the newest ``lastModifiedDateTime`` seen per delta source
    (Visma's own clock, never ours).
    """

    fields: list[FieldSpec] = field(default_factory=list)
    wanted: dict[Group, dict[str, ChartItem]] = field(default_factory=dict)
    retired: dict[Group, set[str]] = field(default_factory=dict)
    complete: set[Group] = field(default_factory=set)
    prefixes: dict[Group, set[str]] = field(default_factory=dict)
    aliases: dict[Group, set[str]] = field(default_factory=dict)
    high_water: dict[str, datetime] = field(default_factory=dict)

    def want(self, item: ChartItem) -> None:
        self.wanted.setdefault((item.kind, item.scope), {})[item.visma_id] = item

    def retire(self, group: Group, visma_id: str) -> None:
        self.retired.setdefault(group, set()).add(visma_id)

    def complete_prefix(self, group: Group, prefix: str) -> None:
        self.prefixes.setdefault(group, set()).add(prefix)

    def alias(self, group: Group, visma_id: str) -> None:
        self.aliases.setdefault(group, set()).add(visma_id)

    def read_in_full(self, group: Group, visma_id: str) -> bool:
        """Whether this read saw everything Visma holds where ``visma_id`` would be."""
        return group in self.complete or any(
            visma_id.startswith(prefix) for prefix in self.prefixes.get(group, ())
        )

    def matches(self, group: Group, visma_id: str) -> bool:
        """Whether ``visma_id`` names an active Visma value of the group."""
        return visma_id in self.wanted.get(group, {}) or visma_id in self.aliases.get(group, ())

    def saw(self, source: str, modified: datetime | None) -> None:
        if modified is None:
            return
        modified = modified.replace(tzinfo=None)
        if source not in self.high_water or modified > self.high_water[source]:
            self.high_water[source] = modified


@dataclass(frozen=True)
class ChartChange:
    """One planned write. ``entry`` is the chart map's row, when there is one."""

    action: ChartAction
    item: ChartItem | None
    entry: ChartEntry | None = None

    @property
    def kind(self) -> str:
        return self.item.kind.value if self.item else (self.entry.kind if self.entry else "")

    @property
    def visma_id(self) -> str:
        return self.item.visma_id if self.item else (self.entry.visma_id if self.entry else "")

    def describe(self) -> dict[str, Any]:
        scope = self.item.scope if self.item else (self.entry.scope if self.entry else "")
        shown: dict[str, Any] = {"action": self.action.value, "kind": self.kind}
        if scope:
            shown["field"] = scope
        shown["visma_id"] = self.visma_id
        if self.item is not None:
            shown["name"] = self.item.name
        return shown


@dataclass(frozen=True)
class ChartFailure:
    """An item Ramp refused; ``message`` is Ramp's own words."""

    kind: str
    scope: str
    visma_id: str
    message: str

    def describe(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "field": self.scope,
            "visma_id": self.visma_id,
            "error": self.message,
        }


@dataclass
class ChartPushResult:
    """What a push did (or, dry, would do)."""

    dry_run: bool
    changes: list[ChartChange] = field(default_factory=list)
    applied: dict[str, int] = field(default_factory=dict)  # "create gl_account" → count
    adopted: int = 0
    batches: list[tuple[str, int]] = field(default_factory=list)  # (kind, size) that landed
    failures: list[ChartFailure] = field(default_factory=list)
    connection_created: bool = False

    def count(self, action: ChartAction, kind: ChartKind) -> None:
        key = f"{action.value} {kind.value}"
        self.applied[key] = self.applied.get(key, 0) + 1

    def summary(self) -> dict[str, Any]:
        planned: dict[str, int] = {}
        for change in self.changes:
            key = f"{change.action.value} {change.kind}"
            planned[key] = planned.get(key, 0) + 1
        return {
            "dry_run": self.dry_run,
            "planned": planned,
            "applied": dict(self.applied),
            "adopted": self.adopted,
            "batches": list(self.batches),
            "failures": [f.describe() for f in self.failures],
            "connection_created": self.connection_created,
        }


# --- the diff (pure) ------------------------------------------------------------------------


def plan(chart: VismaChart, entries: Iterable[ChartEntry]) -> list[ChartChange]:
    """The writes that make Ramp match ``chart``, given what the chart map says was pushed.

    Fields are never removed or renamed here (see ``push_chart``). The result is sorted by
    kind, field and Visma id, so the same inputs always give the same plan.
    """
    mapped = {e.key: e for e in entries}
    changes: list[ChartChange] = []
    for group in sorted(chart.wanted):
        for visma_id in sorted(chart.wanted[group]):
            item = chart.wanted[group][visma_id]
            entry = mapped.get(item.key)
            if entry is None or entry.ramp_id is None:
                changes.append(ChartChange(ChartAction.CREATE, item, entry))
            elif not entry.active:
                changes.append(ChartChange(ChartAction.REACTIVATE, item, entry))
            elif entry.content_hash != item.content_hash:
                changes.append(ChartChange(ChartAction.UPDATE, item, entry))
    for key in sorted(mapped):
        entry = mapped[key]
        if entry.ramp_id is None or not entry.active or entry.kind == ChartKind.FIELD.value:
            continue
        group = (ChartKind(entry.kind), entry.scope)
        if entry.visma_id in chart.wanted.get(group, {}):
            continue
        if chart.read_in_full(group, entry.visma_id) or entry.visma_id in chart.retired.get(
            group, set()
        ):
            changes.append(ChartChange(ChartAction.REMOVE, None, entry))
    return changes


@dataclass(frozen=True)
class HeldValue:
    """A value Ramp holds now (listed from Ramp), reduced to what the push compares.

    ``hidden``: an option whose ``visibility`` is ``HIDDEN``. ``category``: a GL account's
    category field id (``gl_account_category_info.id``), which mapping rows name as source.
    """

    ramp_id: str
    item: ChartItem
    active: bool
    hidden: bool = False
    category: str = ""


def retirements(
    chart: VismaChart,
    held: Mapping[Group, Mapping[str, HeldValue]],
    entries: Iterable[ChartEntry],
    table: MappingTable,
    gl_fields: frozenset[str],
) -> list[ChartChange]:
    """Values Ramp offers that Visma cannot take: retire them so nobody codes to them.

    Only groups this read saw in full (a full push) and only GL accounts and field options:
    accounting vendors are left alone, since the bills flow creates them. A value is kept when
    it matches an active Visma value, when the push manages it (``plan`` handles those), or
    when a mapping row covers it (the row is how it resolves). Sorted like ``plan``.
    """
    managed = {e.key for e in entries if e.active and e.ramp_id is not None}
    changes: list[ChartChange] = []
    for group in sorted(held):
        kind, scope = group
        if kind not in (ChartKind.GL_ACCOUNT, ChartKind.OPTION):
            continue
        for visma_id in sorted(held[group]):
            there = held[group][visma_id]
            if not there.active or there.hidden or not chart.read_in_full(group, visma_id):
                continue
            if chart.matches(group, visma_id) or there.item.key in managed:
                continue
            sources = (gl_fields | {there.category}) if kind is ChartKind.GL_ACCOUNT else {scope}
            if any(
                rule.matches(source, visma_id) and not rule.is_fallback
                for rule in table.rules
                for source in sources
            ):
                continue
            entry = ChartEntry(kind.value, scope, visma_id, there.ramp_id, "")
            changes.append(ChartChange(ChartAction.RETIRE, there.item, entry))
    return changes
