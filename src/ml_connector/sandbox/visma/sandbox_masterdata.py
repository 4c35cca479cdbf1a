"""``MasterDataControl``: the Python control methods of a Visma sandbox for master data, as
if keyed in by hand in Visma: accounts, SUBACCOUNT segment values, projects and their tasks,
suppliers. Each takes the company lock and publishes the webhook Visma would.

``VismaSandbox`` inherits these; the ``/_sandbox`` control API (``control.py``) calls them too.
"""

from __future__ import annotations

from typing import Any

from ml_connector.sandbox.visma.routes_suppliers import create_supplier
from ml_connector.sandbox.visma.state import (
    Account,
    CompanyState,
    Project,
    ProjectTask,
    SegmentValue,
)
from ml_connector.sandbox.visma.views import supplier_dto
from ml_connector.sandbox.visma.webhooks import EventPublisher
from ml_connector.sandbox.visma.wrappers import SUPPLIER_STATUSES

__all__ = ["MasterDataControl"]


class MasterDataControl:
    """Master-data control methods (mixed into ``VismaSandbox``)."""

    company_id: str
    companies: dict[str, CompanyState]
    events: EventPublisher

    @property
    def state(self) -> CompanyState:
        """The primary company's state."""
        return self.companies[self.company_id]

    def set_account_active(self, number: str, active: bool) -> None:
        company = self.state
        with company.lock:
            account = company.accounts[number]
            account.active = active
            company.touch(account)
            self.events.publish(company, "Account", "Updated", number, f"v1/account/{number}")

    def add_account(
        self,
        number: str,
        description: str,
        type: str = "Expense",
        *,
        active: bool = True,
        default_vat: str | None = None,
    ) -> None:
        company = self.state
        with company.lock:
            account = Account(
                company.next_internal_id(), number, description, type, active, default_vat
            )
            company.touch(account)
            company.accounts[number] = account
            self.events.publish(company, "Account", "Created", number, f"v1/account/{number}")

    def set_segment_value(
        self, segment_id: int, value: str, description: str | None = None, active: bool = True
    ) -> None:
        """Add or change a value of a SUBACCOUNT segment."""
        company = self.state
        with company.lock:
            segment = company.segments[segment_id]
            existing = segment.values.get(value) or SegmentValue(
                segment_id, value, description or value, active
            )
            if description is not None:
                existing.description = description
            existing.active = active
            segment.values[value] = existing
            company.touch(existing)
            company.touch(segment)
            self.events.publish(
                company,
                "Segment",
                "ValueChanged",
                f"{segment_id}/{value}",
                f"v1/dimension/SUBACCOUNT/{segment_id}",
            )

    def set_project(
        self,
        project_id: str,
        description: str | None = None,
        *,
        status: str | None = None,
        visible_in_ap: bool | None = None,
        visible_in_po: bool | None = None,
    ) -> None:
        """Add or change a project."""
        company = self.state
        with company.lock:
            project = company.projects.get(project_id)
            if project is None:
                project = Project(
                    company.next_internal_id(), project_id, description or project_id, "Active"
                )
                company.projects[project_id] = project
            if description is not None:
                project.description = description
            if status is not None:
                project.status = status
            if visible_in_ap is not None:
                project.visible_in_ap = visible_in_ap
            if visible_in_po is not None:
                project.visible_in_po = visible_in_po
            company.touch(project)
            self.events.publish(
                company, "Project", "Changed", project_id, f"v1/project/{project_id}"
            )

    def set_project_task(
        self,
        project_id: str,
        task_id: str,
        description: str | None = None,
        *,
        status: str | None = None,
        visible_in_ap: bool | None = None,
        visible_in_po: bool | None = None,
    ) -> None:
        """Add or change a task of an existing project (a Project Changed notification)."""
        company = self.state
        with company.lock:
            project = company.projects[project_id]
            task = project.tasks.get(task_id)
            if task is None:
                task = project.tasks[task_id] = ProjectTask(task_id, description or task_id)
            if description is not None:
                task.description = description
            if status is not None:
                task.status = status
            if visible_in_ap is not None:
                task.visible_in_ap = visible_in_ap
            if visible_in_po is not None:
                task.visible_in_po = visible_in_po
            company.touch(project)
            self.events.publish(
                company, "Project", "Changed", project_id, f"v1/project/{project_id}"
            )

    def set_supplier_status(self, number: str, status: str) -> None:
        """Change a supplier's status (``OnHold`` or ``Inactive`` block new documents)."""
        if status not in SUPPLIER_STATUSES:
            raise ValueError(f"unknown supplier status {status!r}")
        company = self.state
        with company.lock:
            supplier = company.suppliers[number]
            supplier.status = status
            company.touch(supplier)
            self.events.publish(company, "Supplier", "Updated", number, f"v1/supplier/{number}")

    def add_supplier(
        self,
        name: str,
        *,
        number: str | None = None,
        currency: str | None = None,
        country: str | None = None,
        corporate_id: str | None = None,
        vat_registration_id: str | None = None,
        status: str = "Active",
    ) -> dict[str, Any]:
        """Create a supplier as if keyed in by hand; returns its read shape."""
        if status not in SUPPLIER_STATUSES:
            raise ValueError(f"unknown supplier status {status!r}")
        data: dict[str, Any] = {"name": name, "status": status}
        for key, value in (
            ("number", number),
            ("currencyId", currency),
            ("corporateId", corporate_id),
            ("vatRegistrationId", vat_registration_id),
        ):
            if value is not None:
                data[key] = value
        if country is not None:
            data["mainAddress"] = {"countryId": country}
        company = self.state
        with company.lock:
            supplier = create_supplier(company, data)
            self.events.publish(
                company, "Supplier", "Created", supplier.number, f"v1/supplier/{supplier.number}"
            )
            return supplier_dto(supplier, note=True)
