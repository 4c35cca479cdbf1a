"""Read what Ramp and Visma show of the accounting fields, for binding them. Reads only.

From Ramp (its chart only when it has an active accounting connection): every accounting field
(``/accounting/fields``) with its options (``/accounting/field-options``), the GL accounts
(``/accounting/accounts``, whose ``gl_account_category_info`` names the GL field bills use), and
the selections on recent bills: at most ``BILL_SAMPLE`` bills created in the last
``BILL_WINDOW_DAYS`` days. Bills are where the category types show (``category_info.type``),
and where a field Ramp does not list (a direct connection's, or one since deleted) still
appears. From Visma: the connection's master data (the
accounts, each SUBACCOUNT segment's values, the projects, the VAT codes).

``RampFields`` also keeps each option's display value, which the mapping catalog stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ml_connector.clients import RampClient
from ml_connector.clients.ramp_models import AccountingFieldSelection, Bill
from ml_connector.flows.coding import field_key
from ml_connector.mapping.field_evidence import FieldFacts, SegmentValues, VismaValues
from ml_connector.mapping.master_data import MasterData

__all__ = [
    "BILL_SAMPLE",
    "BILL_WINDOW_DAYS",
    "RampFields",
    "read_ramp_fields",
    "visma_values",
]

BILL_SAMPLE = 200
BILL_WINDOW_DAYS = 180


@dataclass
class _Field:
    """What has been seen of one field so far."""

    ramp_id: str = ""
    name: str = ""
    types: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    options: dict[str, str] = field(default_factory=dict)  # option ERP id → display value
    gl_category: bool = False
    listed: bool = False  # Ramp's field list has it (else it was only seen on bills)

    def facts(self, key: str) -> FieldFacts:
        return FieldFacts(
            field=key,
            ramp_id=self.ramp_id,
            name=self.name,
            types=frozenset(self.types),
            option_ids=frozenset(self.ids),
            option_codes=frozenset(self.codes),
            gl_category=self.gl_category,
        )


@dataclass
class RampFields:
    """Every field seen, by binding key, and how many bills were sampled."""

    fields: dict[str, _Field] = field(default_factory=dict)
    bills_read: int = 0

    def facts(self) -> list[FieldFacts]:
        return [seen.facts(key) for key, seen in sorted(self.fields.items())]

    def options(self, key: str) -> dict[str, str]:
        return dict(self.fields[key].options) if key in self.fields else {}

    def listed(self) -> list[str]:
        """Keys of the fields Ramp's field list (or GL category) holds, sorted."""
        return sorted(k for k, seen in self.fields.items() if seen.listed)

    def entry(self, key: str) -> _Field:
        return self.fields.setdefault(key, _Field())

    def saw_selections(self, selections: Iterable[AccountingFieldSelection]) -> None:
        for sel in selections:
            category = sel.category_info
            seen = self.entry(field_key(category))
            seen.ramp_id = seen.ramp_id or category.id
            seen.name = seen.name or category.name
            if category.type:
                seen.types.add(category.type)
            if sel.external_id:
                seen.ids.add(sel.external_id)
                seen.options.setdefault(sel.external_id, sel.name or sel.external_id)
            if sel.external_code:
                seen.codes.add(sel.external_code)

    def saw_bill(self, bill: Bill) -> None:
        self.bills_read += 1
        self.saw_selections(bill.accounting_field_selections)
        for line in bill.line_items:
            self.saw_selections(line.accounting_field_selections)
        for item in bill.inventory_line_items:
            self.saw_selections(item.accounting_field_selections)


async def _read_listed(ramp: RampClient, found: RampFields) -> None:
    async for custom in ramp.list_fields():
        seen = found.entry(custom.id or f"ramp:{custom.ramp_id}")
        seen.ramp_id, seen.listed = custom.ramp_id, True
        seen.name = custom.name or custom.display_name or seen.name
        async for option in ramp.list_field_options(custom.ramp_id):
            if option.id:
                seen.ids.add(option.id)
                seen.options[option.id] = option.value or option.display_name or option.id
            if option.code:
                seen.codes.add(option.code)
    async for account in ramp.list_gl_accounts():
        category = account.gl_account_category_info
        if category is None or not category.id:
            continue  # bills still show the GL field, typed GL_ACCOUNT
        seen = found.entry(category.id)
        seen.gl_category = seen.listed = True
        seen.ramp_id = category.ramp_id or seen.ramp_id
        seen.name = category.name or seen.name
        if account.id:
            seen.ids.add(account.id)
            seen.options[account.id] = account.name
        if account.code:
            seen.codes.add(account.code)


async def read_ramp_fields(
    ramp: RampClient,
    *,
    now: datetime | None = None,
    bill_sample: int = BILL_SAMPLE,
    window_days: int = BILL_WINDOW_DAYS,
) -> RampFields:
    """Ramp's fields, options, GL category and the selections on a bounded sample of bills."""
    found = RampFields()
    if await ramp.get_connection() is not None:  # without one, Ramp holds no chart to list
        await _read_listed(ramp, found)
    since = (now or datetime.now(UTC)) - timedelta(days=window_days)
    async for bill in ramp.list_bills(from_created_at=since):
        found.saw_bill(bill)
        if found.bills_read >= bill_sample:
            break
    return found


def visma_values(master: MasterData, tasks: Iterable[str] = ()) -> VismaValues:
    """The values a line can take in Visma, from the connection's master data.

    Project tasks take part in the value overlap both as bare task ids and in the
    ``<project>/<task>`` form the chart push's task options use; ``tasks`` adds more.
    """
    task_ids = set(tasks)
    for project_id, project in master.projects.items():
        for task_id in project.tasks:
            task_ids.update((task_id, f"{project_id}/{task_id}"))
    return VismaValues(
        accounts=frozenset(master.accounts),
        segments={
            sid: SegmentValues(segment.description, frozenset(segment.values))
            for sid, segment in master.segments.items()
        },
        projects=frozenset(master.projects),
        tasks=frozenset(task_ids),
        vat=frozenset(master.vat_codes),
    )
