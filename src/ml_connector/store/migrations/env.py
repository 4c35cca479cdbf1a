"""Alembic environment: runs on the connection that ``upgrade()`` passes in.

There is no offline (SQL script) mode and no URL of its own: the store owns the engine.
"""

from __future__ import annotations

from alembic import context

from ml_connector.store.tables import Base

_connection = context.config.attributes.get("connection")
if _connection is None:
    raise RuntimeError(
        "ml-connector migrations run through Store.migrate() (or "
        "ml_connector.store.migrations.upgrade), which passes the connection in"
    )

context.configure(
    connection=_connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=_connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
