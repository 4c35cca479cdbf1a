"""Visma's wire form: write models wrapped as the spec's update DTOs, keys from Location."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from clients_inline import VISMA_INVOICE as INVOICE

from ml_connector.clients._http import Reply
from ml_connector.clients.visma import key_from_location, to_wire
from ml_connector.clients.visma_models import (
    AddressWrite,
    ContactWrite,
    LinkLineWrite,
    PurchaseOrderLineWrite,
    PurchaseOrderWrite,
    SupplierInvoiceLineWrite,
    SupplierWrite,
)


def test_supplier_invoice_is_wrapped_as_the_update_dto() -> None:
    """Scalars are wrapped, lines stay a plain list with a bare operation and segment list."""
    assert to_wire(INVOICE) == {
        "documentType": {"value": "Invoice"},
        "supplierNumber": {"value": "50000"},
        "supplierReference": {"value": "INV-2025-0042"},
        "date": {"value": "2025-11-08T00:00:00"},
        "dueDate": {"value": "2025-12-08T00:00:00"},
        "currencyId": {"value": "NOK"},
        "financialPeriod": {"value": "202511"},
        "description": {"value": "Office supplies"},
        "note": {"value": "ramp-bill:b-1"},
        "hold": {"value": True},
        "amount": {"value": Decimal("1250.00")},
        "invoiceLines": [
            {
                "operation": "Insert",
                "lineNumber": {"value": 1},
                "accountNumber": {"value": "6800"},
                "subaccount": [
                    {"segmentId": 1, "segmentValue": "100"},
                    {"segmentId": 2, "segmentValue": "20"},
                ],
                "transactionDescription": {"value": "Paper"},
                "quantity": {"value": Decimal("1")},
                "unitCostInCurrency": {"value": Decimal("1250.00")},
                "vatCodeId": {"value": "1"},
                "projectId": {"value": "P-1"},
            }
        ],
    }


def test_nested_objects_are_wrapped_twice_and_link_lines_once() -> None:
    """Address and contact are {"value": {...wrapped...}}; a link line only wraps its scalars."""
    supplier = SupplierWrite(
        name="Acme Supplies AS",
        main_address=AddressWrite(address_line1="Storgata 1", postal_code="0150", country_id="NO"),
        main_contact=ContactWrite(email="ap@acme.example"),
    )
    assert to_wire(supplier) == {
        "name": {"value": "Acme Supplies AS"},
        "mainAddress": {
            "value": {
                "addressLine1": {"value": "Storgata 1"},
                "postalCode": {"value": "0150"},
                "countryId": {"value": "NO"},
            }
        },
        "mainContact": {"value": {"email": {"value": "ap@acme.example"}}},
    }
    line = SupplierInvoiceLineWrite(
        operation="Update", line_number=2, link_line=LinkLineWrite("PO-7", 3)
    )
    assert to_wire(line) == {
        "operation": "Update",
        "lineNumber": {"value": 2},
        "linkLine": {
            "purchaseNumber": {"value": "PO-7"},
            "purchaseLineNbr": {"value": 3},
            "purchaseType": "PurchaseOrder",
        },
    }
    order_line = PurchaseOrderLineWrite(
        line_type="Service", order_qty=Decimal("2"), sub=((1, "100"),)
    )
    order = PurchaseOrderWrite(supplier="50000", date=date(2025, 1, 2), lines=(order_line,))
    assert to_wire(order)["lines"] == [
        {
            "operation": "Insert",
            "lineType": {"value": "Service"},
            "orderQty": {"value": Decimal("2")},
            "sub": [{"segmentId": 1, "segmentValue": "100"}],
        }
    ]


@pytest.mark.parametrize(
    ("location", "key"),
    [
        ("https://api.finance.visma.net/v1/supplierInvoice/Invoice/000123", "000123"),
        ("/v1/supplier/50010", "50010"),
        ("http://visma.test/v1/supplier/A%2FB/", "A/B"),
        ("", None),
    ],
)
def test_keys_are_read_from_the_last_location_segment(location: str, key: str | None) -> None:
    """The new key is the Location's last path segment, URL-decoded."""
    headers = httpx.Headers({"Location": location} if location else {})
    assert key_from_location(Reply(201, headers, b"", None)) == key
