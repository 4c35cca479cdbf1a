"""Issue 3 acceptance: ``connection add`` and ``sync --once`` as separate processes, twice.

The sandboxes run as their own processes with the demo company; the operator's machine is a
temporary folder with an SQLite database and a key file. Everything is checked from the
vendors' side (their control APIs), plus the CLI's own JSON.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from acceptance.acceptance_kit import SyncedWorld
from ml_connector.sandbox.ramp import CREDIT_MEMO_PREFIX
from ml_connector.sandbox.seed import (
    COST_CENTRE_SEGMENT,
    DEPARTMENT_SEGMENT,
    FIELD_COST_CENTRE,
    FIELD_DEPARTMENT,
    FIELD_GL_ACCOUNT,
    FIELD_PROJECT,
    FIELD_VAT,
)

pytestmark = pytest.mark.slow

NOTE_PREFIX = "ramp-bill:"
SEGMENT_OF_FIELD = {FIELD_COST_CENTRE: COST_CENTRE_SEGMENT, FIELD_DEPARTMENT: DEPARTMENT_SEGMENT}
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3}


def _major(amount: dict[str, Any]) -> Decimal:
    """A Ramp CurrencyAmount (integer minor units) as an exact decimal in major units."""
    return Decimal(int(amount["amount"])).scaleb(-_EXPONENTS.get(amount["currency_code"], 2))


def _bill_id(invoice: dict[str, Any]) -> str | None:
    note = str(invoice.get("note") or "")
    return note.split(NOTE_PREFIX, 1)[1].split()[0] if NOTE_PREFIX in note else None


def _ready_ids(ramp_state: dict[str, Any]) -> set[str]:
    return {b["id"] for b in ramp_state["bills"] if b["sync_ready"]}


def _expected_line(line: dict[str, Any], vat_of_account: dict[str, str | None]) -> dict[str, Any]:
    """What a Visma line must carry for one Ramp line, from its accounting field selections."""
    picks = {s["category_info"]["external_id"]: s for s in line["accounting_field_selections"]}
    account = next(
        s["external_id"]
        for s in line["accounting_field_selections"]
        if s["category_info"]["type"] == "GL_ACCOUNT"
        or s["category_info"]["external_id"] == FIELD_GL_ACCOUNT
    )
    vat = picks[FIELD_VAT]["external_id"] if FIELD_VAT in picks else vat_of_account[account]
    return {
        "account": account,
        "segments": {
            segment: picks[field]["external_id"]
            for field, segment in SEGMENT_OF_FIELD.items()
            if field in picks
        },
        "project": picks[FIELD_PROJECT]["external_id"] if FIELD_PROJECT in picks else None,
        "vat": vat,
        "amount": _major(line["amount"]),
    }


def _actual_line(line: dict[str, Any], wanted_segments: dict[int, str]) -> dict[str, Any]:
    segments = {s["segmentId"]: s["segmentValue"] for s in line["subaccount"]["segments"]}
    return {
        "account": line["account"]["number"],
        "segments": {k: segments.get(k) for k in wanted_segments},
        "project": (line.get("project") or {}).get("id"),
        "vat": (line.get("vatCode") or {}).get("id"),
        "amount": Decimal(str(line["costInCurrency"])),
    }


def test_first_sync_writes_exactly_one_invoice_per_ready_bill(synced: SyncedWorld) -> None:
    """Every ready bill is one Visma invoice or needs attention; no bill is invoiced twice."""
    summary = synced.summary
    ready = _ready_ids(synced.ramp_before)
    invoices = synced.visma_after["invoices"]
    refs = Counter(_bill_id(invoice) for invoice in invoices)

    assert summary["ramp_bills_ready"] == len(ready) > 0
    assert None not in refs, "an invoice without a Ramp bill reference"
    assert [ref for ref, n in refs.items() if n > 1] == [], "bills invoiced twice"
    assert set(refs) <= ready
    assert summary["visma_invoices_created"] == len(invoices) > 0
    assert summary["needs_attention"] > 0  # the demo holds deliberately unsyncable bills
    assert len(invoices) + summary["needs_attention"] == len(ready)
    assert summary["retrying"] == 0


def test_synced_bills_are_marked_synced_in_ramp(synced: SyncedWorld) -> None:
    """Invoiced bills are BILL_SYNCED with the Visma number; the rest carry an export error."""
    bills = {b["id"]: b for b in synced.ramp_after["bills"]}
    synced_ids = {i for s in synced.ramp_after["syncs"] for i in s["successful_ids"]}
    errors = {e["object_id"]: e["message"] for e in synced.ramp_after["export_errors"]}
    invoiced = {_bill_id(inv): inv for inv in synced.visma_after["invoices"]}

    for bill_id, invoice in invoiced.items():
        assert bill_id is not None
        bill = bills[bill_id]
        assert bill["sync_status"] == "BILL_SYNCED", bill_id
        assert bill["remote_id"] == invoice["referenceNumber"], bill_id
        assert bill_id in synced_ids
        assert bill_id not in errors
    for bill_id in _ready_ids(synced.ramp_before) - set(invoiced):
        assert bills[bill_id]["sync_status"] == "NOT_SYNCED", bill_id
        assert errors.get(bill_id), f"no export error (failed_syncs) for {bill_id}"


def test_invoices_carry_the_bills_supplier_coding_and_amounts(synced: SyncedWorld) -> None:
    """Supplier, account, segments, project, VAT code and amounts match each Ramp bill."""
    bills = {b["id"]: b for b in synced.ramp_after["bills"]}
    vat_of_account = {a["accountCD"]: a.get("taxCategory") for a in synced.visma_after["accounts"]}
    checked_rich = 0
    for invoice in synced.visma_after["invoices"]:
        bill = bills[str(_bill_id(invoice))]
        credit = str(bill.get("memo") or "").startswith(CREDIT_MEMO_PREFIX)
        assert invoice["documentType"] == ("DebitAdj" if credit else "Invoice")
        assert invoice["supplier"]["number"] == bill["vendor"]["remote_id"]
        assert invoice["currencyId"] == bill["amount"]["currency_code"]
        assert invoice["supplierReference"] == bill["invoice_number"]
        assert invoice["date"][:10] == bill["issued_at"][:10]
        assert invoice["dueDate"][:10] == bill["due_at"][:10]
        # Gross mode: Ramp amounts include VAT, so the document total is the bill total exactly.
        assert invoice["taxCalculationMode"] == "Gross"
        assert Decimal(str(invoice["amount"])) == _major(bill["amount"])

        lines = sorted(invoice["invoiceLines"], key=lambda line: line["lineNumber"])
        assert len(lines) == len(bill["line_items"])
        for ramp_line, visma_line in zip(bill["line_items"], lines, strict=True):
            expected = _expected_line(ramp_line, vat_of_account)
            assert _actual_line(visma_line, expected["segments"]) == expected, bill["id"]
        projects = {(line.get("project") or {}).get("id") for line in lines}
        if len(lines) > 1 and projects - {None, "X"}:
            checked_rich += 1
    assert checked_rich > 0, "no multi-line, project-coded invoice was checked"


def test_second_sync_creates_nothing(synced: SyncedWorld) -> None:
    """A second ``sync --once`` writes no invoice and changes no bill's sync status."""
    pair = synced.pair
    mark = pair.journal_mark(pair.visma)
    second = synced.cli.run("sync", "demo", "--once", "--json")
    assert second.returncode == 0, second.describe()
    summary = second.json()

    assert summary["visma_invoices_created"] == 0
    assert summary["visma_suppliers_created"] == 0
    assert len(pair.visma_state()["invoices"]) == len(synced.visma_after["invoices"])
    writes = [
        e
        for e in pair.journal(pair.visma, after=mark)
        if e["method"] in ("POST", "PUT", "DELETE") and "supplierinvoice" in e["path"].lower()
    ]
    assert writes == []
    before = {b["id"]: b["sync_status"] for b in synced.ramp_after["bills"]}
    after = {b["id"]: b["sync_status"] for b in pair.ramp_state()["bills"]}
    assert after == before


def test_status_shows_the_bills_that_need_attention(synced: SyncedWorld) -> None:
    """``status --json`` counts the records that need attention and shows the last error."""
    result = synced.cli.run("status", "demo", "--json")
    assert result.returncode == 0, result.describe()
    status = result.json()
    assert status["connection_status"] == "active"
    assert status["counts"]["needs_attention"] == synced.summary["needs_attention"]
    assert status["counts"]["succeeded"] == synced.summary["visma_invoices_created"]
    assert status["last_error"]
