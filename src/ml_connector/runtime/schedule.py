"""When a connection's next reconciliation pass is due: its mode and poll schedule.

A connection's settings may hold::

    {"mode": "webhooks" | "polling" | "both",
     "poll_interval_s": 600}            # or
     "poll_cron": "*/15 * * * *"}       # (one of the two; cron is evaluated in UTC)

The reconciliation pass runs in every mode, because Ramp delivers each webhook once and a
dropped one would otherwise lose its bill. In ``webhooks`` mode it is a safety net at the
service's default interval; in ``polling`` and ``both`` it is the poll, on the configured
interval or cron expression. A connection without ``mode`` is ``webhooks``, unless it names a
poll schedule, which then means ``both`` (so older settings that only set ``poll_interval_s``
keep polling at that pace).

Cron expressions are evaluated with ``cronsim``: a small, pure-Python, typed (``py.typed``)
evaluator with no dependencies, maintained for healthchecks.io, which handles the standard five
fields plus ``L``/``#`` and rejects malformed expressions with a clear error. ``croniter`` would
do as well, but brings ``python-dateutil`` and ``pytz`` with it and has no type information.

``next_due`` is pure: it takes the instant of the last pass, so tests drive it with any clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cronsim import CronSim, CronSimError

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError

__all__ = [
    "DEFAULT_SAFETY_NET_S",
    "MODES",
    "PollSchedule",
    "merged_schedule_settings",
    "next_due",
]

MODES = ("webhooks", "polling", "both")
DEFAULT_SAFETY_NET_S = 3600.0
"""How often the reconciliation safety net runs for a webhooks-only connection, by default."""

_MIN_INTERVAL_S = 1.0


@dataclass(frozen=True)
class PollSchedule:
    """A connection's mode, and either a fixed interval or a cron expression (never both)."""

    mode: str
    interval_s: float | None = None
    cron: str | None = None

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> PollSchedule:
        """The schedule a connection's (validated) settings describe."""
        return cls.checked(settings.schedule_mode, settings.poll_interval_s, settings.poll_cron)

    @classmethod
    def checked(cls, mode: str, interval_s: Any, cron: Any) -> PollSchedule:
        """Validate the parts; ConfigurationError names what is wrong."""
        if mode not in MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if interval_s is not None and cron is not None:
            raise ConfigurationError("give poll_interval_s or poll_cron, not both")
        if interval_s is not None:
            try:
                seconds = float(interval_s)
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"poll_interval_s must be a number of seconds, not {interval_s!r}"
                ) from None
            if not seconds >= _MIN_INTERVAL_S:
                raise ConfigurationError(
                    f"poll_interval_s must be at least {_MIN_INTERVAL_S:g}, not {interval_s!r}"
                )
            return cls(mode, interval_s=seconds)
        if cron is not None:
            expression = str(cron).strip()
            try:
                CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
            except CronSimError as exc:
                raise ConfigurationError(f"poll_cron {expression!r} is not valid: {exc}") from None
            return cls(mode, cron=expression)
        return cls(mode)


def next_due(schedule: PollSchedule, last_run: datetime | None, *, safety_net_s: float) -> datetime:
    """When the next reconciliation pass is due, given the last one (None: never, so now).

    Webhooks mode, or a polling mode without a schedule, uses ``safety_net_s``; otherwise the
    configured interval after the last pass, or the first cron time strictly after it.
    Returns ``datetime.min`` (UTC) when no pass ran yet, meaning "due at once".
    """
    if last_run is None:
        return datetime.min.replace(tzinfo=UTC)
    if schedule.mode != "webhooks":
        if schedule.cron is not None:
            return next(iter(CronSim(schedule.cron, last_run.astimezone(UTC))))
        if schedule.interval_s is not None:
            return last_run + timedelta(seconds=schedule.interval_s)
    return last_run + timedelta(seconds=safety_net_s)


def merged_schedule_settings(
    settings: Mapping[str, Any],
    *,
    mode: str | None,
    interval_s: float | None,
    cron: str | None,
) -> dict[str, Any]:
    """``settings`` with the given mode/schedule merged in, validated as a whole.

    A new interval replaces a stored cron expression and the other way round; parts not given
    keep their stored value.
    """
    merged = dict(settings)
    if mode is not None:
        merged["mode"] = mode
    if interval_s is not None:
        merged.pop("poll_cron", None)
        merged["poll_interval_s"] = interval_s
    if cron is not None:
        merged.pop("poll_interval_s", None)
        merged["poll_cron"] = cron
    PollSchedule.from_settings(ConnectionSettings.parse(merged))
    return merged
