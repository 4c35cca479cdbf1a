"""The typed Visma.net ERP client (service API, ``/v1``), async over httpx.

This is the only code in ml-connector that knows Visma's ``{"value": …}`` wrappers: write models
(``visma_models``) arrive unwrapped and are wrapped here, field by field, as the spec's
``*UpdateDto`` schemas say. Every call sends ``ipp-company-id`` and ``Accept: application/json``.

Conventions kept from the spec and Visma's docs:
- Lists page with ``pageNumber``/``pageSize`` until an empty page or until ``metadata.totalCount``
  records were read; a short page proves nothing, because Visma caps the page size silently and
  may leave out ``metadata.maxPageSize``. Endpoints without paging parameters are read once.
- A create answers 201 with the new key as the last segment of ``Location``.
- Reads of one object carry an ``ETag``; updates may send it back as ``If-Match`` (412 if moved).
- Unknown query parameters are refused here: Visma ignores them and returns unfiltered rows.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import httpx
from pydantic import SecretStr
from pydantic.alias_generators import to_camel

from ml_connector.clients._classify import ErrorContext
from ml_connector.clients._http import CallRecord, Reply, VendorClientBase
from ml_connector.clients._oauth import AccessToken, TokenInfo, parse_token
from ml_connector.clients._ratelimit import QuotaLimiter, RateLimiter
from ml_connector.clients.visma_models import (
    Account,
    ActionResult,
    BackgroundState,
    CreditTerm,
    Dimension,
    FinancialPeriod,
    LinkLineWrite,
    Project,
    PurchaseOrder,
    PurchaseOrderWrite,
    Subaccount,
    Supplier,
    SupplierClass,
    SupplierInvoice,
    SupplierInvoiceWrite,
    SupplierPayment,
    SupplierPaymentWrite,
    SupplierWrite,
    VatCode,
    VatZone,
)
from ml_connector.errors import AmbiguousOutcome, FatalVendorError, NotFound, PermissionDenied
from ml_connector.settings import DEFAULT_VISMA_BASE_URL, DEFAULT_VISMA_TOKEN_URL

__all__ = [
    "DEFAULT_VISMA_OPTIONAL_SCOPES",
    "DEFAULT_VISMA_SCOPES",
    "VismaClient",
    "VismaCredentials",
]

SYSTEM = "Visma"
DEFAULT_TOKEN_TTL_S = 3600.0  # when Visma Connect leaves out expires_in
# Required by the flows (writes and release actions); ``delete`` is asked for but optional.
DEFAULT_VISMA_SCOPES: tuple[str, ...] = tuple(
    f"vismanet_erp_service_api:{verb}" for verb in ("read", "create", "update")
)
DEFAULT_VISMA_OPTIONAL_SCOPES: tuple[str, ...] = ("vismanet_erp_service_api:delete",)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Query parameters per list endpoint, as the spec names them (paging is added by the client).
_MODIFIED = " lastModifiedDateTime lastModifiedDateTimeCondition"
_SUPPLIER_FILTERS = _names(
    "greaterThanValue orderBy name status vatRegistrationId corporateId attributes "
    "expandAccountInformation expandNote" + _MODIFIED
)
_INVOICE_FILTERS = _names(
    "supplier documentType released project status branch financialPeriod dueDate "
    "dueDateCondition docDate docDateCondition item balance balanceCondition greaterThanValue "
    "createdDateTime createdDateTimeCondition expandAttachment expandLandedCosts expandApproval "
    "expandNote expandLinePrebookAccounts" + _MODIFIED
)
_ACCOUNT_FILTERS = _names(
    "active includeAccountClassDescription greaterThanValue publicCode externalCode1 "
    "externalCode2 analysisCode" + _MODIFIED
)
_SUBACCOUNT_FILTERS = _names("active" + _MODIFIED)
_PROJECT_FILTERS = _names(
    "status systemTemplate visibleInAP startDate expandAttribute attributes nonProject publicId "
    "branch createdDateTime createdDateTimeCondition" + _MODIFIED
)
_VAT_FILTERS = _names(_MODIFIED)
_PO_FILTERS = _names(
    "greaterThanValue orderType orderStatus supplier branch orderDate orderDateCondition "
    "deliveryDate deliveryDateCondition includeCustomFreeFields" + _MODIFIED
)
_PAYMENT_FILTERS = _names(
    "invoiceRefNbr paymentType greaterThanValue supplier branch docDate docDateCondition "
    "dueDate dueDateCondition financialPeriod balance balanceCondition status" + _MODIFIED
)


@dataclass(frozen=True)
class VismaCredentials:
    """Visma Connect service credentials for one company; the repr masks the secret."""

    client_id: str
    client_secret: SecretStr
    tenant_id: str
    company_id: str
    base_url: str = DEFAULT_VISMA_BASE_URL
    token_url: str = DEFAULT_VISMA_TOKEN_URL
    scopes: tuple[str, ...] = DEFAULT_VISMA_SCOPES  # required
    optional_scopes: tuple[str, ...] = DEFAULT_VISMA_OPTIONAL_SCOPES  # asked for; may be refused


# --- wire form -----------------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    """A write value as Visma takes it: dates as midnight date-times without an offset."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    if isinstance(value, Enum):
        return value.value
    return value


# Where the spec departs from "camelCase name, scalar wrapped as {"value": …}":
_RENAMED = {
    (SupplierInvoiceWrite, "lines"): "invoiceLines",
    (SupplierPaymentWrite, "lines"): "paymentLines",
}
_PLAIN_SCALARS = frozenset({"operation", "purchase_type"})  # enums sent bare
_UNWRAPPED_OBJECTS = (LinkLineWrite,)  # nested, but only its inner scalars are wrapped


def to_wire(write: Any) -> dict[str, Any]:
    """The ``*UpdateDto`` body for a write model; None fields and empty tuples are left out.

    Scalars become ``{"value": v}``. Nested objects (address, contact) become
    ``{"value": {…}}`` with their own scalars wrapped. Line lists stay plain lists of line
    objects, and ``(segment_id, value)`` pairs become ``[{"segmentId", "segmentValue"}]``.
    """
    body: dict[str, Any] = {}
    for spec in fields(write):
        value = getattr(write, spec.name)
        if value is None or value == ():
            continue
        name = _RENAMED.get((type(write), spec.name), to_camel(spec.name))
        if spec.name in _PLAIN_SCALARS:
            body[name] = _scalar(value)
        elif isinstance(value, _UNWRAPPED_OBJECTS):
            body[name] = to_wire(value)
        elif is_dataclass(value):
            body[name] = {"value": to_wire(value)}
        elif isinstance(value, tuple) and all(is_dataclass(item) for item in value):
            body[name] = [to_wire(item) for item in value]
        elif isinstance(value, tuple):
            body[name] = [{"segmentId": int(seg), "segmentValue": str(val)} for seg, val in value]
        else:
            body[name] = {"value": _scalar(value)}
    return body


def key_from_location(reply: Reply) -> str | None:
    """The new object's key: the last path segment of ``Location``, URL-decoded."""
    location = reply.headers.get("location")
    if not location:
        return None
    raw_path = httpx.URL(location).raw_path.decode("ascii").split("?", 1)[0]
    segment = raw_path.rstrip("/").rsplit("/", 1)[-1]
    return unquote(segment) or None


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Visma filters refuse offsets and "Z": send the wall-clock time as given.
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal | int | str):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} as a Visma query value")


_QUERY_NAMES = {"visible_in_ap": "visibleInAP"}  # not the camelCase of the Python name


def _query(filters: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    """Spec-named query parameters; snake_case names are accepted and camelCased."""
    query: dict[str, str] = {}
    for name, value in filters.items():
        wire = name if name in allowed else _QUERY_NAMES.get(name, to_camel(name))
        if wire not in allowed:
            raise ValueError(f"unknown Visma filter: {name}")
        if value is not None:
            query[wire] = _query_value(value)
    return query


def _seg(value: str) -> str:
    return quote(value, safe="")


class VismaClient(VendorClientBase):
    """Visma.net ERP service API. Use as ``async with VismaClient(creds) as visma: …``."""

    def __init__(
        self,
        creds: VismaCredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        retries: int = 3,
        on_call: Callable[[CallRecord], None] | None = None,
        leeway_s: float = 60.0,
        max_retry_after_s: float = 30.0,
        page_size: int = 1000,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._creds = creds
        self._clock = clock
        self._page_size = max(1, page_size)
        self._optional_refused = False  # Visma refused the optional scopes once
        self._connect(
            system=SYSTEM,
            base_url=creds.base_url,
            client_secret=creds.client_secret,
            fetch_token=self._fetch_token,
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
            retries=retries,
            on_call=on_call,
            leeway_s=leeway_s,
            max_retry_after_s=max_retry_after_s,
            limiter=limiter or QuotaLimiter(),
            api_headers={"Accept": "application/json", "ipp-company-id": creds.company_id},
            context=ErrorContext(company_id=creds.company_id, tenant_id=creds.tenant_id),
        )

    def __repr__(self) -> str:
        c = self._creds
        return f"VismaClient(client_id={c.client_id!r}, company_id={c.company_id!r})"

    # --- plumbing ---------------------------------------------------------------------------

    async def _fetch_token(self) -> AccessToken:
        """A token for the required and optional scopes; without the optional ones when Visma
        refuses them (Visma Connect refuses a scope the application was not given with
        ``invalid_scope``, rather than dropping it)."""
        c = self._creds
        optional = tuple(s for s in c.optional_scopes if s not in c.scopes)
        if optional and not self._optional_refused:
            try:
                return await self._token_for((*c.scopes, *optional))
            except PermissionDenied:
                self._optional_refused = True  # retry once without them, and remember
        return await self._token_for(c.scopes)

    async def _token_for(self, scopes: tuple[str, ...]) -> AccessToken:
        c = self._creds
        form = {
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": c.client_secret.get_secret_value(),
            "tenant_id": c.tenant_id,
            "scope": " ".join(scopes),
        }
        headers = {"Accept": "application/json"}
        reply = await self._http.request(
            "POST", c.token_url, form=form, headers=headers, idempotent=True, limited=False
        )
        return parse_token(
            reply.data, system=SYSTEM, now=self._clock(), default_ttl_s=DEFAULT_TOKEN_TTL_S
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        etag: str | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Reply:
        headers = {"If-Match": etag} if etag else None
        return await self._http.request(
            method,
            path,
            params=params,
            json_body=body,
            files=files,
            headers=headers,
            auth=self._auth,
        )

    async def _one(self, path: str, params: Mapping[str, str] | None = None) -> Reply | None:
        """One object, or None when Visma answers 404."""
        try:
            return await self._call("GET", path, params=params)
        except NotFound:
            return None

    async def _create(self, path: str, body: Any) -> str:
        reply = await self._call("POST", path, body=body)
        key = key_from_location(reply)
        if key is None:
            raise AmbiguousOutcome(
                SYSTEM, "created, but the answer carried no Location: look the object up", path=path
            )
        return key

    async def _pages(self, path: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Records of a paged list: pageNumber 1, 2, … until an empty page or ``totalCount``.

        Visma caps ``pageSize`` silently and may leave out ``metadata.maxPageSize`` (reference
        §4), so a page shorter than asked proves nothing: reading stops only at an empty page,
        or once ``metadata.totalCount`` records have been read. ``maxPageSize``, when given,
        only makes the next request ask for what Visma will answer.
        """
        size, number, seen = self._page_size, 1, 0
        previous: list[Any] | None = None
        total: int | None = None
        while True:
            query = {**params, "pageNumber": str(number), "pageSize": str(size)}
            data = (await self._call("GET", path, params=query)).data
            rows = data.get("records", []) if isinstance(data, dict) else data or []
            if not rows:
                return
            if rows == previous:  # the server ignores pageNumber: this is all it gives
                if total is not None and seen < total:
                    raise FatalVendorError(
                        SYSTEM,
                        f"{path} repeats page {number - 1} after {seen} of {total} records; "
                        "paging stopped rather than leave records out silently",
                    )
                return
            for row in rows:
                yield row
            seen += len(rows)
            meta = rows[0].get("metadata") if isinstance(rows[0], dict) else None
            meta = meta if isinstance(meta, dict) else {}
            cap = meta.get("maxPageSize")
            if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
                size = min(size, cap)
            count = meta.get("totalCount")
            if isinstance(count, int) and not isinstance(count, bool):
                total = count
                if seen >= total:
                    return
            previous, number = rows, number + 1

    async def _all(self, path: str, params: Mapping[str, str]) -> list[Any]:
        """An unpaged list endpoint, read at once."""
        data = (await self._call("GET", path, params=params)).data
        return data if isinstance(data, list) else []

    # --- connection check -----------------------------------------------------------------------

    async def ping(self) -> TokenInfo:
        """Check credentials, tenant and company end to end: a token, then one cheap read.

        Optional scopes Visma refused, or left out of the token, are named in
        ``TokenInfo.missing_optional``; only a required one failing fails the check.
        """
        token = await self._auth.token()
        await self._call("GET", "/v1/supplier", params={"pageNumber": "1", "pageSize": "1"})
        optional = tuple(s for s in self._creds.optional_scopes if s not in self._creds.scopes)
        if not self._optional_refused and token.scopes is not None:
            optional = tuple(s for s in optional if s not in token.scopes)
        elif not self._optional_refused:
            optional = ()
        return TokenInfo(token.scopes, token.expires_at - self._clock(), optional)

    # --- suppliers ------------------------------------------------------------------------------

    async def list_suppliers(self, **filters: Any) -> AsyncIterator[Supplier]:
        async for row in self._pages("/v1/supplier", _query(filters, _SUPPLIER_FILTERS)):
            yield Supplier.model_validate(row)

    async def get_supplier(self, number: str) -> Supplier | None:
        reply = await self._one(f"/v1/supplier/{_seg(number)}")
        return None if reply is None else _with_etag(Supplier, reply)

    async def create_supplier(self, supplier: SupplierWrite) -> str:
        """Create a supplier; returns its number (from Location)."""
        return await self._create("/v1/supplier", to_wire(supplier))

    async def update_supplier(
        self, number: str, supplier: SupplierWrite, etag: str | None = None
    ) -> str | None:
        """Change a supplier; returns the new ETag. ``etag`` guards against lost updates."""
        path = f"/v1/supplier/{_seg(number)}"
        reply = await self._call("PUT", path, body=to_wire(supplier), etag=etag)
        return _etag_of(reply)

    # --- supplier set-up: classes, credit terms, VAT zones --------------------------------------

    async def list_supplier_classes(self) -> list[SupplierClass]:
        """The company's supplier classes (``GET /v1/supplier/supplierClass``, not paged)."""
        rows = await self._all("/v1/supplier/supplierClass", {})
        return [SupplierClass.model_validate(row) for row in rows if isinstance(row, dict)]

    async def list_credit_terms(self) -> list[CreditTerm]:
        """Credit terms (``GET /v1/creditTerm``: a paged ``{records: […]}`` wrapper)."""
        return [CreditTerm.model_validate(row) async for row in self._pages("/v1/creditTerm", {})]

    async def list_vat_zones(self) -> list[VatZone]:
        """VAT zones (``GET /v1/vatZone``, paged)."""
        return [VatZone.model_validate(row) async for row in self._pages("/v1/vatZone", {})]

    # --- supplier invoices ----------------------------------------------------------------------

    async def list_supplier_invoices(
        self,
        supplier: str | None = None,
        document_type: str | None = None,
        expand_note: bool = True,
        **filters: Any,
    ) -> AsyncIterator[SupplierInvoice]:
        params = {"supplier": supplier, "document_type": document_type, "expand_note": expand_note}
        query = _query({**params, **filters}, _INVOICE_FILTERS)
        async for row in self._pages("/v1/supplierInvoice", query):
            yield SupplierInvoice.model_validate(row)

    def _invoice_path(self, document_type: str, number: str) -> str:
        return f"/v1/supplierInvoice/{_seg(document_type)}/{_seg(number)}"

    async def get_supplier_invoice(self, document_type: str, number: str) -> SupplierInvoice | None:
        reply = await self._one(self._invoice_path(document_type, number))
        return None if reply is None else _with_etag(SupplierInvoice, reply)

    async def create_supplier_invoice(self, invoice: SupplierInvoiceWrite) -> str:
        """Create an AP document; returns its reference number (from Location).

        Not idempotent: after AmbiguousOutcome, look the document up before posting again.
        """
        return await self._create("/v1/supplierInvoice", to_wire(invoice))

    async def update_supplier_invoice(
        self,
        document_type: str,
        number: str,
        invoice: SupplierInvoiceWrite,
        etag: str | None = None,
    ) -> str | None:
        """Change an AP document (Hold or Balanced only); returns the new ETag."""
        path = self._invoice_path(document_type, number)
        reply = await self._call("PUT", path, body=to_wire(invoice), etag=etag)
        return _etag_of(reply)

    async def delete_supplier_invoice(self, document_type: str, number: str) -> None:
        await self._call("DELETE", self._invoice_path(document_type, number))

    async def release_supplier_invoice(
        self, document_type: str, number: str, etag: str | None = None
    ) -> ActionResult:
        """Ask Visma to release the document; it answers with a background request (202) or,
        on the 9.11 API, an action result. Neither means released: read the document back."""
        path = self._invoice_path(document_type, number) + "/action/release"
        return _action_result(await self._call("POST", path, etag=etag))

    async def attach_supplier_invoice_file(
        self, document_type: str, number: str, filename: str, content: bytes, content_type: str
    ) -> str | None:
        """Attach one file to the document header; returns the attachment id, if Visma says."""
        path = f"/v1/supplierInvoice/documentType/{_seg(document_type)}/{_seg(number)}/attachment"
        reply = await self._call("POST", path, files={"file": (filename, content, content_type)})
        return key_from_location(reply)

    # --- chart: accounts, dimensions, projects, VAT, periods ------------------------------------

    async def list_accounts(self, **filters: Any) -> list[Account]:
        rows = await self._all("/v1/account", _query(filters, _ACCOUNT_FILTERS))
        return [Account.model_validate(row) for row in rows]

    async def get_account(self, number: str) -> Account | None:
        reply = await self._one(f"/v1/account/{_seg(number)}")
        return None if reply is None else Account.model_validate(reply.data)

    async def get_dimension(
        self, dimension_id: str = "SUBACCOUNT", *, expand_values: bool = True
    ) -> Dimension | None:
        """A dimension with its segments (and, with ``expand_values``, their values)."""
        params = {"expandSegmentsValues": "true" if expand_values else "false"}
        reply = await self._one(f"/v1/dimension/{_seg(dimension_id)}", params)
        return None if reply is None else Dimension.model_validate(reply.data)

    async def list_subaccounts(self, **filters: Any) -> AsyncIterator[Subaccount]:
        async for row in self._pages("/v1/subaccount", _query(filters, _SUBACCOUNT_FILTERS)):
            yield Subaccount.model_validate(row)

    async def list_projects(self, **filters: Any) -> AsyncIterator[Project]:
        async for row in self._pages("/v1/project", _query(filters, _PROJECT_FILTERS)):
            yield Project.model_validate(row)

    async def get_project(self, project_id: str) -> Project | None:
        reply = await self._one(f"/v1/project/{_seg(project_id)}")
        return None if reply is None else Project.model_validate(reply.data)

    async def list_vat(self, **filters: Any) -> list[VatCode]:
        rows = await self._all("/v1/vat", _query(filters, _VAT_FILTERS))
        return [VatCode.model_validate(row) for row in rows]

    async def list_financial_periods(self) -> list[FinancialPeriod]:
        return [
            FinancialPeriod.model_validate(row)
            for row in await self._all("/v1/financialPeriod", {})
        ]

    async def get_financial_period(self, period_id: str) -> FinancialPeriod | None:
        """A period by its YYYYMM id."""
        reply = await self._one(f"/v1/financialPeriod/{_seg(period_id)}")
        return None if reply is None else FinancialPeriod.model_validate(reply.data)

    async def list_currencies(self) -> list[str]:
        """The ids of the currencies the company has (``GET /v1/currency``, not paged)."""
        rows = await self._all("/v1/currency", {})
        return [str(row["id"]) for row in rows if isinstance(row, dict) and row.get("id")]

    # --- purchase orders --------------------------------------------------------------------------

    async def list_purchase_orders(self, **filters: Any) -> AsyncIterator[PurchaseOrder]:
        async for row in self._pages("/v1/purchaseorder", _query(filters, _PO_FILTERS)):
            yield PurchaseOrder.model_validate(row)

    async def get_purchase_order(self, number: str) -> PurchaseOrder | None:
        reply = await self._one(f"/v1/purchaseorder/{_seg(number)}")
        return None if reply is None else _with_etag(PurchaseOrder, reply)

    async def create_purchase_order(self, order: PurchaseOrderWrite) -> str:
        """Create a purchase order; returns its number (from Location)."""
        return await self._create("/v1/purchaseorder", to_wire(order))

    async def update_purchase_order(
        self, number: str, order: PurchaseOrderWrite, etag: str | None = None
    ) -> str | None:
        path = f"/v1/purchaseorder/{_seg(number)}"
        reply = await self._call("PUT", path, body=to_wire(order), etag=etag)
        return _etag_of(reply)

    # --- supplier payments ------------------------------------------------------------------------

    async def list_supplier_payments(self, **filters: Any) -> AsyncIterator[SupplierPayment]:
        """Supplier payments; ``invoice_ref_nbr`` finds those applied to one AP document."""
        async for row in self._pages("/v1/supplierPayment", _query(filters, _PAYMENT_FILTERS)):
            yield SupplierPayment.model_validate(row)

    async def get_supplier_payment(self, number: str) -> SupplierPayment | None:
        reply = await self._one(f"/v1/supplierPayment/{_seg(number)}")
        return None if reply is None else _with_etag(SupplierPayment, reply)

    async def create_supplier_payment(self, payment: SupplierPaymentWrite) -> str:
        """Create a supplier payment; returns its reference number (from Location).

        Not idempotent: after AmbiguousOutcome, look the payment up before posting again.
        """
        return await self._create("/v1/supplierPayment", to_wire(payment))

    async def release_supplier_payment(
        self, number: str, payment_type: str = "Payment", etag: str | None = None
    ) -> ActionResult:
        """Ask Visma to release the payment, which applies it to its documents (see
        ``release_supplier_invoice``: the answer only says the action was accepted)."""
        path = f"/v1/supplierPayment/{_seg(number)}/action/release"
        body = {"type": {"value": payment_type}}
        return _action_result(await self._call("POST", path, body=body, etag=etag))

    # --- background requests (reference §8) -----------------------------------------------------

    async def get_background_state(self, request_id: str) -> BackgroundState | None:
        """Where a background request stands; None once Visma no longer keeps it (24 h)."""
        reply = await self._one(f"/v1/background/{_seg(request_id)}")
        return None if reply is None else BackgroundState.model_validate(reply.data)

    async def get_background_content(self, request_id: str) -> Any:
        """The finished operation's own answer (an error body, say); None when there is none
        or it has expired (404, 410)."""
        try:
            reply = await self._call("GET", f"/v1/background/{_seg(request_id)}/content")
        except NotFound:
            return None
        except FatalVendorError as exc:
            if exc.status == 410:
                return None
            raise
        return reply.data if reply.data is not None else reply.content.decode(errors="replace")

    # --- legacy webhook subscriptions (API 9.11) ------------------------------------------------

    async def create_subscription(self, event: str, hook_uri: str) -> str:
        """Register ``hook_uri`` for a legacy event (``supplier_changed`` …); returns its id.

        Visma removed this endpoint on 30.04.2025 (NotFound there): subscribe in the Developer
        Portal instead. The body is the plain ``SubscriptionDto``, without value wrappers.
        """
        return await self._create(
            "/resources/v1/subscription", {"event": event, "hookUri": hook_uri}
        )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _action_result(reply: Reply) -> ActionResult:
    """A release answer: 202 ``{"id", "stateLocation"}``, or the 9.11 ``{"actionId", …}``."""
    data = reply.data if isinstance(reply.data, dict) else {}
    if reply.status == 202:
        return ActionResult(
            background_id=_opt_str(data.get("id")),
            state_location=_opt_str(data.get("stateLocation")),
        )
    return ActionResult(
        action_id=_opt_str(data.get("actionId")),
        action_result=_opt_str(data.get("actionResult")),
        error_info=_opt_str(data.get("errorInfo")),
    )


_Etagged = TypeVar("_Etagged", Supplier, SupplierInvoice, PurchaseOrder, SupplierPayment)


def _with_etag(model: type[_Etagged], reply: Reply) -> _Etagged:
    """Validate a single-object answer and keep its ETag for a later If-Match."""
    data = reply.data if isinstance(reply.data, dict) else {}
    return model.model_validate({**data, "etag": _etag_of(reply)})


def _etag_of(reply: Reply) -> str | None:
    value = reply.headers.get("etag")
    return value if isinstance(value, str) and value else None
