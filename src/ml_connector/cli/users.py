"""``ml-connector users …``: dashboard and admin-API users and their API tokens."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ml_connector.cli._common import Opt, app, console, run_with_runtime
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime
from ml_connector.store.users import Role
from ml_connector.web.auth import hash_password, new_api_token

__all__ = ["users_app"]

users_app = typer.Typer(help="Users of the dashboard and the admin API.")
app.add_typer(users_app, name="users")

_PASSWORD_ENV = "ML_CONNECTOR_USER_PASSWORD"


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
        scope: frozenset[int] | None = None
        if connection:
            scope = frozenset([(await rt.store.get_connection(name)).id for name in connection])
        user = await rt.store.create_user(
            email, password_hash=password_hash, role=role, connection_ids=scope
        )
        where = ", ".join(connection) if connection else "all connections"
        console.print(f"user {user.email} ({user.role.value}) created; sees {where}")

    run_with_runtime(work)


@users_app.command("token")
def token(email: str) -> None:
    """Create an API token for the user and print it once (only its hash is kept)."""

    async def work(rt: Runtime) -> str:
        user = await rt.store.find_user(email)
        if user is None:
            raise ConfigurationError(f"no user {email!r}")
        value, digest = new_api_token()
        await rt.store.add_api_token(user.id, digest)
        return value

    secret = run_with_runtime(work)
    typer.echo(secret)
