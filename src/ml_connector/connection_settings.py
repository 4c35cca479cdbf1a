"""A connection's own settings: the typed, validated form of the JSON stored with it.

The store parses a connection's settings once, when it reads the connection, into
:class:`ConnectionSettings`; the rest of the code reads attributes, never keys. Writing goes
through the same model (:meth:`ConnectionSettings.parse`), so a bad value is refused with a
``ConfigurationError`` naming the field before anything is stored. Keys the model does not know
are kept as they are, and :meth:`ConnectionSettings.as_stored` gives back exactly the JSON that
was parsed, so a read-modify-write never loses or rewrites a value.

Sections that a flow parses with its own rules (``payments``, ``purchase_orders``,
``suppliers``, ``mapping.field_synonyms``) stay plain JSON objects here: their parsers in
``flows`` and ``mapping`` own those rules and their messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic import model_validator as _model_validator

from ml_connector.errors import ConfigurationError

__all__ = [
    "MAX_CLAIM_WEIGHT",
    "SCHEDULE_MODES",
    "ChartSettings",
    "ConnectionSettings",
    "MappingSettings",
    "WebhookSettings",
]

MAX_CLAIM_WEIGHT = 100
SCHEDULE_MODES = ("webhooks", "polling", "both")
_MIN_POLL_INTERVAL_S = 1.0


def _section(value: Any) -> Any:
    """Sections read as "absent" when they are not JSON objects (as the readers always did)."""
    return value if isinstance(value, Mapping) else {}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class MappingSettings(_Section):
    """``mapping``: how Ramp coding is read. A field that is absent takes ``CodingRules``' default;
    one present but null switches it off (see ``runtime.wiring.coding_rules``)."""

    model_config = ConfigDict(frozen=True, extra="allow", coerce_numbers_to_str=True)

    gl_fields: list[str] | None = None
    segment_fields: dict[str, int] | None = None
    project_field: str | None = None
    vat_field: str | None = None
    task_field: str | None = None
    default_account: str | None = None
    default_project: str | None = None
    default_vat: str | None = None
    vat_by_account: dict[str, str] = Field(default_factory=dict)
    field_synonyms: Any = None  # checked by mapping.field_names.Synonyms

    def given(self, name: str) -> bool:
        """Whether the stored settings name ``name`` (even as null)."""
        return name in self.model_fields_set


class ChartSettings(_Section):
    """``chart``: what the chart push sends to Ramp, and how often it runs."""

    enabled: bool = True
    accounts: bool = True
    segments: bool = True
    projects: bool = True
    vat: bool = True
    tasks: bool = True
    suppliers: bool = True
    provider_name: str = "Visma.net ERP"
    batch_size: int | None = None  # the flow's largest batch when unset
    overlap_s: float = 60.0
    full_interval_s: float | None = None  # runtime.chart's defaults when unset
    poll_interval_s: float | None = None


class WebhookSettings(_Section):
    """``webhooks``: state of a Ramp webhook registration in progress."""

    ramp_verification_until: Any = None  # ISO time while a registration waits for its challenge


class ConnectionSettings(BaseModel):
    """Everything a connection's stored settings may say, with the defaults the code uses."""

    model_config = ConfigDict(frozen=True, extra="allow")

    # Reconciliation schedule (runtime.schedule).
    mode: str | None = None
    poll_interval_s: float | None = None
    poll_cron: str | None = None
    # Share of the worker's claims (runtime.fairness).
    claim_weight: int = 1
    # Audit retention (runtime.retention): None keeps the trail forever.
    audit_retention_days: float | None = None
    # Links from the dashboard to the vendors' web apps (app.explain).
    ramp_app_url: str | None = None
    visma_app_url: str | None = None
    # Behaviour switches (flows.context.ConnectionOptions).
    sync_on_creation: bool = False
    post_on_hold: bool = False
    attach_files: bool = True
    write_back: bool = True
    tax_calculation_mode: str = "Gross"
    supplier_match: Any = None  # checked by flows.context.supplier_match_order
    credit_memo_prefix: str | None = None
    # Sections.
    mapping: MappingSettings = Field(default_factory=MappingSettings)
    chart: ChartSettings = Field(default_factory=ChartSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    payments: dict[str, Any] = Field(default_factory=dict)  # flows.payment_plan
    purchase_orders: dict[str, Any] = Field(default_factory=dict)  # flows.po_plan
    suppliers: dict[str, Any] | None = None  # flows.supplier_options

    _stored: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def parse(cls, stored: Mapping[str, Any] | None) -> ConnectionSettings:
        """Validate stored (or about to be stored) settings; ConfigurationError names the field."""
        raw = dict(stored or {})
        try:
            parsed = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigurationError(_message(exc)) from None
        parsed._stored = deepcopy(raw)
        return parsed

    def as_stored(self) -> dict[str, Any]:
        """A copy of the JSON these settings were parsed from (what a write starts from)."""
        return deepcopy(self._stored)

    @field_validator("mapping", "chart", "webhooks", "payments", "purchase_orders", mode="before")
    @classmethod
    def _object_or_absent(cls, value: Any) -> Any:
        return _section(value)

    @field_validator("suppliers", mode="before")
    @classmethod
    def _suppliers_object(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, Mapping) and not value:
            return None  # an empty value reads as absent, as flows.supplier_options always did
        if value is not None and not isinstance(value, Mapping):
            raise ValueError("suppliers settings must be an object")
        return value

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if not value:
            return None  # unset: see schedule_mode
        if value not in SCHEDULE_MODES:
            raise ValueError(f"mode must be one of {', '.join(SCHEDULE_MODES)}, not {value!r}")
        return value

    @field_validator("poll_interval_s", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"poll_interval_s must be a number of seconds, not {value!r}"
            ) from None
        if not seconds >= _MIN_POLL_INTERVAL_S:
            raise ValueError(
                f"poll_interval_s must be at least {_MIN_POLL_INTERVAL_S:g}, not {value!r}"
            )
        return seconds

    @field_validator("poll_cron", mode="before")
    @classmethod
    def _cron(cls, value: Any) -> Any:
        if value is None:
            return None
        expression = str(value).strip()
        try:
            CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            raise ValueError(f"poll_cron {expression!r} is not valid: {exc}") from None
        return expression

    @field_validator("claim_weight", mode="before")
    @classmethod
    def _weight(cls, value: Any) -> Any:
        if value is None:
            return 1
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"claim_weight must be a whole number, not {value!r}")
        try:
            weight = int(value)
        except ValueError:
            raise ValueError(f"claim_weight must be a whole number, not {value!r}") from None
        if not 1 <= weight <= MAX_CLAIM_WEIGHT:
            raise ValueError(f"claim_weight must be from 1 to {MAX_CLAIM_WEIGHT}, not {weight}")
        return weight

    @field_validator("audit_retention_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            days = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"audit_retention_days must be a number of days, not {value!r}"
            ) from None
        if not days > 0:
            raise ValueError(f"audit_retention_days must be more than 0 days, not {value!r}")
        return days

    @field_validator("credit_memo_prefix", mode="before")
    @classmethod
    def _prefix(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError('credit_memo_prefix must be text, e.g. "[CREDIT]"')
        text = value.strip()
        if len(text) > 40:
            raise ValueError("credit_memo_prefix is limited to 40 characters")
        return text or None

    @_model_validator(mode="after")
    def _one_schedule(self) -> ConnectionSettings:
        if self.poll_interval_s is not None and self.poll_cron is not None:
            raise ValueError("give poll_interval_s or poll_cron, not both")
        return self

    @property
    def schedule_mode(self) -> str:
        """The reconciliation mode; unset, it is ``both`` when a schedule is given."""
        scheduled = self.poll_interval_s or self.poll_cron
        return self.mode or ("both" if scheduled else "webhooks")


def _message(exc: ValidationError) -> str:
    """One line per problem, each naming the field (``chart.batch_size: …``)."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        text = error["msg"].removeprefix("Value error, ")
        parts.append(text if not where or text.startswith(where) else f"{where}: {text}")
    return "; ".join(parts)
