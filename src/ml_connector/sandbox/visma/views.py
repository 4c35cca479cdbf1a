"""Read shapes (``*Dto``) of master data, and the small reference objects documents embed.

Read DTOs are plain JSON (no ``{"value": …}`` wrappers). Fields the sandbox has no value for are
left out rather than sent as null, because the spec declares them without ``nullable``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ml_connector.sandbox.visma.responses import timestamp_of
from ml_connector.sandbox.visma.state import (
    Account,
    Attachment,
    CompanyState,
    Period,
    Project,
    ProjectTask,
    Segment,
    SegmentValue,
    Subaccount,
    Supplier,
    VatCode,
)

__all__ = [
    "account_dto",
    "account_ref",
    "attachment_dto",
    "period_dto",
    "project_dto",
    "project_ref",
    "segment_dto",
    "segment_value_dto",
    "subaccount_dto",
    "subaccount_ref",
    "supplier_dto",
    "task_dto",
    "task_ref",
    "vat_dto",
]

_VISIBILITY_FLAGS = ("Gl", "Ar", "So", "Ea", "Ta", "In", "Ca", "Cr")
_PERIOD_EPOCH = datetime(2000, 1, 1)


def account_dto(account: Account) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "accountID": account.account_id,
        "accountCD": account.number,
        "type": account.type,
        "active": account.active,
        "description": account.description,
        "useDefaultSub": False,
        "postOption": "Detail",
        "cashAccount": False,
        "lastModifiedDateTime": account.last_modified,
        "allowManualEntry": True,
    }
    if account.default_vat is not None:
        # The sandbox's VAT categories mirror VAT ids one to one.
        dto["taxCategory"] = account.default_vat
    return dto


def account_ref(company: CompanyState, number: str) -> dict[str, Any]:
    account = company.accounts.get(number)
    return {
        "type": account.type if account else "Expense",
        "active": account.active if account else False,
        "number": number,
        "description": account.description if account else "",
    }


def _segment_rows(company: CompanyState, segments: dict[int, str]) -> list[dict[str, Any]]:
    rows = []
    for segment_id in sorted(segments):
        segment = company.segments.get(segment_id)
        value = segment.values.get(segments[segment_id]) if segment else None
        rows.append(
            {
                "segmentId": segment_id,
                "segmentDescription": segment.description if segment else "",
                "segmentValue": segments[segment_id],
                "segmentValueDescription": value.description if value else "",
            }
        )
    return rows


def subaccount_ref(company: CompanyState, segments: dict[int, str]) -> dict[str, Any]:
    """The subaccount object embedded in a document line."""
    subaccount = company.subaccounts.get("-".join(segments[k] for k in sorted(segments)))
    return subaccount_dto(company, subaccount) if subaccount else {"segments": []}


def subaccount_dto(company: CompanyState, subaccount: Subaccount) -> dict[str, Any]:
    rows = _segment_rows(company, subaccount.segments)
    return {
        "subaccountNumber": subaccount.number,
        "subaccountId": subaccount.subaccount_id,
        "description": " / ".join(row["segmentValueDescription"] for row in rows),
        "lastModifiedDateTime": subaccount.last_modified,
        "active": subaccount.active,
        "segments": rows,
    }


def segment_value_dto(value: SegmentValue) -> dict[str, Any]:
    return {
        "internalId": value.internal_id,
        "segmentId": value.segment_id,
        "valueId": value.value,
        "description": value.description,
        "publicId": value.public_id,
        "active": value.active,
        "timeStamp": timestamp_of(value.version),
        "lastModified": value.last_modified,
    }


def segment_dto(segment: Segment, values: list[SegmentValue] | None) -> dict[str, Any]:
    """``DtoSegment``; ``values`` None leaves ``segmentValues`` out."""
    dto: dict[str, Any] = {
        "internalId": segment.internal_id,
        "segmentId": segment.segment_id,
        "description": segment.description,
        "length": segment.length,
        "publicId": segment.public_id,
        "timeStamp": timestamp_of(segment.version),
        "lastModified": segment.last_modified,
        "validate": segment.validate,
        "isAutoNumber": False,
    }
    if values is not None:
        dto["segmentValues"] = [segment_value_dto(value) for value in values]
    return dto


def project_ref(company: CompanyState, project_id: str) -> dict[str, Any]:
    project = company.projects.get(project_id)
    return {"id": project_id, "description": project.description if project else ""}


def task_ref(company: CompanyState, project_id: str | None, task_id: str) -> dict[str, Any]:
    """``projectTask{id, description}`` on a document line."""
    project = company.projects.get(project_id or "")
    task = project.tasks.get(task_id) if project is not None else None
    return {"id": task_id, "description": task.description if task else task_id}


def _visibility(visible_in_ap: bool, visible_in_po: bool) -> dict[str, bool]:
    visibility = {f"visibleIn{flag}": True for flag in _VISIBILITY_FLAGS}
    visibility["visibleInAp"] = visible_in_ap
    visibility["visibleInPo"] = visible_in_po
    return visibility


def task_dto(task: ProjectTask) -> dict[str, Any]:
    """``TaskDto``, as embedded in ``ProjectDto.tasks``."""
    return {
        "taskId": task.task_id,
        "description": task.description,
        "status": task.status,
        "restrictEmployees": False,
        "visibility": _visibility(task.visible_in_ap, task.visible_in_po),
        "employees": [],
        "attributes": [],
    }


def project_dto(project: Project) -> dict[str, Any]:
    visibility = _visibility(project.visible_in_ap, project.visible_in_po)
    return {
        "internalID": project.internal_id,
        "projectID": project.project_id,
        "hold": False,
        "status": project.status,
        "description": project.description,
        "restrictEmployees": False,
        "restrictEquipment": False,
        "visibility": visibility,
        "autoAllocate": False,
        "automaticReleaseAr": False,
        "lastModifiedDateTime": project.last_modified,
        "tasks": [task_dto(task) for task in project.tasks.values()],
        "publicId": project.public_id,
        "systemTemplate": False,
    }


def vat_dto(vat: VatCode) -> dict[str, Any]:
    dto = _vat_fields(vat)
    if vat.not_valid_after is not None:
        last = vat.not_valid_after
        dto["notValidAfter"] = datetime(last.year, last.month, last.day)
    return dto


def _vat_fields(vat: VatCode) -> dict[str, Any]:
    return {
        "vatId": vat.vat_id,
        "description": vat.description,
        "type": "Vat",
        "deductibleVat": False,
        "reverseVat": False,
        "statisticalVat": False,
        "pendingVat": False,
        "includeinVatExemptTotal": vat.rate == 0,
        "includeinVatTotal": vat.rate != 0,
        "calculateOn": "ItemAmount",
        "lastModifiedDateTime": vat.last_modified,
        "schedules": [{"startDate": _PERIOD_EPOCH, "vatRate": vat.rate}],
    }


def period_dto(period: Period) -> dict[str, Any]:
    """``FinancialPeriodDto``: the period id, its financial year and its own dates."""
    start, end = period.start, period.end
    return {
        "year": period.year,
        "period": period.period_id,
        "startDate": datetime(start.year, start.month, start.day),
        "endDate": datetime(end.year, end.month, end.day),
        "description": start.strftime("%B"),
        "active": period.active,
        "closedInSupplierLedger": period.closed_in_supplier_ledger,
        "closedInCustomerLedger": False,
        "closedInInventoryManagement": False,
        "closedInGeneralLedger": period.closed_in_general_ledger,
        "closedInCashManagement": False,
        "closedInFixedAssets": False,
    }


def attachment_dto(attachment: Attachment) -> dict[str, Any]:
    return {"name": attachment.name, "id": attachment.id, "revision": attachment.revision}


def _address(raw: object) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    address: dict[str, Any] = {
        key: raw[key]
        for key in ("addressLine1", "addressLine2", "addressLine3", "postalCode", "city")
        if raw.get(key) is not None
    }
    if raw.get("countryId"):
        address["country"] = {"id": raw["countryId"], "name": raw["countryId"]}
    if raw.get("county"):
        address["county"] = {"id": raw["county"], "name": raw["county"]}
    return address


def _contact(raw: object) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    return {key: value for key, value in raw.items() if value is not None}


def supplier_dto(supplier: Supplier, *, note: bool) -> dict[str, Any]:
    """``SupplierDto``: the typed core plus what the writes stored in ``details``."""
    details = supplier.details
    dto: dict[str, Any] = {
        "internalId": supplier.internal_id,
        "number": supplier.number,
        "name": supplier.name,
        "status": supplier.status,
        "lastModifiedDateTime": supplier.last_modified,
        "timeStamp": timestamp_of(supplier.version),
    }
    for field, value in (
        ("currencyId", supplier.currency_id),
        ("corporateId", supplier.corporate_id),
        ("vatRegistrationId", supplier.vat_registration_id),
        ("accountReference", details.get("accountReference")),
        ("documentLanguage", details.get("documentLanguage")),
        ("cashAccount", details.get("cashAccount")),
    ):
        if value is not None:
            dto[field] = value
    for field, key in (
        ("creditTerms", "creditTermsId"),
        ("paymentMethod", "paymentMethodId"),
        ("supplierClass", "supplierClassId"),
        ("vatZone", "vatZoneId"),
    ):
        if details.get(key):
            dto[field] = {"id": details[key], "description": details[key]}
    for kind in ("main", "remit", "supplier"):
        address = _address(details.get(f"{kind}Address"))
        if address is not None:
            dto[f"{kind}Address"] = address
        contact = _contact(details.get(f"{kind}Contact"))
        if contact is not None:
            dto[f"{kind}Contact"] = contact
    if note and details.get("note") is not None:
        dto["note"] = details["note"]
    return dto
