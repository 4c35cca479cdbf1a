"""Load a ``seed.Dataset`` into a fresh ``RampState``: the Ramp side of the demo company.

What the Ramp side holds after loading:
- the entities; the vendors, each with one default contact (organisation and VAT numbers
  become onboarding form answers);
- when the dataset gives Ramp a chart of its own (``Dataset.ramp_chart``): an active accounting
  connection under its provider name holding exactly that chart (the customer's field ids,
  names, category types, options and GL accounts under its own GL category id);
- otherwise, when the dataset has a chart of accounts: an active accounting connection
  ("Visma.net ERP") with the chart mirrored into Ramp's accounting API, as if the connector had
  pushed it:
  GL accounts (ERP id = account number), and custom fields ``seed.FIELD_COST_CENTRE`` /
  ``FIELD_DEPARTMENT`` (one per SUBACCOUNT segment), ``FIELD_PROJECT`` and ``FIELD_VAT``
  with one option per Visma value, and ``FIELD_TASK`` with one option per task of a project
  (``<project id>/<task id>``, named "project · task"; active for active AP tasks of active
  AP projects), as the chart push makes them;
- purchase orders and bills, their lines (and bill-level ``selections``) coded by ERP id.
  Coding that the chart lacks (a bill coded to an account Visma does not have) is created on
  demand on the Ramp side only.

Loading emits no webhooks: the objects existed before anyone could subscribe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp.chart import ensure_selection, new_field, new_gl_account, new_option
from ml_connector.sandbox.ramp.model import (
    AccountingConnection,
    ApprovalStatus,
    Bill,
    BillLine,
    Entity,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
    VendorContact,
    credit_memo,
)
from ml_connector.sandbox.ramp.seeding_lines import LineSpec, control_line, line_selections
from ml_connector.sandbox.ramp.seeding_spend import load_entity_accounts, load_spend
from ml_connector.sandbox.ramp.state import RampState, new_id

__all__ = ["SEED_PROVIDER_NAME", "LineSpec", "control_line", "line_selections", "load_dataset"]

SEED_PROVIDER_NAME = "Visma.net ERP"
_CLASSIFICATION = {
    "Asset": "ASSET",
    "Liability": "LIABILITY",
    "Income": "REVENUE",
    "Expense": "EXPENSE",
}


def load_dataset(dataset: seed.Dataset, clock: Callable[[], float]) -> RampState:
    """A new business holding ``dataset``'s Ramp-side objects."""
    state = RampState.blank(dataset.company_name, dataset.base_currency)
    state.form_labels = dataset.vendor_form_labels
    now = clock()
    state.created_at = now - 3 * 365 * 86_400  # the business joined Ramp before its history
    for entity in dataset.entities:
        state.entities[entity.id] = Entity(
            entity.id, entity.name, entity.currency, entity.is_primary, seq=state.next_seq()
        )
    if dataset.ramp_chart is not None:
        _load_own_chart(state, dataset.ramp_chart, now)
    elif dataset.accounts:
        _load_chart(state, dataset, now)
    for supplier in dataset.vendors:
        _load_vendor(state, supplier, now)
    for order in dataset.purchase_orders:
        _load_purchase_order(state, order, clock, now)
    for bill in dataset.bills:
        _load_bill(state, bill, clock, now)
    load_entity_accounts(state, dataset, now)
    load_spend(state, dataset, clock, now)
    return state


def _load_chart(state: RampState, dataset: seed.Dataset, now: float) -> None:
    connection = AccountingConnection(
        id=new_id(),
        remote_provider_name=SEED_PROVIDER_NAME,
        created_at=now,
        last_linked_at=now,
        seq=state.next_seq(),
    )
    state.connections[connection.id] = connection
    for account in dataset.accounts:
        created = new_gl_account(
            state,
            now,
            account.number,
            account.description,
            classification=_CLASSIFICATION.get(account.type, "UNKNOWN"),
            code=account.number,
            connection_id=connection.id,
        )
        created.is_active = account.active
    for segment in dataset.segments:
        if segment.segment_id == seed.COST_CENTRE_SEGMENT:
            remote_id, name = seed.FIELD_COST_CENTRE, "Cost centre"
        elif segment.segment_id == seed.DEPARTMENT_SEGMENT:
            remote_id, name = seed.FIELD_DEPARTMENT, "Department"
        else:
            remote_id, name = f"subaccount-{segment.segment_id}", segment.description
        custom = new_field(state, now, remote_id, name, connection_id=connection.id)
        for value in segment.values:
            option = new_option(
                state, now, custom.ramp_id, value.value, value.description, code=value.value
            )
            option.is_active = value.active
    if dataset.projects:
        custom = new_field(state, now, seed.FIELD_PROJECT, "Project", connection_id=connection.id)
        for project in dataset.projects:
            option = new_option(state, now, custom.ramp_id, project.project_id, project.description)
            option.code = project.project_id
            option.is_active = project.status == "Active" and project.visible_in_ap
    if any(project.tasks for project in dataset.projects):
        _load_tasks(state, dataset, now, connection.id)
    if dataset.vat_codes:
        custom = new_field(state, now, seed.FIELD_VAT, "VAT code", connection_id=connection.id)
        for vat in dataset.vat_codes:
            new_option(
                state,
                now,
                custom.ramp_id,
                vat.vat_id,
                f"{vat.vat_id} {vat.description}",
                code=vat.vat_id,
            )


def _load_tasks(state: RampState, dataset: seed.Dataset, now: float, connection_id: str) -> None:
    """The task field as the chart push makes it: ``<project>/<task>`` ids, "project · task"."""
    custom = new_field(state, now, seed.FIELD_TASK, "Project task", connection_id=connection_id)
    for project in dataset.projects:
        usable = project.status == "Active" and project.visible_in_ap
        for task in project.tasks:
            remote_id = f"{project.project_id}/{task.task_id}"
            name = f"{project.project_id} · {task.task_id} {task.description}"
            option = new_option(state, now, custom.ramp_id, remote_id, name, code=remote_id)
            option.is_active = usable and task.status == "Active" and task.visible_in_ap


def _load_own_chart(state: RampState, chart: seed.SeedRampChart, now: float) -> None:
    """A customer's chart as it stood before the connector: its own ids, names and types."""
    connection = AccountingConnection(
        id=new_id(),
        remote_provider_name=chart.provider_name,
        created_at=now,
        last_linked_at=now,
        seq=state.next_seq(),
    )
    state.connections[connection.id] = connection
    state.gl_category_id, state.gl_category_name = chart.gl_category_id, chart.gl_category_name
    for account in chart.gl_accounts:
        created = new_gl_account(
            state,
            now,
            account.id,
            account.name,
            classification=account.classification,
            code=account.code,
            connection_id=connection.id,
        )
        created.is_active = account.active
    for own in chart.fields:
        custom = new_field(
            state,
            now,
            own.id,
            own.name,
            is_required_for=list(own.required_for),
            connection_id=connection.id,
        )
        custom.category_type = own.category_type
        for choice in own.options:
            option = new_option(
                state, now, custom.ramp_id, choice.id, choice.value, code=choice.code
            )
            option.is_active = choice.active


def _load_vendor(state: RampState, supplier: seed.SeedVendor, now: float) -> None:
    record = Vendor(
        id=supplier.id,
        name=supplier.name,
        country=supplier.country,
        created_at=now,
        owner_id=state.owner.id,
        address_line_1=supplier.address_line_1,
        city=supplier.city,
        postal_code=supplier.postal_code,
        currency=supplier.currency,
        org_number=supplier.org_number,
        vat_number=supplier.vat_number,
        form_answers=list(supplier.form_answers),
        description=supplier.description,
        name_legal=supplier.name_legal,
        net_payment_terms=supplier.net_payment_terms,
        seq=state.next_seq(),
    )
    person = VendorContact(
        id=new_id(), vendor_id=record.id, email=supplier.email, seq=state.next_seq()
    )
    record.contact_ids.append(person.id)
    state.vendors[record.id] = record
    state.contacts[person.id] = person


def _created_at(day: date, now: float) -> float:
    """Seeded objects look created on their issue date (09:00 UTC), never in the future."""
    return min(now, datetime.combine(day, time(9), tzinfo=UTC).timestamp())


def _load_purchase_order(
    state: RampState, order: seed.SeedPurchaseOrder, clock: Callable[[], float], now: float
) -> None:
    state.purchase_orders[order.id] = PurchaseOrder(
        id=order.id,
        entity_id=order.entity_id or state.primary_entity_id(),
        currency=order.currency,
        created_at=now,
        number=order.number,
        vendor_id=order.vendor_id,
        memo=order.memo or None,
        promise_date=order.promise_date,
        lines=[
            PurchaseOrderLine(
                new_id(), line.amount_minor, 1, line.memo, line_selections(state, clock, line)
            )
            for line in order.lines
        ],
        seq=state.next_seq(),
    )


def _load_bill(
    state: RampState, item: seed.SeedBill, clock: Callable[[], float], now: float
) -> None:
    supplier = state.vendors[item.vendor_id]
    state.bills[item.id] = Bill(
        id=item.id,
        vendor_id=item.vendor_id,
        vendor_contact_id=supplier.contact_ids[0] if supplier.contact_ids else None,
        entity_id=item.entity_id or state.primary_entity_id(),
        invoice_number=item.invoice_number,
        currency=item.currency,
        issued_at=item.issued_at,
        due_at=item.due_at,
        created_at=_created_at(item.issued_at, now),
        lines=[
            BillLine(line.amount_minor, line.memo, line_selections(state, clock, line))
            for line in item.lines
        ],
        approval_status=ApprovalStatus(item.approval_status),
        memo=credit_memo(item.memo, item.is_credit),
        purchase_order_id=item.purchase_order_id,
        is_credit=item.is_credit,
        selections=[ensure_selection(state, clock, f, v) for f, v in item.selections],
        seq=state.next_seq(),
    )
