"""People and spend rendered as the spec's shapes: ``Transaction``, ``Reimbursement``,
``Transfer``, ``Statement``, ``Receipt``, ``User``, ``Department``, ``Location``, ``Business``.

The conventions of ``render.py`` hold (required fields always present, optional plain strings
left out when unset, ``+00:00`` date-times, calendar dates at midnight UTC), plus what the spec
says of spend:

- ``Transaction.amount`` and ``Reimbursement.amount`` are plain **decimal numbers in major
  units** (the spec's legacy ``number``; reference §3.2), written exactly; every other amount is
  a ``CurrencyAmount`` in minor units. A refund's amount is negative;
- transactions carry ``currency_code``, reimbursements ``currency`` (reference §5.9);
- ``original_transaction_amount`` is what the merchant charged, in its own currency; for a
  purchase in the card's currency it repeats the settled amount (inferred: the spec makes it
  required and nullable, and its example shows a conversion);
- a selection on spend also names its ``type`` (the spec's ``ApiTransactionAccountingField
  Selection.type``), the same as its category's;
- an unsplit object carries its coding on ``accounting_field_selections`` and no
  ``line_items``; a split one lists ``line_items`` (``amount`` and ``converted_amount``, in the
  settled currency, since the sandbox's cards settle in their entity's currency).
"""

from __future__ import annotations

import uuid
from typing import Any

from ml_connector.sandbox.ramp.model import Selection
from ml_connector.sandbox.ramp.money import from_minor
from ml_connector.sandbox.ramp.render import amount, iso, iso_date, selection
from ml_connector.sandbox.ramp.spend_model import (
    CardTransaction,
    Department,
    Location,
    Receipt,
    Reimbursement,
    SpendLine,
    Statement,
    Transfer,
    User,
)
from ml_connector.sandbox.ramp.state import RampState
from ml_connector.sandbox.ramp.statements import sections

__all__ = [
    "business",
    "department",
    "limit_id",
    "location",
    "receipt",
    "reimbursement",
    "statement",
    "transaction",
    "transfer",
    "user",
]


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


def limit_id(user_id: str) -> str:
    """The card limit (``limit_id``) of a user's card: one per card holder in the sandbox."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ramp-limit:{user_id}"))


def _selections(state: RampState, chosen: list[Selection]) -> list[dict[str, Any]]:
    out = []
    for one in chosen:
        rendered = selection(state, one)
        rendered["type"] = rendered["category_info"]["type"]
        out.append(rendered)
    return out


def _lines(
    state: RampState, lines: list[SpendLine], currency: str, *, converted: bool
) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        row: dict[str, Any] = {
            "amount": amount(line.amount_minor, currency),
            "accounting_field_selections": _selections(state, line.selections),
        }
        if converted:
            row["converted_amount"] = amount(line.amount_minor, currency)
        _put(row, "memo", line.memo)
        out.append(row)
    return out


def _card_holder(state: RampState, user_id: str) -> dict[str, Any]:
    person = state.users.get(user_id)
    if person is None:
        return {"user_id": user_id}
    out: dict[str, Any] = {
        "user_id": person.id,
        "first_name": person.first_name,
        "last_name": person.last_name,
    }
    if person.department_id and (dept := state.departments.get(person.department_id)):
        out["department_id"], out["department_name"] = dept.id, dept.name
    if person.location_id and (place := state.locations.get(person.location_id)):
        out["location_id"], out["location_name"] = place.id, place.name
    _put(out, "employee_id", person.employee_id)
    return out


def transaction(state: RampState, item: CardTransaction) -> dict[str, Any]:
    """A ``Transaction`` (the list's) / ``SingleTransaction`` (one): the same fields here."""
    original = (
        amount(item.original_amount_minor, item.original_currency)
        if item.original_amount_minor is not None and item.original_currency
        else amount(item.amount_minor, item.currency)
    )
    out: dict[str, Any] = {
        "id": item.id,
        "amount": from_minor(item.amount_minor, item.currency),
        "currency_code": item.currency,
        "original_transaction_amount": original,
        "state": item.state,
        "sync_status": item.sync_status.value,
        "synced_at": iso(item.synced_at) if item.synced_at is not None else None,
        "accounting_date": iso_date(item.accounting_date) if item.accounting_date else None,
        "user_transaction_time": iso(item.transacted_at),
        "entity_id": item.entity_id,
        "card_id": item.card_id,
        "card_holder": _card_holder(state, item.user_id),
        "card_present": False,
        "limit_id": limit_id(item.user_id),
        "merchant_id": item.merchant_id,
        "merchant_name": item.merchant_name,
        "merchant_descriptor": item.merchant_name.upper()[:22],
        "merchant_location": {
            "city": item.merchant_city,
            "country": item.merchant_country,
            "postal_code": None,
            "state": None,
        },
        "sk_category_id": item.sk_category_id,
        "sk_category_name": item.sk_category_name,
        "memo": item.memo,
        "receipts": list(item.receipt_ids),
        "accounting_field_selections": _selections(state, item.selections),
        "accounting_categories": [],
        "line_items": _lines(state, item.lines, item.currency, converted=True),
        "policy_violations": [],
        "disputes": [],
        "attendees": [],
    }
    _put(out, "settlement_date", iso(item.settled_at) if item.settled_at is not None else None)
    _put(out, "merchant_category_code", item.merchant_category_code)
    _put(out, "statement_id", item.statement_id)
    if item.state == "DECLINED":
        out["decline_details"] = {
            "amount": from_minor(item.amount_minor, item.currency),
            "reason": "AUTHORIZER_CARD_LIMIT",
        }
    return out


def reimbursement(state: RampState, item: Reimbursement) -> dict[str, Any]:
    """A ``Reimbursement``."""
    person = state.users.get(item.user_id)
    original = (
        amount(item.original_amount_minor, item.original_currency)
        if item.original_amount_minor is not None and item.original_currency
        else amount(item.amount_minor, item.currency)
    )
    out: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "direction": item.direction,
        "state": item.state,
        "amount": from_minor(item.amount_minor, item.currency),
        "currency": item.currency,
        "original_reimbursement_amount": original,
        "payee_amount": amount(item.amount_minor, item.currency),
        "sync_status": item.sync_status.value,
        "synced_at": iso(item.synced_at) if item.synced_at is not None else None,
        "accounting_date": iso_date(item.accounting_date or item.transaction_date),
        "transaction_date": item.transaction_date.isoformat(),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "submitted_at": iso(item.submitted_at) if item.submitted_at is not None else None,
        "user_id": item.user_id,
        "user_email": person.email if person else "",
        "user_full_name": person.full_name if person else "",
        "entity_id": item.entity_id,
        "merchant_id": None,
        "payment_id": item.payment_id,
        "spend_limit_id": None,
        "receipts": list(item.receipt_ids),
        "accounting_field_selections": _selections(state, item.selections),
        "line_items": _lines(state, item.lines, item.currency, converted=False),
        "distance": item.distance,
        "start_location": item.start_location,
        "end_location": item.end_location,
        "waypoints": list(item.waypoints),
        "attendees": [],
    }
    _put(out, "approved_at", iso(item.approved_at) if item.approved_at is not None else None)
    _put(out, "employee_id", person.employee_id if person else None)
    _put(out, "merchant", item.merchant)
    _put(out, "memo", item.memo)
    return out


def transfer(item: Transfer) -> dict[str, Any]:
    """A ``Transfer`` (the spec's fields only: the statement shows in ``statement_lines``)."""
    return {
        "id": item.id,
        "amount": amount(item.amount_minor, item.currency),
        "created_at": iso(item.created_at),
        "entity_id": item.entity_id,
        "payment_id": item.payment_id,
        "status": item.status,
        "sync_status": item.sync_status.value,
    }


def statement(state: RampState, item: Statement, statement_url: str) -> dict[str, Any]:
    """A ``Statement``: figures per entity and currency, and its card and payment lines."""
    parts = sections(state, item)
    base = state.base_currency
    mine = [p for p in parts if p.currency == base]

    def total(value: str) -> dict[str, Any]:
        return amount(sum(getattr(p, value) for p in mine), base)

    lines: list[tuple[float, dict[str, Any]]] = []
    for card in state.transactions.values():
        if card.statement_id == item.id:
            row = {"id": card.id, "type": "CARD_TRANSACTION", "created_at": iso(card.transacted_at)}
            _put(row, "cleared_at", iso(card.settled_at) if card.settled_at is not None else None)
            lines.append((card.transacted_at, row))
    for pay in state.transfers.values():
        if pay.statement_id == item.id:
            lines.append(
                (
                    pay.created_at,
                    {"id": pay.id, "type": "TRANSFER_PAYMENT", "created_at": iso(pay.created_at)},
                )
            )
    out: dict[str, Any] = {
        "id": item.id,
        "start_date": iso_date(item.start),
        "end_date": iso_date(item.end),
        "opening_balance": total("opening"),
        "charges": total("charges"),
        "credits": total("credits"),
        "payments": total("payments"),
        "ending_balance": total("ending"),
        "balance_sections": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{item.id}/{p.entity_id}/{p.currency}")),
                "entity_id": p.entity_id,
                "opening_balance": amount(p.opening, p.currency),
                "charges": amount(p.charges, p.currency),
                "credits": amount(p.credits, p.currency),
                "payments": amount(p.payments, p.currency),
                "ending_balance": amount(p.ending, p.currency),
            }
            for p in parts
        ],
        "statement_lines": [row for _, row in sorted(lines, key=lambda pair: pair[0])],
        "statement_url": statement_url,
    }
    earlier = [s for s in state.statements.values() if s.end < item.start]
    if earlier:
        out["preceding_statement_id"] = max(earlier, key=lambda s: s.end).id
    return out


def receipt(state: RampState, item: Receipt, receipt_url: str) -> dict[str, Any]:
    """A ``Receipt``; ``transaction_id`` only for a card transaction's receipt."""
    out: dict[str, Any] = {
        "id": item.id,
        "created_at": iso(item.created_at),
        "receipt_url": receipt_url,
        "user_id": item.user_id,
    }
    if item.owner_kind == "transaction":
        out["transaction_id"] = item.owner_id
    return out


def user(state: RampState, person: User) -> dict[str, Any]:
    """A ``User``."""
    out: dict[str, Any] = {
        "id": person.id,
        "business_id": state.business_id,
        "custom_fields": [],
        "department_id": person.department_id,
        "email": person.email,
        "entity_id": person.entity_id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "is_manager": person.is_manager,
        "location_id": person.location_id,
        "manager_id": person.manager_id,
        "role": person.role,
        "status": person.status,
    }
    _put(out, "employee_id", person.employee_id)
    return out


def department(item: Department) -> dict[str, Any]:
    return {"id": item.id, "name": item.name}


def location(item: Location) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "name": item.name}
    _put(out, "entity_id", item.entity_id)
    return out


def business(state: RampState, created_at: float) -> dict[str, Any]:
    """``Business``: the business the token belongs to."""
    return {
        "id": state.business_id,
        "business_name_legal": state.company_name,
        "business_name_on_card": state.company_name.upper()[:21],
        "active": True,
        "created_time": iso(created_at),
        "enforce_sso": False,
        "is_integrated_with_slack": False,
        "is_reimbursements_enabled": True,
        "limit_locked": False,
    }
