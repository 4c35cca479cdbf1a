"""Store contract, connections and cursors: the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ml_connector.errors import ConfigurationError, StoreError
from ml_connector.store import ConnectionStatus, Store
from ml_connector.store.testing import ScratchDatabase

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def _create(
    store: Store, name: str = "acme", *, ciphertext: bytes = b"ciphertext-1", now: datetime = T0
) -> int:
    connection = await store.create_connection(
        name,
        ramp_base_url="https://ramp.example",
        visma_base_url="https://visma.example",
        visma_token_url="https://visma.example/token",
        credentials_ciphertext=ciphertext,
        settings={"mode": "webhooks", "interval_s": 300},
        now=now,
    )
    return connection.id


async def test_create_and_read_back(scratch: ScratchDatabase) -> None:
    """A created connection reads back identically by id, by name and in the list."""
    store = scratch.store
    connection_id = await _create(store)
    by_id = await store.get_connection(connection_id)
    by_name = await store.get_connection("acme")
    by_digits = await store.get_connection(str(connection_id))
    assert by_id == by_name == by_digits
    assert by_id.status is ConnectionStatus.ACTIVE
    assert by_id.settings.as_stored() == {"mode": "webhooks", "interval_s": 300}
    assert by_id.credentials_ciphertext == b"ciphertext-1"
    assert by_id.created_at == T0
    assert by_id.created_at.tzinfo is not None
    assert [c.name for c in await store.list_connections()] == ["acme"]


async def test_repr_leaves_out_credentials(scratch: ScratchDatabase) -> None:
    """The Connection record's repr does not carry the credentials ciphertext."""
    connection = await scratch.store.get_connection(await _create(scratch.store))
    assert "ciphertext-1" not in repr(connection)


async def test_duplicate_name_is_a_configuration_error(scratch: ScratchDatabase) -> None:
    """A second connection with a taken name is refused and the first one is untouched."""
    await _create(scratch.store)
    with pytest.raises(ConfigurationError, match="already exists"):
        await _create(scratch.store, ciphertext=b"other")
    connections = await scratch.store.list_connections()
    assert [c.credentials_ciphertext for c in connections] == [b"ciphertext-1"]


@pytest.mark.parametrize("name", ["", "  padded ", "1234"])
async def test_bad_names_are_refused(scratch: ScratchDatabase, name: str) -> None:
    """Empty, padded and all-digit names are refused before anything is stored."""
    with pytest.raises(ConfigurationError):
        await _create(scratch.store, name)
    assert await scratch.store.list_connections() == []


async def test_unknown_connection_is_a_configuration_error(scratch: ScratchDatabase) -> None:
    """Looking up or updating a connection that does not exist says so."""
    with pytest.raises(ConfigurationError, match="nope"):
        await scratch.store.get_connection("nope")
    with pytest.raises(ConfigurationError):
        await scratch.store.get_connection(999)
    with pytest.raises(ConfigurationError):
        await scratch.store.update_connection_credentials(999, b"x")


async def test_updates_change_only_what_they_name(scratch: ScratchDatabase) -> None:
    """Credentials, status and settings updates each change their own field."""
    store = scratch.store
    connection_id = await _create(store)
    later = T0 + timedelta(hours=1)
    await store.update_connection_credentials(connection_id, b"ciphertext-2", now=later)
    await store.set_connection_status(
        connection_id, ConnectionStatus.PAUSED, "Visma said invalid_client", now=later
    )
    await store.update_connection_settings(connection_id, {"mode": "polling"}, now=later)
    connection = await store.get_connection(connection_id)
    assert connection.credentials_ciphertext == b"ciphertext-2"
    assert connection.status is ConnectionStatus.PAUSED
    assert connection.health_message == "Visma said invalid_client"
    assert connection.settings.as_stored() == {"mode": "polling"}
    assert connection.ramp_base_url == "https://ramp.example"
    assert (connection.created_at, connection.updated_at) == (T0, later)


async def test_replace_credentials_is_all_or_nothing(scratch: ScratchDatabase) -> None:
    """Key rotation swaps every ciphertext in one go, or none when an id is unknown."""
    store = scratch.store
    first = await _create(store, "first", ciphertext=b"a")
    second = await _create(store, "second", ciphertext=b"b")
    assert await store.all_credentials() == {first: b"a", second: b"b"}
    with pytest.raises(ConfigurationError):
        await store.replace_credentials({first: b"a2", 999: b"zz"})
    assert await store.all_credentials() == {first: b"a", second: b"b"}
    await store.replace_credentials({first: b"a2", second: b"b2"})
    assert await store.all_credentials() == {first: b"a2", second: b"b2"}


async def test_times_come_back_in_utc(scratch: ScratchDatabase) -> None:
    """An aware non-UTC time is stored as the same instant and read back in UTC."""
    oslo_winter = timezone(timedelta(hours=1))
    connection_id = await _create(
        scratch.store, now=datetime(2025, 3, 1, 10, 0, tzinfo=oslo_winter)
    )
    connection = await scratch.store.get_connection(connection_id)
    assert connection.created_at == T0
    assert connection.created_at.utcoffset() == timedelta(0)


async def test_naive_times_are_refused(scratch: ScratchDatabase) -> None:
    """A naive datetime is a programming error, not something to guess a zone for."""
    with pytest.raises(ValueError, match="timezone-aware"):
        await _create(scratch.store, now=datetime(2025, 3, 1, 9, 0))


async def test_cursors_are_per_connection(scratch: ScratchDatabase) -> None:
    """A cursor starts unset, moves on set, and never leaks into another connection."""
    store = scratch.store
    first = await _create(store, "first")
    second = await _create(store, "second")
    assert await store.get_cursor(first, "visma.suppliers") is None
    await store.set_cursor(first, "visma.suppliers", "2025-03-01T09:00:00", now=T0)
    await store.set_cursor(first, "visma.suppliers", "2025-03-01T10:00:00", now=T0)
    await store.set_cursor(second, "visma.suppliers", "other", now=T0)
    assert await store.get_cursor(first, "visma.suppliers") == "2025-03-01T10:00:00"
    assert await store.list_cursors(second) == {"visma.suppliers": "other"}


async def test_database_errors_become_store_errors(tmp_path: Path) -> None:
    """A file that is not a database raises StoreError, not a driver exception."""
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a SQLite database file " * 200)
    store = Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        with pytest.raises(StoreError, match="database error"):
            await store.list_connections()
    finally:
        await store.close()


async def test_unreachable_postgres_is_a_store_error(postgres_url: str) -> None:
    """A refused PostgreSQL connection raises StoreError too."""
    store = Store.open("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere")
    try:
        with pytest.raises(StoreError):
            await store.list_connections()
    finally:
        await store.close()


@pytest.mark.parametrize(
    "url", ["mysql://db/x", "not a url", "sqlite+aiosqlite://", "sqlite:///:memory:"]
)
def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    """Only SQLite files and PostgreSQL are accepted."""
    with pytest.raises(ConfigurationError):
        Store.open(url)


def test_sync_driver_urls_get_the_async_driver(tmp_path: Path) -> None:
    """A plain sqlite:// or postgresql:// URL is upgraded to its async driver."""
    assert Store.open(f"sqlite:///{tmp_path / 'x.db'}").dialect == "sqlite"
    assert Store.open("postgresql://u@h/db").dialect == "postgresql"
