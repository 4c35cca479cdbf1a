"""``ml-connector connection …`` and ``ml-connector keys …``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ml_connector.app import connection_admin as admin
from ml_connector.app.connection_admin import BindingReport, Connection, check_new_name
from ml_connector.app.connection_settings import (
    SHOWN_SETTINGS,
    FeatureChange,
    SupplierChange,
    configure,
)
from ml_connector.cli._common import (
    Opt,
    cli_actor,
    connection_app,
    console,
    keys_app,
    print_json,
    run_with_runtime,
    styled,
)
from ml_connector.cli.mappings import print_undecided
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import (
    DEFAULT_RAMP_BASE_URL,
    DEFAULT_VISMA_BASE_URL,
    DEFAULT_VISMA_TOKEN_URL,
)


def _new_name(name: str) -> str:
    """Checked before any prompt, so nobody types secrets for a name that will be refused."""
    try:
        check_new_name(name)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None
    return name


@connection_app.command("add")
def connection_add(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            callback=_new_name,
            help="A slug: lowercase letters, digits and hyphens (1-63), e.g. acme-nordic.",
        ),
    ],
    ramp_client_id: Annotated[str, Opt(envvar="ML_CONNECTOR_RAMP_CLIENT_ID")],
    ramp_client_secret: Annotated[
        str, Opt(envvar="ML_CONNECTOR_RAMP_CLIENT_SECRET", prompt=True, hide_input=True)
    ],
    visma_client_id: Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_CLIENT_ID")],
    visma_client_secret: Annotated[
        str, Opt(envvar="ML_CONNECTOR_VISMA_CLIENT_SECRET", prompt=True, hide_input=True)
    ],
    visma_tenant_id: Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_TENANT_ID")],
    visma_company_id: Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_COMPANY_ID")],
    ramp_base_url: Annotated[str, Opt(envvar="ML_CONNECTOR_RAMP_BASE_URL")] = DEFAULT_RAMP_BASE_URL,
    visma_base_url: Annotated[
        str, Opt(envvar="ML_CONNECTOR_VISMA_BASE_URL")
    ] = DEFAULT_VISMA_BASE_URL,
    visma_token_url: Annotated[
        str, Opt(envvar="ML_CONNECTOR_VISMA_TOKEN_URL")
    ] = DEFAULT_VISMA_TOKEN_URL,
    default_vat: Annotated[
        str | None, Opt(help="VAT code for lines whose account has no VAT mapping.")
    ] = None,
    default_project: Annotated[str | None, Opt(help='Project for uncoded lines, e.g. "X".')] = None,
    credit_memo_prefix: Annotated[
        str | None,
        Opt(
            "--credit-memo-prefix",
            help="Our rule, off by default: bills whose memo starts with this text (e.g. "
            '"[CREDIT]") are vendor credits. Ramp has no credit flag.',
        ),
    ] = None,
) -> None:
    """Add a connection; its credentials are encrypted at rest.

    Then the connector reads Ramp's accounting fields and recent bills and binds each field to
    its Visma target where the evidence settles it; undecided fields are listed with the command
    that binds them.
    """
    credentials = {
        "ramp_client_id": ramp_client_id,
        "ramp_client_secret": ramp_client_secret,
        "visma_client_id": visma_client_id,
        "visma_client_secret": visma_client_secret,
        "visma_tenant_id": visma_tenant_id,
        "visma_company_id": visma_company_id,
    }
    mapping = {
        k: v
        for k, v in {"default_vat": default_vat, "default_project": default_project}.items()
        if v
    }
    settings: dict[str, Any] = {"mapping": mapping}
    if credit_memo_prefix:
        settings["credit_memo_prefix"] = credit_memo_prefix

    actor = cli_actor()

    async def add(rt: Runtime) -> tuple[Connection, BindingReport | str]:
        connection = await admin.add_connection(
            actor,
            rt,
            name,
            credentials=credentials,
            ramp_base_url=ramp_base_url,
            visma_base_url=visma_base_url,
            visma_token_url=visma_token_url,
            settings=settings,
        )
        return connection, await admin.discover_bindings(actor, rt, name)

    connection, found = run_with_runtime(add)
    console.print(
        styled("Added connection [bold]{}[/bold] (id {}).", connection.name, connection.id)
    )
    if isinstance(found, str):
        console.print(
            f"Ramp's accounting fields could not be read yet ({found}). Once "
            f"`ml-connector ping {name}` passes, run `ml-connector mappings pull "
            f"{name}` to bind them.",
            highlight=False,
        )
        return
    console.print(f"Field bindings: {found.summary()}.", highlight=False)
    print_undecided(name, found.undecided)


@connection_app.command("list")
def connection_list(as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """List connections (secrets are never shown)."""
    rows = run_with_runtime(lambda rt: admin.describe_connections(cli_actor(), rt))
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "status", "ramp", "visma", "health")
    for row in rows:
        cells = (
            row["name"],
            row["status"],
            row["ramp_base_url"],
            row["visma_base_url"],
            row["health_message"] or "ok",
        )
        table.add_row(str(row["id"]), *(str(cell) for cell in cells))
    console.print(table)


@connection_app.command("show")
def connection_show(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Show one connection; secrets are masked."""
    row = run_with_runtime(lambda rt: admin.describe_connection(cli_actor(), rt, name))
    if as_json:
        print_json(row)
        return
    table = Table("field", "value")
    for key, value in row.items():
        text = json.dumps(value, default=str) if isinstance(value, dict) else str(value)
        table.add_row(key, text)
    console.print(table)


@connection_app.command("resume")
def connection_resume(name: str) -> None:
    """Resume a paused connection (after fixing its credentials)."""
    due = run_with_runtime(lambda rt: admin.resume_connection(cli_actor(), rt, name))
    console.print(
        styled("Connection [bold]{}[/bold] resumed; {} deferred record(s) are due now.", name, due)
    )


@connection_app.command("set")
def connection_set(
    name: str,
    mode: Annotated[
        str | None, Opt("--mode", help="webhooks, polling or both (how bills reach the queue).")
    ] = None,
    poll_interval: Annotated[
        float | None, Opt("--poll-interval", help="Seconds between polls (replaces a cron).")
    ] = None,
    poll_cron: Annotated[
        str | None,
        Opt(
            "--poll-cron",
            help='Cron expression in UTC, e.g. "*/15 * * * *" (replaces an interval).',
        ),
    ] = None,
    purchase_orders: Annotated[
        bool | None,
        Opt(
            "--purchase-orders/--no-purchase-orders",
            help="Sync Ramp purchase orders into Visma (F3); off by default.",
        ),
    ] = None,
    po_tolerance: Annotated[
        str | None,
        Opt(
            "--po-tolerance",
            help="How far a PO-matched bill may exceed the order's open amount, in percent.",
        ),
    ] = None,
    payments: Annotated[
        bool | None,
        Opt("--payments/--no-payments", help="Sync Ramp bill payments to Visma; off by default."),
    ] = None,
    cash_account: Annotated[
        str | None, Opt("--cash-account", help="The Visma cash account payments are made from.")
    ] = None,
    payment_method: Annotated[
        str | None,
        Opt("--payment-method", help="A Visma payment method id (the supplier's when unset)."),
    ] = None,
    credit_memo_prefix: Annotated[
        str | None,
        Opt(
            "--credit-memo-prefix",
            help="Bills whose memo starts with this text are vendor credits (Visma DebitAdj); "
            'our rule, not Ramp\'s. "" turns the rule off.',
        ),
    ] = None,
    po_inventory_item: Annotated[
        str | None,
        Opt(
            "--po-inventory-item",
            help="A Visma non-stock item for purchase-order lines, for companies that refuse "
            'lines without one. "" removes it.',
        ),
    ] = None,
    claim_weight: Annotated[
        int | None,
        Opt(
            "--claim-weight",
            min=1,
            max=100,
            help="Records this connection may claim per worker round, in units of the "
            "worker's concurrency (1 by default; see docs/deployment.md, Fairness).",
        ),
    ] = None,
    supplier_class: Annotated[
        str | None,
        Opt("--supplier-class", help='Visma supplier class of created suppliers ("" clears).'),
    ] = None,
    credit_terms: Annotated[
        str | None,
        Opt("--credit-terms", help="Credit terms of created suppliers (else the class's)."),
    ] = None,
    vat_zone: Annotated[
        str | None, Opt("--vat-zone", help="VAT zone of created suppliers (else the class's).")
    ] = None,
    org_labels: Annotated[
        list[str] | None,
        Opt("--org-label", help="A vendor-form label holding organisation numbers (repeatable)."),
    ] = None,
    vat_labels: Annotated[
        list[str] | None,
        Opt("--vat-label", help="A vendor-form label holding VAT numbers (repeatable)."),
    ] = None,
    clear_form_labels: Annotated[
        bool, Opt("--clear-form-labels", help="Forget the connection's own form labels.")
    ] = False,
    supplier_numbering: Annotated[
        str | None,
        Opt(
            "--supplier-numbering",
            help="detect, auto or manual: who numbers new suppliers (detect reads Visma).",
        ),
    ] = None,
    supplier_number_prefix: Annotated[
        str | None,
        Opt("--supplier-number-prefix", help="Manual numbering: the prefix, e.g. R (R00001)."),
    ] = None,
    supplier_number_width: Annotated[
        int | None,
        Opt("--supplier-number-width", min=1, max=15, help="Manual numbering: counter digits."),
    ] = None,
) -> None:
    """Set a connection's mode, poll schedule, optional flows and supplier settings.

    The reconciliation pass runs in every mode: in webhooks mode as an hourly safety net, in
    polling and both modes on this schedule. Purchase orders and payments are read on every unit
    of work, so a change applies to running workers without a restart. A supplier class,
    credit terms or VAT zone is checked against the connection's Visma company before it is
    stored.
    """
    change = FeatureChange(
        purchase_orders=purchase_orders,
        po_tolerance_percent=po_tolerance,
        payments=payments,
        cash_account=cash_account,
        payment_method=payment_method,
        po_inventory_item=po_inventory_item,
        credit_memo_prefix=credit_memo_prefix,
    )
    suppliers = SupplierChange(
        supplier_class=supplier_class,
        credit_terms=credit_terms,
        vat_zone=vat_zone,
        add_org_labels=tuple(org_labels or ()),
        add_vat_labels=tuple(vat_labels or ()),
        clear_labels=clear_form_labels,
        numbering=supplier_numbering,
        number_prefix=supplier_number_prefix,
        number_width=supplier_number_width,
    )

    merged = run_with_runtime(
        lambda rt: configure(
            cli_actor(),
            rt,
            name,
            mode=mode,
            interval_s=poll_interval,
            cron=poll_cron,
            change=change,
            claim_weight=claim_weight,
            suppliers=suppliers,
        )
    )
    shown = {k: merged[k] for k in SHOWN_SETTINGS if k in merged}
    console.print(styled("Connection [bold]{}[/bold]: {}", name, json.dumps(shown)))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new master key and re-encrypt every connection's credentials with it."""
    count = run_with_runtime(lambda rt: admin.rotate_keys(cli_actor(), rt))
    console.print(f"Re-encrypted {count} connection(s) under a new master key.")
