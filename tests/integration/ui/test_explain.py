"""Stopped records explained in finance language, and deep links into Ramp and Visma."""

from __future__ import annotations

import pytest

from ml_connector.app.explain import explain, ramp_link, visma_link
from ml_connector.connection_settings import ConnectionSettings

VISMA_ID = "VismaId: 0f8d2c1e-7a41-4b4e-9a59-1c2d3e4f5a6b. "


@pytest.mark.parametrize(
    ("text", "message", "fix_start"),
    [
        (
            "Error: Financial period 11-2026 is closed in Supplier ledger.",
            "Period 11-2026 is closed in Visma.",
            "Open the period",
        ),
        (
            "Error: Line 2: Account '6999' cannot be found in the system.",
            "GL account 6999 does not exist in Visma (Line 2).",
            "Map 6999 to an existing account",
        ),
        (
            "Error: Supplier '50012' has status Hold; no documents can be entered for it.",
            "Supplier 50012 is Hold in Visma, so no invoices can be entered for it.",
            "Activate the supplier",
        ),
        (
            "Error: Line 1: Segment value '999' of segment 1 (Avdeling) is inactive.",
            "Avdeling 999 is inactive in Visma (Line 1).",
            "Add or reactivate 999",
        ),
        (
            "Error: Line 1: TaxID '77' cannot be found in the system.",
            "VAT code 77 does not exist in Visma (Line 1).",
            "Map the account to a valid VAT code",
        ),
        (
            "Error: Line 1: 'Project Task' cannot be empty.",
            "A project line names no project task, and Visma requires one (Line 1).",
            "Code the task in Ramp's project task field",
        ),
        (
            "Error: Line 2: Project task '02' of project 'P100' has status Completed.",
            "Project task 02 of project P100 has status Completed in Visma (Line 2).",
            "Code an active task of the project",
        ),
        (
            "Error: Line 2: Project task '09' cannot be found in project 'P100'.",
            "Project task 09 of project P100 does not exist in Visma (Line 2).",
            "Code an active task of the project",
        ),
        (
            "Error: Line 1: TaxID '8' is not valid after 2026-03-05.",
            "VAT code 8 is no longer valid in Visma (its last day was 2026-03-05) (Line 1).",
            "Code the line to a VAT code that is valid",
        ),
    ],
)
def test_visma_refusals_become_sentences(text: str, message: str, fix_start: str) -> None:
    """Visma's validation texts become one sentence and one fix; Visma's id is kept."""
    said = explain("http_400", VISMA_ID + text, "Fix what visma names, then replay the record.")
    assert said.message == message
    assert said.fix.startswith(fix_start)
    assert said.vendor_reference == "0f8d2c1e-7a41-4b4e-9a59-1c2d3e4f5a6b"
    assert said.vendor_text == text.removeprefix("Error: ")


def test_unknown_visma_text_is_quoted_verbatim() -> None:
    """A Visma text without a known pattern is shown as Visma wrote it."""
    said = explain("http_400", VISMA_ID + "Error: Something new went wrong.", "")
    assert said.message == "Visma refused the document: Something new went wrong."
    assert said.fix == "Fix what Visma names, then retry."


def test_exhausted_retries_and_rate_limits_say_nothing_is_wrong_with_the_bill() -> None:
    """Giving up after vendor failures points at the vendor, not at the data."""
    outage = explain(
        "retriable", "Gave up after 8 attempts: visma HTTP 503 (POST /x): unavailable", None
    )
    limited = explain("retriable", "Gave up after 8 attempts: visma HTTP 429: slow down", None)
    assert outage.message == "Visma did not answer properly after 8 attempts."
    assert outage.fix.startswith("Nothing to fix in the bill")
    assert limited.message == "The vendor's rate limit was reached too often."


def test_preflight_messages_keep_their_words_and_hint() -> None:
    """Pre-flight messages are finance language already: kept, with their hint."""
    said = explain(
        "period_closed",
        "Period 09-2026 is closed in the supplier ledger",
        "Reopen the period in Visma, or change the bill's accounting date in Ramp.",
    )
    assert said.message == "Period 09-2026 is closed in the supplier ledger."
    assert said.fix.startswith("Reopen the period")


def test_paused_connection_is_explained() -> None:
    """A record deferred by a paused connection says who must act."""
    said = explain("credentials", "visma rejected the client id or secret", None)
    assert "paused" in said.message
    assert said.fix.startswith("An admin updates the credentials")


def test_deep_links_follow_settings_and_document_types() -> None:
    """Links use the connection's app URLs, with production defaults."""
    assert (
        ramp_link(ConnectionSettings.parse({}), "bill", "b-1") == "https://app.ramp.com/bills/b-1"
    )
    assert (
        ramp_link(
            ConnectionSettings.parse({"ramp_app_url": "https://demo.ramp.test/"}),
            "purchase_order",
            "po 1",
        )
        == "https://demo.ramp.test/procurement/purchase-orders/po%201"
    )
    assert visma_link(ConnectionSettings.parse({}), "bill", None) is None
    assert (
        visma_link(
            ConnectionSettings.parse({"visma_app_url": "https://erp.test"}),
            "bill",
            "Invoice/000123",
        )
        == "https://erp.test/?ScreenId=AP301000&DocType=Invoice&RefNbr=000123"
    )
    assert visma_link(ConnectionSettings.parse({}), "purchase_order", "PO0042") == (
        "https://erp.visma.net/?ScreenId=PO301000&OrderType=RO&OrderNbr=PO0042"
    )
