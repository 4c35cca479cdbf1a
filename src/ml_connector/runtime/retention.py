"""Audit retention: delete a connection's audit entries older than a number of days.

``ml-connector audit prune NAME --older-than DAYS`` prunes on demand; a connection whose
settings hold ``audit_retention_days`` is pruned by the service once a day. Pruning keeps the
chain verifiable (see ``store.audit``: the newest deleted entry becomes the chain's anchor).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store import Connection

__all__ = ["PRUNE_EVERY", "checked_days", "prune_audit", "retention_days"]

PRUNE_EVERY = timedelta(days=1)
"""How often the service applies a connection's ``audit_retention_days``."""


def retention_days(settings: ConnectionSettings) -> float | None:
    """The connection's ``audit_retention_days`` (checked when parsed); None keeps the trail."""
    return settings.audit_retention_days


def checked_days(value: Any, what: str) -> float:
    """A positive number of days; ConfigurationError otherwise."""
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{what} must be a number of days, not {value!r}") from None
    if not days > 0:
        raise ConfigurationError(f"{what} must be more than 0 days, not {value!r}")
    return days


async def prune_audit(
    runtime: Runtime,
    connection: Connection,
    *,
    older_than_days: float,
    now: datetime | None = None,
) -> int:
    """Delete the connection's audit entries older than ``older_than_days``; returns how many."""
    days = checked_days(older_than_days, "--older-than")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    return await runtime.store.prune_audit(connection.id, before=cutoff)
