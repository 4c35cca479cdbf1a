"""ConnectionSettings: a connection's stored settings parsed once, with the code's defaults."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError


def test_empty_settings_take_the_defaults() -> None:
    """Nothing stored: webhooks mode, weight 1, chart on, no retention, no sections."""
    settings = ConnectionSettings.parse({})
    assert settings.schedule_mode == "webhooks"
    assert (settings.poll_interval_s, settings.poll_cron) == (None, None)
    assert settings.claim_weight == 1
    assert settings.audit_retention_days is None
    assert settings.chart.enabled is True
    assert settings.chart.provider_name == "Visma.net ERP"
    assert settings.chart.overlap_s == 60.0
    assert (settings.payments, settings.purchase_orders, settings.suppliers) == ({}, {}, None)
    assert settings.mapping.vat_by_account == {}
    assert not settings.mapping.given("project_field")
    assert settings.attach_files is True
    assert settings.write_back is True
    assert settings.tax_calculation_mode == "Gross"
    assert settings.as_stored() == {}
    assert ConnectionSettings.parse(None).as_stored() == {}


def test_values_are_typed_and_the_stored_json_is_kept() -> None:
    """Text numbers become numbers; as_stored gives back exactly what was parsed."""
    stored: dict[str, Any] = {
        "claim_weight": "7",
        "poll_interval_s": "600",
        "audit_retention_days": 30,
        "credit_memo_prefix": "  [CREDIT] ",
        "mapping": {"default_vat": 0, "project_field": None},
        "chart": {"enabled": False, "full_interval_s": 90},
        "unknown_key": [1, 2],
    }
    settings = ConnectionSettings.parse(stored)
    assert settings.claim_weight == 7
    assert settings.poll_interval_s == 600.0
    assert settings.schedule_mode == "both"  # a schedule without a mode polls as well
    assert settings.audit_retention_days == 30.0
    assert settings.credit_memo_prefix == "[CREDIT]"
    assert settings.mapping.default_vat == "0"
    assert settings.mapping.given("project_field")
    assert settings.mapping.project_field is None
    assert (settings.chart.enabled, settings.chart.full_interval_s) == (False, 90.0)
    assert settings.model_extra == {"unknown_key": [1, 2]}
    assert settings.as_stored() == stored
    copy = settings.as_stored()
    copy["claim_weight"] = 3
    assert settings.as_stored() == stored  # a copy: changing it changes nothing


def test_sections_that_are_not_objects_read_as_absent() -> None:
    """Older rows with a non-object section parse, as the readers always allowed."""
    settings = ConnectionSettings.parse({"purchase_orders": "yes", "payments": None, "chart": 1})
    assert (settings.purchase_orders, settings.payments) == ({}, {})
    assert settings.chart.enabled is True


@pytest.mark.parametrize(
    ("stored", "field"),
    [
        ({"claim_weight": 0}, "claim_weight"),
        ({"claim_weight": True}, "claim_weight"),
        ({"mode": "sometimes"}, "mode"),
        ({"poll_interval_s": 0.5}, "poll_interval_s"),
        ({"poll_cron": "61 * * * *"}, "poll_cron"),
        ({"poll_interval_s": 60, "poll_cron": "* * * * *"}, "poll_cron"),
        ({"audit_retention_days": 0}, "audit_retention_days"),
        ({"credit_memo_prefix": 5}, "credit_memo_prefix"),
        ({"chart": {"batch_size": "many"}}, "chart.batch_size"),
        ({"mapping": {"segment_fields": {"dim": "x"}}}, "mapping.segment_fields.dim"),
        ({"suppliers": "all"}, "suppliers"),
    ],
)
def test_a_bad_value_names_its_field(stored: dict[str, Any], field: str) -> None:
    """ConfigurationError, naming the field, for each kind of bad value."""
    with pytest.raises(ConfigurationError, match=field.replace(".", r"\.")):
        ConnectionSettings.parse(stored)


@given(
    weight=st.integers(min_value=-5, max_value=150),
    days=st.floats(min_value=-10, max_value=10_000, allow_nan=False),
    interval=st.one_of(st.none(), st.floats(min_value=0, max_value=86_400, allow_nan=False)),
)
def test_valid_settings_round_trip_and_invalid_ones_are_refused(
    weight: int, days: float, interval: float | None
) -> None:
    """Whatever parses keeps its stored JSON; the checks agree with the documented ranges."""
    stored: dict[str, Any] = {"claim_weight": weight, "audit_retention_days": days}
    if interval is not None:
        stored["poll_interval_s"] = interval
    valid = 1 <= weight <= 100 and days > 0 and (interval is None or interval >= 1)
    if not valid:
        with pytest.raises(ConfigurationError):
            ConnectionSettings.parse(stored)
        return
    settings = ConnectionSettings.parse(stored)
    assert settings.as_stored() == stored
    assert settings.claim_weight == weight
    assert settings.audit_retention_days == days
    assert ConnectionSettings.parse(settings.as_stored()) == settings
