"""Which OAuth scopes a connection asks Ramp and Visma for: only what its enabled flows use.

Ramp (ramp-api.md §2.4; scopes are ``resource:permission``):

- required: ``bills:read`` (F1 bills, their payments, bill webhooks), ``vendors:read`` and
  ``vendors:write`` (F2: a bill's vendor, linked to its supplier), ``accounting:read`` and
  ``accounting:write`` (F4 chart push, accounting vendors, F6 syncs);
- optional: ``purchase_orders:read`` (F3 and PO-matched bills), only when they are turned on.

Nothing asks for ``bills:write`` (the connector never changes a bill), ``entities:read`` or
any other scope. Visma (reference §2.1: ``vismanet_erp_service_api:read|create|update|
delete``): ``read``, ``create`` and ``update`` (writes, and release actions, which an
integrator note assumes need ``update``) are required; ``delete`` is optional: it only removes
the draft invoice of a bill archived in Ramp, which otherwise needs a person.

A missing **required** scope fails ``ping`` and stops the flows. A missing **optional** one
is named by ``ping`` and only the part that needs it stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.flows.po_plan import ProcurementOptions

__all__ = ["ScopePlan", "scope_plan"]

_VISMA = "vismanet_erp_service_api"
RAMP_CORE = ("bills:read", "vendors:read", "vendors:write", "accounting:read", "accounting:write")
VISMA_CORE = tuple(f"{_VISMA}:{verb}" for verb in ("read", "create", "update"))


@dataclass(frozen=True)
class ScopePlan:
    """Scopes per system: required ones, optional ones, and what each optional one is for."""

    ramp_required: tuple[str, ...]
    ramp_optional: tuple[str, ...]
    visma_required: tuple[str, ...]
    visma_optional: tuple[str, ...]
    purpose: Mapping[str, str]  # optional scope → what stops without it, in plain words

    def explain(self, missing: tuple[str, ...]) -> str:
        """Plain words for optional scopes that were not granted."""
        return "; ".join(
            f"{scope} not granted: {self.purpose.get(scope, 'unused')}" for scope in missing
        )


def scope_plan(settings: ConnectionSettings) -> ScopePlan:
    """The scopes a connection with these stored ``settings`` asks for."""
    ramp_optional: list[str] = []
    purpose = {
        f"{_VISMA}:delete": "drafts of bills archived in Ramp are not deleted from Visma "
        "(those bills need a person)",
    }
    if ProcurementOptions.from_settings(settings).enabled:
        ramp_optional.append("purchase_orders:read")
        purpose["purchase_orders:read"] = "purchase orders and PO-matched bills do not sync"
    return ScopePlan(
        ramp_required=RAMP_CORE,
        ramp_optional=tuple(ramp_optional),
        visma_required=VISMA_CORE,
        visma_optional=(f"{_VISMA}:delete",),
        purpose=purpose,
    )
