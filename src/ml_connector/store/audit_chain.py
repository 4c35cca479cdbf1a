"""The audit chain's arithmetic: canonical JSON, each entry's hash, and checking one entry.

Entry ``n`` of a connection stores ``hash = sha256(prev_hash + canonical_json(entry))``; the
first entry's ``prev_hash`` is :data:`GENESIS_HASH`. ``store.audit`` appends, prunes and
verifies chains with these; ``store.security_log`` chains its own events the same way.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from ml_connector.store.engine import json_default
from ml_connector.store.records import AuditProblem
from ml_connector.store.tables import AuditEntryRow

__all__ = ["GENESIS_HASH", "canonical_json", "chain_hash", "check_entry", "entry_hash", "row_hash"]

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, ASCII only; Decimals become strings."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=json_default
    )


def entry_hash(
    prev_hash: str,
    *,
    connection_id: int,
    seq: int,
    record_id: int | None,
    kind: str,
    data_json: str,
    at: datetime,
) -> str:
    """The chain hash of one entry, given its predecessor's hash."""
    return chain_hash(
        prev_hash,
        connection_id=connection_id,
        seq=seq,
        record_id=record_id,
        kind=kind,
        data_canonical=canonical_json(json.loads(data_json)),
        at=at,
    )


def chain_hash(
    prev_hash: str,
    *,
    connection_id: int,
    seq: int,
    record_id: int | None,
    kind: str,
    data_canonical: str,
    at: datetime,
) -> str:
    """``entry_hash`` for data already in canonical JSON: the canonical text of the whole entry
    is spliced together (keys in sorted order) instead of parsed and written out again."""
    dump = canonical_json
    body = (
        f'{{"at":{dump(at.isoformat())},"connection_id":{dump(connection_id)},'
        f'"data":{data_canonical},"kind":{dump(kind)},"record_id":{dump(record_id)},'
        f'"seq":{dump(seq)}}}'
    )
    return hashlib.sha256((prev_hash + body).encode("ascii")).hexdigest()


def row_hash(row: AuditEntryRow, prev_hash: str) -> str:
    """A stored entry's chain hash, recomputed from its columns."""
    return entry_hash(
        prev_hash,
        connection_id=row.connection_id,
        seq=row.seq,
        record_id=row.record_id,
        kind=row.kind,
        data_json=row.data,
        at=row.at,
    )


def check_entry(row: AuditEntryRow, expected_seq: int, prev_hash: str) -> list[AuditProblem]:
    """What is wrong with one stored entry, given the seq and hash the chain expects."""
    problems = []
    if row.seq != expected_seq:
        problems.append(AuditProblem(row.seq, f"entries {expected_seq}..{row.seq - 1} are missing"))
    if row.prev_hash != prev_hash:
        problems.append(AuditProblem(row.seq, "does not link to the entry before it"))
    try:
        recomputed = row_hash(row, row.prev_hash)
    except ValueError:
        recomputed = ""  # the stored data is no longer JSON at all
    if recomputed != row.hash:
        problems.append(AuditProblem(row.seq, "content does not match its hash (altered)"))
    return problems
