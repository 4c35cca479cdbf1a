"""User management shared by ``ml-connector users`` and the dashboard's users page.

Each change is audited with who made it (``actor``: the dashboard user's identity, or
``{"user": "cli:<login>", "via": "cli"}``) in the audit chain of every connection whose access
it changes: the connections the user could see before and can see after (all of them for an
unscoped user). Chains are per connection, so each tenant's trail tells who gained or lost
access to it. Every change is also written to the security log (``store/security_log.py``),
which holds the whole account history in one place, including changes to users who see no
connection yet.

Disabling or removing a user, or changing their role, ends their dashboard sessions in the
same transaction as the change (``store/users.py``).

A change that would leave no enabled admin is refused, so nobody locks the team out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ml_connector.audit import AuditKind
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store.users import UNCHANGED, Role, Unchanged, User

__all__ = [
    "add_user",
    "find_user",
    "list_users",
    "remove_user",
    "scope_ids",
    "update_user",
    "user_to_dict",
]


async def scope_ids(rt: Runtime, names: Iterable[str]) -> frozenset[int] | None:
    """Connection ids for the named connections; no names means every connection (None)."""
    wanted = [n.strip() for n in names if n.strip()]
    if not wanted:
        return None
    return frozenset([(await rt.store.get_connection(name)).id for name in wanted])


async def user_to_dict(rt: Runtime, user: User, tokens: int = 0) -> dict[str, Any]:
    """A user as shown: no password hash, the scope as connection names."""
    names = {c.id: c.name for c in await rt.store.list_connections()}
    scope = (
        None
        if user.connection_ids is None
        else sorted(names.get(i, str(i)) for i in user.connection_ids)
    )
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "connections": scope,
        "disabled": user.disabled,
        "api_tokens": tokens,
        "created_at": user.created_at.isoformat(),
    }


async def list_users(rt: Runtime) -> list[dict[str, Any]]:
    tokens = await rt.store.count_api_tokens()
    return [await user_to_dict(rt, u, tokens.get(u.id, 0)) for u in await rt.store.list_users()]


async def find_user(rt: Runtime, email_or_id: str | int) -> User:
    """The user by email or id; ConfigurationError when there is none."""
    user = (
        await rt.store.get_user(email_or_id)
        if isinstance(email_or_id, int)
        else await rt.store.find_user(email_or_id)
    )
    if user is None:
        raise ConfigurationError(f"no user {email_or_id!r}")
    return user


async def _audit(
    rt: Runtime,
    actor: Mapping[str, Any],
    scopes: Iterable[frozenset[int] | None],
    data: Mapping[str, Any],
) -> None:
    await rt.store.append_security_event("user_action", {**actor, **data})
    every = [c.id for c in await rt.store.list_connections()]
    touched: set[int] = set()
    for scope in scopes:
        touched |= set(every) if scope is None else set(scope)
    for connection_id in sorted(touched & set(every)):
        await rt.store.append_audit(
            connection_id, None, AuditKind.USER_ACTION.value, {**actor, **data}
        )


async def _keep_an_admin(rt: Runtime, changed: User, *, role: Role, disabled: bool) -> None:
    if changed.role != Role.ADMIN or (role == Role.ADMIN and not disabled):
        return
    others = [
        u
        for u in await rt.store.list_users()
        if u.id != changed.id and u.role == Role.ADMIN and not u.disabled
    ]
    if not others:
        raise ConfigurationError("this would leave no enabled admin; make someone else admin first")


async def add_user(
    rt: Runtime,
    actor: Mapping[str, Any],
    email: str,
    *,
    password_hash: str,
    role: Role,
    scope: frozenset[int] | None,
) -> User:
    user = await rt.store.create_user(
        email, password_hash=password_hash, role=role, connection_ids=scope
    )
    data = {"action": "user add", "target": user.email, "new_role": role.value}
    await _audit(rt, actor, [scope], data)
    return user


async def update_user(
    rt: Runtime,
    actor: Mapping[str, Any],
    user: User,
    *,
    role: Role | None = None,
    scope: frozenset[int] | Unchanged | None = UNCHANGED,
    disabled: bool | None = None,
) -> User:
    """Change role, scope (None: every connection) or the disabled flag; audited."""
    await _keep_an_admin(
        rt,
        user,
        role=role or user.role,
        disabled=user.disabled if disabled is None else disabled,
    )
    new_scope = user.connection_ids if isinstance(scope, Unchanged) else scope
    after = await rt.store.update_user(
        user.id, role=role, connection_ids=new_scope, disabled=disabled
    )
    if disabled:
        await rt.store.revoke_api_tokens(user.id)  # a disabled user's tokens die with access
    changes: dict[str, Any] = {}
    if after.role != user.role:
        changes["new_role"] = after.role.value
    if after.connection_ids != user.connection_ids:
        changes["new_scope"] = None if new_scope is None else sorted(new_scope)
    if after.disabled != user.disabled:
        changes["disabled"] = after.disabled
    if changes:
        data = {"action": "user change", "target": user.email, **changes}
        await _audit(rt, actor, [user.connection_ids, after.connection_ids], data)
    return after


async def remove_user(rt: Runtime, actor: Mapping[str, Any], user: User) -> None:
    """Delete the user and their API tokens; audited."""
    await _keep_an_admin(rt, user, role=Role.VIEWER, disabled=True)
    await rt.store.delete_user(user.id)
    await _audit(rt, actor, [user.connection_ids], {"action": "user remove", "target": user.email})
