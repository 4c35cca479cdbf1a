"""Master-key rotation: every credential moves to the new key, and the old key still opens."""

from __future__ import annotations

from pathlib import Path

from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.vault import Vault

CREDENTIALS = {
    "ramp_client_id": "ramp-id",
    "ramp_client_secret": "ramp-secret-value-1",
    "visma_client_id": "visma-id",
    "visma_client_secret": "visma-secret-value-1",
    "visma_tenant_id": "tenant",
    "visma_company_id": "1234",
}


async def test_rotate_keys_reencrypts_under_a_new_key_file_entry(tmp_path: Path) -> None:
    """`keys rotate` prepends a key to the key file and re-encrypts every connection with it."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        master_key_file=tmp_path / "master.key",
    )
    runtime = await Runtime.open(settings)
    try:
        for name in ("a", "b"):
            await admin.add_connection(
                Actor.local_admin("tests"),
                runtime,
                name,
                credentials=CREDENTIALS,
                ramp_base_url="http://ramp.test",
                visma_base_url="http://visma.test",
                visma_token_url="http://visma.test/connect/token",
            )
        old_key = settings.master_key_file.read_text().split()[0]
        assert await admin.rotate_keys(Actor.local_admin("tests"), runtime) == 2
        keys = settings.master_key_file.read_text().split()
        assert len(keys) == 2
        assert keys[1] == old_key
        newest_only = Vault([keys[0]])
        for connection in await runtime.store.list_connections():
            assert newest_only.decrypt(connection.credentials_ciphertext) == CREDENTIALS
            assert not Vault([old_key]).can_decrypt(connection.credentials_ciphertext)
        assert settings.master_key_file.stat().st_mode & 0o777 == 0o600
    finally:
        await runtime.close()
