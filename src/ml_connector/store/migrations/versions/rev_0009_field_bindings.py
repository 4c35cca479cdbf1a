"""Field bindings: which Visma target each Ramp accounting field feeds, versioned.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

``field_binding_versions`` keeps every version of a connection's field bindings as one JSON
document (``mapping.bindings``), numbered per connection like ``mapping_versions``: a version is
never edited or deleted.

Self-contained like 0001: column types are spelled out, not imported from tables.py.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "field_binding_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_field_binding_versions_connection_id_connections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_field_binding_versions"),
        sa.UniqueConstraint(
            "connection_id", "version", name="uq_field_binding_versions_connection_id_version"
        ),
    )


def downgrade() -> None:
    op.drop_table("field_binding_versions")
