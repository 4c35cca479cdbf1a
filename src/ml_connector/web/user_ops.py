"""User management for the admin API and the dashboard: admins only, audited with identity.

The work (and the rule that one enabled admin always remains) is in ``runtime/users.py``,
shared with ``ml-connector users``; this module checks the caller's role, reads and checks the
inputs, and hashes passwords (argon2, ``web/auth.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ml_connector.runtime import users as user_ops
from ml_connector.runtime.wiring import Runtime
from ml_connector.store.users import UNCHANGED, Role, Unchanged
from ml_connector.web.auth import Principal, hash_password
from ml_connector.web.operations import Forbidden, NotFound, audit_identity
from ml_connector.web.params import check_id

__all__ = ["add_user", "change_user", "list_users", "parse_role"]


def _admin(principal: Principal) -> None:
    if not principal.can_admin:
        raise Forbidden("only an admin may manage users")


def parse_role(value: Any) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise ValueError("role must be admin, operator or viewer") from None


async def _scope(rt: Runtime, names: Iterable[Any]) -> frozenset[int] | None:
    texts = [str(n) for n in names]
    known = {c.name for c in await rt.store.list_connections()}
    unknown = sorted({t for t in texts if t.strip()} - known)
    if unknown:
        raise ValueError(f"no connection {', '.join(unknown)}")
    return await user_ops.scope_ids(rt, texts)


async def list_users(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    _admin(principal)
    return await user_ops.list_users(rt)


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
    _admin(principal)
    if not isinstance(email, str) or "@" not in email:
        raise ValueError("give the new user's email address")
    if not isinstance(password, str) or len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    user = await user_ops.add_user(
        rt,
        audit_identity(principal),
        email,
        password_hash=hash_password(password),
        role=parse_role(role),
        scope=await _scope(rt, connections),
    )
    return await user_ops.user_to_dict(rt, user)


async def change_user(
    rt: Runtime, principal: Principal, user_id: int, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a user's ``role``, ``connections`` (empty list or null: all) or ``disabled``."""
    _admin(principal)
    user = await rt.store.get_user(check_id(user_id, "user id"))
    if user is None:
        raise NotFound(f"no user {user_id}")
    unknown = sorted(set(changes) - {"role", "connections", "disabled"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    scope: frozenset[int] | Unchanged | None = UNCHANGED
    if "connections" in changes:
        names = changes["connections"]
        if names is not None and not (
            isinstance(names, list) and all(isinstance(n, str) for n in names)
        ):
            raise ValueError("connections must be a list of connection names, or null for all")
        scope = await _scope(rt, names or [])
    disabled = changes.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ValueError("disabled must be true or false")
    role = parse_role(changes["role"]) if changes.get("role") is not None else None
    after = await user_ops.update_user(
        rt, audit_identity(principal), user, role=role, scope=scope, disabled=disabled
    )
    tokens = await rt.store.count_api_tokens()
    return await user_ops.user_to_dict(rt, after, tokens.get(after.id, 0))
