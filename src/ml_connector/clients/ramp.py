"""The typed Ramp Developer API client (``/developer/v1``), async over httpx.

Paths, query names and bodies follow Ramp's OpenAPI spec; unknown filter or field names are
refused here, because some Ramp endpoints ignore extras silently. Lists are async iterators
that follow ``page.next`` verbatim, one page in memory at a time. The bearer token is only ever
sent to the host of ``RampCredentials.base_url``.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from decimal import Decimal
from email.message import Message
from email.utils import collapse_rfc2231_value
from enum import Enum
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from ml_connector.clients._http import CallRecord, VendorClientBase
from ml_connector.clients._oauth import AccessToken, TokenInfo, parse_token
from ml_connector.clients._ratelimit import RateLimiter, SlidingWindowLimiter
from ml_connector.clients.ramp_models import (
    AccountingConnection,
    AccountingField,
    AccountingVendor,
    AccountingVendorUpload,
    Bill,
    Entity,
    FieldOption,
    FieldOptionUpload,
    GLAccount,
    GLAccountUpload,
    InvoiceFile,
    PurchaseOrder,
    SyncFailure,
    SyncSuccess,
    Vendor,
    VendorContact,
    WebhookSubscription,
    secret_of,
)
from ml_connector.errors import FatalVendorError, FileLinkRefused, PermissionDenied
from ml_connector.settings import DEFAULT_RAMP_BASE_URL

__all__ = ["DEFAULT_RAMP_OPTIONAL_SCOPES", "DEFAULT_RAMP_SCOPES", "RampClient", "RampCredentials"]

SYSTEM = "Ramp"
API = "/developer/v1"
MAX_UPLOAD = 500  # Ramp's all-or-nothing batch limit for accounting uploads
CLIENT_CREDENTIALS_TTL_S = 864_000.0  # ten days, Ramp's documented lifetime

# What the core flows need (bills, suppliers, chart, write-back); see flows.scopes.
DEFAULT_RAMP_SCOPES: tuple[str, ...] = (
    "bills:read",
    "vendors:read",
    "vendors:write",
    "accounting:read",
    "accounting:write",
)
# Asked for, but not required, by a client built without a connection's scope plan (tools and
# tests that use every method); the product asks for what its flows use (flows.scopes).
DEFAULT_RAMP_OPTIONAL_SCOPES: tuple[str, ...] = (
    "purchase_orders:read",
    "bills:write",
    "entities:read",
)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Query parameters and PATCH fields the spec defines; anything else is refused before sending.
_BILL_FILTERS = _names(
    "entity_id accounting_field_selection_id vendor_id approval_status payment_method "
    "payment_status sync_status sync_ready is_archived from_created_at to_created_at "
    "from_due_date to_due_date from_issued_date to_issued_date from_paid_at "
    "to_paid_at min_amount max_amount"
)
_BILL_FIELDS = _names(
    "accounting_field_selections due_at entity_id inventory_line_items invoice_number "
    "issued_at line_items memo payment_method posting_date purchase_order_id "
    "remote_id vendor_contact_id vendor_id"
)
_VENDOR_FILTERS = frozenset(
    {"name", "is_active", "vendor_owner_id", "from_created_at", "sk_category_ids"}
)
_VENDOR_FIELDS = _names(
    "accounting_vendor_remote_id address country description is_active state "
    "vendor_tracking_category_option_id"
)
_PO_FILTERS = _names(
    "creation_source from_created_at to_created_at receipt_status entity_id "
    "three_way_match_enabled include_archived"
)
_ENTITY_FILTERS = _names("currency entity_name is_primary")
_CHART_FILTERS = _names("remote_id is_active is_synced")
_FIELD_FILTERS = _names("remote_id is_active")
_OPTION_FILTERS = _names("remote_id code is_active")


@dataclass(frozen=True)
class RampCredentials:
    """Client credentials for one Ramp business; the repr masks the secret."""

    client_id: str
    client_secret: SecretStr
    base_url: str = DEFAULT_RAMP_BASE_URL
    scopes: tuple[str, ...] = DEFAULT_RAMP_SCOPES  # required: ping fails without them
    optional_scopes: tuple[str, ...] = DEFAULT_RAMP_OPTIONAL_SCOPES  # asked for; may be absent

    @property
    def requested(self) -> tuple[str, ...]:
        """Every scope the token request asks for, required first."""
        return (*self.scopes, *(s for s in self.optional_scopes if s not in self.scopes))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return datetime.combine(value, clock_time(0), tzinfo=UTC).isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal | int | str):
        return str(value)
    if isinstance(value, list | tuple):
        return ",".join(_query_value(v) for v in value)
    raise TypeError(f"cannot send {type(value).__name__} as a query value")


def _checked(given: Mapping[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"unknown Ramp {what}: {', '.join(unknown)}")
    return {key: value for key, value in given.items() if value is not None}


def _query(filters: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    return {k: _query_value(v) for k, v in _checked(filters, allowed, "filter").items()}


def _segment(value: str) -> str:
    return quote(value, safe="")


def _batch(items: Sequence[Any], what: str) -> None:
    if not 1 <= len(items) <= MAX_UPLOAD:
        raise ValueError(f"a Ramp {what} upload takes 1 to {MAX_UPLOAD} items, not {len(items)}")


class RampClient(VendorClientBase):
    """Ramp Developer API. Use as ``async with RampClient(creds) as ramp: …``."""

    def __init__(
        self,
        creds: RampCredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        retries: int = 3,
        on_call: Callable[[CallRecord], None] | None = None,
        leeway_s: float = 60.0,
        max_retry_after_s: float = 30.0,
        page_size: int = 100,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._creds = creds
        self._clock = clock
        self._page_size = max(2, min(100, page_size))
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
            limiter=limiter or SlidingWindowLimiter(200, 10.0),
            api_headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"RampClient(client_id={self._creds.client_id!r}, base_url={self._creds.base_url!r})"

    # --- plumbing ---------------------------------------------------------------------------

    async def _fetch_token(self) -> AccessToken:
        pair = f"{self._creds.client_id}:{self._creds.client_secret.get_secret_value()}"
        reply = await self._http.request(
            "POST",
            f"{API}/token",
            form={"grant_type": "client_credentials", "scope": " ".join(self._creds.requested)},
            headers={"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()},
            idempotent=True,
        )
        return parse_token(
            reply.data, system=SYSTEM, now=self._clock(), default_ttl_s=CLIENT_CREDENTIALS_TTL_S
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        reply = await self._http.request(
            method,
            API + path,
            params=params,
            json_body=body,
            auth=self._auth,
            idempotent=idempotent,
        )
        return reply.data

    async def _pages(self, path: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Rows of a paginated list, following ``page.next`` verbatim until it is null."""
        url = API + path
        query: dict[str, str] | None = {**params, "page_size": str(self._page_size)}
        while True:
            reply = await self._http.request("GET", url, params=query, auth=self._auth)
            data = reply.data if isinstance(reply.data, dict) else {}
            for row in data.get("data") or []:
                yield row
            link = (data.get("page") or {}).get("next")
            if not link:
                return
            target = self._http.url(str(link))
            if not self._http.same_origin(target):
                raise FatalVendorError(
                    SYSTEM, f"next-page link points at another host ({target.host}); not followed"
                )
            if query is None and str(target) == url:
                raise FatalVendorError(SYSTEM, "next-page link repeats; pagination stopped")
            url, query = str(target), None

    # --- connection checks ---------------------------------------------------------------------

    async def get_token_info(self) -> TokenInfo:
        """Obtain (or reuse) a token and report its granted scopes and remaining validity."""
        token = await self._auth.token()
        return TokenInfo(token.scopes, token.expires_at - self._clock())

    async def ping(self) -> TokenInfo:
        """Check the credentials end to end: a token with every required scope, one cheap read.

        Ramp silently drops scopes the app may not use, so a missing required scope is
        reported here as PermissionDenied naming it, rather than later as a 403 on some call.
        A missing optional scope is only reported (``TokenInfo.missing_optional``).
        """
        info = await self.get_token_info()
        optional: tuple[str, ...] = ()
        if info.scopes is not None:
            missing = sorted(set(self._creds.scopes) - set(info.scopes))
            if missing:
                raise PermissionDenied(
                    SYSTEM,
                    f"Ramp granted the token without the scopes {', '.join(missing)}. Enable "
                    "them for the app in Ramp (Developer settings) and reconnect.",
                )
            optional = tuple(s for s in self._creds.optional_scopes if s not in info.scopes)
        granted = info.scopes if info.scopes is not None else self._creds.requested
        probe = "/entities" if "entities:read" in granted else "/bills"
        await self._call("GET", probe, params={"page_size": "2"})
        return TokenInfo(info.scopes, info.expires_in_s, optional)

    # --- bills, vendors, entities, purchase orders ---------------------------------------------

    async def list_bills(self, **filters: Any) -> AsyncIterator[Bill]:
        """Bills matching the spec's filters, e.g. ``sync_ready=True``, ``vendor_id=…``."""
        async for row in self._pages("/bills", _query(filters, _BILL_FILTERS)):
            yield Bill.model_validate(row)

    async def get_bill(self, bill_id: str) -> Bill:
        return Bill.model_validate(await self._call("GET", f"/bills/{_segment(bill_id)}"))

    async def update_bill(self, bill_id: str, **fields: Any) -> Bill:
        """PATCH a bill; line amounts are decimals in major units (send ``Decimal``)."""
        body = _checked(fields, _BILL_FIELDS, "bill field")
        return Bill.model_validate(
            await self._call("PATCH", f"/bills/{_segment(bill_id)}", body=body)
        )

    async def list_vendors(self, **filters: Any) -> AsyncIterator[Vendor]:
        async for row in self._pages("/vendors", _query(filters, _VENDOR_FILTERS)):
            yield Vendor.model_validate(row)

    async def get_vendor(self, vendor_id: str) -> Vendor:
        """The vendor detail, including its onboarding answers (org and VAT numbers)."""
        return Vendor.model_validate(await self._call("GET", f"/vendors/{_segment(vendor_id)}"))

    async def list_vendor_contacts(self, vendor_id: str) -> list[VendorContact]:
        path = f"/vendors/{_segment(vendor_id)}/contacts"
        return [VendorContact.model_validate(row) async for row in self._pages(path, {})]

    async def update_vendor(
        self, vendor_id: str, *, accounting_vendor_remote_id: str | None = None, **fields: Any
    ) -> Vendor:
        """PATCH a vendor, e.g. link it to the ERP supplier with ``accounting_vendor_remote_id``."""
        body = _checked(
            {"accounting_vendor_remote_id": accounting_vendor_remote_id, **fields},
            _VENDOR_FIELDS,
            "vendor field",
        )
        data = await self._call("PATCH", f"/vendors/{_segment(vendor_id)}", body=body)
        return Vendor.model_validate(data)

    async def list_entities(self, **filters: Any) -> AsyncIterator[Entity]:
        async for row in self._pages("/entities", _query(filters, _ENTITY_FILTERS)):
            yield Entity.model_validate(row)

    def _asking(self, scopes: Sequence[str]) -> None:
        """Make sure the token is asked for ``scopes``, adding them as optional if not.

        A connection asks only for what its enabled flows use (flows.scopes); an explicit
        request for a flow that is off (``sync --only purchase-orders``, a webhook subscription
        to its events) asks for its read scope when it first needs it.
        """
        missing = tuple(s for s in scopes if s not in self._creds.requested)
        if missing:
            extra = (*self._creds.optional_scopes, *missing)
            self._creds = dataclasses.replace(self._creds, optional_scopes=extra)
            self._auth.forget()

    async def list_purchase_orders(self, **filters: Any) -> AsyncIterator[PurchaseOrder]:
        self._asking(("purchase_orders:read",))
        async for row in self._pages("/purchase-orders", _query(filters, _PO_FILTERS)):
            yield PurchaseOrder.model_validate(row)

    async def get_purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        self._asking(("purchase_orders:read",))
        data = await self._call("GET", f"/purchase-orders/{_segment(purchase_order_id)}")
        return PurchaseOrder.model_validate(data)

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
        async for row in self._pages("/accounting/accounts", _query(filters, _CHART_FILTERS)):
            yield GLAccount.model_validate(row)

    async def upload_gl_accounts(self, items: Sequence[GLAccountUpload]) -> list[GLAccount]:
        """Create GL accounts (1 to 500, all or nothing; none may exist yet)."""
        _batch(items, "GL account")
        rows = [
            _upload_row(i.id, name=i.name, classification=i.classification, code=i.code)
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
        body = _patch_body(name=name, code=code, reactivate=reactivate)
        data = await self._call("PATCH", f"/accounting/accounts/{_segment(ramp_id)}", body=body)
        return GLAccount.model_validate(data)

    async def delete_gl_account(self, ramp_id: str) -> None:
        await self._call("DELETE", f"/accounting/accounts/{_segment(ramp_id)}")

    async def list_fields(self, **filters: Any) -> AsyncIterator[AccountingField]:
        async for row in self._pages("/accounting/fields", _query(filters, _FIELD_FILTERS)):
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
        params = {**_query(filters, _OPTION_FILTERS), "field_id": field_id}
        async for row in self._pages("/accounting/field-options", params):
            yield FieldOption.model_validate(row)

    async def upload_field_options(
        self, field_id: str, items: Sequence[FieldOptionUpload]
    ) -> list[FieldOption]:
        """Create options of a field (1 to 500, all or nothing; none may exist yet)."""
        _batch(items, "field option")
        rows = [_upload_row(i.id, value=i.value, code=i.code) for i in items]
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
        body = _patch_body(
            value=value,
            code=code,
            display_name=display_name,
            visibility=visibility,
            reactivate=reactivate,
        )
        path = f"/accounting/field-options/{_segment(ramp_id)}"
        return FieldOption.model_validate(await self._call("PATCH", path, body=body))

    async def delete_field_option(self, ramp_id: str) -> None:
        await self._call("DELETE", f"/accounting/field-options/{_segment(ramp_id)}")

    async def list_accounting_vendors(self, **filters: Any) -> AsyncIterator[AccountingVendor]:
        async for row in self._pages("/accounting/vendors", _query(filters, _CHART_FILTERS)):
            yield AccountingVendor.model_validate(row)

    async def upload_accounting_vendors(
        self, items: Sequence[AccountingVendorUpload]
    ) -> list[AccountingVendor]:
        """Create accounting vendors (1 to 500, all or nothing; none may exist yet)."""
        _batch(items, "accounting vendor")
        rows = [_upload_row(i.id, name=i.name) for i in items]
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
        body = _patch_body(name=name, code=code, reactivate=reactivate)
        data = await self._call("PATCH", f"/accounting/vendors/{_segment(ramp_id)}", body=body)
        return AccountingVendor.model_validate(data)

    async def delete_accounting_vendor(self, ramp_id: str) -> None:
        """Soft-delete an accounting vendor (inactive; PATCH ``reactivate`` restores it)."""
        await self._call("DELETE", f"/accounting/vendors/{_segment(ramp_id)}")

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
                _upload_row(s.id, reference_id=s.reference_id, deep_link_url=s.deep_link_url)
                for s in successful
            ]
        if failed:
            body["failed_syncs"] = [{"id": f.id, "error": {"message": f.message}} for f in failed]
        data = await self._call("POST", "/accounting/syncs", body=body, idempotent=True)
        return str((data or {}).get("sync_id", ""))

    # --- webhooks and files -----------------------------------------------------------------------

    async def create_webhook(
        self,
        endpoint_url: str,
        event_types: Sequence[str],
        additional_headers: Mapping[str, str] | None = None,
    ) -> tuple[WebhookSubscription, SecretStr]:
        """Subscribe ``endpoint_url``; returns the subscription and its signing secret.

        Ramp shows the secret only in this answer: store it (encrypted) at once. Subscribing
        needs the read scope of each event's resource (ramp-api.md §8), which the token is
        asked for here if the connection's plan left it out.
        """
        families = {event.split(".", 1)[0] for event in event_types}
        self._asking(sorted(f"{family}:read" for family in families & _EVENT_FAMILIES))
        body: dict[str, Any] = {"endpoint_url": endpoint_url, "event_types": list(event_types)}
        if additional_headers:
            body["additional_headers"] = dict(additional_headers)
        data = await self._call("POST", "/webhooks", body=body)
        return WebhookSubscription.model_validate(data), secret_of(data)

    async def list_webhooks(self) -> list[WebhookSubscription]:
        data = await self._call("GET", "/webhooks")
        return [WebhookSubscription.model_validate(row) for row in data or []]

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._call("DELETE", f"/webhooks/{_segment(webhook_id)}")

    async def verify_webhook(self, webhook_id: str, challenge: str) -> bool:
        """Answer the verification challenge Ramp posted to the endpoint."""
        path = f"/webhooks/{_segment(webhook_id)}/verify"
        data = await self._call("POST", path, body={"challenge": challenge})
        return bool((data or {}).get("success", False))

    async def download(self, url: str) -> InvoiceFile:
        """Fetch an invoice file from one of a bill's ``invoice_urls``.

        Ramp's links are pre-signed URLs on a file host of their own (ramp-api.md §5.1): they
        get no bearer token and do not count against the API's rate limit (both only ever
        apply to the API host itself). A link the file host refuses (expired, or signed for
        another host) raises ``FileLinkRefused``: read the bill again for a fresh one.
        """
        target = self._http.url(url)
        ours = self._http.same_origin(target)
        try:
            reply = await self._http.request(
                "GET", str(target), auth=self._auth if ours else None, follow_redirects=not ours
            )
        except FatalVendorError as exc:
            if ours or exc.status not in _REFUSED_LINK:
                raise
            raise FileLinkRefused(
                SYSTEM,
                f"the invoice file host refused the link (HTTP {exc.status})",
                status=exc.status,
                vendor_message=_s3_message(exc.vendor_message),
                method="GET",
                path=target.path,
            ) from None
        return InvoiceFile(
            reply.content,
            _content_type(reply.headers.get("content-type")),
            _file_name(reply.headers.get("content-disposition")),
        )


# Event families whose subscription needs ``<family>:read`` (ramp-api.md §2.4, §8).
_EVENT_FAMILIES = frozenset(
    {"bills", "purchase_orders", "vendors", "transactions", "reimbursements", "transfers"}
)
# What a file host answers to a link that no longer works: S3-style hosts say 403 (expired or
# bad signature) or 400; some answer 401, 404 or 410 for a link that is gone.
_REFUSED_LINK = frozenset({400, 401, 403, 404, 410})
_S3_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)


def _s3_message(text: str) -> str:
    """The ``<Message>`` of an S3-style XML error body, else the text as it came."""
    found = _S3_MESSAGE.search(text or "")
    return found.group(1).strip() if found else (text or "").strip()


def _content_type(value: str | None) -> str | None:
    """The media type of a ``Content-Type`` header, without parameters; None when absent."""
    kind = (value or "").split(";", 1)[0].strip().lower()
    return kind or None


def _file_name(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*`` first, RFC 6266)."""
    if not value:
        return None
    header = Message()
    header["content-disposition"] = value
    params = header.get_params(header="content-disposition") or []
    names = [v for k, v in params if k.lower() == "filename"]
    # ``filename*`` (RFC 5987, decoded as a (charset, language, text) triple) wins over
    # ``filename``, as RFC 6266 says; the plain one is the fallback for old clients.
    extended = [v for v in names if isinstance(v, tuple)]
    chosen = extended[0] if extended else (names[0] if names else None)
    name = collapse_rfc2231_value(chosen) if chosen else ""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()  # never a path
    return name or None


def _upload_row(item_id: str, **fields: str | None) -> dict[str, str]:
    return {"id": item_id, **{k: v for k, v in fields.items() if v is not None}}


def _patch_body(*, reactivate: bool, **fields: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if reactivate:
        body["reactivate"] = True
    return body
