"""The supplier index: each connection's Visma suppliers, kept for matching vendors.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

- ``supplier_index``: one row per (connection, supplier number) with the folded name and the
  organisation and VAT numbers as match keys (``"NO:923609016"``), the supplier's status and
  Visma's ``lastModifiedDateTime``; indexed for the three lookups matching makes.
- ``supplier_index_state``: per connection, the delta watermark and when the newest complete
  (and full) read started.

Self-contained like 0001: column types are spelled out, not imported from the store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
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
        "supplier_index",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("name_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("corporate_id", sa.String(60), nullable=True),
        sa.Column("corporate_key", sa.String(60), nullable=True),
        sa.Column("vat_registration_id", sa.String(60), nullable=True),
        sa.Column("vat_key", sa.String(60), nullable=True),
        sa.Column("modified", sa.String(32), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        _connection_fk("supplier_index"),
        sa.PrimaryKeyConstraint("connection_id", "number", name="pk_supplier_index"),
    )
    for column in ("corporate_key", "vat_key", "name_key"):
        op.create_index(
            f"ix_supplier_index_connection_id_{column}",
            "supplier_index",
            ["connection_id", column],
        )
    op.create_table(
        "supplier_index_state",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.String(32), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("full_at", sa.DateTime(timezone=True), nullable=True),
        _connection_fk("supplier_index_state"),
        sa.PrimaryKeyConstraint("connection_id", name="pk_supplier_index_state"),
    )


def downgrade() -> None:
    op.drop_table("supplier_index_state")
    for column in ("name_key", "vat_key", "corporate_key"):
        op.drop_index(f"ix_supplier_index_connection_id_{column}", table_name="supplier_index")
    op.drop_table("supplier_index")
