"""Ramp vendors and Visma suppliers as people look at them: the proposed links (a dry run)."""

from __future__ import annotations

from ml_connector.app.connections import connection_named
from ml_connector.app.principal import Actor, Permission
from ml_connector.runtime.vendor_match import SupplierProposal
from ml_connector.runtime.vendor_match import propose_supplier_links as _propose
from ml_connector.runtime.wiring import Runtime

__all__ = ["SupplierProposal", "propose_supplier_links"]


async def propose_supplier_links(actor: Actor, rt: Runtime, name: str) -> list[SupplierProposal]:
    """The proposed link or creation for each active Ramp vendor of the connection."""
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.VIEW, connection.id, "match suppliers")
    return await _propose(rt, connection.name)
