"""The accounting API's objects rendered as Ramp's spec shapes.

``GeneralLedgerAccount``, ``VendorAccount``, ``ApiAccountingCustomFieldResource``,
``CustomFieldOption`` and ``AccountingProvider``; the conventions are those of ``render.py``
(optional plain strings such as ``code`` are omitted when unset).
"""

from __future__ import annotations

from typing import Any

from ml_connector.sandbox.ramp.chart import (
    VENDOR_CATEGORY_ID,
    VENDOR_CATEGORY_NAME,
)
from ml_connector.sandbox.ramp.model import (
    AccountingConnection,
    AccountingVendor,
    CustomField,
    FieldOption,
    GLAccount,
)
from ml_connector.sandbox.ramp.render import iso
from ml_connector.sandbox.ramp.state import RampState

__all__ = ["accounting_vendor", "connection", "custom_field", "field_option", "gl_account"]


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


def gl_account(state: RampState, account: GLAccount) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ramp_id": account.ramp_id,
        "id": account.remote_id,
        "name": account.name,
        "classification": account.classification,
        "is_active": account.is_active,
        "created_at": iso(account.created_at),
        "updated_at": iso(account.updated_at),
        "gl_account_category_info": {
            "id": state.gl_category_id,
            "name": state.gl_category_name,
            "ramp_id": state.gl_category_ramp_id,
        },
    }
    _put(out, "code", account.code)
    return out


def accounting_vendor(state: RampState, item: AccountingVendor) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ramp_id": item.ramp_id,
        "id": item.remote_id,
        "name": item.name,
        "is_active": item.is_active,
        "is_synced": True,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "vendor_category_info": {
            "id": VENDOR_CATEGORY_ID,
            "name": VENDOR_CATEGORY_NAME,
            "ramp_id": state.vendor_category_ramp_id,
        },
    }
    _put(out, "code", item.code)
    return out


def custom_field(item: CustomField) -> dict[str, Any]:
    return {
        "ramp_id": item.ramp_id,
        "id": item.remote_id,
        "name": item.name,
        "display_name": item.display_name,
        "input_type": item.input_type,
        "is_required_for": list(item.is_required_for),
        "is_splittable": item.is_splittable,
        "is_active": item.is_active,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def field_option(item: FieldOption) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ramp_id": item.ramp_id,
        "id": item.remote_id,
        "value": item.value,
        "display_name": item.display_name or item.value,
        "visibility": item.visibility,
        "is_active": item.is_active,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }
    _put(out, "code", item.code)
    return out


def connection(item: AccountingConnection) -> dict[str, Any]:
    return {
        "id": item.id,
        "remote_provider_name": item.remote_provider_name,
        "status": "linked" if item.is_active else "unlinked",
        "is_active": item.is_active,
        "created_at": iso(item.created_at),
        "last_linked_at": iso(item.last_linked_at) if item.last_linked_at is not None else None,
    }
