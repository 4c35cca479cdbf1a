"""Credential-like settings are kept only as vault ciphertext; this module keeps it that way.

What counts as credential-like, and where it lives:

- Ramp and Visma client ids and secrets, tenant and company ids, webhook signing secrets:
  the connection's vault-encrypted credentials (``runtime.webhook_secrets``,
  ``app.connection_admin``);
- alert webhook URL (which often embeds a token), its signing secret, the SMTP password:
  the alert target's vault-encrypted secrets (``runtime.alerts``), with only the URL's masked
  form (:func:`masked_url`) in plaintext;
- base URLs of a connection are plaintext settings, so :func:`check_plain_url` refuses one that
  carries a user name, password, query or fragment (where tokens hide).

Alert URLs written before revision 0012 are plaintext in the database; the migration cannot
encrypt (it has no key), so :func:`seal_plaintext` does it each time a runtime opens the store,
until none is left. It is idempotent and safe with several processes starting at once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog

from ml_connector.errors import ConfigurationError, VaultError
from ml_connector.store import Store
from ml_connector.vault import Vault

__all__ = ["WEBHOOK_URL_KEY", "check_plain_url", "masked_url", "seal_plaintext"]

log = structlog.get_logger(__name__)

WEBHOOK_URL_KEY = "webhook_url"
"""Where the alert webhook URL sits in an alert target's decrypted secrets."""


def masked_url(url: str | None) -> str | None:
    """Scheme, host and port only (``https://hooks.example.com/…``): safe to store and show."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable URL)/…"
    return f"{parts.scheme}://{parts.hostname or ''}{port}/…"


def check_plain_url(url: str, what: str) -> str:
    """``url`` if it holds nothing credential-like; ConfigurationError otherwise.

    Base URLs are stored and shown in plaintext, so credentials must not ride in them.
    """
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ConfigurationError(f"{what} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{what} must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{what} must not carry a user name, password, query or fragment: it is stored "
            "and shown in plaintext; give credentials with the client id and secret options"
        )
    return url


async def seal_plaintext(store: Store, vault: Vault) -> int:
    """Encrypt alert webhook URLs still stored in plaintext; returns how many were sealed.

    A target whose secrets this vault cannot open is left alone with a warning (the other
    commands still work); ``alerts set NAME --clear …`` re-enters it.
    """
    sealed = 0
    for target in await store.alert_targets_in_plaintext():
        try:
            secrets = vault.decrypt(target.secrets_ciphertext) if target.secrets_ciphertext else {}
        except VaultError:
            log.warning(
                "alert webhook URL left in plaintext: its secrets do not open with the "
                "configured master keys; run `ml-connector alerts set` with --clear",
                connection_id=target.connection_id,
            )
            continue
        secrets[WEBHOOK_URL_KEY] = target.webhook_url
        if await store.seal_alert_target(
            target.connection_id,
            plaintext_url=target.webhook_url,
            webhook_hint=masked_url(target.webhook_url) or "",
            secrets_ciphertext=vault.encrypt(secrets),
        ):
            sealed += 1
    if sealed:
        log.info("alert webhook URLs moved into the vault", count=sealed)
    return sealed
