"""Issue 13 acceptance: day one at a customer with history, through the CLI, with no hand edits.

The sandboxes run as their own processes on a world the product cannot import
(``tests/support/customer_history.py``, written to a dataset file): Ramp accounting fields an
earlier CSV import made, with Norwegian names and Ramp's category types on the bills; a vendor
form whose labels the connector has never seen; Telenor already a Visma supplier under another
name with the same organisation number; a cost centre Visma made inactive; and a Visma company
whose financial year starts in July. The operator runs ``connection add``, ``ping``,
``mappings fields`` and ``sync --once`` (twice), and everything is checked from the vendors'
side and from the CLI's own JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from acceptance.acceptance_kit import CliResult, CliWorkspace, SandboxPair
from ml_connector.sandbox.seed_files import dump_dataset
from support.customer_history import (
    BILL_BILL_LEVEL,
    BILL_CAMPAIGN,
    BILL_INACTIVE_COST_CENTRE,
    BILL_PLAIN,
    CAMPAIGN_FIELD,
    FIELD_TARGETS,
    INACTIVE_COST_CENTRE,
    TELENOR_SUPPLIER,
    customer_with_history,
)

pytestmark = pytest.mark.slow

NAME = "nordlys"
FISCAL_START_MONTH = 7  # the Visma company's financial year starts in July
INVOICED = (BILL_PLAIN, BILL_BILL_LEVEL)
STOPPED = (BILL_CAMPAIGN, BILL_INACTIVE_COST_CENTRE)


@dataclass
class Day:
    """Everything the operator did on day one, and what both vendors held after each step."""

    pair: SandboxPair
    cli: CliWorkspace
    suppliers_before: int  # suppliers the Visma company had before day one
    added: CliResult
    fields_before_ping: CliResult
    ping: CliResult
    fields: CliResult
    first: CliResult
    visma_after_first: dict[str, Any]
    ramp_after_first: dict[str, Any]
    records: CliResult
    second: CliResult
    visma_after_second: dict[str, Any]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    """The sandboxes on the customer's world, and the operator's commands in order."""
    folder = tmp_path_factory.mktemp("customer-history")
    world = customer_with_history()
    seed = dump_dataset(world, folder / "customer.json")
    pair = SandboxPair.start(
        folder,
        seed=str(seed),
        visma_options={"ML_CONNECTOR_SANDBOX_VISMA_FISCAL_YEAR_START": str(FISCAL_START_MONTH)},
    )
    try:
        cli = CliWorkspace(tmp_path_factory.mktemp("operator"))
        added = cli.add_connection(NAME, pair, credit_memo_prefix=None)
        assert added.returncode == 0, added.describe()
        fields_before_ping = cli.run("mappings", "fields", NAME, "--json")
        ping = cli.run("ping", NAME)
        fields = cli.run("mappings", "fields", NAME, "--json")
        first = cli.run("sync", NAME, "--once", "--json")
        assert first.returncode == 0, first.describe()
        visma_after_first, ramp_after_first = pair.visma_state(), pair.ramp_state()
        records = cli.run("records", "list", NAME, "--status", "needs_attention", "--json")
        second = cli.run("sync", NAME, "--once", "--json")
        assert second.returncode == 0, second.describe()
        yield Day(
            pair,
            cli,
            len(world.suppliers),
            added,
            fields_before_ping,
            ping,
            fields,
            first,
            visma_after_first,
            ramp_after_first,
            records,
            second,
            pair.visma_state(),
        )
    finally:
        pair.stop()


def _fiscal_period(day_: date) -> str:
    """``YYYYPP`` of a July financial year named by the year it starts in (Visma's default)."""
    months_in = (day_.month - FISCAL_START_MONTH) % 12
    year = day_.year if day_.month >= FISCAL_START_MONTH else day_.year - 1
    return f"{year:04d}{months_in + 1:02d}"


def _bill_of(invoice: dict[str, Any]) -> str:
    note = str(invoice.get("note") or "")
    return note.split("ramp-bill:", 1)[1].split()[0] if "ramp-bill:" in note else ""


def _invoices(state: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for invoice in state["invoices"]:
        found.setdefault(_bill_of(invoice), []).append(invoice)
    return found


def _ramp_bill(state: dict[str, Any], bill_id: str) -> dict[str, Any]:
    return next(b for b in state["bills"] if b["id"] == bill_id)


def _ramp_coding(line: dict[str, Any], bill: dict[str, Any]) -> dict[str, Any]:
    """What Visma must show for one Ramp line: the customer's own coding, field by field.

    A line's own selection wins over the bill's; the project field's option ids are the
    customer's (``prj-p1001``), its codes are Visma's project ids.
    """
    coding: dict[str, Any] = {"segments": {}}
    for selection in (*bill["accounting_field_selections"], *line["accounting_field_selections"]):
        target = FIELD_TARGETS.get(selection["category_info"]["external_id"])
        value = selection["external_id"]
        if target == "project":
            coding["project"] = selection["external_code"] or value
        elif target is not None and target.startswith("segment:"):
            coding["segments"][int(target.partition(":")[2])] = value
        elif target is not None:
            coding[target] = value
    coding["amount"] = Decimal(int(line["amount"]["amount"])).scaleb(-2)
    return coding


def _visma_coding(line: dict[str, Any], coded_segments: set[int]) -> dict[str, Any]:
    """A Visma line's coding; of its segments, those Ramp coded (Visma defaults the rest)."""
    segments = {s["segmentId"]: s["segmentValue"] for s in line["subaccount"]["segments"]}
    return {
        "segments": {k: v for k, v in segments.items() if k in coded_segments},
        "account": line["account"]["number"],
        "project": (line.get("project") or {}).get("id"),
        "vat": (line.get("vatCode") or {}).get("id"),
        "amount": Decimal(str(line["costInCurrency"])),
    }


def test_connection_add_binds_what_the_evidence_settles_and_lists_the_rest(day: Day) -> None:
    """`connection add` succeeds, binds the customer's fields from Ramp's types, the value
    overlap and the Norwegian names, and names the one field it cannot place."""
    assert CAMPAIGN_FIELD in day.added.output, day.added.describe()
    assert "mappings bind" in day.added.output
    fields = {row["field"]: row for row in day.fields.json()["fields"]}
    for field_id, target in FIELD_TARGETS.items():
        assert fields[field_id]["target"] == target, fields[field_id]
        assert fields[field_id]["decided_by"], fields[field_id]
    assert fields[CAMPAIGN_FIELD]["target"] is None, fields[CAMPAIGN_FIELD]


def test_ping_reports_bindings_and_writes_none(day: Day) -> None:
    """`ping` passes, reports the field bindings, and the stored bindings are the same after."""
    assert day.ping.returncode == 0, day.ping.describe()
    assert "1 undecided" in day.ping.output, day.ping.describe()
    assert CAMPAIGN_FIELD in day.ping.output or "Kampanje" in day.ping.output
    assert day.fields.json() == day.fields_before_ping.json()


def test_every_ready_bill_is_one_invoice_coded_exactly_as_in_ramp(day: Day) -> None:
    """The two bills the connector can place are one invoice each, on Telenor's existing
    supplier, with every line's account, segments, project and VAT code as Ramp coded them, in
    the July financial year's period."""
    invoices = _invoices(day.visma_after_first)
    for bill_id in INVOICED:
        assert len(invoices.get(bill_id, [])) == 1, (bill_id, invoices.keys())
        invoice = invoices[bill_id][0]
        bill = _ramp_bill(day.ramp_after_first, bill_id)
        assert invoice["supplier"]["number"] == TELENOR_SUPPLIER
        accounting = datetime.fromisoformat(bill["accounting_date"] or bill["issued_at"]).date()
        assert invoice["financialPeriod"] == _fiscal_period(accounting)
        expected = [_ramp_coding(line, bill) for line in bill["line_items"]]
        actual = [
            _visma_coding(line, set(want["segments"]))
            for line, want in zip(invoice["invoiceLines"], expected, strict=True)
        ]
        assert actual == expected, (bill_id, actual, expected)
        assert all(
            line.get("projectTask") or line.get("projectTaskId") for line in invoice["invoiceLines"]
        ), invoice["invoiceLines"]
        assert Decimal(str(invoice["amount"])) == Decimal(int(bill["amount"]["amount"])).scaleb(-2)


def test_no_supplier_is_created_twice(day: Day) -> None:
    """Telenor matched supplier 50001 under its other name, through the VAT number its form
    gives under a label nobody configured; the stopped bills created no supplier either."""
    summary = day.first.json()
    assert summary["visma_suppliers_created"] == 0, summary
    assert len(day.visma_after_first["suppliers"]) == day.suppliers_before
    names = [s["name"] for s in day.visma_after_first["suppliers"]]
    assert not [n for n in names if n.casefold().startswith("telenor norge")], names


def test_inactive_value_and_unbound_field_stop_their_bills_with_a_clear_message(day: Day) -> None:
    """The campaign bill names the field, the value and the bind command; the other names the
    inactive cost centre; neither reached Visma, and both are reported to Ramp."""
    summary = day.first.json()
    assert summary["visma_invoices_created"] == len(INVOICED), summary
    assert summary["needs_attention"] == len(STOPPED), summary
    rows = {row["ramp_id"]: row for row in day.records.json()}
    assert set(rows) == set(STOPPED), rows
    campaign = str(rows[BILL_CAMPAIGN]["error"])
    assert "Kampanje" in campaign, campaign
    assert "K12" in campaign, campaign
    assert f"mappings bind {NAME} {CAMPAIGN_FIELD}" in campaign + str(
        rows[BILL_CAMPAIGN].get("hint") or ""
    ), rows[BILL_CAMPAIGN]
    inactive = str(rows[BILL_INACTIVE_COST_CENTRE]["error"])
    assert INACTIVE_COST_CENTRE in inactive, inactive
    assert "inactive" in inactive, inactive
    invoices = _invoices(day.visma_after_first)
    assert not any(bill_id in invoices for bill_id in STOPPED)


def test_a_second_run_creates_nothing(day: Day) -> None:
    """Run again: no invoice, no supplier, and Visma holds exactly what it held."""
    summary = day.second.json()
    assert summary["visma_invoices_created"] == 0, summary
    assert summary["visma_suppliers_created"] == 0, summary
    assert all(len(found) == 1 for found in _invoices(day.visma_after_second).values())
    assert len(day.visma_after_second["invoices"]) == len(day.visma_after_first["invoices"])
    assert len(day.visma_after_second["suppliers"]) == len(day.visma_after_first["suppliers"])
