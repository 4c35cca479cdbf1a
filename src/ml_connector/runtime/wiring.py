"""The composition root: build the store, vault, clients and flow contexts from Settings.

This is the one function-sized place that knows how the pieces fit. Tests and the demo reach the
sandboxes either over real localhost ports (nothing to inject) or in-process, by passing
``transports``: a map from a base URL's origin (``"http://ramp.test"``) to an httpx transport.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ml_connector.audit import Redactor
from ml_connector.clients import RampClient, RampCredentials, VismaClient, VismaCredentials
from ml_connector.errors import ConfigurationError
from ml_connector.flows.context import (
    ConnectionOptions,
    FlowContext,
    MasterDataCache,
    record_call,
)
from ml_connector.flows.writeback import WriteBack
from ml_connector.log import REDACTOR
from ml_connector.mapping.coding import CodingRules
from ml_connector.mapping.table import MappingTable
from ml_connector.settings import Settings
from ml_connector.store import Connection, Store
from ml_connector.vault import Vault

__all__ = ["CREDENTIAL_FIELDS", "Runtime", "coding_rules"]

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


def coding_rules(settings: Mapping[str, Any]) -> CodingRules:
    """The connection's coding rules from its stored settings (defaults when absent)."""
    mapping = settings.get("mapping", {})
    defaults = CodingRules()
    segment_fields = mapping.get("segment_fields") or defaults.segment_fields
    return CodingRules(
        gl_fields=frozenset(mapping.get("gl_fields", defaults.gl_fields)),
        segment_fields={str(k): int(v) for k, v in segment_fields.items()},
        project_field=mapping.get("project_field", defaults.project_field),
        vat_field=mapping.get("vat_field", defaults.vat_field),
        default_account=mapping.get("default_account"),
        default_project=mapping.get("default_project"),
        default_vat=mapping.get("default_vat"),
        vat_by_account=dict(mapping.get("vat_by_account", {})),
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
        if migrate:
            await store.migrate()
        runtime = cls(settings, store, Vault.from_settings(settings))
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
        ramp = RampClient(
            RampCredentials(
                client_id=creds["ramp_client_id"],
                client_secret=SecretStr(creds["ramp_client_secret"]),
                base_url=connection.ramp_base_url,
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
            ),
            transport=self._transport(connection.visma_base_url),
            timeout_s=self.settings.http_timeout_s,
            retries=self.settings.in_call_retries,
            on_call=record_call,
            leeway_s=self.settings.token_leeway_s,
        )
        return ramp, visma

    async def _rules(self, connection: Connection) -> CodingRules:
        """The settings' coding rules plus the newest saved mapping table, if any."""
        rules = coding_rules(connection.settings)
        current = await self.store.current_mapping(connection.id)
        if current is None:
            return rules
        return rules.with_table(MappingTable.from_document(current.document), current.version)

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
                current = await self.store.current_mapping(connection.id)
                version = current.version if current is not None else None
                if version != cached.rules.mapping_version:
                    cached.rules = await self._rules(connection)  # a mapping edit: apply it
                return cached
        self._stamps[connection.id] = connection.updated_at
        ramp, visma = self.clients(connection)
        await self._stack.enter_async_context(ramp)
        await self._stack.enter_async_context(visma)
        ctx = FlowContext(
            connection_id=connection.id,
            connection_name=connection.name,
            ramp=ramp,
            visma=visma,
            store=self.store,
            rules=await self._rules(connection),
            options=ConnectionOptions.from_settings(connection.settings),
            master=MasterDataCache(visma),
            redactor=self.redactor,
            writeback=WriteBack(self.store, connection.id),
            owner=self.owner,
        )
        self._contexts[connection.id] = ctx
        return ctx
