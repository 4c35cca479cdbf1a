"""Observability: durable counters for /metrics and status, and operator alerts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- ``obs_counters``: monotonically growing sums per connection, metric name and canonical label
  text (vendor calls by system/object type/status class, rate-limit waits, sync latency
  buckets). Every process adds to them, so ``/metrics`` is the same whichever process serves it.
- ``alert_targets``: where a connection's alerts go (webhook URL, e-mail address) and the vault
  ciphertext of the webhook signing secret and SMTP password.
- ``alert_groups``: one row per (connection, cause), firing or resolved, with its counts.
- ``alert_outbox``: one row per message and channel, sent (with retries) by the schedule loop.

Self-contained like 0001: column types are spelled out, not imported from the store.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["connections.id"],
        name=f"fk_{table}_connection_id_connections",
        ondelete="CASCADE",
    )


def _counters_and_alert_groups() -> None:
    """Durable counters, alert targets and alert groups."""
    op.create_table(
        "obs_counters",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("labels", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        _connection_fk("obs_counters"),
        sa.PrimaryKeyConstraint("connection_id", "name", "labels", name="pk_obs_counters"),
    )
    op.create_table(
        "alert_targets",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.String(1000), nullable=True),
        sa.Column("email_to", sa.String(320), nullable=True),
        sa.Column("secrets", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _connection_fk("alert_targets"),
        sa.PrimaryKeyConstraint("connection_id", name="pk_alert_targets"),
    )
    op.create_table(
        "alert_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(120), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("unsent", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('firing', 'resolved')", name="ck_alert_groups_state"),
        _connection_fk("alert_groups"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_groups"),
        sa.UniqueConstraint("connection_id", "cause", name="uq_alert_groups_connection_id_cause"),
    )


def _alert_outbox() -> None:
    """The alert messages to send, one per message and channel."""
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('webhook', 'email')", name="ck_alert_outbox_channel"),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_alert_outbox_state"),
        _connection_fk("alert_outbox"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name="fk_alert_outbox_group_id_alert_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_outbox"),
    )
    op.create_index("ix_alert_outbox_state_next_at", "alert_outbox", ["state", "next_at"])


def upgrade() -> None:
    _counters_and_alert_groups()
    _alert_outbox()


def downgrade() -> None:
    op.drop_index("ix_alert_outbox_state_next_at", table_name="alert_outbox")
    op.drop_table("alert_outbox")
    op.drop_table("alert_groups")
    op.drop_table("alert_targets")
    op.drop_table("obs_counters")
