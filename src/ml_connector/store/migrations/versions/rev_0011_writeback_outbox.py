"""The Ramp write-back outbox, pruned events' keys, and counted rejections.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

- ``ramp_outbox``: one row per thing Ramp must be told (a bill to mark synced, a failure to
  report), written in the transaction that confirms the invoice link and kept until Ramp
  accepted it (``store/outbox.py``).
- ``inbox_seen``: the compact key of every inbox event the retention pruned, so a replay of it
  is refused instead of taken for new (``store/inbox_guard.py``).
- ``rejection_tallies``: refused webhook requests counted in one row per (scope, source,
  status) instead of one row each: requests to unknown connection names, and rejections past
  a connection's logging rate.

Self-contained like 0001: column types are spelled out, not imported from the store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["connections.id"],
        name=f"fk_{table}_connection_id_connections",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "ramp_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("sync_type", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("reference_id", sa.String(200), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("occurrence", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("batch_key", sa.String(64), nullable=True),
        sa.Column("sync_id", sa.String(200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('success', 'failure')", name="ck_ramp_outbox_kind"),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'refused', 'superseded')", name="ck_ramp_outbox_state"
        ),
        _connection_fk("ramp_outbox"),
        sa.PrimaryKeyConstraint("id", name="pk_ramp_outbox"),
    )
    op.create_index("ix_ramp_outbox_state_next_at", "ramp_outbox", ["state", "next_at"])
    op.create_index(
        "ix_ramp_outbox_connection_id_object_id", "ramp_outbox", ["connection_id", "object_id"]
    )
    op.create_table(
        "inbox_seen",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        _connection_fk("inbox_seen"),
        sa.PrimaryKeyConstraint("connection_id", "source", "event_key", name="pk_inbox_seen"),
    )
    op.create_index("ix_inbox_seen_seen_at", "inbox_seen", ["seen_at"])
    op.create_table(
        "rejection_tallies",
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "source", "http_status", name="pk_rejection_tallies"),
    )


def downgrade() -> None:
    op.drop_table("rejection_tallies")
    op.drop_index("ix_inbox_seen_seen_at", table_name="inbox_seen")
    op.drop_table("inbox_seen")
    op.drop_index("ix_ramp_outbox_connection_id_object_id", table_name="ramp_outbox")
    op.drop_index("ix_ramp_outbox_state_next_at", table_name="ramp_outbox")
    op.drop_table("ramp_outbox")
