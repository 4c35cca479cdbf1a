"""Helpers for the webhook tests: secrets, event bodies, a fake clock, the in-process receiver."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.runtime.wiring import Runtime
from ml_connector.sandbox._demo import UNKNOWN_ACCOUNT
from ml_connector.sandbox.seed import Dataset, SeedBill, demo_dataset
from ml_connector.settings import Settings
from ml_connector.store import Connection
from ml_connector.web.signatures import ramp_signature, visma_signature
from ml_connector.web.webhooks import WebhookReceiver

RAMP_SECRET = "whsec_acme_ramp_5f0c2b9e7d"
VISMA_SECRET = "vwd_acme_visma_61a0f3c4d2"
OTHER_SECRET = "whsec_other_ramp_0b77e2c1aa"
TTL_S = 5.0


def dummy_credentials() -> dict[str, str]:
    """Client credentials that are never used: these tests make no vendor call."""
    return {
        "ramp_client_id": "ramp-id",
        "ramp_client_secret": "ramp-client-secret-unused",
        "visma_client_id": "visma-id",
        "visma_client_secret": "visma-client-secret-unused",
        "visma_tenant_id": "tenant",
        "visma_company_id": "1",
    }


def store_settings(tmp_path: Path) -> Settings:
    """Settings for a fresh SQLite store and an in-memory master key."""
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=tmp_path / "unused.key",
    )


class FakeClock:
    """Monotonic seconds: a microsecond per reading, and jumps when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1e-6
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def stamp(at: datetime | None = None) -> str:
    """A UTC time as Ramp writes ``created_at`` (now, unless ``at`` is given)."""
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ramp_event(
    event_id: str,
    event_type: str,
    object_id: str | None = "bill_1",
    *,
    created_at: datetime | None = None,
) -> bytes:
    """A Ramp event body, compact like Ramp's, signed into existence ``created_at`` (now)."""
    payload: dict[str, Any] = {
        "id": event_id,
        "type": event_type,
        "created_at": stamp(created_at),
        "business_id": "945c7d8f-6c35-4d63-9c1c-79e67c9cee73",
    }
    if object_id is not None:
        payload["object"] = {"id": object_id}
    return json.dumps(payload, separators=(",", ":")).encode()


def visma_event(event_id: str, event_type: str, entity_id: str = "50010") -> bytes:
    """A Visma dispatcher body in the sandbox's documented-guess shape."""
    entity, action = event_type.split(".", 1)
    return json.dumps(
        {
            "eventId": event_id,
            "eventType": event_type,
            "entity": entity,
            "action": action,
            "entityId": entity_id,
            "tenantId": "tenant",
            "companyId": "1",
            "resourceUri": f"https://api.finance.visma.net/v1/supplier/{entity_id}",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
        }
    ).encode()


@dataclass
class Receiving:
    """The receiver app over ASGITransport, the runtime behind it, and what it woke."""

    runtime: Runtime
    connections: dict[str, Connection]
    client: httpx.AsyncClient
    clock: FakeClock
    wakes: list[int] = field(default_factory=list)
    receiver: WebhookReceiver | None = None

    async def post(
        self,
        source: str,
        body: bytes,
        *,
        name: str = "acme",
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "application/json",
    ) -> httpx.Response:
        sent = dict(headers or {})
        if content_type is not None:
            sent["content-type"] = content_type
        return await self.client.post(f"/webhooks/{source}/{name}", content=body, headers=sent)

    async def post_ramp(
        self, body: bytes, *, secret: str = RAMP_SECRET, name: str = "acme", **extra: Any
    ) -> httpx.Response:
        headers = {"X-Ramp-Signature": ramp_signature(secret, body), **extra.pop("headers", {})}
        return await self.post("ramp", body, name=name, headers=headers, **extra)

    async def post_visma(
        self, body: bytes, *, secret: str = VISMA_SECRET, name: str = "acme", **extra: Any
    ) -> httpx.Response:
        headers = {"x-vwd-signature-v1": visma_signature(secret, body)}
        return await self.post("visma", body, name=name, headers=headers, **extra)


async def add_connection(runtime: Runtime, name: str) -> Connection:
    return await admin.add_connection(
        Actor.local_admin("tests"),
        runtime,
        name,
        credentials=dummy_credentials(),
        ramp_base_url="http://ramp.test",
        visma_base_url="http://visma.test",
        visma_token_url="http://visma.test/connect/token",
    )


_IDS = uuid.UUID("6c7d0c4e-5d1b-4f4e-9a51-0f7d3f1f2e10")


def generated_dataset(bills: int) -> Dataset:
    """The demo company with ``bills`` generated bills, all awaiting approval and all valid."""
    demo = demo_dataset()
    closed = {p.period_id for p in demo.periods if p.closed_in_supplier_ledger}
    inactive = {a.number for a in demo.accounts if not a.active}

    def valid(bill: SeedBill) -> bool:
        accounts = {line.gl_account for line in bill.lines}
        return (
            not accounts & ({UNKNOWN_ACCOUNT} | inactive)
            and bill.issued_at.strftime("%Y%m") not in closed
        )

    templates = [b for b in demo.bills if valid(b)]
    generated = [
        dataclasses.replace(
            template,
            id=str(uuid.uuid5(_IDS, str(n))),
            invoice_number=f"{template.invoice_number}-{n // len(templates)}",
            approval_status="PENDING",
        )
        for n, template in ((n, templates[n % len(templates)]) for n in range(bills))
    ]
    return dataclasses.replace(demo, bills=tuple(generated))
