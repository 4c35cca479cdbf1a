"""The reconciliation schedule: mode, interval or cron, and the next due time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ml_connector.connection_settings import ConnectionSettings
from ml_connector.errors import ConfigurationError
from ml_connector.runtime.schedule import PollSchedule, merged_schedule_settings, next_due

T0 = datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)
HOUR = 3600.0


@pytest.mark.parametrize(
    ("settings", "last_run", "due"),
    [
        ({}, None, datetime.min.replace(tzinfo=UTC)),
        ({}, T0, datetime(2026, 3, 10, 13, 7, 30, tzinfo=UTC)),
        (
            {"mode": "webhooks", "poll_interval_s": 60},
            T0,
            datetime(2026, 3, 10, 13, 7, 30, tzinfo=UTC),
        ),
        (
            {"mode": "polling", "poll_interval_s": 60},
            T0,
            datetime(2026, 3, 10, 12, 8, 30, tzinfo=UTC),
        ),
        (
            {"mode": "both", "poll_interval_s": 600},
            T0,
            datetime(2026, 3, 10, 12, 17, 30, tzinfo=UTC),
        ),
        ({"poll_interval_s": 120}, T0, datetime(2026, 3, 10, 12, 9, 30, tzinfo=UTC)),
        (
            {"mode": "polling", "poll_cron": "*/15 * * * *"},
            T0,
            datetime(2026, 3, 10, 12, 15, tzinfo=UTC),
        ),
        ({"mode": "both", "poll_cron": "0 2 * * *"}, T0, datetime(2026, 3, 11, 2, 0, tzinfo=UTC)),
        (
            {"mode": "polling", "poll_cron": "*/15 * * * *"},
            datetime(2026, 3, 10, 12, 15, tzinfo=UTC),
            datetime(2026, 3, 10, 12, 30, tzinfo=UTC),
        ),
        (
            {"mode": "webhooks", "poll_cron": "* * * * *"},
            T0,
            datetime(2026, 3, 10, 13, 7, 30, tzinfo=UTC),
        ),
        ({"mode": "polling"}, T0, datetime(2026, 3, 10, 13, 7, 30, tzinfo=UTC)),
        ({"mode": "polling", "poll_cron": "0 9 * * 1-5"}, None, datetime.min.replace(tzinfo=UTC)),
    ],
)
def test_next_due(settings: dict[str, Any], last_run: datetime | None, due: datetime) -> None:
    """Each mode and schedule gives the expected next pass after the last one."""
    schedule = PollSchedule.from_settings(ConnectionSettings.parse(settings))
    assert next_due(schedule, last_run, safety_net_s=HOUR) == due


@pytest.mark.parametrize(
    "settings",
    [
        {"mode": "sometimes"},
        {"mode": "polling", "poll_interval_s": 0},
        {"mode": "polling", "poll_interval_s": "soon"},
        {"mode": "polling", "poll_cron": "every minute"},
        {"mode": "polling", "poll_cron": "61 * * * *"},
        {"mode": "polling", "poll_interval_s": 60, "poll_cron": "* * * * *"},
    ],
)
def test_malformed_schedules_are_refused(settings: dict[str, Any]) -> None:
    """An unknown mode, a bad interval or a bad cron expression is a configuration error."""
    with pytest.raises(ConfigurationError):
        PollSchedule.from_settings(ConnectionSettings.parse(settings))


def test_merge_keeps_other_settings_and_swaps_interval_for_cron() -> None:
    """Setting a cron expression drops the stored interval and keeps unrelated settings."""
    stored = {"mapping": {"default_vat": "1"}, "mode": "both", "poll_interval_s": 60}
    merged = merged_schedule_settings(stored, mode=None, interval_s=None, cron="*/5 * * * *")
    assert merged == {"mapping": {"default_vat": "1"}, "mode": "both", "poll_cron": "*/5 * * * *"}
    again = merged_schedule_settings(merged, mode="polling", interval_s=30.0, cron=None)
    assert again == {"mapping": {"default_vat": "1"}, "mode": "polling", "poll_interval_s": 30.0}
