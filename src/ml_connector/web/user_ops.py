"""User management for the admin API and the dashboard: reads and checks the inputs.

The work, the admin-only rule, the audit entries and the rule that one enabled admin always
remains are in ``app/users.py``, shared with ``ml-connector users``; this module checks the
request's fields, hashes passwords (argon2, ``app/passwords.py``) and answers in JSON shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from ml_connector.app import principal as app_principal
from ml_connector.app import users as app_users
from ml_connector.app.passwords import hash_password
from ml_connector.app.users import UNCHANGED, Role, Unchanged
from ml_connector.runtime.wiring import Runtime
from ml_connector.web.auth import Principal
from ml_connector.web.operations import Forbidden, NotFound
from ml_connector.web.params import check_id

__all__ = ["add_user", "change_user", "connection_names", "list_users", "parse_role"]

connection_names = app_users.connection_names


@asynccontextmanager
async def _as_web() -> AsyncIterator[None]:
    """The application layer's refusal as the web's 403."""
    try:
        yield
    except app_principal.Forbidden as exc:
        raise Forbidden(str(exc)) from None


def parse_role(value: Any) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise ValueError("role must be admin, operator or viewer") from None


async def list_users(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    async with _as_web():
        return [u.as_dict() for u in await app_users.list_users(principal.actor, rt)]


async def add_user(
    rt: Runtime,
    principal: Principal,
    *,
    email: str,
    password: str,
    role: Any,
    connections: Iterable[Any] = (),
) -> dict[str, Any]:
    """A new user (admin only); ``connections`` empty means every connection."""
    if not isinstance(email, str) or "@" not in email:
        raise ValueError("give the new user's email address")
    if not isinstance(password, str) or len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    async with _as_web():
        user = await app_users.add_user(
            principal.actor,
            rt,
            email,
            password_hash=hash_password(password),
            role=parse_role(role),
            scope=await app_users.named_scope(rt, connections),
        )
        return (await app_users.user_view(rt, user)).as_dict()


def _checked_scope_names(changes: Mapping[str, Any]) -> list[Any] | None:
    """The ``connections`` field's names ([] for every connection), None when absent."""
    if "connections" not in changes:
        return None
    names = changes["connections"]
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise ValueError("connections must be a list of connection names, or null for all")
    return list(names or [])


async def change_user(
    rt: Runtime, principal: Principal, user_id: int, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a user's ``role``, ``connections`` (empty list or null: all) or ``disabled``."""
    actor = principal.actor
    async with _as_web():
        user = await app_users.get_user(actor, rt, check_id(user_id, "user id"))
    if user is None:
        raise NotFound(f"no user {user_id}")
    unknown = sorted(set(changes) - {"role", "connections", "disabled"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    names = _checked_scope_names(changes)
    scope: frozenset[int] | Unchanged | None = (
        UNCHANGED if names is None else await app_users.named_scope(rt, names)
    )
    disabled = changes.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ValueError("disabled must be true or false")
    role = parse_role(changes["role"]) if changes.get("role") is not None else None
    async with _as_web():
        after = await app_users.update_user(
            actor, rt, user, role=role, scope=scope, disabled=disabled
        )
    return (await app_users.user_view(rt, after)).as_dict()
