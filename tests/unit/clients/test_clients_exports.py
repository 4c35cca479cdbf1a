"""The clients package exports exactly its curated public names."""

from __future__ import annotations

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


def test_default_scopes_match_the_brief() -> None:
    """Ramp asks for the eight scopes the flows need; Visma for the four service-API verbs."""
    assert set(clients.DEFAULT_RAMP_SCOPES) == {
        "bills:read",
        "bills:write",
        "vendors:read",
        "vendors:write",
        "accounting:read",
        "accounting:write",
        "purchase_orders:read",
        "entities:read",
    }
    assert clients.DEFAULT_VISMA_SCOPES == (
        "vismanet_erp_service_api:read",
        "vismanet_erp_service_api:create",
        "vismanet_erp_service_api:update",
        "vismanet_erp_service_api:delete",
    )
