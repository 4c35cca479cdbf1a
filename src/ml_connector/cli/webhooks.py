"""``ml-connector webhooks …`` (subscriptions and secrets) and ``ml-connector events …`` (inbox)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ml_connector.app import inbox
from ml_connector.app import webhooks as actions
from ml_connector.app.inbox import EventSource, EventStatus
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

__all__ = ["events_app", "webhooks_app"]

webhooks_app = typer.Typer(help="Webhook subscriptions and signing secrets (Ramp and Visma).")
events_app = typer.Typer(help="The webhook inbox: what arrived, and what became of it.")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(events_app, name="events")

JsonOpt = Annotated[bool, Opt("--json", help="Print JSON instead of a table.")]


@webhooks_app.command("register")
def register(
    name: str,
    public_url: Annotated[
        str,
        Opt(
            envvar="ML_CONNECTOR_PUBLIC_URL",
            help="Where Ramp reaches `ml-connector serve`, e.g. https://connector.example.com.",
        ),
    ],
    event: Annotated[
        list[str] | None,
        Opt(
            "--event",
            help="An event type to subscribe to (repeatable); default: the bill and purchase-"
            "order types Ramp accepts (the spec's list, plus the newer ones where Ramp has them).",
        ),
    ] = None,
    timeout_s: Annotated[
        float, Opt("--timeout", min=1.0, help="Seconds to wait for Ramp's challenge.")
    ] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe NAME's receiver at Ramp, store the secret, and complete verification."""
    types = tuple(event) if event else None
    result = run_with_runtime(
        lambda rt: actions.register_ramp(
            cli_actor(), rt, name, public_url, event_types=types, timeout_s=timeout_s
        )
    )
    if as_json:
        print_json(
            {
                "subscription_id": result.subscription_id,
                "endpoint_url": result.endpoint_url,
                "event_types": list(result.event_types),
                "verified": result.verified,
                "detail": result.detail,
            }
        )
    else:
        mark = "[green]verified[/green]" if result.verified else "[red]NOT verified[/red]"
        console.print(
            styled(f"Subscription {{}} → {{}}: {mark}", result.subscription_id, result.endpoint_url)
        )
        console.print(result.detail)
    if not result.verified:
        raise typer.Exit(1)


@webhooks_app.command("list")
def list_subscriptions(name: str, as_json: JsonOpt = False) -> None:
    """NAME's Ramp subscriptions, and whether their secrets are stored here."""
    rows = run_with_runtime(lambda rt: actions.list_ramp_webhooks(cli_actor(), rt, name))
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    table = Table("id", "status", "endpoint", "events", "secret stored")
    for row in rows:
        table.add_row(
            row.id,
            row.status,
            row.endpoint_url,
            ", ".join(row.event_types),
            "yes" if row.secret_stored else "no",
        )
    console.print(table)


@webhooks_app.command("unregister")
def unregister(name: str, subscription_id: str) -> None:
    """Delete a Ramp subscription of NAME and drop its secret."""
    dropped = run_with_runtime(
        lambda rt: actions.unregister_ramp(cli_actor(), rt, name, subscription_id)
    )
    console.print(f"Deleted subscription {subscription_id}; dropped {dropped} secret(s).")


@webhooks_app.command("set-visma-secret")
def set_visma_secret(
    name: str,
    secret: Annotated[
        str,
        Opt(
            envvar="ML_CONNECTOR_VISMA_WEBHOOK_SECRET",
            prompt="Visma webhook secret (from the Developer Portal)",
            hide_input=True,
        ),
    ],
    replace: Annotated[
        bool,
        Opt(
            "--replace/--keep-previous",
            help="Drop the secrets set before (default: keep them, for a rotation window).",
        ),
    ] = False,
) -> None:
    """Store the signing secret of NAME's Visma webhook subscription (encrypted)."""
    count = run_with_runtime(
        lambda rt: actions.set_visma_secret(cli_actor(), rt, name, secret, replace=replace)
    )
    console.print(f"Stored; {count} Visma webhook secret(s) now active for {name}.")


@webhooks_app.command("register-visma")
def register_visma(
    name: str,
    public_url: Annotated[str, Opt(envvar="ML_CONNECTOR_PUBLIC_URL")],
    event: Annotated[
        list[str], Opt("--event", help="A legacy event name, e.g. supplier_changed (repeatable).")
    ],
) -> None:
    """Subscribe NAME's receiver with Visma's legacy subscription API, where it still exists."""
    created = run_with_runtime(
        lambda rt: actions.register_visma(cli_actor(), rt, name, public_url, event)
    )
    for event_name, subscription_id in created:
        console.print(f"{event_name}: subscription {subscription_id}")
    err_console.print(
        "Set the signing secret with `ml-connector webhooks set-visma-secret` if not done yet."
    )


def _rejection_counts(as_json: bool) -> None:
    """The refusals counted rather than logged one by one (unknown names, floods)."""
    tallies = run_with_runtime(lambda rt: inbox.refusal_tallies(cli_actor(), rt))
    data = [t.as_dict() for t in tallies]
    if as_json:
        print_json(data)
        return
    table = Table("addressed to", "source", "status", "count", "first", "last")
    for row in data:
        table.add_row(*(escape(str(row[key])) for key in row))
    console.print(table)


@webhooks_app.command("rejections")
def rejections(
    name: Annotated[str | None, typer.Argument(help="Only this connection name.")] = None,
    limit: Annotated[int, Opt(min=1)] = 50,
    counts: Annotated[
        bool,
        Opt(
            "--counts",
            help="Show the refusals counted instead of logged one by one: requests to unknown "
            "connection names, and floods past a connection's logging rate.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Webhook requests the receivers refused, newest first (bodies are never shown)."""
    if counts:
        _rejection_counts(as_json)
        return
    rows = run_with_runtime(lambda rt: inbox.refused_deliveries(cli_actor(), rt, name, limit=limit))
    data: list[dict[str, Any]] = [r.as_dict() for r in rows]
    if as_json:
        print_json(data)
        return
    table = Table("id", "received", "connection", "source", "status", "reason", "bytes")
    for row in data:
        table.add_row(
            *(
                str(row[key])
                for key in (
                    "id",
                    "received_at",
                    "connection",
                    "source",
                    "http_status",
                    "reason",
                    "body_size",
                )
            )
        )
    console.print(table)


@events_app.command("list")
def events_list(
    name: str,
    event_type: Annotated[
        str | None, Opt("--type", help="An event type, or a family ending in '*' (bills.*).")
    ] = None,
    status: Annotated[EventStatus | None, Opt(help="Only events in this state.")] = None,
    source: Annotated[EventSource | None, Opt(help="Only events from this vendor.")] = None,
    limit: Annotated[int, Opt(min=1)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """NAME's inbox events, newest first."""

    rows = run_with_runtime(
        lambda rt: inbox.list_events(
            cli_actor(), rt, name, event_type=event_type, status=status, source=source, limit=limit
        )
    )
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    table = Table("id", "received", "source", "type", "object", "status")
    for row in rows:
        table.add_row(
            str(row.id),
            row.received_at,
            row.source,
            row.type,
            row.object_id or "",
            row.status,
        )
    console.print(table)


@events_app.command("show")
def events_show(
    name: str,
    ident: Annotated[str, typer.Argument(metavar="ID", help="Inbox id, or the vendor's event id.")],
) -> None:
    """One inbox event of NAME, with its payload, as JSON."""
    found = run_with_runtime(lambda rt: inbox.find_event(cli_actor(), rt, name, ident))
    print_json(found.as_dict())
