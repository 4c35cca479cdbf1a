"""Vendor credits: Ramp has no credit flag, so the ``[CREDIT]`` memo rule is ours, and off.

Ramp's bill has no credit flag and its API refuses negative line amounts; the test company
marks its credit with a ``[CREDIT]`` memo, a convention of this connector and its sandbox.
Without the connection's rule that bill is an ordinary invoice; with it, a ``DebitAdj``.
"""

from __future__ import annotations

from pathlib import Path

from integration.core.company import BILL_KJELL, BILL_KJELL_CREDIT, core_dataset
from integration.core.world import open_world, operator_settings
from ml_connector.runtime.features import FeatureChange, merged_feature_settings


def _without_rule() -> dict[str, object]:
    settings = operator_settings(core_dataset())
    settings.pop("credit_memo_prefix")
    return settings


async def test_without_the_rule_a_credit_memo_is_just_a_memo(tmp_path: Path) -> None:
    """Off by default: the [CREDIT] bill becomes an Invoice, like any other bill."""
    async with open_world(tmp_path, connection_settings=_without_rule()) as world:
        assert world.ramp.state.bills[BILL_KJELL_CREDIT].memo.startswith("[CREDIT]")

        await world.sync()

        assert world.invoice_of(BILL_KJELL_CREDIT)["documentType"] == "Invoice"
        assert world.invoice_of(BILL_KJELL)["documentType"] == "Invoice"


async def test_turning_the_rule_on_makes_marked_bills_debit_adjustments(tmp_path: Path) -> None:
    """``connection set --credit-memo-prefix "[CREDIT]"``: the marked bill becomes a DebitAdj."""
    async with open_world(tmp_path, connection_settings=_without_rule()) as world:
        connection = await world.runtime.store.get_connection(world.name)
        merged = merged_feature_settings(
            connection.settings.as_stored(), FeatureChange(credit_memo_prefix="[CREDIT]")
        )
        await world.runtime.store.update_connection_settings(connection.id, merged)

        await world.sync()

        credit = world.invoice_of(BILL_KJELL_CREDIT)
        assert credit["documentType"] == "DebitAdj"
        assert world.invoice_of(BILL_KJELL)["documentType"] == "Invoice"
        stored = await world.runtime.store.get_connection(world.name)
        assert stored.settings.credit_memo_prefix == "[CREDIT]"
        cleared = merged_feature_settings(
            stored.settings.as_stored(), FeatureChange(credit_memo_prefix="")
        )
        assert cleared["credit_memo_prefix"] is None  # "" turns the rule off again
