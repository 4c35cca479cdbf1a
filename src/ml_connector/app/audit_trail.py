"""A connection's audit trail as a whole: export, verify the hash chain, prune old entries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.csvcells import write_rows
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.retention import prune_audit as prune_old
from ml_connector.runtime.wiring import Runtime

__all__ = ["AuditRow", "audit_rows", "export_audit", "prune_audit", "verify_audit"]


@dataclass(frozen=True)
class AuditRow:
    """One entry of a connection's timeline as exported (the time as ISO text)."""

    seq: int
    at: str
    record_id: int | None
    kind: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "record_id": self.record_id,
            "kind": self.kind,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


async def audit_rows(actor: Actor, rt: Runtime, connection_name: str) -> list[AuditRow]:
    """Every entry of the connection's timeline, oldest first."""
    actor.require(Permission.VIEW, "export the audit trail")
    connection = await connection_named(actor, rt, connection_name)
    return [
        AuditRow(e.seq, e.at.isoformat(), e.record_id, e.kind, e.data, e.prev_hash, e.hash)
        for e in await rt.store.list_audit(connection.id)
    ]


def export_audit(rows: list[AuditRow], fmt: str) -> str:
    """The timeline as JSON lines or CSV (``data`` as a JSON column; formula-like cells
    escaped as :mod:`ml_connector.csvcells` describes)."""
    shown = [row.as_dict() for row in rows]
    if fmt == "jsonl":
        return "".join(json.dumps(row, sort_keys=True, default=str) + "\n" for row in shown)
    if fmt == "csv":
        columns = ("seq", "at", "record_id", "kind", "data", "prev_hash", "hash")
        cells = (
            [
                _csv_text(json.dumps(row["data"], sort_keys=True) if name == "data" else row[name])
                for name in columns
            ]
            for row in shown
        )
        return write_rows(columns, cells, line_end="\r\n")
    raise ConfigurationError(f"unknown format {fmt!r}: use jsonl or csv")


def _csv_text(value: Any) -> str:
    return "" if value is None else str(value)


async def verify_audit(actor: Actor, rt: Runtime, connection_name: str) -> list[str]:
    """Each break in the hash chain, described; empty when the trail is intact."""
    actor.require(Permission.VIEW, "verify the audit trail")
    connection = await connection_named(actor, rt, connection_name)
    return [str(problem) for problem in await rt.store.verify_audit(connection.id)]


async def prune_audit(
    actor: Actor, rt: Runtime, connection_name: str, *, older_than_days: float
) -> int:
    """Delete the entries older than the days given; the rest of the chain still verifies."""
    actor.require(Permission.ADMIN, "prune the audit trail")
    connection = await connection_named(actor, rt, connection_name)
    return await prune_old(rt, connection, older_than_days=older_than_days)
