"""Process-wide settings, read once from the environment (prefix ``ML_CONNECTOR_``).

Precedence: explicit keyword arguments, then environment variables, then a ``.env`` file in the
working directory, then the defaults below. Per-connection values (credentials, base URLs) live in
the store, encrypted by the vault; this object holds only what the process itself needs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_RAMP_BASE_URL", "DEFAULT_VISMA_BASE_URL", "DEFAULT_VISMA_TOKEN_URL", "Settings"]

DEFAULT_RAMP_BASE_URL = "https://api.ramp.com"
DEFAULT_VISMA_BASE_URL = "https://api.finance.visma.net"
DEFAULT_VISMA_TOKEN_URL = "https://connect.visma.com/connect/token"


class Settings(BaseSettings):
    """Settings for one ml-connector process."""

    model_config = SettingsConfigDict(
        env_prefix="ML_CONNECTOR_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///ml-connector.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or postgresql+asyncpg://…",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Vault master key(s), comma-separated, newest first (Fernet, urlsafe base64).",
    )
    master_key_file: Path = Field(
        default=Path("ml-connector.key"),
        description="Key file used when master_key is unset; created (mode 0600) on first use.",
    )
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=True, description="JSON log lines (structlog) when true.")
    http_timeout_s: float = Field(default=30.0, gt=0)
    token_leeway_s: float = Field(
        default=60.0, ge=0, description="Refresh an OAuth token this long before it expires."
    )
    in_call_retries: int = Field(
        default=3, ge=0, description="Quick retries inside one call for 429/5xx on safe requests."
    )
    max_attempts: int = Field(
        default=8, ge=1, description="Durable attempts before a record needs attention."
    )
