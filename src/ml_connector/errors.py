"""One exception tree for ml-connector, grouped by what the caller must do.

```
ConnectorError
├── ConfigurationError            settings or CLI input is wrong; fix and rerun
├── VaultError                    a credential cannot be decrypted (wrong or missing master key)
├── StoreError                    the database refused or lost a write
├── WebhookVerificationError      an incoming webhook failed its signature check (answer 401)
├── ResourceBusy                  another worker (or the vendor's queue) holds what this one
│                                 needs: try again soon, without counting it as a failure
├── NeedsAttention                a business rule stops this record: a person must act
│   └── MappingError              unmapped / inactive account, segment, project or VAT code
└── VendorError                   a Ramp or Visma call failed (system, status, verbatim message)
    ├── RetriableVendorError      429, 5xx, timeouts: try again later
    │   ├── RateLimited           429; ``retry_after`` seconds when the vendor said so
    │   └── AmbiguousOutcome      a write may or may not have happened: look it up first
    └── FatalVendorError          4xx: retrying the same request cannot help
        ├── AuthenticationError   bad client, tenant or company: pause the connection
        ├── PermissionDenied      the token lacks a scope
        ├── NotFound              404
        ├── PreconditionFailed    412: the ETag moved; re-read and re-apply
        ├── FileLinkRefused       a pre-signed file link was refused (expired): get a fresh one
        └── ValidationRejected    400/422 business validation; ``field`` when known
```

Foreign exceptions (httpx, SQLAlchemy) are translated once, at the boundary, with ``raise … from``.
Messages never contain secrets: constructors take only what is safe to show.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousOutcome",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectorError",
    "FatalVendorError",
    "FileLinkRefused",
    "MappingError",
    "NeedsAttention",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "RateLimited",
    "ResourceBusy",
    "RetriableVendorError",
    "StoreError",
    "ValidationRejected",
    "VaultError",
    "VendorError",
    "WebhookVerificationError",
]


class ConnectorError(Exception):
    """Root of every error ml-connector raises on purpose."""


class ConfigurationError(ConnectorError):
    """Settings, CLI arguments or a connection definition are wrong."""


class VaultError(ConnectorError):
    """A credential could not be encrypted or decrypted."""


class StoreError(ConnectorError):
    """The database refused or lost a write."""


class WebhookVerificationError(ConnectorError):
    """An incoming webhook failed signature verification."""


class ResourceBusy(ConnectorError):
    """Another worker holds a lock this unit needs, or the vendor is still working on what it
    waits for (a release running in Visma's background queue); ``retry_after`` is when to
    look again.

    Never a reason to give up: locks expire by themselves, and Visma keeps a background
    request's state for 24 hours, after which the flow reads the document instead.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NeedsAttention(ConnectorError):
    """A business rule stops this record until a person acts.

    ``message`` is written for a finance person; ``hint`` says how to fix it.
    """

    def __init__(self, message: str, *, hint: str = "", code: str = "needs_attention") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


class MappingError(NeedsAttention):
    """Ramp coding does not resolve to a valid, active Visma value."""


class VendorError(ConnectorError):
    """A call to Ramp or Visma failed.

    ``vendor_message`` is the vendor's own text, kept verbatim (it never carries our secrets).
    """

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        vendor_message: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.system = system
        self.status = status
        self.vendor_message = vendor_message
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method else ""
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{self.system}{status}{where}: {self.args[0]}"


class RetriableVendorError(VendorError):
    """The call may succeed if repeated later (429, 5xx, timeouts)."""

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        vendor_message: str = "",
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            system, message, status=status, vendor_message=vendor_message, method=method, path=path
        )
        self.retry_after = retry_after


class RateLimited(RetriableVendorError):
    """HTTP 429; ``retry_after`` holds the vendor's Retry-After in seconds when given."""


class AmbiguousOutcome(RetriableVendorError):
    """A write timed out or failed with 5xx: it may have been committed. Look it up first.

    ``validation`` holds the vendor's validation message when the 5xx carried one (Visma
    answers some business refusals with 500). If the lookup then finds nothing, the write was
    refused, not lost: retrying cannot help, and a person must read that message.
    """

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        vendor_message: str = "",
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
        validation: str | None = None,
    ) -> None:
        super().__init__(
            system,
            message,
            status=status,
            vendor_message=vendor_message,
            method=method,
            path=path,
            retry_after=retry_after,
        )
        self.validation = validation


class FatalVendorError(VendorError):
    """A 4xx answer that the same request cannot cure."""


class AuthenticationError(FatalVendorError):
    """Credentials are wrong or revoked (bad client, tenant or company)."""


class PermissionDenied(FatalVendorError):
    """The token is valid but lacks a required scope."""


class NotFound(FatalVendorError):
    """The vendor has no such object."""


class PreconditionFailed(FatalVendorError):
    """The object changed since it was read (ETag mismatch, HTTP 412)."""


class FileLinkRefused(FatalVendorError):
    """The host behind a pre-signed file link refused it (expired, or signed for another use).

    The same link cannot work again; read the object that carries it for a fresh link.
    """


class ValidationRejected(FatalVendorError):
    """The vendor rejected the content; ``field`` names the field when it can be told."""

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        vendor_message: str = "",
        method: str = "",
        path: str = "",
        field: str | None = None,
    ) -> None:
        super().__init__(
            system, message, status=status, vendor_message=vendor_message, method=method, path=path
        )
        self.field = field
