"""The Ramp client's accounting calls: the accounting connection, GL accounts, custom fields
and their options, accounting vendors (uploads of 1 to 500, all or nothing), and sync marks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from ml_connector.clients.ramp_calls import RampCalls
from ml_connector.clients.ramp_models import (
    AccountingConnection,
    AccountingField,
    AccountingVendor,
    AccountingVendorUpload,
    FieldOption,
    FieldOptionUpload,
    GLAccount,
    GLAccountUpload,
    SyncFailure,
    SyncSuccess,
)
from ml_connector.clients.ramp_wire import (
    CHART_FILTERS,
    FIELD_FILTERS,
    OPTION_FILTERS,
    batch,
    patch_body,
    query_params,
    segment,
    upload_row,
)

__all__ = ["RampAccounting"]


class RampAccounting(RampCalls):
    """Connection, chart, fields, accounting vendors and syncs (part of ``RampClient``)."""

    # --- accounting: connection and chart -------------------------------------------------------

    async def get_connection(self) -> AccountingConnection | None:
        """The business's active accounting connection, if any."""
        data = await self._call("GET", "/accounting/all-connections")
        for row in (data or {}).get("connections") or []:
            connection = AccountingConnection.model_validate(row)
            if connection.is_active:
                return connection
        return None

    async def create_connection(self, name: str) -> AccountingConnection:
        """Create the API accounting connection shown in Ramp as ``name``."""
        data = await self._call(
            "POST", "/accounting/connection", body={"remote_provider_name": name}
        )
        return AccountingConnection.model_validate(data)

    async def list_gl_accounts(self, **filters: Any) -> AsyncIterator[GLAccount]:
        async for row in self._pages("/accounting/accounts", query_params(filters, CHART_FILTERS)):
            yield GLAccount.model_validate(row)

    async def upload_gl_accounts(self, items: Sequence[GLAccountUpload]) -> list[GLAccount]:
        """Create GL accounts (1 to 500, all or nothing; none may exist yet)."""
        batch(items, "GL account")
        rows = [
            upload_row(i.id, name=i.name, classification=i.classification, code=i.code)
            for i in items
        ]
        data = await self._call("POST", "/accounting/accounts", body={"gl_accounts": rows})
        return [GLAccount.model_validate(r) for r in (data or {}).get("gl_accounts") or []]

    async def patch_gl_account(
        self,
        ramp_id: str,
        *,
        name: str | None = None,
        code: str | None = None,
        reactivate: bool = False,
    ) -> GLAccount:
        body = patch_body(name=name, code=code, reactivate=reactivate)
        data = await self._call("PATCH", f"/accounting/accounts/{segment(ramp_id)}", body=body)
        return GLAccount.model_validate(data)

    async def delete_gl_account(self, ramp_id: str) -> None:
        await self._call("DELETE", f"/accounting/accounts/{segment(ramp_id)}")

    async def list_fields(self, **filters: Any) -> AsyncIterator[AccountingField]:
        async for row in self._pages("/accounting/fields", query_params(filters, FIELD_FILTERS)):
            yield AccountingField.model_validate(row)

    async def create_field(
        self,
        field_id: str,
        name: str,
        *,
        input_type: str = "SINGLE_CHOICE",
        display_name: str | None = None,
        is_required_for: Sequence[str] | None = None,
        is_splittable: bool | None = None,
    ) -> AccountingField:
        """Create a custom field; Ramp returns the existing one when ``field_id`` is known."""
        body = {
            "id": field_id,
            "name": name,
            "input_type": input_type,
            "display_name": display_name,
            "is_required_for": list(is_required_for) if is_required_for is not None else None,
            "is_splittable": is_splittable,
        }
        body = {k: v for k, v in body.items() if v is not None}
        # Creation is idempotent on ``id``, so a retry after a lost answer is safe.
        data = await self._call("POST", "/accounting/fields", body=body, idempotent=True)
        return AccountingField.model_validate(data)

    async def list_field_options(self, field_id: str, **filters: Any) -> AsyncIterator[FieldOption]:
        """Options of the field whose Ramp id is ``field_id``."""
        params = {**query_params(filters, OPTION_FILTERS), "field_id": field_id}
        async for row in self._pages("/accounting/field-options", params):
            yield FieldOption.model_validate(row)

    async def upload_field_options(
        self, field_id: str, items: Sequence[FieldOptionUpload]
    ) -> list[FieldOption]:
        """Create options of a field (1 to 500, all or nothing; none may exist yet)."""
        batch(items, "field option")
        rows = [upload_row(i.id, value=i.value, code=i.code) for i in items]
        body = {"field_id": field_id, "options": rows}
        data = await self._call("POST", "/accounting/field-options", body=body)
        return [FieldOption.model_validate(r) for r in (data or {}).get("options") or []]

    async def patch_field_option(
        self,
        ramp_id: str,
        *,
        value: str | None = None,
        code: str | None = None,
        display_name: str | None = None,
        visibility: str | None = None,
        reactivate: bool = False,
    ) -> FieldOption:
        body = patch_body(
            value=value,
            code=code,
            display_name=display_name,
            visibility=visibility,
            reactivate=reactivate,
        )
        path = f"/accounting/field-options/{segment(ramp_id)}"
        return FieldOption.model_validate(await self._call("PATCH", path, body=body))

    async def delete_field_option(self, ramp_id: str) -> None:
        await self._call("DELETE", f"/accounting/field-options/{segment(ramp_id)}")

    async def list_accounting_vendors(self, **filters: Any) -> AsyncIterator[AccountingVendor]:
        async for row in self._pages("/accounting/vendors", query_params(filters, CHART_FILTERS)):
            yield AccountingVendor.model_validate(row)

    async def upload_accounting_vendors(
        self, items: Sequence[AccountingVendorUpload]
    ) -> list[AccountingVendor]:
        """Create accounting vendors (1 to 500, all or nothing; none may exist yet)."""
        batch(items, "accounting vendor")
        rows = [upload_row(i.id, name=i.name) for i in items]
        data = await self._call("POST", "/accounting/vendors", body={"vendors": rows})
        return [AccountingVendor.model_validate(r) for r in (data or {}).get("vendors") or []]

    async def patch_accounting_vendor(
        self,
        ramp_id: str,
        *,
        name: str | None = None,
        code: str | None = None,
        reactivate: bool = False,
    ) -> AccountingVendor:
        body = patch_body(name=name, code=code, reactivate=reactivate)
        data = await self._call("PATCH", f"/accounting/vendors/{segment(ramp_id)}", body=body)
        return AccountingVendor.model_validate(data)

    async def delete_accounting_vendor(self, ramp_id: str) -> None:
        """Soft-delete an accounting vendor (inactive; PATCH ``reactivate`` restores it)."""
        await self._call("DELETE", f"/accounting/vendors/{segment(ramp_id)}")

    async def post_sync(
        self,
        sync_type: str,
        idempotency_key: str,
        successful: Sequence[SyncSuccess] = (),
        failed: Sequence[SyncFailure] = (),
    ) -> str:
        """Mark objects synced (or failed) in Ramp; returns the sync id.

        Ramp de-duplicates on ``idempotency_key``, so this write is retried like a read: reuse
        the same key for the same batch, always.
        """
        body: dict[str, Any] = {"idempotency_key": idempotency_key, "sync_type": sync_type}
        if successful:
            body["successful_syncs"] = [
                upload_row(s.id, reference_id=s.reference_id, deep_link_url=s.deep_link_url)
                for s in successful
            ]
        if failed:
            body["failed_syncs"] = [{"id": f.id, "error": {"message": f.message}} for f in failed]
        data = await self._call("POST", "/accounting/syncs", body=body, idempotent=True)
        return str((data or {}).get("sync_id", ""))
