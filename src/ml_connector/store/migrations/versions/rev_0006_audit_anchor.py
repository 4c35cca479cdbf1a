"""Audit retention: each chain head remembers where its chain starts after pruning.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

``audit_heads`` gains ``anchor_seq`` and ``anchor_hash``: the sequence number and hash of the
newest entry that retention deleted. Existing chains were never pruned, so they start at 0 and
the genesis hash (the server defaults). Batch mode keeps SQLite happy.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_heads") as batch:
        batch.add_column(sa.Column("anchor_seq", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("anchor_hash", sa.String(64), server_default=_GENESIS, nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_heads") as batch:
        batch.drop_column("anchor_hash")
        batch.drop_column("anchor_seq")
