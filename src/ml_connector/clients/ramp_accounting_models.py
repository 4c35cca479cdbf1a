"""Ramp's accounting objects: the GL accounts, custom fields and options, accounting vendors
and connection the connector keeps in step with the ERP, webhook subscriptions, and the upload
and sync values sent to them."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from ml_connector.clients._ramp_model import RampModel, UtcDateTime

__all__ = [
    "AccountingConnection",
    "AccountingField",
    "AccountingVendor",
    "AccountingVendorUpload",
    "CategoryRef",
    "FieldOption",
    "FieldOptionUpload",
    "GLAccount",
    "GLAccountUpload",
    "SyncFailure",
    "SyncSuccess",
    "WebhookSubscription",
]


class CategoryRef(RampModel):
    id: str | None = None
    name: str | None = None
    ramp_id: str | None = None


class GLAccount(RampModel):
    """A GL account in Ramp's chart; ``id`` is the ERP's id, ``ramp_id`` the path parameter."""

    ramp_id: str
    id: str | None = None
    name: str
    code: str | None = None
    classification: str | None = None
    is_active: bool = True
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None
    gl_account_category_info: CategoryRef | None = None


class AccountingField(RampModel):
    """A custom accounting field (a dimension); ``id`` is the ERP's id."""

    ramp_id: str
    id: str | None = None
    name: str | None = None
    display_name: str | None = None
    input_type: str = "SINGLE_CHOICE"
    is_active: bool = True
    is_required_for: tuple[str, ...] = ()
    is_splittable: bool | None = None


class FieldOption(RampModel):
    ramp_id: str
    id: str | None = None
    value: str | None = None
    display_name: str | None = None
    code: str | None = None
    visibility: str | None = None
    is_active: bool = True


class AccountingVendor(RampModel):
    ramp_id: str
    id: str | None = None
    name: str
    code: str | None = None
    is_active: bool = True
    is_synced: bool = False


class AccountingConnection(RampModel):
    id: str
    remote_provider_name: str | None = None
    status: str = ""
    is_active: bool = False
    created_at: UtcDateTime | None = None
    last_linked_at: UtcDateTime | None = None


class WebhookSubscription(RampModel):
    """A webhook subscription. Its signing secret is returned once, by ``create_webhook``."""

    id: str
    endpoint_url: str
    event_types: tuple[str, ...] = ()
    status: str = ""
    additional_headers: dict[str, str] = Field(default_factory=dict)
    business_id: str | None = None
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None


@dataclass(frozen=True)
class GLAccountUpload:
    """One GL account to push to Ramp (``id`` is the ERP account number)."""

    id: str
    name: str
    classification: str = "EXPENSE"
    code: str | None = None


@dataclass(frozen=True)
class FieldOptionUpload:
    id: str
    value: str
    code: str | None = None


@dataclass(frozen=True)
class AccountingVendorUpload:
    id: str
    name: str


@dataclass(frozen=True)
class SyncSuccess:
    """A Ramp object written to the ERP: ``reference_id`` is the ERP's id for it."""

    id: str
    reference_id: str
    deep_link_url: str | None = None


@dataclass(frozen=True)
class SyncFailure:
    """A Ramp object the ERP refused; ``message`` shows in Ramp's Export Errors."""

    id: str
    message: str
