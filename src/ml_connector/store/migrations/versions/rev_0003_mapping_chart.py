"""Mapping table versions, the mapping catalog, and the chart map (Visma id <-> Ramp id).

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-26

Self-contained like 0001: column types are spelled out, not imported from tables.py.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["connections.id"],
        name=f"fk_{table}_connection_id_connections",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "mapping_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _time("created_at"),
        _connection_fk("mapping_versions"),
        sa.PrimaryKeyConstraint("id", name="pk_mapping_versions"),
        sa.UniqueConstraint(
            "connection_id", "version", name="uq_mapping_versions_connection_id_version"
        ),
    )
    op.create_table(
        "mapping_catalogs",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        _time("pulled_at"),
        _connection_fk("mapping_catalogs"),
        sa.PrimaryKeyConstraint("connection_id", name="pk_mapping_catalogs"),
    )
    op.create_table(
        "chart_map",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("visma_id", sa.String(200), nullable=False),
        sa.Column("ramp_id", sa.String(200), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _time("updated_at"),
        _connection_fk("chart_map"),
        sa.PrimaryKeyConstraint("id", name="pk_chart_map"),
        sa.UniqueConstraint(
            "connection_id",
            "kind",
            "scope",
            "visma_id",
            name="uq_chart_map_connection_id_kind_scope_visma_id",
        ),
    )
    op.create_index(
        "ix_chart_map_connection_id_kind_ramp_id", "chart_map", ["connection_id", "kind", "ramp_id"]
    )


def downgrade() -> None:
    op.drop_table("chart_map")
    op.drop_table("mapping_catalogs")
    op.drop_table("mapping_versions")
