"""State records rendered as the JSON objects of Ramp's spec (``Bill``, ``Vendor``, ...).

Rules that apply throughout:
- Money is a ``CurrencyAmount``: ``{"amount": <minor units>, "currency_code": "NOK"}``.
- Date-times carry a ``+00:00`` offset; calendar dates render as midnight UTC, as Ramp does.
- A field the spec marks required is always present (null only when the spec allows null).
  An optional field the spec does not mark nullable is omitted when it has no value: the spec
  types it as a plain string, even though Ramp's own examples sometimes show null there.
- Payment details carry ``schema_type``, the discriminator the spec's ``oneOf`` names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ml_connector.sandbox.ramp.chart import field_type
from ml_connector.sandbox.ramp.model import (
    Bill,
    Entity,
    PaymentStatus,
    PurchaseOrder,
    Selection,
    Vendor,
    VendorContact,
)
from ml_connector.sandbox.ramp.state import RampState

__all__ = [
    "amount",
    "bill",
    "contact",
    "entity",
    "iso",
    "iso_date",
    "purchase_order",
    "vendor",
]

_DAY = 86_400.0
# Sandbox FX rates, invoice currency -> NOK, for ``fx_conversion_rate`` only.
_NOK_PER_UNIT = {"NOK": "1.0", "SEK": "0.98", "DKK": "1.55", "EUR": "11.6", "USD": "10.7"}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def iso_date(day: date) -> str:
    return f"{day.isoformat()}T00:00:00+00:00"


def amount(minor: int, currency: str) -> dict[str, Any]:
    return {"amount": minor, "currency_code": currency}


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


def selection(state: RampState, chosen: Selection) -> dict[str, Any]:
    """An ``ApiAccountingFieldSelection``."""
    if chosen.kind == "gl":
        account = state.gl_accounts[chosen.ramp_id]
        out: dict[str, Any] = {
            "id": account.ramp_id,
            "name": account.name,
            "external_id": account.remote_id,
            "category_info": {
                "id": state.gl_category_ramp_id,
                "name": state.gl_category_name,
                "external_id": state.gl_category_id,
                "type": "GL_ACCOUNT",
            },
        }
        _put(out, "external_code", account.code)
        return out
    option = state.options[chosen.ramp_id]
    custom = state.fields[option.field_ramp_id]
    out = {
        "id": option.ramp_id,
        "name": option.value,
        "external_id": option.remote_id,
        "category_info": {
            "id": custom.ramp_id,
            "name": custom.name,
            "external_id": custom.remote_id,
            "type": field_type(custom),
        },
    }
    _put(out, "external_code", option.code)
    return out


def _selections(state: RampState, chosen: list[Selection]) -> list[dict[str, Any]]:
    return [selection(state, s) for s in chosen]


def _fx_rate(bill_currency: str, entity_currency: str) -> str:
    if bill_currency == entity_currency:
        return "1.0"
    if entity_currency == "NOK":
        return _NOK_PER_UNIT.get(bill_currency, "1.0")
    return "1.0"


def _payment(item: Bill) -> dict[str, Any] | None:
    if item.status is not PaymentStatus.PAID:
        return None
    paid_on = iso_date(item.payment_date) if item.payment_date else None
    if item.manual_payment_method:
        details: dict[str, Any] = {
            "schema_type": "ManualPaymentDetailsSchema",
            "manual_payment_method": item.manual_payment_method,
        }
    else:
        details = {
            "schema_type": "VendorPaymentDetailsSchema",
            "approval_status": "APPROVED",
            "source_bank_account_id": None,
            "vendor_account_id": None,
        }
    return {
        "amount": amount(item.amount_minor, item.currency),
        "payment_method": item.payment_method,
        "payment_date": paid_on,
        "effective_date": paid_on,
        "trace_id": None,
        "details": details,
    }


def bill(state: RampState, item: Bill, invoice_urls: list[str]) -> dict[str, Any]:
    """A ``Bill``; ``invoice_urls`` are its files' pre-signed links (``filehost.FileHost``)."""
    supplier = state.vendors[item.vendor_id]
    vendor_out: dict[str, Any] = {"id": supplier.id, "name": supplier.name, "type": "BUSINESS"}
    if supplier.accounting_vendor_remote_id:
        vendor_out["remote_id"] = supplier.accounting_vendor_remote_id
        linked = state.accounting_vendor_by_remote(supplier.accounting_vendor_remote_id)
        if linked is not None:
            vendor_out["remote_name"] = linked.name
            _put(vendor_out, "remote_code", linked.code)
    entity_currency = state.entities[item.entity_id].currency
    out: dict[str, Any] = {
        "id": item.id,
        "amount": amount(item.amount_minor, item.currency),
        "status": item.status.value,
        "approval_status": item.approval_status.value,
        "sync_status": item.sync_status.value,
        "invoice_number": item.invoice_number,
        "invoice_urls": invoice_urls,
        "issued_at": iso_date(item.issued_at),
        "due_at": iso_date(item.due_at),
        "created_at": iso(item.created_at),
        "accounting_date": iso_date(item.posting_date or item.issued_at),
        "archived_at": iso(item.archived_at) if item.archived_at is not None else None,
        "entity_id": item.entity_id,
        "fx_conversion_rate": _fx_rate(item.currency, entity_currency),
        "bill_owner": {
            "id": state.owner.id,
            "first_name": state.owner.first_name,
            "last_name": state.owner.last_name,
        },
        "vendor": vendor_out,
        "vendor_contact_id": item.vendor_contact_id,
        "accounting_field_selections": _selections(state, item.selections),
        "line_items": [
            _line(state, line.amount_minor, item.currency, line.memo, line.selections)
            for line in item.lines
        ],
        "inventory_line_items": [
            {
                **_line(state, line.amount_minor, item.currency, line.memo, line.selections),
                "unit_price": amount(line.unit_price_minor, item.currency),
                "unit_quantity": line.unit_quantity,
            }
            for line in item.inventory_lines
        ],
        "payment": _payment(item),
    }
    _put(out, "memo", item.memo)
    _put(out, "vendor_memo", item.vendor_memo)
    _put(out, "remote_id", item.remote_id)
    _put(out, "deep_link_url", item.deep_link_url)
    _put(out, "posting_date", iso_date(item.posting_date) if item.posting_date else None)
    _put(out, "paid_at", iso(item.paid_at) if item.paid_at is not None else None)
    return out


def _line(
    state: RampState, minor: int, currency: str, memo: str | None, chosen: list[Selection]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "amount": amount(minor, currency),
        "accounting_field_selections": _selections(state, chosen),
    }
    _put(out, "memo", memo)
    return out


def _spend(state: RampState, supplier: Vendor, now: float) -> dict[str, dict[str, Any]]:
    """Paid spend with the vendor, counted in the business currency only."""
    paid = [
        b
        for b in state.bills.values()
        if b.vendor_id == supplier.id
        and b.paid_at is not None
        and b.currency == state.base_currency
    ]
    year_start = datetime(datetime.fromtimestamp(now, UTC).year, 1, 1, tzinfo=UTC).timestamp()

    def total(since: float) -> dict[str, Any]:
        minor = sum(b.amount_minor for b in paid if b.paid_at is not None and b.paid_at >= since)
        return amount(minor, state.base_currency)

    return {
        "total_spend_all_time": total(float("-inf")),
        "total_spend_last_30_days": total(now - 30 * _DAY),
        "total_spend_last_365_days": total(now - 365 * _DAY),
        "total_spend_ytd": total(year_start),
    }


def vendor(state: RampState, supplier: Vendor, now: float, *, detail: bool) -> dict[str, Any]:
    """A ``Vendor``, or with ``detail`` an ``ApiVendorDetailResource``."""
    out: dict[str, Any] = {
        "id": supplier.id,
        "name": supplier.name,
        "country": supplier.country,
        "vendor_type": "BUSINESS",
        "accounting_vendor_remote_id": supplier.accounting_vendor_remote_id,
        "contacts": list(supplier.contact_ids),
        "vendor_owner_id": supplier.owner_id,
        "is_active": supplier.is_active,
        "is_deletable": not any(b.vendor_id == supplier.id for b in state.bills.values()),
        "created_at": iso(supplier.created_at),
        **_spend(state, supplier, now),
    }
    if supplier.address_line_1 and supplier.city and supplier.postal_code:
        out["address"] = {
            "address_line_1": supplier.address_line_1,
            "city": supplier.city,
            "postal_code": supplier.postal_code,
            "country": supplier.country,
        }
        _put(out["address"], "state", supplier.state)
    _put(out, "state", supplier.state)
    _put(out, "description", supplier.description)
    _put(out, "name_legal", supplier.name_legal)
    if detail:
        out["custom_form_collection_response"] = _onboarding_answers(state, supplier)
    return out


def _onboarding_answers(state: RampState, supplier: Vendor) -> dict[str, Any] | None:
    """The vendor onboarding form: TEXT answers under the business's own labels."""
    org_label, vat_label = state.form_labels
    answers: list[tuple[str, str | None]] = [
        (org_label, supplier.org_number),
        (vat_label, supplier.vat_number),
        *supplier.form_answers,
    ]
    fields: list[dict[str, Any]] = [
        {
            "field_id": f"sandbox-form-{index}",
            "label": label,
            "description": None,
            "required": False,
            "conditions": None,
            "validation_errors": [],
            "value_display_string": value,
            "field": {"field_type": "TEXT", "mapped_fields": [], "value": {"value": value}},
        }
        for index, (label, value) in enumerate(answers, start=1)
        if value
    ]
    if not fields:
        return None
    return {
        "custom_form_collection_log_entry": {
            "label": "Vendor onboarding",
            "forms": [{"label": "Company details", "fields": fields}],
        }
    }


def contact(item: VendorContact) -> dict[str, Any]:
    return {
        "id": item.id,
        "email": item.email,
        "first_name": item.first_name,
        "last_name": item.last_name,
        "phone": item.phone,
        "is_default": item.is_default,
    }


def entity(state: RampState, item: Entity) -> dict[str, Any]:
    """An ``ApiEntityResource``: its locations, and the accounts of its accounting settings."""
    accounts = []
    for account in item.accounts:
        row: dict[str, Any] = {
            "internal_id": account.internal_id,
            "usage_type": account.usage_type,
            "bank_account_id": None,
            "created_at": iso(account.created_at),
        }
        _put(row, "external_id", account.external_id)
        _put(row, "external_name", account.external_name)
        _put(row, "classification", account.classification)
        accounts.append(row)
    return {
        "id": item.id,
        "entity_name": item.name,
        "is_primary": item.is_primary,
        "currency": item.currency,
        "location_ids": [p.id for p in state.locations.values() if p.entity_id == item.id],
        "accounts": accounts,
    }


def purchase_order(state: RampState, order: PurchaseOrder, *, detail: bool) -> dict[str, Any]:
    """An ``ApiPurchaseOrderResource`` (``detail``: ``ApiPurchaseOrderDetailResource``)."""
    bill_ids = [b.id for b in state.bills.values() if b.purchase_order_id == order.id]
    billed = sum(state.bills[b].amount_minor for b in bill_ids)
    if order.archived_at is not None:
        billing_status = "CLOSED"
    elif not billed:
        billing_status = "OPEN"
    else:
        billing_status = "FULLY_BILLED" if billed >= order.amount_minor else "PARTIALLY_BILLED"
    out: dict[str, Any] = {
        "id": order.id,
        "purchase_order_number": order.number,
        "name": None,
        "memo": order.memo,
        "amount": amount(order.amount_minor, order.currency),
        "spend_total_amount": amount(billed, order.currency),
        "billing_status": billing_status,
        "receipt_status": "NOT_RECEIVED",
        "creation_source": order.creation_source,
        "entity_id": order.entity_id,
        "vendor_id": order.vendor_id,
        "user_id": state.owner.id,
        "spend_request_id": None,
        "remote_id": None,
        "net_payment_terms": order.net_payment_terms,
        "promise_date": iso_date(order.promise_date) if order.promise_date else None,
        "spend_start_date": None,
        "spend_end_date": None,
        "three_way_match_enabled": order.three_way_match_enabled,
        "bill_ids": bill_ids,
        "transaction_ids": [],
        "archived_at": iso(order.archived_at) if order.archived_at is not None else None,
        "created_at": iso(order.created_at),
        "accounting_field_selections": _selections(state, order.selections),
        "line_items": [
            {
                "id": line.id,
                "amount": amount(line.amount_minor, order.currency),
                "unit_price": amount(line.unit_price_minor, order.currency),
                "unit_quantity": line.unit_quantity,
                "description": line.description,
                "remote_id": None,
                "accounting_field_selections": _selections(state, line.selections),
            }
            for line in order.lines
        ],
    }
    if detail:
        out["custom_form_collection_response"] = None
    return out
