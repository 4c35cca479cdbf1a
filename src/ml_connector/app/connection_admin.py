"""Operator actions on connections: add, list and show (secrets masked), resume, ping,
status, settings, and the vault's master keys.

Everything returned here is safe to print: secrets are masked, vendor errors are scrubbed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_connector.app.connections import connection_named, visible_connections
from ml_connector.app.principal import Actor, Permission
from ml_connector.errors import ConfigurationError, ConnectorError, VendorError
from ml_connector.flows.scopes import scope_plan
from ml_connector.runtime.bindings import BindingReport, refresh
from ml_connector.runtime.sealing import check_plain_url
from ml_connector.runtime.wiring import CREDENTIAL_FIELDS, Runtime
from ml_connector.store import Connection, ConnectionStatus, SyncStatus
from ml_connector.store.connections import check_new_name
from ml_connector.vault import Vault

__all__ = [
    "BindingReport",
    "Connection",
    "ConnectionDescription",
    "PingCheck",
    "add_connection",
    "check_new_name",
    "describe_connection",
    "describe_connections",
    "discover_bindings",
    "mask",
    "ping",
    "resume_connection",
    "rotate_keys",
    "status",
]

_SECRET_FIELDS = frozenset({"ramp_client_secret", "visma_client_secret"})


def mask(field: str, value: str) -> str:
    """Secrets become ``********``; identifiers keep their first four characters."""
    if field in _SECRET_FIELDS:
        return "********"
    return value[:4] + "…" if len(value) > 4 else value


async def add_connection(
    actor: Actor,
    rt: Runtime,
    name: str,
    *,
    credentials: dict[str, str],
    ramp_base_url: str,
    visma_base_url: str,
    visma_token_url: str,
    settings: dict[str, Any] | None = None,
) -> Connection:
    """A new connection with its credentials encrypted at rest (admins)."""
    actor.require(Permission.ADMIN, "add a connection")
    missing = [f for f in CREDENTIAL_FIELDS if not credentials.get(f)]
    if missing:
        raise ConfigurationError(f"missing credentials: {', '.join(missing)}")
    return await rt.store.create_connection(
        name,
        ramp_base_url=check_plain_url(ramp_base_url, "the Ramp base URL").rstrip("/"),
        visma_base_url=check_plain_url(visma_base_url, "the Visma base URL").rstrip("/"),
        visma_token_url=check_plain_url(visma_token_url, "the Visma token URL"),
        credentials_ciphertext=rt.vault.encrypt(credentials),
        settings=settings or {},
    )


@dataclass(frozen=True)
class ConnectionDescription:
    """A connection as ``connection list`` and ``connection show`` print it, secrets masked."""

    id: int
    name: str
    status: str
    health_message: str
    ramp_base_url: str
    visma_base_url: str
    visma_token_url: str
    credentials: dict[str, str]  # field → masked value, or {"error": why unreadable}
    settings: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "health_message": self.health_message,
            "ramp_base_url": self.ramp_base_url,
            "visma_base_url": self.visma_base_url,
            "visma_token_url": self.visma_token_url,
            "credentials": self.credentials,
            "settings": self.settings,
        }


@dataclass(frozen=True)
class PingCheck:
    """One check of ``ping``: a system's token and read, or the field bindings discovery sees.

    ``missing_optional_scopes`` is there for a vendor that answered, ``bindings`` for a
    fields check that could read; each is left out of ``as_dict()`` otherwise.
    """

    system: str
    ok: bool
    detail: str
    missing_optional_scopes: list[str] | None = None
    bindings: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"system": self.system, "ok": self.ok, "detail": self.detail}
        if self.missing_optional_scopes is not None:
            shown["missing_optional_scopes"] = self.missing_optional_scopes
        if self.bindings is not None:
            shown["bindings"] = self.bindings
        return shown


def _describe(rt: Runtime, connection: Connection) -> ConnectionDescription:
    try:
        creds = rt.credentials(connection)
        masked = {k: mask(k, v) for k, v in creds.items()}
    except ConnectorError as exc:
        masked = {"error": str(exc)}
    return ConnectionDescription(
        id=connection.id,
        name=connection.name,
        status=str(connection.status),
        health_message=connection.health_message,
        ramp_base_url=connection.ramp_base_url,
        visma_base_url=connection.visma_base_url,
        visma_token_url=connection.visma_token_url,
        credentials=masked,
        settings=connection.settings.as_stored(),
    )


async def describe_connections(actor: Actor, rt: Runtime) -> list[ConnectionDescription]:
    """Every connection the actor sees, with its credentials masked."""
    actor.require(Permission.VIEW, "list connections")
    return [_describe(rt, c) for c in await visible_connections(actor, rt)]


async def describe_connection(actor: Actor, rt: Runtime, name: str) -> ConnectionDescription:
    """One connection, with its credentials masked."""
    actor.require(Permission.VIEW, "show a connection")
    return _describe(rt, await connection_named(actor, rt, name))


async def resume_connection(actor: Actor, rt: Runtime, name: str) -> int:
    """Mark the connection active and make the records its pause deferred due again now."""
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.ADMIN, connection.id, "resume a connection")
    await rt.store.set_connection_status(connection.id, ConnectionStatus.ACTIVE, "")
    rt.forget(connection.id)  # rebuild clients: the credentials may have been replaced
    deferred = [
        r
        for r in await rt.store.list_records(
            connection.id, status=SyncStatus.RETRY_WAIT, limit=1_000_000
        )
        if r.error_code == "credentials"
    ]
    for record in deferred:
        await rt.store.upsert_record(
            connection.id, record.object_type, record.object_id, reason="resumed", replay=True
        )
    return len(deferred)


async def ping(actor: Actor, rt: Runtime, name: str) -> list[PingCheck]:
    """Try each system's token and one cheap read; report each result in plain words.

    When both answer, a third check reports the field bindings discovery would make (it reads
    Ramp's fields and recent bills and Visma's master data, and writes nothing).
    A missing required scope fails the check; a missing optional one (``flows.scopes``) is
    named, with what stops without it, and the check still passes.
    """
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.VIEW, connection.id, "ping a connection")
    ramp, visma = rt.clients(connection)
    plan = scope_plan(connection.settings)
    results: list[PingCheck] = []
    for system, client in (("ramp", ramp), ("visma", visma)):
        try:
            async with client:
                detail = await client.ping()
            scopes = " ".join(detail.scopes or ()) or "not reported"
            text = f"token ok (scopes: {scopes})"
            if detail.missing_optional:
                text += f"; optional {plan.explain(detail.missing_optional)}"
            results.append(PingCheck(system, True, text, list(detail.missing_optional)))
        except VendorError as exc:
            results.append(PingCheck(system, False, rt.redactor.scrub_text(str(exc))))
    healthy = all(r.ok for r in results)
    message = "" if healthy else "; ".join(r.detail for r in results if not r.ok)
    if healthy:
        results.append(await _bindings_check(rt, name))
    if healthy and connection.status == ConnectionStatus.ACTIVE:
        await rt.store.set_connection_status(connection.id, ConnectionStatus.ACTIVE, "")
    elif not healthy:
        await rt.store.set_connection_status(connection.id, connection.status, message)
    return results


async def _bindings_check(rt: Runtime, name: str) -> PingCheck:
    """What each Ramp field is bound to, as discovery sees it now; nothing is written.

    An undecided field is not a failure of the connection (it stops only the bills that use
    it), so the check passes and names the fields; a read that fails is reported as failed.
    """
    try:
        report = await refresh(rt, name, write=False)
    except ConnectorError as exc:
        detail = f"could not read the accounting fields: {rt.redactor.scrub_text(str(exc))}"
        return PingCheck("fields", False, detail)
    detail = report.summary()
    if report.changed:
        detail += f"; `mappings pull` would change {len(report.changed)} binding(s)"
    return PingCheck("fields", True, detail, bindings=report.as_dict())


async def status(actor: Actor, rt: Runtime, name: str) -> dict[str, Any]:
    """Counts per state, the oldest pending record and the newest error of one connection."""
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.VIEW, connection.id, "show a connection")
    counts = await rt.store.count_by_status(connection.id)
    pending = await rt.store.list_records(connection.id, status=SyncStatus.PENDING, limit=1)
    attention = await rt.store.list_records(
        connection.id, status=SyncStatus.NEEDS_ATTENTION, limit=1
    )
    return {
        "connection": connection.name,
        "connection_status": str(connection.status),
        "health_message": connection.health_message,
        "counts": {str(k): v for k, v in counts.items()},
        "oldest_pending": pending[0].created_at.isoformat() if pending else None,
        "last_error": attention[0].last_error if attention else None,
    }


async def rotate_keys(actor: Actor, rt: Runtime) -> int:
    """Prepend a fresh master key to the key file and re-encrypt every credential with it
    (connection credentials, then alert secrets); returns the number of connections."""
    actor.require(Permission.ADMIN, "rotate the master keys")
    if rt.settings.master_key is not None:
        # Keys come from the environment: the operator put the new key first already.
        vault = Vault.from_settings(rt.settings)
    else:
        vault = Vault.add_key_to_file(rt.settings.master_key_file)
    tokens = await rt.store.all_credentials()
    await rt.store.replace_credentials({cid: vault.rotate(token) for cid, token in tokens.items()})
    alert_tokens = await rt.store.all_alert_secrets()
    await rt.store.replace_alert_secrets(
        {cid: vault.rotate(token) for cid, token in alert_tokens.items()}
    )
    count = len(tokens)
    rt.vault = vault
    return count


async def discover_bindings(actor: Actor, rt: Runtime, name: str) -> BindingReport | str:
    """After ``connection add``: bind each Ramp field where the evidence settles it, and save.

    The connection stands even when the vendors cannot be read yet: the scrubbed reason is
    returned instead of a report.
    """
    connection = await connection_named(actor, rt, name)
    actor.require_on(Permission.ACT, connection.id, "discover field bindings")
    try:
        return await refresh(rt, name, write=True)
    except ConnectorError as exc:
        return rt.redactor.scrub_text(str(exc))
