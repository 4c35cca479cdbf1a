"""Dashboard sessions and the security log, as user actions.

Ending every session of a user (a lost laptop, a suspected stolen cookie) is an admin's action,
written to the security log with the actor. The security log (``store/security_log.py``) holds
logins, failed logins, locks, logouts and user changes with the client address; reading it
also checks its hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml_connector.app.principal import Actor, Permission
from ml_connector.app.users import find_user
from ml_connector.runtime.wiring import Runtime

__all__ = ["SecurityLog", "end_user_sessions", "security_log"]


@dataclass(frozen=True)
class SecurityLog:
    """The newest security-log entries (as flat rows) and what breaks its chain, if anything."""

    events: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    @property
    def chain_intact(self) -> bool:
        return not self.problems


async def end_user_sessions(actor: Actor, rt: Runtime, email: str) -> int:
    """End every dashboard session of the user now, on every device; logged. How many."""
    user = await find_user(actor, rt, email)
    ended = await rt.store.end_user_sessions(user.id)
    data = {**actor.identity(), "action": "sessions ended", "target": user.email, "sessions": ended}
    await rt.store.append_security_event("user_action", data)
    return ended


async def security_log(actor: Actor, rt: Runtime, limit: int) -> SecurityLog:
    """The newest ``limit`` entries, newest first, and the chain check."""
    actor.require(Permission.ADMIN, "read the security log")
    events = await rt.store.list_security_events(limit=limit)
    problems = [str(p) for p in await rt.store.verify_security_log()]
    rows = [{"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind, **e.data} for e in events]
    return SecurityLog(rows, problems)
