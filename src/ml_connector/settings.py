"""Process-wide settings, read once from the environment (prefix ``ML_CONNECTOR_``).

Precedence: explicit keyword arguments, then environment variables, then a ``.env`` file in the
working directory, then the defaults below. Per-connection values (credentials, base URLs) live in
the store, encrypted by the vault; this object holds only what the process itself needs.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_RAMP_BASE_URL",
    "DEFAULT_VISMA_BASE_URL",
    "DEFAULT_VISMA_TOKEN_URL",
    "Settings",
    "parse_networks",
]

DEFAULT_RAMP_BASE_URL = "https://api.ramp.com"
DEFAULT_VISMA_BASE_URL = "https://api.finance.visma.net"
DEFAULT_VISMA_TOKEN_URL = "https://connect.visma.com/connect/token"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR ranges; ValueError names the one that is not."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or CIDR range") from None
    return tuple(networks)


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
    release_wait_s: float = Field(
        default=20.0,
        ge=0,
        description="How long one unit of work polls a Visma release running in the background "
        "before it leaves it to a durable retry (the request id is kept).",
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

    # --- dashboard and admin API security (docs/security.md) ----------------------------------
    session_idle_timeout_s: float = Field(
        default=1800.0, gt=0, description="A dashboard session ends after this long unused."
    )
    session_lifetime_s: float = Field(
        default=8 * 3600.0,
        gt=0,
        description="A dashboard session ends this long after login, however busy.",
    )
    session_touch_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="A session's last-seen time is written at most this often.",
    )
    login_email_max_failures: int = Field(
        default=5, ge=1, description="Failed logins for one email (any address) per window."
    )
    login_email_window_s: float = Field(default=900.0, gt=0)
    login_address_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed logins from one client address (any email) per window.",
    )
    login_address_window_s: float = Field(default=900.0, gt=0)
    login_global_max_failures: int = Field(
        default=100, ge=1, description="Failed logins across all emails and addresses per window."
    )
    login_global_window_s: float = Field(default=900.0, gt=0)
    login_lockout_max_s: float = Field(
        default=3600.0,
        gt=0,
        description="Longest lock after repeated lockouts (each lock doubles, up to this).",
    )
    login_device_days: float = Field(
        default=90.0,
        ge=0,
        description="A browser that logged in successfully is trusted this long for that user: "
        "it has its own failure budget, so strangers cannot lock it out (0 turns this off).",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is "
        "believed; none by default.",
    )
    behind_https: bool = Field(
        default=False,
        description="serve sits behind https: send HSTS (serve --behind-https sets it).",
    )
    hsts_max_age_s: int = Field(default=31_536_000, ge=0, description="HSTS max-age (seconds).")
    security_log_retention_days: float = Field(
        default=365.0, gt=0, description="Login and user events older than this are deleted."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)
