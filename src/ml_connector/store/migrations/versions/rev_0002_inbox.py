"""The webhook inbox: verified events (unique per connection, source, event id) and rejections.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-26

Self-contained like 0001: column types are spelled out, not imported from tables.py.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_SOURCES = "source IN ('ramp', 'visma')"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        _time("received_at"),
        sa.Column("status", sa.String(16), nullable=False),
        _time("processed_at", nullable=True),
        sa.CheckConstraint(_SOURCES, name="ck_events_source"),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'ignored')", name="ck_events_status"
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_events_connection_id_connections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint(
            "connection_id", "source", "event_id", name="uq_events_connection_id_source_event_id"
        ),
    )
    op.create_index(
        "ix_events_connection_id_status_id", "events", ["connection_id", "status", "id"]
    )
    op.create_table(
        "rejections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        _time("received_at"),
        sa.CheckConstraint(_SOURCES, name="ck_rejections_source"),
        sa.PrimaryKeyConstraint("id", name="pk_rejections"),
    )
    op.create_index("ix_rejections_connection_id", "rejections", ["connection", "id"])


def downgrade() -> None:
    op.drop_table("rejections")
    op.drop_table("events")
