"""Links of kind ``payment``: a Ramp bill's payment and the Visma supplier payment it became.

Revision ID: 0004
Revises: 0003
Create Date: 2025-11-27

Only the CHECK constraint on ``links.kind`` changes. SQLite cannot alter a constraint in place,
so the change goes through Alembic's batch mode (a table copy); PostgreSQL alters it directly.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_BEFORE = "kind IN ('vendor', 'bill', 'purchase_order')"
_AFTER = "kind IN ('vendor', 'bill', 'purchase_order', 'payment')"


def _replace_kind_check(condition: str) -> None:
    # Named as 0001 named it: the naming convention expands the name the same way here.
    with op.batch_alter_table("links") as batch:
        batch.drop_constraint("ck_links_kind", type_="check")
        batch.create_check_constraint("ck_links_kind", condition)


def upgrade() -> None:
    _replace_kind_check(_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM links WHERE kind = 'payment'")
    _replace_kind_check(_BEFORE)
