"""Initial schema: connections, links, locks, sync records, attempts, audit chain, cursors.

Revision ID: 0001
Revises:
Create Date: 2025-11-24

Self-contained on purpose: it spells out the column types instead of importing tables.py, so
later model changes cannot rewrite history.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_SYNC_STATUSES = "'pending', 'in_flight', 'succeeded', 'retry_wait', 'needs_attention', 'excluded'"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _connection_fk(table: str, *, cascade: bool) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["connections.id"],
        name=f"fk_{table}_connection_id_connections",
        ondelete="CASCADE" if cascade else None,
    )


def _connections_locks_and_cursors() -> None:
    """Connections, locks, the audit chains' heads and the cursors."""
    op.create_table(
        "connections",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("health_message", sa.Text(), nullable=False),
        sa.Column("ramp_base_url", sa.String(500), nullable=False),
        sa.Column("visma_base_url", sa.String(500), nullable=False),
        sa.Column("visma_token_url", sa.String(500), nullable=False),
        sa.Column("credentials", sa.LargeBinary(), nullable=False),
        sa.Column("settings", _json(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint("status IN ('active', 'paused')", name="ck_connections_status"),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.UniqueConstraint("name", name="uq_connections_name"),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        _time("acquired_at"),
        _time("expires_at"),
        sa.PrimaryKeyConstraint("name", name="pk_locks"),
    )
    op.create_table(
        "audit_heads",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        _connection_fk("audit_heads", cascade=False),
        sa.PrimaryKeyConstraint("connection_id", name="pk_audit_heads"),
    )
    op.create_table(
        "cursors",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _time("updated_at"),
        _connection_fk("cursors", cascade=True),
        sa.PrimaryKeyConstraint("connection_id", "name", name="pk_cursors"),
    )


def _links() -> None:
    """Links, unique per connection, kind and Ramp id."""
    op.create_table(
        "links",
        _id(),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ramp_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("visma_id", sa.String(200), nullable=True),
        sa.Column("external_ref", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("data", _json(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint("kind IN ('vendor', 'bill', 'purchase_order')", name="ck_links_kind"),
        sa.CheckConstraint("state IN ('attempted', 'confirmed')", name="ck_links_state"),
        _connection_fk("links", cascade=True),
        sa.PrimaryKeyConstraint("id", name="pk_links"),
        sa.UniqueConstraint(
            "connection_id", "kind", "ramp_id", name="uq_links_connection_id_kind_ramp_id"
        ),
    )
    op.create_index(
        "ix_links_connection_id_kind_visma_id", "links", ["connection_id", "kind", "visma_id"]
    )


def _sync_records() -> None:
    """Sync records, unique per connection, object type and object id."""
    op.create_table(
        "sync_records",
        _id(),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rerun", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        _time("lease_until", nullable=True),
        _time("claimed_at", nullable=True),
        _time("next_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("hint", sa.Text(), nullable=True),
        sa.Column("visma_ref", sa.String(200), nullable=True),
        sa.Column("payload", _json(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint(f"status IN ({_SYNC_STATUSES})", name="ck_sync_records_status"),
        _connection_fk("sync_records", cascade=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_records"),
        sa.UniqueConstraint(
            "connection_id",
            "object_type",
            "object_id",
            name="uq_sync_records_connection_id_object_type_object_id",
        ),
    )
    op.create_index(
        "ix_sync_records_connection_id_status", "sync_records", ["connection_id", "status"]
    )
    op.create_index("ix_sync_records_status_next_at", "sync_records", ["status", "next_at"])


def _attempts_and_audit_entries() -> None:
    """Attempts of each record, and the audit chain's entries."""
    op.create_table(
        "attempts",
        _id(),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        _time("started_at"),
        _time("finished_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.CheckConstraint(f"status IN ({_SYNC_STATUSES})", name="ck_attempts_status"),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["sync_records.id"],
            name="fk_attempts_record_id_sync_records",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
    )
    op.create_index("ix_attempts_record_id_id", "attempts", ["record_id", "id"])
    op.create_table(
        "audit_entries",
        _id(),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _time("at"),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        _connection_fk("audit_entries", cascade=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["sync_records.id"], name="fk_audit_entries_record_id_sync_records"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
        sa.UniqueConstraint("connection_id", "seq", name="uq_audit_entries_connection_id_seq"),
    )
    op.create_index("ix_audit_entries_record_id", "audit_entries", ["record_id"])


def upgrade() -> None:
    _connections_locks_and_cursors()
    _links()
    _sync_records()
    _attempts_and_audit_entries()


def downgrade() -> None:
    for table in (
        "audit_entries",
        "attempts",
        "sync_records",
        "links",
        "cursors",
        "audit_heads",
        "locks",
        "connections",
    ):
        op.drop_table(table)
