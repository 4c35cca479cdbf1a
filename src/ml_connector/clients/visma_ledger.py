"""The Visma client's ledger calls: the chart (accounts, dimensions, subaccounts), projects,
VAT codes, financial periods and currencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ml_connector.clients.visma_calls import VismaCalls
from ml_connector.clients.visma_models import (
    Account,
    Dimension,
    FinancialPeriod,
    Project,
    Subaccount,
    VatCode,
)
from ml_connector.clients.visma_wire import (
    ACCOUNT_FILTERS,
    PROJECT_FILTERS,
    SUBACCOUNT_FILTERS,
    VAT_FILTERS,
    query_params,
    seg,
)

__all__ = ["VismaLedger"]


class VismaLedger(VismaCalls):
    """Chart, projects, VAT and periods (part of ``VismaClient``)."""

    # --- chart: accounts, dimensions, projects, VAT, periods ------------------------------------

    async def list_accounts(self, **filters: Any) -> list[Account]:
        rows = await self._all("/v1/account", query_params(filters, ACCOUNT_FILTERS))
        return [Account.model_validate(row) for row in rows]

    async def get_account(self, number: str) -> Account | None:
        reply = await self._one(f"/v1/account/{seg(number)}")
        return None if reply is None else Account.model_validate(reply.data)

    async def get_dimension(
        self, dimension_id: str = "SUBACCOUNT", *, expand_values: bool = True
    ) -> Dimension | None:
        """A dimension with its segments (and, with ``expand_values``, their values)."""
        params = {"expandSegmentsValues": "true" if expand_values else "false"}
        reply = await self._one(f"/v1/dimension/{seg(dimension_id)}", params)
        return None if reply is None else Dimension.model_validate(reply.data)

    async def list_subaccounts(self, **filters: Any) -> AsyncIterator[Subaccount]:
        async for row in self._pages("/v1/subaccount", query_params(filters, SUBACCOUNT_FILTERS)):
            yield Subaccount.model_validate(row)

    async def list_projects(self, **filters: Any) -> AsyncIterator[Project]:
        async for row in self._pages("/v1/project", query_params(filters, PROJECT_FILTERS)):
            yield Project.model_validate(row)

    async def get_project(self, project_id: str) -> Project | None:
        reply = await self._one(f"/v1/project/{seg(project_id)}")
        return None if reply is None else Project.model_validate(reply.data)

    async def list_vat(self, **filters: Any) -> list[VatCode]:
        rows = await self._all("/v1/vat", query_params(filters, VAT_FILTERS))
        return [VatCode.model_validate(row) for row in rows]

    async def list_financial_periods(self) -> list[FinancialPeriod]:
        return [
            FinancialPeriod.model_validate(row)
            for row in await self._all("/v1/financialPeriod", {})
        ]

    async def get_financial_period(self, period_id: str) -> FinancialPeriod | None:
        """A period by its YYYYMM id."""
        reply = await self._one(f"/v1/financialPeriod/{seg(period_id)}")
        return None if reply is None else FinancialPeriod.model_validate(reply.data)

    async def list_currencies(self) -> list[str]:
        """The ids of the currencies the company has (``GET /v1/currency``, not paged)."""
        rows = await self._all("/v1/currency", {})
        return [str(row["id"]) for row in rows if isinstance(row, dict) and row.get("id")]
