"""The clients package exports exactly its curated public names."""

from __future__ import annotations

from pydantic import SecretStr

import ml_connector.clients as clients


def test_public_names_are_pinned() -> None:
    """Adding or dropping a public name is a deliberate change to this list."""
    assert sorted(clients.__all__) == [
        "CallRecord",
        "DEFAULT_RAMP_SCOPES",
        "DEFAULT_VISMA_SCOPES",
        "RampClient",
        "RampCredentials",
        "TokenInfo",
        "VismaClient",
        "VismaCredentials",
        "classify",
        "decode_json",
        "encode_json",
    ]
    for name in clients.__all__:
        assert getattr(clients, name) is not None


def test_default_scopes_are_what_the_core_flows_use() -> None:
    """Ramp: bills, vendors and accounting (purchase orders optional); Visma: read, create and
    update (delete optional). Nothing the flows never use, such as bills:write."""
    assert set(clients.DEFAULT_RAMP_SCOPES) == {
        "bills:read",
        "vendors:read",
        "vendors:write",
        "accounting:read",
        "accounting:write",
    }
    assert "purchase_orders:read" in clients.RampCredentials("id", SecretStr("s")).optional_scopes
    assert clients.DEFAULT_VISMA_SCOPES == (
        "vismanet_erp_service_api:read",
        "vismanet_erp_service_api:create",
        "vismanet_erp_service_api:update",
    )
