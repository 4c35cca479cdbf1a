"""Connections: one per customer (a Ramp business paired with a Visma tenant and company).

Credentials arrive and leave as vault ciphertext; this module never sees plaintext secrets.

**Names.** A new connection's name is a slug, :data:`NAME_PATTERN`: 1 to 63 lowercase letters,
digits and hyphens, starting with a letter or digit, and not all digits (names and ids share
one lookup). It appears in URLs (``/webhooks/ramp/NAME``, ``/ui/c/NAME``), metric labels and
terminal output, where anything else would need escaping. Names are unique regardless of case:
``acme`` cannot be added beside an older ``Acme``. Stores made before the rule keep their
names; those connections work as before, only new names are checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.store.engine import Repository
from ml_connector.store.records import Connection, ConnectionStatus
from ml_connector.store.tables import ConnectionRow

__all__ = ["NAME_PATTERN", "ConnectionRepository", "check_new_name"]


def _to_record(row: ConnectionRow) -> Connection:
    return Connection(
        id=row.id,
        name=row.name,
        status=ConnectionStatus(row.status),
        health_message=row.health_message,
        ramp_base_url=row.ramp_base_url,
        visma_base_url=row.visma_base_url,
        visma_token_url=row.visma_token_url,
        settings=ConnectionSettings.parse(row.settings),
        created_at=row.created_at,
        updated_at=row.updated_at,
        credentials_ciphertext=bytes(row.credentials),
    )


NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def check_new_name(name: str) -> None:
    """Raise ConfigurationError, saying what is allowed, unless ``name`` is a valid new name."""
    shown = repr(name) if len(name) <= 70 else repr(name[:70]) + "…"
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigurationError(
            f"connection name {shown} is not allowed: use 1-63 lowercase letters, digits and "
            "hyphens, starting with a letter or digit (for example acme-nordic)"
        )
    if name.isdigit():
        # Names and ids share one lookup (get_connection("12")), so names must not look like ids.
        raise ConfigurationError(
            f"connection name {shown} must not be all digits; add a letter (for example c-{name})"
        )


async def _load(session: AsyncSession, connection_id: int) -> ConnectionRow:
    row = await session.get(ConnectionRow, connection_id, with_for_update=True)
    if row is None:
        raise ConfigurationError(f"no connection with id {connection_id}")
    return row


class ConnectionRepository(Repository):
    """Create, find and update connections."""

    async def create_connection(
        self,
        name: str,
        *,
        ramp_base_url: str,
        visma_base_url: str,
        visma_token_url: str,
        credentials_ciphertext: bytes,
        settings: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Connection:
        """Store a new, active connection.

        Raises ConfigurationError when ``name`` is not a slug or is taken (in any case), or
        when a setting is not valid (naming it).
        """
        check_new_name(name)
        checked = ConnectionSettings.parse(settings)
        now = self._now(now)
        values = {
            "name": name,
            "status": ConnectionStatus.ACTIVE.value,
            "health_message": "",
            "ramp_base_url": ramp_base_url,
            "visma_base_url": visma_base_url,
            "visma_token_url": visma_token_url,
            "credentials": credentials_ciphertext,
            "settings": checked.as_stored(),
            "created_at": now,
            "updated_at": now,
        }
        async with self._db.write() as session:
            clash = select(ConnectionRow.name).where(func.lower(ConnectionRow.name) == name)
            existing = (await session.scalars(clash)).first()
            if existing is not None:
                raise ConfigurationError(
                    f"a connection named {existing!r} already exists "
                    "(names are compared regardless of case)"
                )
            insert = self._db.insert(ConnectionRow).values(values)
            insert = insert.on_conflict_do_nothing(index_elements=[ConnectionRow.name])
            new_id = (await session.execute(insert.returning(ConnectionRow.id))).scalar()
            if new_id is None:
                raise ConfigurationError(f"a connection named {name!r} already exists")
            row = await session.get_one(ConnectionRow, new_id)
            return _to_record(row)

    async def get_connection(self, name_or_id: str | int) -> Connection:
        """The connection with this id (an int, or a string of digits) or name.

        Raises ConfigurationError when there is none.
        """
        async with self._db.read() as session:
            if isinstance(name_or_id, int) or name_or_id.isdigit():
                row = await session.get(ConnectionRow, int(name_or_id))
            else:
                query = select(ConnectionRow).where(ConnectionRow.name == name_or_id)
                row = (await session.scalars(query)).one_or_none()
            if row is None:
                raise ConfigurationError(f"no connection named or numbered {name_or_id!r}")
            return _to_record(row)

    async def list_connections(self) -> list[Connection]:
        """Every connection, by id."""
        async with self._db.read() as session:
            rows = await session.scalars(select(ConnectionRow).order_by(ConnectionRow.id))
            return [_to_record(row) for row in rows]

    async def update_connection_credentials(
        self, connection_id: int, ciphertext: bytes, *, now: datetime | None = None
    ) -> Connection:
        """Replace a connection's encrypted credentials."""
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, connection_id)
            row.credentials = ciphertext
            row.updated_at = now
            return _to_record(row)

    async def set_connection_status(
        self,
        connection_id: int,
        status: ConnectionStatus,
        health_message: str = "",
        *,
        now: datetime | None = None,
    ) -> Connection:
        """Pause or resume a connection, saying why (shown as its health)."""
        status = ConnectionStatus(status)
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, connection_id)
            row.status = status.value
            row.health_message = health_message
            row.updated_at = now
            return _to_record(row)

    async def update_connection_settings(
        self, connection_id: int, settings: Mapping[str, Any], *, now: datetime | None = None
    ) -> Connection:
        """Replace a connection's settings (the whole mapping, not a merge).

        Raises ConfigurationError, naming the setting, when one is not valid (nothing changes).
        """
        checked = ConnectionSettings.parse(settings)
        now = self._now(now)
        async with self._db.write() as session:
            row = await _load(session, connection_id)
            row.settings = checked.as_stored()
            row.updated_at = now
            return _to_record(row)

    async def all_credentials(self) -> dict[int, bytes]:
        """Every connection's credentials ciphertext, by connection id (for key rotation)."""
        async with self._db.read() as session:
            rows = await session.execute(select(ConnectionRow.id, ConnectionRow.credentials))
            return {connection_id: bytes(blob) for connection_id, blob in rows}

    async def replace_credentials(
        self, ciphertexts: Mapping[int, bytes], *, now: datetime | None = None
    ) -> None:
        """Swap many connections' ciphertexts in one transaction: all of them, or none.

        Raises ConfigurationError (and changes nothing) when an id is unknown.
        """
        now = self._now(now)
        async with self._db.write() as session:
            for connection_id, ciphertext in ciphertexts.items():
                row = await _load(session, connection_id)
                row.credentials = ciphertext
                row.updated_at = now
