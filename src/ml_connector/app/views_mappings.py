"""The typed views of field bindings and mapping tables, as people and the admin API read them.

Times are ISO text already; ``as_dict()`` gives the exact JSON the API, the mapping editor and
``mappings fields --json`` show (same keys, same order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_connector.mapping.bindings import FieldBinding, target_label

__all__ = ["BoundField", "EditResult", "FieldRow", "FieldsView", "MappingsView"]


@dataclass(frozen=True)
class FieldRow:
    """One Ramp field: its binding (stored or implied), how it reads, how many rules use it."""

    entry: FieldBinding
    stored: bool
    mapping_rows: int

    @property
    def label(self) -> str:
        """The binding as people read it ("segment 1", "ignored", …)."""
        return target_label(self.entry.target)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.entry.to_dict(),
            "binding": self.label,
            "stored": self.stored,
            "mapping_rows": self.mapping_rows,
        }


@dataclass(frozen=True)
class FieldsView:
    """Each field's binding and the saved version they come from (None: nothing saved yet)."""

    version: int | None
    saved_at: str | None
    author: str | None
    targets_help: str
    fields: tuple[FieldRow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "saved_at": self.saved_at,
            "author": self.author,
            "targets_help": self.targets_help,
            "fields": [row.as_dict() for row in self.fields],
        }


@dataclass(frozen=True)
class BoundField:
    """A binding a person just saved, and the field-bindings version it made."""

    version: int
    entry: FieldBinding

    @property
    def label(self) -> str:
        return target_label(self.entry.target)

    def as_dict(self) -> dict[str, Any]:
        return {
            "saved": True,
            "version": self.version,
            "field": {**self.entry.to_dict(), "binding": self.label},
        }


@dataclass(frozen=True)
class MappingsView:
    """The mapping table, its defaults, the unmapped values and the catalog's Visma values."""

    version: int | None
    author: str | None
    note: str | None
    saved_at: str | None
    document: dict[str, Any]
    rules: list[dict[str, Any]]  # row, source, value, target, visma_value (, fallback)
    defaults: dict[str, str]  # target → Visma value ("" when none)
    unmapped: dict[str, Any]  # from_records, from_catalog, catalog_pulled_at
    visma_values: dict[str, list[Any]]  # accounts, projects, vat, segments

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "author": self.author,
            "note": self.note,
            "saved_at": self.saved_at,
            "document": self.document,
            "rules": self.rules,
            "defaults": self.defaults,
            "unmapped": self.unmapped,
            "visma_values": self.visma_values,
        }


@dataclass(frozen=True)
class EditResult:
    """A mapping edit: saved (or only validated), the version it made or stood on, its rows."""

    saved: bool
    version: int | None
    rules: int

    def as_dict(self) -> dict[str, Any]:
        return {"saved": self.saved, "version": self.version, "rules": self.rules}
