"""Credential-like values at rest: sealing plaintext left by older versions, and key rotation.

The store never sees plaintext secrets, except the alert webhook URLs written before revision
0012 (``store.alerts``). :meth:`AtRestRepository.alert_targets_in_plaintext` hands them to the
runtime, which encrypts them with the vault, and :meth:`~AtRestRepository.seal_alert_target`
swaps each for its ciphertext. On SQLite the swap runs with ``secure_delete`` on, so the page
that held the URL is zeroed rather than merely marked free, and the write-ahead log is then
checkpointed and truncated, so no old copy of the page stays in ``-wal`` either (best effort:
a reader holding an old snapshot can keep the log from being truncated until the next seal or
checkpoint). On PostgreSQL the old row version stays in the table file until ``VACUUM``
reclaims it (``docs/security.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.store.alerts import AlertTargetRow
from ml_connector.store.engine import Repository

__all__ = ["AtRestRepository", "PlaintextAlertTarget"]


@dataclass(frozen=True, slots=True)
class PlaintextAlertTarget:
    """An alert target still holding its webhook URL in plaintext (from before 0012)."""

    connection_id: int
    webhook_url: str = field(repr=False)
    secrets_ciphertext: bytes | None = field(repr=False)


class AtRestRepository(Repository):
    """Moves plaintext into ciphertext and re-encrypts alert secrets under a new key."""

    async def alert_targets_in_plaintext(self) -> list[PlaintextAlertTarget]:
        """Alert targets whose webhook URL is still stored in plaintext."""
        query = (
            select(AlertTargetRow)
            .where(AlertTargetRow.legacy_webhook_url.is_not(None))
            .order_by(AlertTargetRow.connection_id)
        )
        async with self._db.read() as session:
            return [
                PlaintextAlertTarget(row.connection_id, row.legacy_webhook_url or "", row.secrets)
                for row in await session.scalars(query)
            ]

    async def seal_alert_target(
        self,
        connection_id: int,
        *,
        plaintext_url: str,
        webhook_hint: str,
        secrets_ciphertext: bytes,
        now: datetime | None = None,
    ) -> bool:
        """Replace the plaintext URL by ``secrets_ciphertext`` (which must hold it), if the row
        still holds ``plaintext_url``; False when another process got there first."""
        now = self._now(now)
        statement = (
            update(AlertTargetRow)
            .where(
                AlertTargetRow.connection_id == connection_id,
                AlertTargetRow.legacy_webhook_url == plaintext_url,
            )
            .values(
                legacy_webhook_url=None,
                webhook_hint=webhook_hint,
                secrets=secrets_ciphertext,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        async with self._db.write() as session:
            previous = await self._secure_delete(session, "ON")
            try:
                result: Any = await session.execute(statement)
                sealed = int(result.rowcount) == 1
            finally:
                await self._secure_delete(session, previous)
        await self._db.truncate_wal()
        return sealed

    async def _secure_delete(self, session: AsyncSession, value: str | None) -> str | None:
        """On SQLite, set ``PRAGMA secure_delete`` and return what it was (else None)."""
        if self._db.dialect != "sqlite" or value is None:
            return None
        before = (await session.execute(text("PRAGMA secure_delete"))).scalar()
        # ``value`` is "ON" or the integer SQLite itself reported: never outside text.
        await session.execute(text(f"PRAGMA secure_delete = {value}"))
        return str(before)

    async def all_alert_secrets(self) -> dict[int, bytes]:
        """Every alert target's secrets ciphertext, by connection id (for key rotation)."""
        query = select(AlertTargetRow.connection_id, AlertTargetRow.secrets).where(
            AlertTargetRow.secrets.is_not(None)
        )
        async with self._db.read() as session:
            rows = (await session.execute(query)).all()
            return {cid: bytes(token) for cid, token in rows if token is not None}

    async def replace_alert_secrets(
        self, ciphertexts: Mapping[int, bytes], *, now: datetime | None = None
    ) -> None:
        """Swap many alert targets' ciphertexts in one transaction: all of them, or none."""
        now = self._now(now)
        async with self._db.write() as session:
            for connection_id, ciphertext in ciphertexts.items():
                await session.execute(
                    update(AlertTargetRow)
                    .where(AlertTargetRow.connection_id == connection_id)
                    .values(secrets=ciphertext, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
