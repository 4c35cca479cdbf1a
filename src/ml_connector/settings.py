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

    # --- webhooks and metrics (docs/security.md, "Webhooks and metrics") -------------------------
    webhook_max_age_s: float = Field(
        default=3 * 86_400.0,
        gt=0,
        description="Refuse a webhook whose signed time (Ramp's created_at) is older than this; "
        "capped at the inbox retention.",
    )
    webhook_max_skew_s: float = Field(
        default=300.0, ge=0, description="Refuse a webhook signed more than this in the future."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics answers only requests with 'Authorization: Bearer "
        "<token>' (compared in constant time).",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="When set, `serve` answers /metrics only on this port (at metrics_host), "
        "not beside the webhook receivers.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="The interface of the separate metrics port."
    )

    # --- alerts (runtime.alerts) --------------------------------------------------------------
    alert_group_window_s: float = Field(
        default=900.0,
        ge=0,
        description="Repeats of a firing alert group are counted, and reported at most this often.",
    )
    alert_eval_interval_s: float = Field(
        default=5.0, ge=0, description="How often the schedule loop re-evaluates alert groups."
    )
    alert_max_attempts: int = Field(
        default=8, ge=1, description="Deliveries of one alert message before it is given up."
    )
    alert_retry_base_s: float = Field(
        default=5.0, gt=0, description="First delivery retry delay; doubles each attempt."
    )
    alert_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one alert delivery (webhook POST or SMTP)."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for alert e-mail; e-mail is off while unset."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="ml-connector@localhost", description="Sender of alert mail.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP session with STARTTLS."
    )
    smtp_username: str | None = Field(
        default=None,
        description="SMTP login; its password is kept per connection in the vault "
        "(alerts set --smtp-password-from-env).",
    )
