"""Pre-flight checks: what Visma would reject, caught first, in finance language."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ml_connector.errors import NeedsAttention
from ml_connector.mapping.coding import ResolvedLine
from ml_connector.mapping.preflight import (
    AccountInfo,
    MasterData,
    PeriodInfo,
    ProjectInfo,
    SegmentInfo,
    check_invoice,
    period_label,
)

MASTER = MasterData(
    accounts={"6800": AccountInfo("Kontorrekvisita", True), "6590": AccountInfo("Annet", False)},
    segments={1: SegmentInfo("Kostnadssted", True, {"100": True, "950": False})},
    projects={
        "X": ProjectInfo("Active", True),
        "P1": ProjectInfo("Active", True),
        "P5": ProjectInfo("Completed", True),
        "P6": ProjectInfo("Active", False),
    },
    vat_codes=frozenset({"0", "1"}),
    periods={"202611": PeriodInfo(False), "202609": PeriodInfo(True)},
    currencies=frozenset({"NOK", "EUR"}),
)


def line(**changes: object) -> ResolvedLine:
    base: dict[str, object] = {
        "line_number": 1,
        "description": "x",
        "amount": Decimal("10.00"),
        "quantity": Decimal(1),
        "account": "6800",
        "subaccount": ((1, "100"),),
        "project": "X",
        "vat_code": "1",
    }
    base.update(changes)
    return ResolvedLine(**base)  # type: ignore[arg-type]


def check(*lines: ResolvedLine, period: str = "202611", currency: str = "NOK") -> None:
    check_invoice(financial_period=period, currency=currency, lines=list(lines), master=MASTER)


def test_clean_invoice_passes() -> None:
    """A fully valid document raises nothing."""
    check(line())


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"period": "202609"}, "period_closed", "Period 09-2026 is closed in the supplier ledger"),
        ({"period": "202701"}, "period_missing", "01-2027 does not exist"),
        ({"currency": "SEK"}, "currency_disabled", "SEK is not enabled"),
    ],
)
def test_document_level_failures(kwargs: dict[str, str], code: str, words: str) -> None:
    """Closed or missing periods and disabled currencies stop the document with a hint."""
    with pytest.raises(NeedsAttention) as info:
        check(line(), **kwargs)
    assert info.value.code == code
    assert words in info.value.message
    assert info.value.hint


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"account": "6999"}, "account_unknown"),
        ({"account": "6590"}, "account_inactive"),
        ({"subaccount": ((1, "950"),)}, "segment_value_inactive"),
        ({"subaccount": ((1, "777"),)}, "segment_value_unknown"),
        ({"subaccount": ((3, "1"),)}, "segment_unknown"),
        ({"project": "P9"}, "project_unknown"),
        ({"project": "P5"}, "project_inactive"),
        ({"project": "P6"}, "project_not_in_ap"),
        ({"vat_code": "99"}, "vat_unknown"),
    ],
)
def test_line_level_failures(changes: dict[str, object], code: str) -> None:
    """Each invalid line value is named, with the line number, before any call."""
    with pytest.raises(NeedsAttention) as info:
        check(line(), line(line_number=2, **changes))
    assert info.value.code == code
    assert info.value.message.startswith("Line 2")


def test_period_label_reads_like_visma() -> None:
    """Periods print as MM-YYYY, the way Visma shows them."""
    assert period_label("202611") == "11-2026"
