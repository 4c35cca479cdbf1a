"""The web process's housekeeping in the store: retention of the security log and the inbox,
and the readiness probe's store check."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ml_connector.runtime.wiring import Runtime

__all__ = ["check_store", "prune_inbox", "prune_security_log"]


async def prune_security_log(runtime: Runtime) -> int:
    """Delete security log entries past ``security_log_retention_days``; how many went."""
    days = runtime.settings.security_log_retention_days
    return await runtime.store.prune_security_log(before=datetime.now(UTC) - timedelta(days=days))


async def prune_inbox(
    runtime: Runtime, retention_days: float, seen_keep: timedelta
) -> tuple[int, int]:
    """Delete inbox events and rejections older than the retention; a pruned event's key is
    kept for ``seen_keep`` (at least the retention). Returns (events, rejections) deleted."""
    now_at = datetime.now(UTC)
    cutoff = now_at - timedelta(days=retention_days)
    keep = max(seen_keep, timedelta(days=retention_days))
    return await runtime.store.prune_inbox(cutoff, seen_before=now_at - keep)


async def check_store(runtime: Runtime, timeout_s: float = 5.0) -> None:
    """Raise (ConnectorError or TimeoutError) unless the store answers within the timeout."""
    await asyncio.wait_for(runtime.store.list_connections(), timeout=timeout_s)
