"""Who acts: the principal every application function takes.

An :class:`Actor` is a dashboard or API user (with the role and connection scope the store
holds for them) or the local command line, which acts as an administrator of every
connection. Permission checks read it; audit entries carry :meth:`Actor.identity`, which
holds no secret (no session id, no token, no password).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from ml_connector.errors import ConnectorError
from ml_connector.store.users import Role, User

__all__ = ["Actor", "Forbidden", "NotFound", "Permission", "Role"]

Via = Literal["cli", "session", "token"]


class Permission(StrEnum):
    """What an action needs: to look, to act on records and mappings, or to administer."""

    VIEW = "view"
    ACT = "act"  # replay, retry, exclude, resolve, push, map
    ADMIN = "admin"  # credentials, connections, users, webhooks, alerts


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({Permission.VIEW, Permission.ACT}),
    Role.VIEWER: frozenset({Permission.VIEW}),
}


class Forbidden(ConnectorError):
    """The actor may not do this (its role lacks the permission, or the connection is outside
    its scope). The message names the action, never a secret."""


class NotFound(Exception):
    """No such thing, or not in the actor's scope (the same answer, on purpose)."""


@dataclass(frozen=True)
class Actor:
    """The principal of one user action."""

    name: str  # the user's email, or ``cli:<login>`` for the command line
    role: Role
    via: Via
    connection_ids: frozenset[int] | None = None  # None: every connection
    user_id: int | None = None

    @classmethod
    def local_admin(cls, login: str) -> Actor:
        """The command line: an administrator of every connection, named by the OS login."""
        return cls(name=f"cli:{login}", role=Role.ADMIN, via="cli")

    @classmethod
    def of_user(cls, user: User, via: Via) -> Actor:
        """A dashboard (``session``) or API (``token``) user."""
        return cls(
            name=user.email,
            role=user.role,
            via=via,
            connection_ids=user.connection_ids,
            user_id=user.id,
        )

    def may(self, permission: Permission) -> bool:
        return permission in _GRANTS[self.role]

    def sees(self, connection_id: int) -> bool:
        return self.connection_ids is None or connection_id in self.connection_ids

    def require(self, permission: Permission, action: str) -> None:
        """Raise :class:`Forbidden` unless the role grants ``permission``."""
        if not self.may(permission):
            raise Forbidden(f"{action}: a {self.role.value} may not do this")

    def require_on(self, permission: Permission, connection_id: int, action: str) -> None:
        """Like :meth:`require`, and the connection must be inside the actor's scope."""
        self.require(permission, action)
        if not self.sees(connection_id):
            raise Forbidden(f"{action}: this connection is outside your access")

    def identity(self) -> dict[str, Any]:
        """What audit entries record of the actor (the same shape the edges wrote before)."""
        if self.via == "cli":
            return {"user": self.name, "role": "cli", "via": "cli"}
        return {"user": self.name, "role": self.role.value, "via": self.via}
