"""The composition root: build the store, vault, clients and flow contexts from Settings.

This is the one function-sized place that knows how the pieces fit. Tests and the demo reach the
sandboxes either over real localhost ports (nothing to inject) or in-process, by passing
``transports``: a map from a base URL's origin (``"http://ramp.test"``) to an httpx transport.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ml_connector.audit import Redactor
from ml_connector.clients import RampClient, RampCredentials, VismaClient, VismaCredentials
from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.flows.context import (
    ConnectionOptions,
    FlowContext,
    MasterDataCache,
    record_call,
)
from ml_connector.flows.scopes import scope_plan
from ml_connector.flows.supplier_index import SupplierIndex
from ml_connector.flows.supplier_options import SupplierOptions
from ml_connector.flows.writeback import WriteBack
from ml_connector.log import REDACTOR
from ml_connector.mapping.bindings import BindingSet, rules_with_bindings
from ml_connector.mapping.coding import CodingRules
from ml_connector.mapping.table import MappingTable
from ml_connector.runtime.sealing import seal_plaintext
from ml_connector.settings import Settings
from ml_connector.store import BindingVersion, Connection, Store
from ml_connector.vault import Vault

__all__ = [
    "CREDENTIAL_FIELDS",
    "FIELD_SETTINGS",
    "Runtime",
    "bound_rules",
    "coding_rules",
    "fields_configured",
    "live_rate_limits",
]

# The credential fields a connection keeps in the vault (all of them encrypted at rest).
CREDENTIAL_FIELDS = (
    "ramp_client_id",
    "ramp_client_secret",
    "visma_client_id",
    "visma_client_secret",
    "visma_tenant_id",
    "visma_company_id",
)
_SECRET_FIELDS = ("ramp_client_secret", "visma_client_secret")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


# The settings that named the Ramp fields by hand before field bindings existed.
FIELD_SETTINGS = ("gl_fields", "segment_fields", "project_field", "vat_field", "task_field")


def coding_rules(settings: ConnectionSettings) -> CodingRules:
    """The connection's coding rules from its stored settings (defaults when absent).

    The field ids here are the chart push's (or those the settings name); the connection's
    field bindings are applied on top by ``Runtime`` (``mapping.bindings``).
    """
    mapping = settings.mapping
    defaults = CodingRules()
    segment_fields = mapping.segment_fields or defaults.segment_fields
    gl_fields = mapping.gl_fields if mapping.given("gl_fields") else defaults.gl_fields
    return CodingRules(
        gl_fields=frozenset(gl_fields or ()),
        segment_fields={str(k): int(v) for k, v in segment_fields.items()},
        project_field=mapping.project_field
        if mapping.given("project_field")
        else defaults.project_field,
        vat_field=mapping.vat_field if mapping.given("vat_field") else defaults.vat_field,
        task_field=mapping.task_field if mapping.given("task_field") else defaults.task_field,
        default_account=mapping.default_account,
        default_project=mapping.default_project,
        default_vat=mapping.default_vat,
        vat_by_account=dict(mapping.vat_by_account),
    )


def fields_configured(settings: ConnectionSettings) -> bool:
    """True when the settings name Ramp fields by hand (bindings decided by configuration)."""
    return any(settings.mapping.given(key) for key in FIELD_SETTINGS)


def bound_rules(
    settings: ConnectionSettings, name: str, stored: BindingVersion | None
) -> CodingRules:
    """The settings' rules reading Ramp coding through the stored field bindings, if any."""
    base = replace(coding_rules(settings), connection_name=name)
    bindings = BindingSet.from_document(stored.document) if stored is not None else None
    return rules_with_bindings(
        base,
        bindings,
        stored.version if stored is not None else None,
        configured=fields_configured(settings),
    )


@dataclass
class Runtime:
    """An open store and vault plus the means to build per-connection contexts."""

    settings: Settings
    store: Store
    vault: Vault
    redactor: Redactor = field(default_factory=lambda: REDACTOR)
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    owner: str = field(default_factory=lambda: f"{os.uname().nodename}:{os.getpid()}")
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # flows' wall clock
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _contexts: dict[int, FlowContext] = field(default_factory=dict)
    _stamps: dict[int, datetime] = field(default_factory=dict)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        migrate: bool = True,
    ) -> Runtime:
        store = Store.open(settings.database_url)
        vault = Vault.from_settings(settings)
        if migrate:
            await store.migrate()
            # Plaintext from before revision 0012 that only the vault can encrypt.
            await seal_plaintext(store, vault)
        runtime = cls(settings, store, vault)
        runtime.transports = dict(transports or {})
        return runtime

    async def close(self) -> None:
        await self._stack.aclose()
        self._contexts.clear()
        await self.store.close()

    def credentials(self, connection: Connection) -> dict[str, str]:
        """Decrypt a connection's credentials and register its secrets with the redactor."""
        creds = self.vault.decrypt(connection.credentials_ciphertext)
        self.redactor.add(creds[name] for name in _SECRET_FIELDS if name in creds)
        return creds

    def _transport(self, base_url: str) -> httpx.AsyncBaseTransport | None:
        return self.transports.get(_origin(base_url))

    def clients(self, connection: Connection) -> tuple[RampClient, VismaClient]:
        """Fresh (unopened) clients for a connection; the caller owns and closes them."""
        creds = self.credentials(connection)
        missing = [name for name in CREDENTIAL_FIELDS if not creds.get(name)]
        if missing:
            raise ConfigurationError(
                f"connection {connection.name!r} lacks credentials: {', '.join(missing)}"
            )
        plan = scope_plan(connection.settings)  # only what the enabled flows use
        ramp = RampClient(
            RampCredentials(
                client_id=creds["ramp_client_id"],
                client_secret=SecretStr(creds["ramp_client_secret"]),
                base_url=connection.ramp_base_url,
                scopes=plan.ramp_required,
                optional_scopes=plan.ramp_optional,
            ),
            transport=self._transport(connection.ramp_base_url),
            timeout_s=self.settings.http_timeout_s,
            retries=self.settings.in_call_retries,
            on_call=record_call,
            leeway_s=self.settings.token_leeway_s,
        )
        visma = VismaClient(
            VismaCredentials(
                client_id=creds["visma_client_id"],
                client_secret=SecretStr(creds["visma_client_secret"]),
                tenant_id=creds["visma_tenant_id"],
                company_id=creds["visma_company_id"],
                base_url=connection.visma_base_url,
                token_url=connection.visma_token_url,
                scopes=plan.visma_required,
                optional_scopes=plan.visma_optional,
            ),
            transport=self._transport(connection.visma_base_url),
            timeout_s=self.settings.http_timeout_s,
            retries=self.settings.in_call_retries,
            on_call=record_call,
            leeway_s=self.settings.token_leeway_s,
        )
        return ramp, visma

    async def _rules(self, connection: Connection) -> CodingRules:
        """The settings' coding rules, the field bindings and the newest mapping table."""
        bindings = await self.store.current_bindings(connection.id)
        rules = bound_rules(connection.settings, connection.name, bindings)
        current = await self.store.current_mapping(connection.id)
        if current is None:
            return rules
        return rules.with_table(MappingTable.from_document(current.document), current.version)

    async def _stale(self, ctx: FlowContext) -> bool:
        """True when the mapping table or the field bindings changed since ``ctx`` was built."""
        current = await self.store.current_mapping(ctx.connection_id)
        bindings = await self.store.current_bindings(ctx.connection_id)
        versions = (
            current.version if current is not None else None,
            bindings.version if bindings is not None else None,
        )
        return versions != (ctx.rules.mapping_version, ctx.rules.binding_version)

    def forget(self, connection_id: int) -> None:
        """Drop a cached context, so the next one is built from the stored connection afresh.

        Its clients stay open until the runtime closes (an in-flight call may still use them).
        """
        self._contexts.pop(connection_id, None)

    async def context(self, connection: Connection) -> FlowContext:
        """The (cached) flow context of a connection; clients are closed with the runtime."""
        cached = self._contexts.get(connection.id)
        if cached is not None:
            stamp = self._stamps.get(connection.id)
            if stamp is not None and connection.updated_at > stamp:
                self.forget(connection.id)  # credentials or settings changed: rebuild
            else:
                if await self._stale(cached):
                    cached.rules = await self._rules(connection)  # an edit: apply it
                return cached
        self._stamps[connection.id] = connection.updated_at
        ramp, visma = self.clients(connection)
        await self._stack.enter_async_context(ramp)
        await self._stack.enter_async_context(visma)
        supplier_options = SupplierOptions.from_settings(connection.settings)
        suppliers = SupplierIndex(
            visma,
            self.store,
            connection.id,
            owner=self.owner,
            max_age_s=supplier_options.index_max_age_s,
            clock=self.clock,
        )
        ctx = FlowContext(
            connection_id=connection.id,
            connection_name=connection.name,
            ramp=ramp,
            visma=visma,
            store=self.store,
            rules=await self._rules(connection),
            options=ConnectionOptions.from_settings(connection.settings),
            master=MasterDataCache(visma, suppliers),
            redactor=self.redactor,
            writeback=WriteBack(self.store, connection.id),
            suppliers=suppliers,
            clock=self.clock,
            supplier_options=supplier_options,
            owner=self.owner,
            release_wait_s=self.settings.release_wait_s,
        )
        self._contexts[connection.id] = ctx
        return ctx


_LIMITER_FIGURES = ("limit", "remaining", "window_s", "waited_s")


def live_rate_limits(rt: Runtime, connection_id: int) -> dict[str, dict[str, float]] | None:
    """What this process's rate limiters know of the connection's quotas, per system.

    None when this process holds no clients for the connection (the dashboard then falls back
    to what the store saw). The figures are read, never changed: ``limit`` and ``remaining``
    as the vendor last reported them, ``window_s`` for Ramp's sliding window, and ``waited_s``,
    the total time calls spent waiting for quota.
    """
    ctx = rt._contexts.get(connection_id)  # the live context, when this process has one
    if ctx is None:
        return None
    found: dict[str, dict[str, float]] = {}
    for system, client in (("ramp", ctx.ramp), ("visma", ctx.visma)):
        limiter = getattr(getattr(client, "_http", None), "limiter", None)
        figures = {
            name: float(value)
            for name in _LIMITER_FIGURES
            if isinstance(value := getattr(limiter, name, None), int | float)
            and not isinstance(value, bool)
        }
        if figures:
            found[system] = figures
    return found
