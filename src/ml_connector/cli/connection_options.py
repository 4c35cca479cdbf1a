"""The arguments and options of ``ml-connector connection add`` and ``connection set``.

One ``Annotated`` alias per parameter, holding its flags, help text, environment variable and
bounds, so each command's signature reads one line per option. Defaults stay in the signatures.
An option without explicit flags takes its name from the parameter it annotates.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ml_connector.app.connection_admin import check_new_name
from ml_connector.cli._common import Opt
from ml_connector.errors import ConfigurationError

__all__ = [
    "AddCreditMemoPrefixOption",
    "CashAccountOption",
    "ClaimWeightOption",
    "ClearFormLabelsOption",
    "CreditTermsOption",
    "DefaultProjectOption",
    "DefaultVatOption",
    "ModeOption",
    "NewNameArgument",
    "OrgLabelOption",
    "PaymentMethodOption",
    "PaymentsOption",
    "PoInventoryItemOption",
    "PoToleranceOption",
    "PollCronOption",
    "PollIntervalOption",
    "PurchaseOrdersOption",
    "RampBaseUrlOption",
    "RampClientIdOption",
    "RampClientSecretOption",
    "SetCreditMemoPrefixOption",
    "SupplierClassOption",
    "SupplierNumberPrefixOption",
    "SupplierNumberWidthOption",
    "SupplierNumberingOption",
    "VatLabelOption",
    "VatZoneOption",
    "VismaBaseUrlOption",
    "VismaClientIdOption",
    "VismaClientSecretOption",
    "VismaCompanyIdOption",
    "VismaTenantIdOption",
    "VismaTokenUrlOption",
]


def _new_name(name: str) -> str:
    """Checked before any prompt, so nobody types secrets for a name that will be refused."""
    try:
        check_new_name(name)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None
    return name


# ``connection add``

NewNameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        callback=_new_name,
        help="A slug: lowercase letters, digits and hyphens (1-63), e.g. acme-nordic.",
    ),
]
RampClientIdOption = Annotated[str, Opt(envvar="ML_CONNECTOR_RAMP_CLIENT_ID")]
RampClientSecretOption = Annotated[
    str, Opt(envvar="ML_CONNECTOR_RAMP_CLIENT_SECRET", prompt=True, hide_input=True)
]
VismaClientIdOption = Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_CLIENT_ID")]
VismaClientSecretOption = Annotated[
    str, Opt(envvar="ML_CONNECTOR_VISMA_CLIENT_SECRET", prompt=True, hide_input=True)
]
VismaTenantIdOption = Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_TENANT_ID")]
VismaCompanyIdOption = Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_COMPANY_ID")]
RampBaseUrlOption = Annotated[str, Opt(envvar="ML_CONNECTOR_RAMP_BASE_URL")]
VismaBaseUrlOption = Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_BASE_URL")]
VismaTokenUrlOption = Annotated[str, Opt(envvar="ML_CONNECTOR_VISMA_TOKEN_URL")]
DefaultVatOption = Annotated[
    str | None, Opt(help="VAT code for lines whose account has no VAT mapping.")
]
DefaultProjectOption = Annotated[str | None, Opt(help='Project for uncoded lines, e.g. "X".')]
AddCreditMemoPrefixOption = Annotated[
    str | None,
    Opt(
        "--credit-memo-prefix",
        help="Our rule, off by default: bills whose memo starts with this text (e.g. "
        '"[CREDIT]") are vendor credits. Ramp has no credit flag.',
    ),
]

# ``connection set``: schedule and optional flows

ModeOption = Annotated[
    str | None, Opt("--mode", help="webhooks, polling or both (how bills reach the queue).")
]
PollIntervalOption = Annotated[
    float | None, Opt("--poll-interval", help="Seconds between polls (replaces a cron).")
]
PollCronOption = Annotated[
    str | None,
    Opt("--poll-cron", help='Cron expression in UTC, e.g. "*/15 * * * *" (replaces an interval).'),
]
PurchaseOrdersOption = Annotated[
    bool | None,
    Opt(
        "--purchase-orders/--no-purchase-orders",
        help="Sync Ramp purchase orders into Visma (F3); off by default.",
    ),
]
PoToleranceOption = Annotated[
    str | None,
    Opt(
        "--po-tolerance",
        help="How far a PO-matched bill may exceed the order's open amount, in percent.",
    ),
]
PaymentsOption = Annotated[
    bool | None,
    Opt("--payments/--no-payments", help="Sync Ramp bill payments to Visma; off by default."),
]
CashAccountOption = Annotated[
    str | None, Opt("--cash-account", help="The Visma cash account payments are made from.")
]
PaymentMethodOption = Annotated[
    str | None,
    Opt("--payment-method", help="A Visma payment method id (the supplier's when unset)."),
]
SetCreditMemoPrefixOption = Annotated[
    str | None,
    Opt(
        "--credit-memo-prefix",
        help="Bills whose memo starts with this text are vendor credits (Visma DebitAdj); "
        'our rule, not Ramp\'s. "" turns the rule off.',
    ),
]
PoInventoryItemOption = Annotated[
    str | None,
    Opt(
        "--po-inventory-item",
        help="A Visma non-stock item for purchase-order lines, for companies that refuse "
        'lines without one. "" removes it.',
    ),
]
ClaimWeightOption = Annotated[
    int | None,
    Opt(
        "--claim-weight",
        min=1,
        max=100,
        help="Records this connection may claim per worker round, in units of the "
        "worker's concurrency (1 by default; see docs/deployment.md, Fairness).",
    ),
]

# ``connection set``: created suppliers

SupplierClassOption = Annotated[
    str | None,
    Opt("--supplier-class", help='Visma supplier class of created suppliers ("" clears).'),
]
CreditTermsOption = Annotated[
    str | None,
    Opt("--credit-terms", help="Credit terms of created suppliers (else the class's)."),
]
VatZoneOption = Annotated[
    str | None, Opt("--vat-zone", help="VAT zone of created suppliers (else the class's).")
]
OrgLabelOption = Annotated[
    list[str] | None,
    Opt("--org-label", help="A vendor-form label holding organisation numbers (repeatable)."),
]
VatLabelOption = Annotated[
    list[str] | None,
    Opt("--vat-label", help="A vendor-form label holding VAT numbers (repeatable)."),
]
ClearFormLabelsOption = Annotated[
    bool, Opt("--clear-form-labels", help="Forget the connection's own form labels.")
]
SupplierNumberingOption = Annotated[
    str | None,
    Opt(
        "--supplier-numbering",
        help="detect, auto or manual: who numbers new suppliers (detect reads Visma).",
    ),
]
SupplierNumberPrefixOption = Annotated[
    str | None,
    Opt("--supplier-number-prefix", help="Manual numbering: the prefix, e.g. R (R00001)."),
]
SupplierNumberWidthOption = Annotated[
    int | None,
    Opt("--supplier-number-width", min=1, max=15, help="Manual numbering: counter digits."),
]
