"""``ml-connector connection …`` and ``ml-connector keys …``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from rich.table import Table

from ml_connector.app import connection_admin as admin
from ml_connector.app.connection_admin import BindingReport, Connection
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
from ml_connector.cli.connection_options import (
    AddCreditMemoPrefixOption,
    CashAccountOption,
    ClaimWeightOption,
    ClearFormLabelsOption,
    CreditTermsOption,
    DefaultProjectOption,
    DefaultVatOption,
    ModeOption,
    NewNameArgument,
    OrgLabelOption,
    PaymentMethodOption,
    PaymentsOption,
    PoInventoryItemOption,
    PollCronOption,
    PollIntervalOption,
    PoToleranceOption,
    PurchaseOrdersOption,
    RampBaseUrlOption,
    RampClientIdOption,
    RampClientSecretOption,
    SetCreditMemoPrefixOption,
    SupplierClassOption,
    SupplierNumberingOption,
    SupplierNumberPrefixOption,
    SupplierNumberWidthOption,
    VatLabelOption,
    VatZoneOption,
    VismaBaseUrlOption,
    VismaClientIdOption,
    VismaClientSecretOption,
    VismaCompanyIdOption,
    VismaTenantIdOption,
    VismaTokenUrlOption,
)
from ml_connector.cli.mappings import print_undecided
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import (
    DEFAULT_RAMP_BASE_URL,
    DEFAULT_VISMA_BASE_URL,
    DEFAULT_VISMA_TOKEN_URL,
)


def _initial_settings(
    default_vat: str | None, default_project: str | None, credit_memo_prefix: str | None
) -> dict[str, Any]:
    """A new connection's settings: the mapping defaults given, and the credit rule if set."""
    mapping = {
        k: v
        for k, v in {"default_vat": default_vat, "default_project": default_project}.items()
        if v
    }
    settings: dict[str, Any] = {"mapping": mapping}
    if credit_memo_prefix:
        settings["credit_memo_prefix"] = credit_memo_prefix
    return settings


def _print_added(name: str, connection: Connection, found: BindingReport | str) -> None:
    """What ``connection add`` did: the new connection, then the field bindings it found."""
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


@connection_app.command("add")
def connection_add(
    name: NewNameArgument,
    ramp_client_id: RampClientIdOption,
    ramp_client_secret: RampClientSecretOption,
    visma_client_id: VismaClientIdOption,
    visma_client_secret: VismaClientSecretOption,
    visma_tenant_id: VismaTenantIdOption,
    visma_company_id: VismaCompanyIdOption,
    ramp_base_url: RampBaseUrlOption = DEFAULT_RAMP_BASE_URL,
    visma_base_url: VismaBaseUrlOption = DEFAULT_VISMA_BASE_URL,
    visma_token_url: VismaTokenUrlOption = DEFAULT_VISMA_TOKEN_URL,
    default_vat: DefaultVatOption = None,
    default_project: DefaultProjectOption = None,
    credit_memo_prefix: AddCreditMemoPrefixOption = None,
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
    settings = _initial_settings(default_vat, default_project, credit_memo_prefix)
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
    _print_added(name, connection, found)


@connection_app.command("list")
def connection_list(as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """List connections (secrets are never shown)."""
    rows = run_with_runtime(lambda rt: admin.describe_connections(cli_actor(), rt))
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    table = Table("id", "name", "status", "ramp", "visma", "health")
    for row in rows:
        cells = (
            row.name,
            row.status,
            row.ramp_base_url,
            row.visma_base_url,
            row.health_message or "ok",
        )
        table.add_row(str(row.id), *(str(cell) for cell in cells))
    console.print(table)


@connection_app.command("show")
def connection_show(name: str, as_json: Annotated[bool, Opt("--json")] = False) -> None:
    """Show one connection; secrets are masked."""
    row = run_with_runtime(lambda rt: admin.describe_connection(cli_actor(), rt, name)).as_dict()
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


def _configure_and_show(
    name: str,
    mode: str | None,
    interval_s: float | None,
    cron: str | None,
    claim_weight: int | None,
    change: FeatureChange,
    suppliers: SupplierChange,
) -> None:
    """Store a ``connection set`` through the application layer; print the settings shown."""
    merged = run_with_runtime(
        lambda rt: configure(
            cli_actor(),
            rt,
            name,
            mode=mode,
            interval_s=interval_s,
            cron=cron,
            change=change,
            claim_weight=claim_weight,
            suppliers=suppliers,
        )
    )
    shown = {k: merged[k] for k in SHOWN_SETTINGS if k in merged}
    console.print(styled("Connection [bold]{}[/bold]: {}", name, json.dumps(shown)))


@connection_app.command("set")
def connection_set(
    name: str,
    mode: ModeOption = None,
    poll_interval: PollIntervalOption = None,
    poll_cron: PollCronOption = None,
    purchase_orders: PurchaseOrdersOption = None,
    po_tolerance: PoToleranceOption = None,
    payments: PaymentsOption = None,
    cash_account: CashAccountOption = None,
    payment_method: PaymentMethodOption = None,
    credit_memo_prefix: SetCreditMemoPrefixOption = None,
    po_inventory_item: PoInventoryItemOption = None,
    claim_weight: ClaimWeightOption = None,
    supplier_class: SupplierClassOption = None,
    credit_terms: CreditTermsOption = None,
    vat_zone: VatZoneOption = None,
    org_labels: OrgLabelOption = None,
    vat_labels: VatLabelOption = None,
    clear_form_labels: ClearFormLabelsOption = False,
    supplier_numbering: SupplierNumberingOption = None,
    supplier_number_prefix: SupplierNumberPrefixOption = None,
    supplier_number_width: SupplierNumberWidthOption = None,
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
    _configure_and_show(name, mode, poll_interval, poll_cron, claim_weight, change, suppliers)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new master key and re-encrypt every connection's credentials with it."""
    count = run_with_runtime(lambda rt: admin.rotate_keys(cli_actor(), rt))
    console.print(f"Re-encrypted {count} connection(s) under a new master key.")
