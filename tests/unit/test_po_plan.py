"""Pure purchase-order decisions: the Visma order a Ramp order becomes, and the PUT for an edit.

``plan_update`` sends only what Ramp changed since the last sync, never touches a line Visma
added, and refuses to change a line with receipts; ``check_tolerance`` and ``link_lines`` decide
how a bill meets its order.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.clients.ramp_models import Bill, CurrencyAmount
from ml_connector.clients.ramp_models import PurchaseOrder as RampOrder
from ml_connector.clients.visma_models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineWrite,
    SupplierInvoiceLineWrite,
    SupplierInvoiceWrite,
)
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import NeedsAttention
from ml_connector.flows.po_matching import OrderMatch, check_tolerance, link_lines
from ml_connector.flows.po_plan import (
    OrderPlan,
    ProcurementOptions,
    build_order,
    order_digest,
    plan_update,
)
from ml_connector.mapping.coding import ResolvedLine


def _ramp_order(**changes: Any) -> RampOrder:
    data: dict[str, Any] = {
        "id": "po-1",
        "purchase_order_number": "PO-1",
        "memo": "Laptops",
        "amount": {"amount": 3_000_00, "currency_code": "NOK"},
        "vendor_id": "v-1",
        "created_at": "2026-03-01T10:00:00+00:00",
        "promise_date": "2026-04-01T00:00:00+00:00",
        "line_items": [
            {
                "id": "l-1",
                "amount": {"amount": 2_000_00, "currency_code": "NOK"},
                "unit_price": {"amount": 1_000_00, "currency_code": "NOK"},
                "unit_quantity": 2,
                "description": "Laptop",
            },
            {
                "id": "l-2",
                "amount": {"amount": 1_000_00, "currency_code": "NOK"},
                "unit_price": {"amount": 500_00, "currency_code": "NOK"},
                "unit_quantity": 2,
                "description": "Dock",
            },
        ],
    }
    data.update(changes)
    return RampOrder.model_validate(data)


def _resolved(account: str = "6552", project: str | None = "P1") -> ResolvedLine:
    return ResolvedLine(1, "", Decimal(0), Decimal(1), account, ((1, "100"),), project, None)


def _plan(order: RampOrder | None = None) -> OrderPlan:
    order = order or _ramp_order()
    lines = [_resolved() for _ in order.line_items]
    return build_order(order, "50001", lines, ProcurementOptions())


def _current(*numbers: int, received: int | None = None) -> PurchaseOrder:
    """A Visma order as read (camelCase, as Visma sends it) with lines ``numbers``."""
    return PurchaseOrder.model_validate(
        {
            "orderNbr": "000001",
            "status": "Open",
            "lines": [
                {
                    "lineNbr": n,
                    "lineDescription": f"line {n}",
                    "qtyOnReceipts": 1 if n == received else 0,
                    "completed": n == received,
                }
                for n in numbers
            ],
        }
    )


def _po_line(number: int, description: str, account: str) -> PurchaseOrderLine:
    return PurchaseOrderLine.model_validate(
        {"lineNbr": number, "lineDescription": description, "account": {"number": account}}
    )


def test_build_order_carries_the_reference_and_unit_prices() -> None:
    """Header names the Ramp number; lines keep quantity and unit price exactly."""
    plan = _plan()
    assert plan.header.description == "PO-1 Laptops"
    assert plan.header.supplier_ref == "PO-1"
    assert plan.header.note == "ramp-po:po-1"
    assert plan.header.order_type == "RegularOrder"
    assert str(plan.header.promised_on) == "2026-04-01"
    assert [(line.order_qty, line.unit_cost, line.line_type) for line in plan.lines.values()] == [
        (Decimal(2), Decimal("1000.00"), "Service"),
        (Decimal(2), Decimal("500.00"), "Service"),
    ]
    assert list(plan.lines) == ["l-1", "l-2"]


def test_nothing_changed_sends_nothing() -> None:
    """The same plan as last time: no PUT at all."""
    plan = _plan()
    body, numbers, inserted = plan_update(
        plan, plan.payload(), {"l-1": 1, "l-2": 2}, _current(1, 2)
    )
    assert (body, numbers, inserted) == (None, {"l-1": 1, "l-2": 2}, {})


def test_only_changed_fields_and_lines_are_sent() -> None:
    """A new quantity on one line: one Update with that field; the header is left alone."""
    before = _plan().payload()
    order = _ramp_order()
    items = list(order.line_items)
    items[0] = replace_line(items[0], unit_quantity=3)
    plan = _plan(order.model_copy(update={"line_items": tuple(items)}))
    body, numbers, _ = plan_update(plan, before, {"l-1": 1, "l-2": 2}, _current(1, 2))
    assert body is not None
    assert (body.description, body.supplier) == (None, None)
    assert body.lines == (PurchaseOrderLineWrite(operation="Update", line_number=1, order_qty=3),)
    assert numbers == {"l-1": 1, "l-2": 2}


def replace_line(line: Any, **changes: Any) -> Any:
    return line.model_copy(update=changes)


def test_added_and_removed_lines_become_insert_and_delete() -> None:
    """A new Ramp line goes after every number in use (ours and Visma's); a gone one is deleted."""
    before = _plan().payload()
    order = _ramp_order()
    new = replace_line(order.line_items[1], id="l-3", description="Cable")
    plan = _plan(order.model_copy(update={"line_items": (order.line_items[0], new)}))
    # Visma holds a line 3 someone added there: the insert takes 4 and line 3 stays.
    body, numbers, inserted = plan_update(plan, before, {"l-1": 1, "l-2": 2}, _current(1, 2, 3))
    assert body is not None
    assert [(line.operation, line.line_number) for line in body.lines] == [
        ("Insert", 4),
        ("Delete", 2),
    ]
    assert numbers == {"l-1": 1, "l-3": 4}
    assert inserted == {"l-3": 4}


def test_header_change_alone() -> None:
    """A new promise date: the PUT carries that field and no lines."""
    before = _plan().payload()
    plan = _plan(_ramp_order(promise_date="2026-05-01T00:00:00+00:00"))
    body, _, _ = plan_update(plan, before, {"l-1": 1, "l-2": 2}, _current(1, 2))
    assert body is not None
    assert (str(body.promised_on), body.lines) == ("2026-05-01", ())


def test_line_removed_in_visma_stays_removed_unless_ramp_changes_it() -> None:
    """A person deleted line 2 in Visma: unchanged in Ramp, it is not put back."""
    plan = _plan()
    body, numbers, _ = plan_update(plan, plan.payload(), {"l-1": 1, "l-2": 2}, _current(1))
    assert body is None
    assert numbers == {"l-1": 1}


@pytest.mark.parametrize("operation", ["change", "delete"])
def test_received_line_refuses_change_and_delete(operation: str) -> None:
    """A line with receipts cannot be updated or deleted: a person decides."""
    before = _plan().payload()
    order = _ramp_order()
    if operation == "change":
        lines = (replace_line(order.line_items[0], unit_quantity=5), order.line_items[1])
    else:
        lines = (order.line_items[1],)
    plan = _plan(order.model_copy(update={"line_items": lines}))
    with pytest.raises(NeedsAttention) as caught:
        plan_update(plan, before, {"l-1": 1, "l-2": 2}, _current(1, 2, received=1))
    assert caught.value.code == "po_line_received"


def _bill(minor: int, bill_id: str = "b-1") -> Bill:
    return Bill.model_validate(
        {
            "id": bill_id,
            "amount": {"amount": minor, "currency_code": "NOK"},
            "status": "OPEN",
            "vendor": {"id": "v-1", "name": "V"},
        }
    )


@pytest.mark.parametrize(
    ("bill_minor", "billed_before", "tolerance", "stops"),
    [
        (3_000_00, 0, "0", False),  # exactly the order
        (3_000_01, 0, "0", True),  # one øre over
        (3_100_00, 0, "5", False),  # 100 over, 150 allowed
        (3_200_00, 0, "5", True),  # 200 over, 150 allowed
        (1_000_00, 2_000_00, "0", False),  # the rest of the order
        (1_000_01, 2_000_00, "0", True),
    ],
)
def test_tolerance(bill_minor: int, billed_before: int, tolerance: str, stops: bool) -> None:
    """Open amount = order total less the other bills; excess over tolerance % stops the bill."""
    order = _ramp_order(
        bill_ids=["b-0", "b-1"],
        spend_total_amount={"amount": billed_before + bill_minor, "currency_code": "NOK"},
    )
    if stops:
        with pytest.raises(NeedsAttention) as caught:
            check_tolerance(order, _bill(bill_minor), Decimal(tolerance))
        assert caught.value.code == "po_over_tolerance"
    else:
        check_tolerance(order, _bill(bill_minor), Decimal(tolerance))


def test_currency_mismatch_stops_the_bill() -> None:
    """A bill in another currency than its order needs a person."""
    bill = _bill(100).model_copy(update={"amount": CurrencyAmount(amount=100, currency_code="EUR")})
    with pytest.raises(NeedsAttention):
        check_tolerance(_ramp_order(), bill, Decimal(0))


def test_link_lines_by_description_then_account() -> None:
    """Lines find their order line by description, then by account; leftovers share by account."""
    match = OrderMatch(
        "po-1", "000007", (_po_line(1, "Laptop 14in", "6552"), _po_line(2, "Dock", "6560"))
    )

    def invoice_line(number: int, text: str, account: str) -> SupplierInvoiceLineWrite:
        return SupplierInvoiceLineWrite(
            line_number=number, transaction_description=text, account_number=account
        )

    invoice = SupplierInvoiceWrite(
        lines=(
            invoice_line(1, "dock", "6560"),
            invoice_line(2, "Other", "6552"),
            invoice_line(3, "Extra", "6560"),
        )
    )
    linked = link_lines(invoice, match)
    pairs = [(ln.link_line.purchase_number, ln.link_line.purchase_line_nbr) for ln in linked.lines]
    assert pairs == [("000007", 2), ("000007", 1), ("000007", 2)]
    assert [ln.line_number for ln in linked.lines] == [1, 2, 3]


def test_options_from_settings() -> None:
    """Settings are read leniently: unknown keys ignored, the tolerance exact."""
    options = ProcurementOptions.from_settings(
        ConnectionSettings.parse(
            {"purchase_orders": {"enabled": 1, "tolerance_percent": "2.5", "colour": "red"}}
        )
    )
    assert options == ProcurementOptions(enabled=True, tolerance_percent=Decimal("2.5"))
    assert (
        ProcurementOptions.from_settings(ConnectionSettings.parse({"purchase_orders": "yes"}))
        == ProcurementOptions()
    )
    assert replace(options, enabled=False).line_type == "Service"


def test_digest_ignores_billing_but_not_content() -> None:
    """Bills matched to an order leave its digest alone; an edited line changes it."""
    order = _ramp_order()
    billed = _ramp_order(
        bill_ids=["b-1"],
        billing_status="PARTIALLY_BILLED",
        spend_total_amount={"amount": 100, "currency_code": "NOK"},
    )
    edited = _ramp_order(memo="Laptops, more")
    assert order_digest(billed) == order_digest(order) != order_digest(edited)
