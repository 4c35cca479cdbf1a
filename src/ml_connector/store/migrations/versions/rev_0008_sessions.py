"""Server-side sessions, login throttling, the security log; user ids never reused.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08

- ``users`` on SQLite is rebuilt with ``AUTOINCREMENT``, so the id of a removed user is never
  handed to the next one (PostgreSQL's serial sequence never reuses ids already). Rows keep
  their ids; rows of tables referring to ``users`` (``api_tokens``) are set aside and put back,
  because dropping the old table with foreign keys on would cascade to them.
- ``user_sessions``: one row per dashboard session, keyed by the SHA-256 of its id.
- ``login_throttle``: failed-login counters and locks per scope and key, shared by processes.
- ``security_events`` and ``security_log_head``: the hash-chained log of logins and user changes.

Self-contained like 0001: column types are spelled out, not imported from the store.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_USER_COLUMNS = "id, email, password_hash, role, connection_ids, disabled, created_at"


def _users_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("connection_ids", sa.JSON(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'operator', 'viewer')", name="ck_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sqlite_autoincrement=True,
    )


def _tables_referring_to_users(bind: sa.engine.Connection) -> list[str]:
    names = [
        str(name)
        for (name,) in bind.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    children = []
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise RuntimeError(f"unexpected table name {name!r} in the SQLite schema")
        if any(
            fk[2] == "users" for fk in bind.exec_driver_sql(f'PRAGMA foreign_key_list("{name}")')
        ):
            children.append(name)
    return children


# The table names interpolated below come from sqlite_master and are checked against
# _IDENTIFIER first; nothing user-supplied reaches these statements.
def _rebuild_sqlite_users() -> None:
    bind = op.get_bind()
    children = _tables_referring_to_users(bind)
    for child in children:
        bind.exec_driver_sql(f'CREATE TEMP TABLE "_keep_{child}" AS SELECT * FROM "{child}"')  # noqa: S608
        bind.exec_driver_sql(f'DELETE FROM "{child}"')  # noqa: S608
    _users_table("_users_autoincrement")
    bind.exec_driver_sql(
        f"INSERT INTO _users_autoincrement ({_USER_COLUMNS}) SELECT {_USER_COLUMNS} FROM users"  # noqa: S608
    )
    op.drop_table("users")
    op.rename_table("_users_autoincrement", "users")
    for child in children:
        bind.exec_driver_sql(f'INSERT INTO "{child}" SELECT * FROM "_keep_{child}"')  # noqa: S608
        bind.exec_driver_sql(f'DROP TABLE "_keep_{child}"')
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"rebuilding users left dangling references: {broken[:5]}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_users()
    op.create_table(
        "user_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id_hash", name="pk_user_sessions"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_login_throttle"),
    )
    op.create_table(
        "security_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_security_events"),
    )
    op.create_table(
        "security_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("anchor_seq", sa.Integer(), nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_security_log_head"),
    )


def downgrade() -> None:
    op.drop_table("security_log_head")
    op.drop_table("security_events")
    op.drop_table("login_throttle")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
