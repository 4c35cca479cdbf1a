"""``ml-connector alerts …``: where a connection's alerts go, what is firing, a test message.

Secrets never appear on the command line: the webhook signing secret and the SMTP password are
read from environment variables named by the options, and stored encrypted by the vault.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from ml_connector.app import alerts as alert_ops
from ml_connector.cli._common import (
    Opt,
    app,
    console,
    err_console,
    print_json,
    run_with_runtime,
    styled,
)
from ml_connector.cli.users import cli_actor

__all__ = ["alerts_app"]

alerts_app = typer.Typer(help="Operator alerts: signed webhook and e-mail, grouped per cause.")
app.add_typer(alerts_app, name="alerts")


def _from_env(variable: str | None, what: str) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        err_console.print(styled("[red]error:[/red] ${} ({}) is unset or empty", variable, what))
        raise typer.Exit(1)
    return value


def _show(info: dict[str, Any]) -> None:
    console.print(styled("[bold]{}[/bold] alerts", info["connection"]))
    console.print(
        f"  webhook: {info['webhook_url'] or '—'}"
        f" (signing secret {'set' if info['webhook_secret_set'] else 'not set'})"
    )
    console.print(f"  e-mail:  {info['email_to'] or '—'} via {info['smtp'] or '—'}")
    console.print(f"  grouping window: {info['group_window_s']:.0f} s")
    if info["groups"]:
        table = Table("cause", "state", "occurrences", "opened", "summary", title="groups")
        for group in info["groups"]:
            table.add_row(
                group["cause"],
                group["state"],
                str(group["occurrences"]),
                group["opened_at"],
                group["summary"],
            )
        console.print(table)
    if info["deliveries"]:
        table = Table("id", "channel", "kind", "cause", "state", "attempts", "error")
        for d in info["deliveries"]:
            table.add_row(
                str(d["id"]),
                d["channel"],
                str(d["kind"]),
                str(d["cause"]),
                d["state"],
                str(d["attempts"]),
                str(d["last_error"] or ""),
            )
        console.print(table)


@alerts_app.command("set")
def set_target(
    name: str,
    webhook_url: Annotated[
        str | None, Opt("--webhook-url", help="POST signed JSON alerts to this URL.")
    ] = None,
    secret_from_env: Annotated[
        str | None,
        Opt("--secret-from-env", help="Environment variable holding the webhook signing secret."),
    ] = None,
    email: Annotated[
        str | None, Opt("--email", help="Also mail alerts here (needs ML_CONNECTOR_SMTP_HOST).")
    ] = None,
    smtp_password_from_env: Annotated[
        str | None,
        Opt("--smtp-password-from-env", help="Environment variable holding the SMTP password."),
    ] = None,
    clear: Annotated[
        bool, Opt("--clear", help="Forget the current target first (then set what is given).")
    ] = False,
    as_json: Annotated[bool, Opt("--json")] = False,
) -> None:
    """Set where a connection's alerts go; options left out keep their current value."""
    secret = _from_env(secret_from_env, "webhook signing secret")
    password = _from_env(smtp_password_from_env, "SMTP password")
    info = run_with_runtime(
        lambda rt: alert_ops.configure(
            cli_actor(),
            rt,
            name,
            webhook_url=webhook_url,
            webhook_secret=secret,
            email_to=email,
            smtp_password=password,
            clear=clear,
        )
    )
    if as_json:
        print_json(info.as_dict())
    else:
        _show(info.as_dict())


@alerts_app.command("show")
def show(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """The alert target (secrets only as set/unset), alert groups and recent messages."""
    info = run_with_runtime(lambda rt: alert_ops.describe(cli_actor(), rt, name)).as_dict()
    if as_json:
        print_json(info)
    else:
        _show(info)


@alerts_app.command("test")
def send_test(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Send a test alert on every configured channel now; exits 1 when one fails."""
    results = run_with_runtime(
        lambda rt: alert_ops.send_test(cli_actor(), rt, name, now=datetime.now(UTC))
    )
    if as_json:
        print_json([result.as_dict() for result in results])
    else:
        for result in results:
            mark = "[green]ok[/green]" if result.ok else "[red]FAILED[/red]"
            console.print(styled(f"{{:>7}}: {mark}  {{}}", result.channel, result.detail))
    if not all(result.ok for result in results):
        raise typer.Exit(1)
