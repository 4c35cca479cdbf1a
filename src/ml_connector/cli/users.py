"""``ml-connector users …``: dashboard and admin-API users and their API tokens.

``add``, ``set-role``, ``remove`` (and the dashboard's users page) are audited in the chains of
the connections whose access they change, and in the security log, with the operating-system
login as the actor (``cli:<login>``). The last enabled admin cannot be demoted or removed.
``disable``, ``set-role`` and ``remove`` end the user's dashboard sessions; ``logout`` ends them
without changing anything else (a lost laptop, a suspected stolen cookie).

``log`` shows the security log (logins, failed logins, locks, logouts, user changes, with the
client address) newest first, and whether its hash chain is intact.
"""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer
from rich.table import Table

from ml_connector.app import sessions as session_ops
from ml_connector.app import users as user_ops
from ml_connector.app.passwords import hash_password
from ml_connector.app.principal import Actor
from ml_connector.app.users import UNCHANGED, Role, Unchanged
from ml_connector.cli._common import Opt, app, console, print_json, run_with_runtime
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime

__all__ = ["cli_actor", "users_app"]

users_app = typer.Typer(help="Users of the dashboard and the admin API.")
app.add_typer(users_app, name="users")

_PASSWORD_ENV = "ML_CONNECTOR_USER_PASSWORD"


def cli_actor() -> Actor:
    """Who acts from the command line: an admin named by the operating-system login."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Actor.local_admin(login)


@users_app.command("add")
def add(
    email: str,
    role: Annotated[Role, Opt("--role", help="admin, operator or viewer.")] = Role.VIEWER,
    connection: Annotated[
        list[str] | None,
        Opt("--connection", help="Scope the user to this connection (repeatable)."),
    ] = None,
) -> None:
    """Create a user. The password comes from $ML_CONNECTOR_USER_PASSWORD or a prompt."""
    password = os.environ.get(_PASSWORD_ENV) or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        password_hash = hash_password(password)
    except ConfigurationError as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(1) from None

    async def work(rt: Runtime) -> None:
        scope = await user_ops.scope_ids(rt, connection or [])
        user = await user_ops.add_user(
            cli_actor(), rt, email, password_hash=password_hash, role=role, scope=scope
        )
        where = ", ".join(connection) if connection else "all connections"
        console.print(f"user {user.email} ({user.role.value}) created; sees {where}")

    run_with_runtime(work)


@users_app.command("token")
def token(email: str) -> None:
    """Create an API token for the user and print it once (only its hash is kept)."""

    async def work(rt: Runtime) -> str:
        return await user_ops.create_api_token(cli_actor(), rt, email)

    secret = run_with_runtime(work)
    typer.echo(secret)


@users_app.command("list")
def list_users(as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Every user: role, connections, disabled, how many API tokens."""

    async def work(rt: Runtime) -> list[user_ops.UserView]:
        return await user_ops.list_users(cli_actor(), rt)

    users = run_with_runtime(work)
    if as_json:
        print_json([u.as_dict() for u in users])
        return
    table = Table("email", "role", "connections", "disabled", "api tokens")
    for user in users:
        scope = "all" if user.connections is None else ", ".join(user.connections)
        disabled = "yes" if user.disabled else ""
        table.add_row(user.email, user.role, scope, disabled, str(user.api_tokens))
    console.print(table)


@users_app.command("set-role")
def set_role(
    email: str,
    role: Annotated[Role, Opt("--role", help="admin, operator or viewer.")],
    connection: Annotated[
        list[str] | None,
        Opt("--connection", help="Also set the scope to these connections (repeatable)."),
    ] = None,
    all_connections: Annotated[
        bool, Opt("--all-connections", help="Also widen the scope to every connection.")
    ] = False,
) -> None:
    """Change a user's role (and, optionally, which connections they see)."""
    if connection and all_connections:
        console.print("error: give --connection or --all-connections, not both")
        raise typer.Exit(1)

    async def work(rt: Runtime) -> None:
        user = await user_ops.find_user(cli_actor(), rt, email)
        scope: frozenset[int] | Unchanged | None = UNCHANGED
        if all_connections:
            scope = None
        elif connection:
            scope = await user_ops.scope_ids(rt, connection)
        after = await user_ops.update_user(cli_actor(), rt, user, role=role, scope=scope)
        console.print(f"user {after.email} is now {after.role.value}")

    run_with_runtime(work)


@users_app.command("disable")
def disable(email: str) -> None:
    """Disable a user: no more logins, and their API tokens are revoked."""

    async def work(rt: Runtime) -> None:
        user = await user_ops.find_user(cli_actor(), rt, email)
        await user_ops.update_user(cli_actor(), rt, user, disabled=True)
        console.print(f"user {user.email} disabled; API tokens revoked")

    run_with_runtime(work)


@users_app.command("remove")
def remove(email: str) -> None:
    """Delete a user and their API tokens."""

    async def work(rt: Runtime) -> None:
        user = await user_ops.find_user(cli_actor(), rt, email)
        await user_ops.remove_user(cli_actor(), rt, user)
        console.print(f"user {user.email} removed")

    run_with_runtime(work)


@users_app.command("logout")
def logout(email: str) -> None:
    """End every dashboard session of the user now (on every device); logged."""

    async def work(rt: Runtime) -> int:
        return await session_ops.end_user_sessions(cli_actor(), rt, email)

    ended = run_with_runtime(work)
    console.print(f"{ended} session(s) of {email} ended")


@users_app.command("log")
def log(
    limit: Annotated[int, Opt("--limit", min=1, max=10_000, help="Newest entries shown.")] = 50,
    as_json: Annotated[bool, Opt("--json")] = False,
) -> None:
    """The security log: logins, failures, locks, logouts and user changes, newest first."""

    async def work(rt: Runtime) -> session_ops.SecurityLog:
        return await session_ops.security_log(cli_actor(), rt, limit)

    found = run_with_runtime(work)
    rows, problems = found.events, found.problems
    if as_json:
        print_json({"events": rows, "chain_intact": not problems, "problems": problems})
        return
    table = Table("seq", "at", "kind", "email", "client", "details")
    for row in rows:
        rest = {k: v for k, v in row.items() if k not in ("seq", "at", "kind", "email", "client")}
        details = ", ".join(f"{k}={v}" for k, v in sorted(rest.items()))
        cells = [
            str(row["seq"]),
            row["at"],
            row["kind"],
            str(row.get("email", "")),
            str(row.get("client", "")),
            details,
        ]
        table.add_row(*cells)
    console.print(table)
    if problems:
        console.print("[red]the security log's chain is broken:[/red]")
        for problem in problems:
            console.print(f"  {problem}")
        raise typer.Exit(1)
    console.print("chain intact")
