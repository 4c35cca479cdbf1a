"""Alert webhook URLs move into the vault: a masked form is all that stays in plaintext.

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-10

A webhook URL often carries a token (``https://hooks.example.com/services/T0/B0/secret``), so
from this revision it is kept with the signing secret and SMTP password in the vault ciphertext
of ``alert_targets.secrets``. ``alert_targets`` gains ``webhook_hint``: the URL's scheme, host
and port followed by ``/…``, which is what ``alerts show`` displays and how the alert planner
knows a webhook is set without decrypting anything.

The master key is not available to a migration, so this revision cannot encrypt. It fills
``webhook_hint`` for the rows that have a URL and leaves the plaintext in ``webhook_url``; the
first process that opens the store with the vault (any command, ``serve``, ``worker``) seals
those URLs into the ciphertext and clears ``webhook_url`` (``ml_connector.runtime.sealing``).
Nothing writes ``webhook_url`` after this revision.

Self-contained like 0001: column types are spelled out, not imported from the store.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def _hint(url: str) -> str:
    """Scheme, host and port only (the same rule as the runtime's masking)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable URL)/…"
    return f"{parts.scheme}://{parts.hostname or ''}{port}/…"


def upgrade() -> None:
    with op.batch_alter_table("alert_targets") as batch:
        batch.add_column(sa.Column("webhook_hint", sa.String(300), nullable=True))
    targets = sa.table(
        "alert_targets",
        sa.column("connection_id", sa.Integer()),
        sa.column("webhook_url", sa.String(1000)),
        sa.column("webhook_hint", sa.String(300)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(targets.c.connection_id, targets.c.webhook_url).where(
            targets.c.webhook_url.is_not(None)
        )
    ).all()
    for connection_id, url in rows:
        bind.execute(
            targets.update()
            .where(targets.c.connection_id == connection_id)
            .values(webhook_hint=_hint(url))
        )


def downgrade() -> None:
    # URLs sealed since the upgrade stay in the ciphertext; re-enter them with `alerts set`.
    with op.batch_alter_table("alert_targets") as batch:
        batch.drop_column("webhook_hint")
