"""What ``GET /_sandbox/state`` answers of a Ramp sandbox: counts of every kind of object and,
unless asked not to, every object as the public API renders it."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ml_connector.sandbox.ramp import render, render_chart, render_spend

if TYPE_CHECKING:
    from ml_connector.sandbox.ramp.sandbox import RampSandbox

__all__ = ["state_snapshot"]


def state_snapshot(sb: RampSandbox, *, objects: bool, base_url: str) -> dict[str, Any]:
    """Counts, and optionally every object, of the sandbox (as the API renders them)."""
    state = sb.state
    now = sb.clock()
    counts = _counts(sb)
    out: dict[str, Any] = {
        "business_id": state.business_id,
        "company_name": state.company_name,
        "base_currency": state.base_currency,
        "sync_on_creation": state.sync_on_creation,
        "active_connection": (
            render_chart.connection(c) if (c := state.active_connection()) is not None else None
        ),
        "counts": counts,
    }
    if objects:
        out |= _objects(sb, base_url, now)
    return out


def _counts(sb: RampSandbox) -> dict[str, int]:
    """How many of each object the sandbox holds."""
    state = sb.state
    return {
        "entities": len(state.entities),
        "vendors": len(state.vendors),
        "bills": len(state.bills),
        "bills_sync_ready": sum(state.is_sync_ready(b) for b in state.bills.values()),
        "purchase_orders": len(state.purchase_orders),
        "gl_accounts": len(state.gl_accounts),
        "accounting_vendors": len(state.accounting_vendors),
        "fields": len(state.fields),
        "field_options": len(state.options),
        "users": len(state.users),
        "departments": len(state.departments),
        "locations": len(state.locations),
        "transactions": len(state.transactions),
        "transactions_sync_ready": sum(
            t.sync_status.value == "SYNC_READY" for t in state.transactions.values()
        ),
        "reimbursements": len(state.reimbursements),
        "reimbursements_sync_ready": sum(
            r.sync_status.value == "SYNC_READY" for r in state.reimbursements.values()
        ),
        "receipts": len(state.receipts),
        "statements": len(state.statements),
        "transfers": len(state.transfers),
        "syncs": len(state.syncs),
        "export_errors": len(state.export_errors),
        "webhook_subscriptions": len(sb.hub.subscriptions),
        "events": len(sb.hub.events),
        "webhook_deliveries": len(sb.webhooks.deliveries),
        "webhooks_pending": sb.webhooks.pending,
        "tokens": sb.tokens.issued,
        "requests": len(sb.journal.entries()),
    }


def _objects(sb: RampSandbox, base_url: str, now: float) -> dict[str, Any]:
    """Every object of the sandbox, as the API renders it (vendors as of ``now``)."""
    state = sb.state
    return {
        "entities": [render.entity(state, e) for e in state.entities.values()],
        "vendors": [render.vendor(state, v, now, detail=True) for v in state.vendors.values()],
        "bills": [
            render.bill(state, b, sb.files.urls(b, base_url))
            | {"sync_ready": state.is_sync_ready(b)}
            for b in state.bills.values()
        ],
        "purchase_orders": [
            render.purchase_order(state, o, detail=True) for o in state.purchase_orders.values()
        ],
        "connections": [render_chart.connection(c) for c in state.connections.values()],
        "gl_accounts": [render_chart.gl_account(state, a) for a in state.gl_accounts.values()],
        "accounting_vendors": [
            render_chart.accounting_vendor(state, v) for v in state.accounting_vendors.values()
        ],
        "fields": [render_chart.custom_field(f) for f in state.fields.values()],
        "field_options": [
            render_chart.field_option(o) | {"field_ramp_id": o.field_ramp_id}
            for o in state.options.values()
        ],
        "departments": [render_spend.department(d) for d in state.departments.values()],
        "locations": [render_spend.location(p) for p in state.locations.values()],
        "users": [render_spend.user(state, u) for u in state.users.values()],
        "transactions": [render_spend.transaction(state, t) for t in state.transactions.values()],
        "reimbursements": [
            render_spend.reimbursement(state, r) for r in state.reimbursements.values()
        ],
        "statements": [
            render_spend.statement(state, s, sb.files.url(s.id, "statement", base_url))
            for s in state.statements.values()
        ],
        "transfers": [render_spend.transfer(t) for t in state.transfers.values()],
        "syncs": [asdict(s) for s in state.syncs.values()],
        "export_errors": [asdict(e) for e in state.export_errors],
        "webhook_subscriptions": [
            s.to_json(state.business_id) for s in sb.hub.subscriptions.values()
        ],
        "events": list(sb.hub.events),
        "webhook_deliveries": [asdict(d) for d in sb.webhooks.deliveries],
    }
