"""Typed link data views give back exactly the JSON object the flows stored."""

from __future__ import annotations

from typing import Any

import pytest

from ml_connector.flows.link_data import (
    BillLinkData,
    OrderLinkData,
    PaymentLinkData,
    SupplierLinkData,
)

BILL_DATA: list[dict[str, Any]] = [
    {},
    {"posted_hash": "p"},
    {"payload_hash": "h", "posted_hash": "p", "attached": ["k1", "k2"]},
    {"payload_hash": "", "note": "kept as it was"},
]
ORDER_DATA: list[dict[str, Any]] = [
    {"payload": {"header": {"supplier": "50001"}, "lines": {}}, "lines": {"l1": 1}},
    {
        "payload": {"header": {}, "lines": {"l1": {"description": "x"}}},
        "lines": {"l1": 1},
        "pending": {},
        "vendor_id": "v-1",
        "source_digest": "d",
        "held": True,
        "other": [1, 2],
    },
]


@pytest.mark.parametrize("data", BILL_DATA)
def test_bill_link_data_round_trips(data: dict[str, Any]) -> None:
    """A bill link's data read and written again is the same object, unknown keys included."""
    assert BillLinkData.from_dict(data).to_dict() == data


@pytest.mark.parametrize("data", ORDER_DATA)
def test_order_link_data_round_trips(data: dict[str, Any]) -> None:
    """A purchase-order link's data read and written again is the same object."""
    assert OrderLinkData.from_dict(data).to_dict() == data


def test_supplier_link_data_round_trips() -> None:
    """A vendor link's data keeps how the supplier was matched."""
    data = {"matched_by": "org_number"}
    assert SupplierLinkData.from_dict(data).to_dict() == data
    assert SupplierLinkData.from_dict(None).to_dict() == {}


def test_attached_file_is_added_once_to_the_list() -> None:
    """``with_file`` appends one key; the stored form is a JSON list, as before."""
    data = BillLinkData.from_dict({"payload_hash": "h"}).with_file("k1").with_file("k2")
    assert data.to_dict() == {"payload_hash": "h", "attached": ["k1", "k2"]}


def test_payment_link_data_round_trips_and_tracks_requests() -> None:
    """A payment link's data keeps its keys; a release request id is set and dropped by key."""
    data = {"invoice": "000042", "payload": {"amount": "12.00"}, "invoice_release": "r-1"}
    view = PaymentLinkData.from_dict(data)
    assert view.to_dict() == data
    assert view.request("invoice_release") == "r-1"
    dropped = view.with_request("invoice_release", None).with_request("release", "r-2")
    assert dropped.to_dict() == {
        "invoice": "000042",
        "payload": {"amount": "12.00"},
        "release": "r-2",
    }
