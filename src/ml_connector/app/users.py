"""Users of the dashboard and the admin API: list, add, change, remove, API tokens.

Admins only. Each change is audited with the acting :class:`Actor`'s identity in the audit
chain of every connection whose access it changes: the connections the user could see before
and can see after (all of them for an unscoped user). Chains are per connection, so each
tenant's trail tells who gained or lost access to it. Every change is also written to the
security log (``store/security_log.py``), which holds the whole account history in one place,
including changes to users who see no connection yet.

Disabling or removing a user, or changing their role, ends their dashboard sessions in the
same transaction as the change (``store/users.py``); disabling also revokes their API tokens.

A change that would leave no enabled admin is refused, so nobody locks the team out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ml_connector.app.passwords import new_api_token
from ml_connector.app.principal import Actor, Forbidden, Permission
from ml_connector.audit import AuditKind
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store.users import UNCHANGED, Role, Unchanged, User

__all__ = [
    "UNCHANGED",
    "Role",
    "Unchanged",
    "User",
    "UserView",
    "add_user",
    "connection_names",
    "create_api_token",
    "find_user",
    "get_user",
    "list_users",
    "named_scope",
    "remove_user",
    "scope_ids",
    "update_user",
    "user_view",
]


@dataclass(frozen=True)
class UserView:
    """A user as shown: no password hash, the scope as connection names (None: all)."""

    id: int
    email: str
    role: str
    connections: list[str] | None
    disabled: bool
    api_tokens: int
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _admin(actor: Actor) -> None:
    if not actor.may(Permission.ADMIN):
        raise Forbidden("only an admin may manage users")


async def connection_names(rt: Runtime) -> list[str]:
    """Every connection's name, for scope pickers."""
    return [c.name for c in await rt.store.list_connections()]


async def scope_ids(rt: Runtime, names: Iterable[str]) -> frozenset[int] | None:
    """Connection ids for the named connections; no names means every connection (None)."""
    wanted = [n.strip() for n in names if n.strip()]
    if not wanted:
        return None
    return frozenset([(await rt.store.get_connection(name)).id for name in wanted])


async def named_scope(rt: Runtime, names: Iterable[Any]) -> frozenset[int] | None:
    """Like :func:`scope_ids`, refusing unknown names with one ValueError naming them all."""
    texts = [str(n) for n in names]
    known = set(await connection_names(rt))
    unknown = sorted({t for t in texts if t.strip()} - known)
    if unknown:
        raise ValueError(f"no connection {', '.join(unknown)}")
    return await scope_ids(rt, texts)


async def user_view(rt: Runtime, user: User) -> UserView:
    names = {c.id: c.name for c in await rt.store.list_connections()}
    tokens = await rt.store.count_api_tokens()
    return _view(user, names, tokens.get(user.id, 0))


def _view(user: User, names: Mapping[int, str], tokens: int) -> UserView:
    scope = (
        None
        if user.connection_ids is None
        else sorted(names.get(i, str(i)) for i in user.connection_ids)
    )
    return UserView(
        id=user.id,
        email=user.email,
        role=user.role.value,
        connections=scope,
        disabled=user.disabled,
        api_tokens=tokens,
        created_at=user.created_at.isoformat(),
    )


async def list_users(actor: Actor, rt: Runtime) -> list[UserView]:
    """Every user: role, connections, disabled, how many API tokens."""
    _admin(actor)
    names = {c.id: c.name for c in await rt.store.list_connections()}
    tokens = await rt.store.count_api_tokens()
    return [_view(u, names, tokens.get(u.id, 0)) for u in await rt.store.list_users()]


async def get_user(actor: Actor, rt: Runtime, user_id: int) -> User | None:
    _admin(actor)
    return await rt.store.get_user(user_id)


async def find_user(actor: Actor, rt: Runtime, email_or_id: str | int) -> User:
    """The user by email or id; ConfigurationError when there is none."""
    _admin(actor)
    user = (
        await rt.store.get_user(email_or_id)
        if isinstance(email_or_id, int)
        else await rt.store.find_user(email_or_id)
    )
    if user is None:
        raise ConfigurationError(f"no user {email_or_id!r}")
    return user


async def create_api_token(actor: Actor, rt: Runtime, email: str) -> str:
    """A new API token for the user, returned once (the store keeps only its hash)."""
    user = await find_user(actor, rt, email)
    value, digest = new_api_token()
    await rt.store.add_api_token(user.id, digest)
    return value


async def _audit(
    rt: Runtime,
    actor: Actor,
    scopes: Iterable[frozenset[int] | None],
    data: Mapping[str, Any],
) -> None:
    entry = {**actor.identity(), **data}
    await rt.store.append_security_event("user_action", entry)
    every = [c.id for c in await rt.store.list_connections()]
    touched: set[int] = set()
    for scope in scopes:
        touched |= set(every) if scope is None else set(scope)
    for connection_id in sorted(touched & set(every)):
        await rt.store.append_audit(connection_id, None, AuditKind.USER_ACTION.value, entry)


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
    actor: Actor,
    rt: Runtime,
    email: str,
    *,
    password_hash: str,
    role: Role,
    scope: frozenset[int] | None,
) -> User:
    """A new user seeing ``scope`` (None: every connection); audited."""
    _admin(actor)
    user = await rt.store.create_user(
        email, password_hash=password_hash, role=role, connection_ids=scope
    )
    data = {"action": "user add", "target": user.email, "new_role": role.value}
    await _audit(rt, actor, [scope], data)
    return user


async def update_user(
    actor: Actor,
    rt: Runtime,
    user: User,
    *,
    role: Role | None = None,
    scope: frozenset[int] | Unchanged | None = UNCHANGED,
    disabled: bool | None = None,
) -> User:
    """Change role, scope (None: every connection) or the disabled flag; audited."""
    _admin(actor)
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


async def remove_user(actor: Actor, rt: Runtime, user: User) -> None:
    """Delete the user and their API tokens; audited."""
    _admin(actor)
    await _keep_an_admin(rt, user, role=Role.VIEWER, disabled=True)
    await rt.store.delete_user(user.id)
    await _audit(rt, actor, [user.connection_ids], {"action": "user remove", "target": user.email})
