"""``/developer/v1/transactions``, ``/reimbursements`` and ``/receipts`` (read-only).

Behaviour from Ramp's spec and accounting guide (ramp-api.md §5.8, §5.9, §6):
- ``GET /transactions`` without ``state`` lists everything but declined transactions;
  ``state=ALL`` includes them. ``sync_status`` supersedes ``sync_ready`` and
  ``has_no_sync_commits``. ``from_date``/``to_date`` bound ``user_transaction_time``;
  ``department_id``/``location_id`` the card holder's. One ``order_by_*`` at a time (two: 422).
  ``min_amount``/``max_amount`` compare the settled amount (the spec says US dollars; the
  sandbox converts nothing: a documented simplification). ``include_merchant_data`` is accepted
  (the sandbox has no merchant data).
- ``GET /reimbursements`` lists ``direction`` ``BUSINESS_TO_USER`` unless told otherwise; dates
  filter ``created_at`` (``from_date``/``to_date``), ``submitted_at``, the transaction date and
  ``updated_at``.
- ``GET /receipts/{id}`` answers a ``Receipt`` with a fresh pre-signed ``receipt_url`` on the
  file host (valid one hour, as the spec says). Every list filter the spec declares is honoured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.ramp import render_spend
from ml_connector.sandbox.ramp.api import ApiContext, api_of, api_route, base_url, json_response
from ml_connector.sandbox.ramp.errors import RampApiError
from ml_connector.sandbox.ramp.model import Selection
from ml_connector.sandbox.ramp.money import from_minor
from ml_connector.sandbox.ramp.params import (
    q_bool,
    q_decimal,
    q_enum,
    q_instant,
    q_str,
    q_uuid,
    render_page,
)
from ml_connector.sandbox.ramp.spend_model import (
    CardTransaction,
    Receipt,
    Reimbursement,
    SpendSync,
    User,
)

__all__ = ["spend_routes", "sync_checks"]

_APPROVAL = frozenset(
    {
        "AWAITING_EMPLOYEE",
        "AWAITING_EMPLOYEE_CHANGES_REQUESTED",
        "AWAITING_EMPLOYEE_MISSING_ITEMS",
        "AWAITING_EMPLOYEE_REPAYMENT_FAILED",
        "AWAITING_EMPLOYEE_REPAYMENT_REQUESTED",
        "AWAITING_REVIEWER",
        "FULLY_APPROVED",
    }
)
_STATES = frozenset(
    {"ALL", "CLEARED", "COMPLETION", "DECLINED", "ERROR", "PENDING", "PENDING_INITIATION"}
)
_SYNC = frozenset(s.value for s in SpendSync)
_ORDERS = ("order_by_date_asc", "order_by_date_desc", "order_by_amount_asc", "order_by_amount_desc")

Check = Callable[[Any], bool]


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _within(
    value_of: Callable[[Any], float | None], low: float | None, high: float | None
) -> Check:
    def check(item: Any) -> bool:
        value = value_of(item)
        if value is None:
            return False
        return (low is None or value >= low) and (high is None or value <= high)

    return check


def _range(
    request: Request, low: str, high: str, value_of: Callable[[Any], float | None]
) -> Check | None:
    since, until = q_instant(request, low), q_instant(request, high)
    if since is None and until is None:
        return None
    return _within(value_of, since, until)


def _selection_ids(header: list[Selection], lines: list[list[Selection]]) -> set[str]:
    chosen = list(header)
    for line in lines:
        chosen += line
    return {s.ramp_id for s in chosen}


def sync_checks(request: Request) -> list[Check]:
    """``sync_status`` (which supersedes the others), ``sync_ready``, ``has_no_sync_commits``
    and ``synced_after``: shared by transactions, reimbursements and transfers."""
    checks: list[Check] = []
    status = q_enum(request, "sync_status", _SYNC)
    ready = q_bool(request, "sync_ready")
    no_commits = q_bool(request, "has_no_sync_commits")
    if status is not None:
        checks.append(lambda i: i.sync_status.value == status)
    else:
        if ready is not None:
            checks.append(lambda i: (i.sync_status is SpendSync.SYNC_READY) == ready)
        if no_commits is not None:
            checks.append(lambda i: (i.synced_at is None) == no_commits)
    if (after := q_instant(request, "synced_after")) is not None:
        checks.append(lambda i: i.synced_at is not None and i.synced_at > after)
    return checks


def _equals(attribute: str, wanted: str) -> Check:
    return lambda item: bool(getattr(item, attribute) == wanted)


def _holder_equals(users: Mapping[str, User], attribute: str, wanted: str) -> Check:
    """The card holder's (current) department or location is ``wanted``."""

    def check(item: Any) -> bool:
        person = users.get(item.user_id)
        return person is not None and getattr(person, attribute) == wanted

    return check


def _common(request: Request, ctx: ApiContext) -> list[Check]:
    checks = sync_checks(request)
    for name in ("entity_id", "user_id"):
        if (wanted := q_uuid(request, name)) is not None:
            checks.append(_equals(name, wanted))
    if (selection := q_uuid(request, "accounting_field_selection_id")) is not None:
        checks.append(
            lambda i: selection in _selection_ids(i.selections, [ln.selections for ln in i.lines])
        )
    if (approver := q_uuid(request, "awaiting_approval_by_user_id")) is not None:
        users = ctx.state.users

        def awaiting(item: Any) -> bool:
            person = users.get(item.user_id)
            pending = getattr(item, "approval_status", None) == "AWAITING_REVIEWER" or (
                getattr(item, "state", None) == "PENDING" and isinstance(item, Reimbursement)
            )
            return pending and person is not None and person.manager_id == approver

        checks.append(awaiting)
    if q_uuid(request, "trip_id") is not None:
        checks.append(lambda i: False)  # the sandbox has no trips
    return checks


def _transaction_checks(ctx: ApiContext, request: Request) -> list[Check]:
    state = ctx.state
    checks = _common(request, ctx)
    wanted_state = q_enum(request, "state", _STATES)
    if wanted_state is None:
        checks.append(lambda t: t.state != "DECLINED")
    elif wanted_state != "ALL":
        checks.append(lambda t: t.state == wanted_state)
    for name, attribute in (
        ("merchant_id", "merchant_id"),
        ("card_id", "card_id"),
        ("statement_id", "statement_id"),
        ("spend_program_id", "spend_program_id"),
    ):
        if (wanted := q_uuid(request, name)) is not None:
            checks.append(_equals(attribute, wanted))
    if (limit := q_uuid(request, "limit_id")) is not None:
        checks.append(lambda t: render_spend.limit_id(t.user_id) == limit)
    for name in ("department_id", "location_id"):
        if (wanted := q_uuid(request, name)) is not None:
            checks.append(_holder_equals(state.users, name, wanted))
    if (category := q_str(request, "sk_category_id")) is not None:
        checks.append(lambda t: str(t.sk_category_id) == category)
    if (approval := q_enum(request, "approval_status", _APPROVAL)) is not None:
        checks.append(lambda t: t.approval_status == approval)
    if q_bool(request, "requires_memo"):
        checks.append(lambda t: not t.memo)
    low, high = q_decimal(request, "min_amount"), q_decimal(request, "max_amount")
    if low is not None or high is not None:
        checks.append(_amount_between(low, high))
    if (dates := _range(request, "from_date", "to_date", lambda t: t.transacted_at)) is not None:
        checks.append(dates)
    q_bool(request, "include_merchant_data")  # accepted; there is no merchant data
    return checks


def _amount_between(low: Decimal | None, high: Decimal | None) -> Check:
    def check(item: CardTransaction) -> bool:
        value = from_minor(item.amount_minor, item.currency)
        return (low is None or value >= low) and (high is None or value <= high)

    return check


def _reimbursement_checks(ctx: ApiContext, request: Request) -> list[Check]:
    checks = _common(request, ctx)
    direction = q_enum(request, "direction", frozenset({"BUSINESS_TO_USER", "USER_TO_BUSINESS"}))
    checks.append(lambda r: r.direction == (direction or "BUSINESS_TO_USER"))
    ranges: list[tuple[str, str, Callable[[Any], float | None]]] = [
        ("from_date", "to_date", lambda r: r.created_at),
        ("from_submitted_at", "to_submitted_at", lambda r: r.submitted_at),
        ("from_transaction_date", "to_transaction_date", lambda r: _midnight(r.transaction_date)),
    ]
    for low, high, value_of in ranges:
        if (check := _range(request, low, high, value_of)) is not None:
            checks.append(check)
    if (updated := q_instant(request, "updated_after")) is not None:
        checks.append(lambda r: r.updated_at > updated)
    return checks


def _order(request: Request) -> tuple[Callable[[CardTransaction], Any] | None, bool]:
    chosen = [name for name in _ORDERS if q_bool(request, name)]
    if len(chosen) > 1:
        raise RampApiError.invalid(chosen[1], "Only one ordering parameter may be set.")
    if not chosen:
        return None, False
    name = chosen[0]
    if "date" in name:
        return (lambda t: t.transacted_at), name.endswith("desc")
    return (lambda t: from_minor(t.amount_minor, t.currency)), name.endswith("desc")


def _receipt_checks(ctx: ApiContext, request: Request) -> list[Check]:
    state = ctx.state
    checks: list[Check] = []
    if (transaction := q_uuid(request, "transaction_id")) is not None:
        checks.append(lambda r: r.owner_kind == "transaction" and r.owner_id == transaction)
    created = _range(request, "created_after", "created_before", lambda r: r.created_at)
    if created is not None:
        checks.append(created)

    def spent_at(receipt: Receipt) -> float | None:
        card = state.transactions.get(receipt.owner_id)
        return card.transacted_at if card is not None else None

    if (dates := _range(request, "from_date", "to_date", spent_at)) is not None:
        checks.append(dates)
    return checks


async def list_transactions(request: Request) -> Response:
    ctx = api_of(request)
    checks = _transaction_checks(ctx, request)
    order, descending = _order(request)
    items = ctx.state.transactions
    page = render_page(
        request,
        [t for t in items.values() if all(c(t) for c in checks)],
        items,
        lambda t: t.id,
        lambda t: render_spend.transaction(ctx.state, t),
        order=order,
        descending=descending,
    )
    return json_response(page)


async def get_transaction(request: Request) -> Response:
    ctx = api_of(request)
    q_bool(request, "include_merchant_data")
    item = ctx.find("Transaction", ctx.state.transactions, request.path_params["id"])
    return json_response(render_spend.transaction(ctx.state, item))


async def list_reimbursements(request: Request) -> Response:
    ctx = api_of(request)
    checks = _reimbursement_checks(ctx, request)
    items = ctx.state.reimbursements
    page = render_page(
        request,
        [r for r in items.values() if all(c(r) for c in checks)],
        items,
        lambda r: r.id,
        lambda r: render_spend.reimbursement(ctx.state, r),
    )
    return json_response(page)


async def get_reimbursement(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Reimbursement", ctx.state.reimbursements, request.path_params["id"])
    return json_response(render_spend.reimbursement(ctx.state, item))


async def list_receipts(request: Request) -> Response:
    ctx = api_of(request)
    checks = _receipt_checks(ctx, request)
    items, url = ctx.state.receipts, base_url(request)
    page = render_page(
        request,
        [r for r in items.values() if all(c(r) for c in checks)],
        items,
        lambda r: r.id,
        lambda r: render_spend.receipt(ctx.state, r, ctx.files.url(r.id, "receipt", url)),
    )
    return json_response(page)


async def get_receipt(request: Request) -> Response:
    ctx = api_of(request)
    item = ctx.find("Receipt", ctx.state.receipts, request.path_params["id"])
    link = ctx.files.url(item.id, "receipt", base_url(request))
    return json_response(render_spend.receipt(ctx.state, item, link))


def spend_routes() -> list[Route]:
    return [
        api_route("/transactions", list_transactions, methods=["GET"], scope="transactions:read"),
        api_route(
            "/transactions/{id}", get_transaction, methods=["GET"], scope="transactions:read"
        ),
        api_route(
            "/reimbursements", list_reimbursements, methods=["GET"], scope="reimbursements:read"
        ),
        api_route(
            "/reimbursements/{id}", get_reimbursement, methods=["GET"], scope="reimbursements:read"
        ),
        api_route("/receipts", list_receipts, methods=["GET"], scope="receipts:read"),
        api_route("/receipts/{id}", get_receipt, methods=["GET"], scope="receipts:read"),
    ]
