"""The schema, as SQLAlchemy declarative models. Only the store's repositories import this.

The migrations in ``migrations/versions`` must build exactly this schema on SQLite and
PostgreSQL; a contract test compares the two. Enum-like columns are strings guarded by CHECK
constraints, so both backends reject a value the code does not know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ml_connector.store.records import ConnectionStatus, LinkKind, LinkState
from ml_connector.store.states import SyncStatus

__all__ = [
    "AttemptRow",
    "AuditEntryRow",
    "AuditHeadRow",
    "Base",
    "ChartEntryRow",
    "ConnectionRow",
    "CursorRow",
    "EventRow",
    "FieldBindingVersionRow",
    "LinkRow",
    "LockRow",
    "MappingCatalogRow",
    "MappingVersionRow",
    "RejectionRow",
    "SyncRecordRow",
    "UTCDateTime",
    "as_utc",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (compact, comparable); SQLite stores the same JSON as text.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is refused rather than guessed at."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the store needs timezone-aware datetimes, got a naive one")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends.

    PostgreSQL keeps ``timestamptz``. SQLite has no zones, so values are stored as naive UTC
    text in one fixed format, which keeps SQL comparisons (``next_at <= :now``) correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: type[ConnectionStatus | LinkKind | LinkState | SyncStatus]) -> str:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({allowed})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class ConnectionRow(Base):
    __tablename__ = "connections"
    __table_args__ = (CheckConstraint(_one_of("status", ConnectionStatus), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    health_message: Mapped[str] = mapped_column(Text)
    ramp_base_url: Mapped[str] = mapped_column(String(500))
    visma_base_url: Mapped[str] = mapped_column(String(500))
    visma_token_url: Mapped[str] = mapped_column(String(500))
    credentials: Mapped[bytes] = mapped_column(LargeBinary)
    settings: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LinkRow(Base):
    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "ramp_id"),
        Index(None, "connection_id", "kind", "visma_id"),
        CheckConstraint(_one_of("kind", LinkKind), name="kind"),
        CheckConstraint(_one_of("state", LinkState), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ramp_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    visma_id: Mapped[str | None] = mapped_column(String(200))
    external_ref: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LockRow(Base):
    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SyncRecordRow(Base):
    __tablename__ = "sync_records"
    __table_args__ = (
        UniqueConstraint("connection_id", "object_type", "object_id"),
        Index(None, "status", "next_at"),
        Index(None, "connection_id", "status"),
        CheckConstraint(_one_of("status", SyncStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    rerun: Mapped[bool] = mapped_column(Boolean)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    next_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(100))
    hint: Mapped[str | None] = mapped_column(Text)
    visma_ref: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[Any | None] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AttemptRow(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        Index(None, "record_id", "id"),
        CheckConstraint(_one_of("status", SyncStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("sync_records.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(100))


class AuditEntryRow(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("connection_id", "seq"),
        Index(None, "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No cascades: deleting what an entry points at must not silently rewrite the trail.
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    seq: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("sync_records.id"))
    kind: Mapped[str] = mapped_column(String(64))
    # Canonical JSON text, kept verbatim so the hash can be recomputed byte for byte.
    data: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The newest link of each connection's chain; locking it serialises appends."""

    __tablename__ = "audit_heads"

    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    # Where the chain starts after retention pruned its oldest entries: the seq and hash of the
    # newest pruned entry (0 and the genesis hash while nothing was pruned).
    anchor_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    anchor_hash: Mapped[str] = mapped_column(String(64), server_default="0" * 64)


class CursorRow(Base):
    __tablename__ = "cursors"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


# --- the webhook inbox (revision 0002) ------------------------------------------------------------
# Allowed values are spelled out here (not imported) because their enums live in store/inbox.py,
# which imports this module; the inbox contract test writes every enum member through them.
_EVENT_SOURCES = "source IN ('ramp', 'visma')"
_EVENT_STATUSES = "status IN ('received', 'processed', 'ignored')"


class EventRow(Base):
    """One webhook event that passed verification, unique per (connection, source, event id)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("connection_id", "source", "event_id"),
        Index(None, "connection_id", "status", "id"),
        CheckConstraint(_EVENT_SOURCES, name="source"),
        CheckConstraint(_EVENT_STATUSES, name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(200))
    object_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    processed_at: Mapped[datetime | None]


class RejectionRow(Base):
    """A webhook request the receiver refused; it never entered the inbox.

    ``connection`` is the name as the request gave it (there may be no such connection), and
    the body is kept only as its size, its sha256 and, at most, a short scrubbed excerpt.
    """

    __tablename__ = "rejections"
    __table_args__ = (
        Index(None, "connection", "id"),
        CheckConstraint(_EVENT_SOURCES, name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    body_size: Mapped[int] = mapped_column(Integer)
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    excerpt: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]


# --- the mapping table and the chart map (revision 0003) ---------------------------------------


class MappingVersionRow(Base):
    """One version of a connection's mapping table; every change adds a row, none is edited."""

    __tablename__ = "mapping_versions"
    __table_args__ = (UniqueConstraint("connection_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]]
    author: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class FieldBindingVersionRow(Base):
    """One version of a connection's field bindings; every change adds a row, none is edited."""

    __tablename__ = "field_binding_versions"
    __table_args__ = (UniqueConstraint("connection_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]]
    author: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class MappingCatalogRow(Base):
    """The values both sides knew at the last ``mappings pull`` (one row per connection)."""

    __tablename__ = "mapping_catalogs"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]]
    pulled_at: Mapped[datetime]


class ChartEntryRow(Base):
    """Which Ramp object a Visma chart value became, and the content last pushed for it."""

    __tablename__ = "chart_map"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "scope", "visma_id"),
        Index(None, "connection_id", "kind", "ramp_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(100))
    visma_id: Mapped[str] = mapped_column(String(200))
    ramp_id: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
