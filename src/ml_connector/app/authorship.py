"""How the mapping table and the field bindings name who changed them.

A saved mapping or binding version records an author: the user's email, or the OS login for
the command line (without the ``cli:`` prefix the audit trail's identity carries).
"""

from __future__ import annotations

from typing import Any

from ml_connector.app.principal import Actor

__all__ = ["author_of", "binding_identity"]


def author_of(actor: Actor) -> str:
    """The author a saved version records."""
    return actor.name.removeprefix("cli:") if actor.via == "cli" else actor.name


def binding_identity(actor: Actor) -> dict[str, Any]:
    """Who bound a field, as its audit entry records it (the command line names the login)."""
    if actor.via == "cli":
        return {"user": author_of(actor), "via": "cli"}
    return actor.identity()
