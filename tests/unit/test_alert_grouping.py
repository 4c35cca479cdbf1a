"""Alert grouping (runtime.alerts.step / plan) with an injected clock, and webhook signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ml_connector.audit import Redactor
from ml_connector.runtime.alert_delivery import canonical_body, sign, verify_signature
from ml_connector.runtime.alerts import AlertPolicy, Observation, plan, step
from ml_connector.store import ConnectionStatus
from ml_connector.store.alerts import AlertGroup, AlertSnapshot, AlertTarget, AttentionGroup

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def _step(
    group: AlertGroup | None, seen: Observation | None, minutes: float
) -> tuple[AlertGroup | None, str | None]:
    return step(
        group,
        seen,
        connection_id=1,
        cause="attention:x",
        now=T0 + timedelta(minutes=minutes),
        window=WINDOW,
    )


def test_first_occurrence_fires_and_repeats_in_the_window_are_counted() -> None:
    """The first failure fires; more failures inside the window are counted, not sent."""
    group, kind = _step(None, Observation(2, "two failed"), 0)
    assert kind == "firing"
    assert group is not None
    assert (group.occurrences, group.unsent) == (2, 0)
    group, kind = _step(group, Observation(5, "five failed"), 5)
    assert kind is None
    assert group is not None
    assert (group.occurrences, group.unsent, group.observed) == (5, 3, 5)
    group, kind = _step(group, Observation(5, "five failed"), 10)
    assert kind is None
    assert group is not None
    assert group.unsent == 3


def test_after_the_window_one_repeat_reports_what_was_counted() -> None:
    """Once the window has passed since the last message, one repeat goes out and the count
    of unsent occurrences starts again."""
    group, _ = _step(None, Observation(1, "one"), 0)
    group, _ = _step(group, Observation(4, "four"), 1)
    group, kind = _step(group, Observation(4, "four"), 16)
    assert kind == "repeat"
    assert group is not None
    assert (group.unsent, group.last_sent_at) == (0, T0 + timedelta(minutes=16))
    group, kind = _step(group, Observation(4, "four"), 40)
    assert kind is None  # nothing new since the repeat: no message however long it fires


def test_clearing_sends_one_recovery_and_a_new_failure_fires_again() -> None:
    """A group that clears is resolved once; the next failure opens a new episode."""
    group, _ = _step(None, Observation(1, "one"), 0)
    group, kind = _step(group, None, 1)
    assert kind == "resolved"
    assert group is not None
    assert group.state == "resolved"
    group, kind = _step(group, None, 2)
    assert kind is None
    group, kind = _step(group, Observation(1, "again"), 3)
    assert kind == "firing"
    assert group is not None
    assert (group.occurrences, group.opened_at) == (1, T0 + timedelta(minutes=3))


def test_replayed_records_still_waiting_keep_a_group_open_but_never_open_one() -> None:
    """Zero current failures with records still outstanding neither resolves nor fires."""
    group, _ = _step(None, Observation(3, "three failed"), 0)
    kept, kind = _step(group, Observation(0, "waiting"), 1)
    assert kind is None
    assert kept is not None
    assert (kept.state, kept.summary, kept.observed) == ("firing", "three failed", 0)
    again, kind = _step(kept, Observation(3, "three failed"), 2)
    assert kind is None
    assert again is not None
    assert again.unsent == 3  # failing again after a replay counts as repeats
    nothing, kind = _step(None, Observation(0, "waiting"), 0)
    assert (nothing, kind) == (None, None)


def test_a_condition_fires_once_however_many_passes_see_it() -> None:
    """Health is a state: seeing it on every pass adds no occurrences and sends nothing more."""
    group, kind = _step(None, Observation(1, "paused", condition=True), 0)
    assert kind == "firing"
    for minute in range(1, 60):
        group, kind = _step(group, Observation(1, "paused", condition=True), minute)
        assert kind is None
    assert group is not None
    assert (group.occurrences, group.unsent) == (1, 0)


def _snapshot(targets: dict[int, AlertTarget]) -> AlertSnapshot:
    return AlertSnapshot(
        attention={
            (1, "period_closed"): AttentionGroup(2, "bill", "b-9", "Period 10-2026 is closed")
        },
        connections={1: ("acme", ConnectionStatus.PAUSED, "token sk-live-123456 refused")},
        groups={},
        targets=targets,
    )


def test_plan_queues_one_message_per_group_and_channel_without_secrets() -> None:
    """Each firing group gets one message per configured channel; secrets are scrubbed."""
    target = AlertTarget(1, "https://hooks.example/x", "ops@example.test", T0, None)
    policy = AlertPolicy(WINDOW, email_enabled=True)
    redactor = Redactor(["sk-live-123456"])
    decided = plan(_snapshot({1: target}), now=T0, policy=policy, redactor=redactor)
    assert {(g.cause, g.state) for g in decided.groups} == {
        ("health", "firing"),
        ("attention:period_closed", "firing"),
    }
    assert sorted((m.cause, m.channel) for m in decided.messages) == [
        ("attention:period_closed", "email"),
        ("attention:period_closed", "webhook"),
        ("health", "email"),
        ("health", "webhook"),
    ]
    assert all("sk-live-123456" not in str(m.payload) for m in decided.messages)
    attention = next(m for m in decided.messages if m.cause.startswith("attention"))
    assert attention.payload["example"] == {"object_type": "bill", "object_id": "b-9"}


def test_plan_without_a_target_keeps_state_but_sends_nothing() -> None:
    """Without a target the groups are still tracked (for ``alerts show``), with no messages."""
    decided = plan(_snapshot({}), now=T0, policy=AlertPolicy(WINDOW), redactor=Redactor())
    assert len(decided.groups) == 2
    assert decided.messages == []


def test_signatures_verify_and_reject_tampering_and_stale_timestamps() -> None:
    """A signature checks out for its body and time, and fails for another body or old time."""
    body = canonical_body({"kind": "firing", "cause": "health"})
    signature = sign("s3cret", 1_700_000_000, body)
    assert signature.startswith("v1=")
    ok = {"timestamp": "1700000000", "signature": signature}
    assert verify_signature("s3cret", body=body, now=1_700_000_010, **ok)
    assert not verify_signature("s3cret", body=body + b" ", now=1_700_000_010, **ok)
    assert not verify_signature("other", body=body, now=1_700_000_010, **ok)
    assert not verify_signature("s3cret", body=body, now=1_700_001_000, **ok)
