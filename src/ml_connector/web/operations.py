"""The web edges' bridge to the application layer: who acts, and the errors they answer.

The admin API and the dashboard authenticate a :class:`~ml_connector.web.auth.Principal` and
act as its :class:`~ml_connector.app.principal.Actor`; every read and action is an ``app/``
function. ``NotFound`` (404) and ``Forbidden`` (403) are the application layer's own.
The user pages' operations still take the principal and write ``audit_identity`` themselves.
"""

from __future__ import annotations

from typing import Any

from ml_connector.app.principal import Actor, Forbidden, NotFound
from ml_connector.web.auth import Principal

__all__ = [
    "Forbidden",
    "NotFound",
    "actor_of",
    "audit_identity",
]


def actor_of(principal: Principal) -> Actor:
    """The actor a dashboard session or an API token acts as."""
    return Actor.of_user(principal.user, principal.via)


def audit_identity(principal: Principal) -> dict[str, Any]:
    """Who acted, as every user action's audit entry records it."""
    return actor_of(principal).identity()
