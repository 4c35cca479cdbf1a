"""Issue 14, item 4: webhook replay. Each attack goes over real HTTP to the running app and must
be refused (or be a no-op duplicate) with nothing stored: no inbox row, no record, no audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from security.webhook_attack_kit import ramp_body, serving


async def test_a_forged_webhook_id_header_does_not_make_a_replay_new(tmp_path: Path) -> None:
    """A captured event replayed with a new X-Ramp-Webhook-ID (unsigned) is still a duplicate."""
    async with serving(tmp_path) as app:
        body = ramp_body("evt_captured", "bill_1", created_at=datetime.now(UTC))
        assert (await app.post_ramp(body)).json()["status"] == "accepted"
        before = await app.stored()
        for forged in ("evt_new_1", "evt_new_2", ""):
            replay = await app.post_ramp(body, headers={"X-Ramp-Webhook-ID": forged})
            assert replay.status_code == 200
            assert replay.json() == {"status": "duplicate", "event_id": "evt_captured"}
        assert await app.stored() == before


async def test_a_body_without_an_id_is_keyed_on_its_signed_bytes(tmp_path: Path) -> None:
    """No id in the body: replays of the same signed bytes collapse, whatever the header says."""
    async with serving(tmp_path) as app:
        body = ramp_body(None, "bill_2", created_at=datetime.now(UTC))
        first = await app.post_ramp(body, headers={"X-Ramp-Webhook-ID": "evt_a"})
        assert first.json()["status"] == "accepted"
        before = await app.stored()
        again = await app.post_ramp(body, headers={"X-Ramp-Webhook-ID": "evt_b"})
        assert again.json()["status"] == "duplicate"
        assert await app.stored() == before


async def test_an_old_signed_event_is_refused(tmp_path: Path) -> None:
    """A genuine signed event whose created_at is older than the tolerance: 400, nothing
    stored, one rejection row saying why."""
    async with serving(tmp_path) as app:
        body = ramp_body("evt_old", "bill_3", created_at=datetime.now(UTC) - timedelta(days=10))
        response = await app.post_ramp(body)
        assert response.status_code == 400
        assert "replay" in response.json()["error"]
        assert await app.stored() == (0, 0, 0)
        [rejection] = await app.runtime.store.list_rejections("acme")
        assert rejection.http_status == 400


async def test_an_event_dated_in_the_future_is_refused(tmp_path: Path) -> None:
    """A signed time a day ahead (a pre-made replay stock): 400, nothing stored."""
    async with serving(tmp_path) as app:
        body = ramp_body("evt_ahead", "bill_4", created_at=datetime.now(UTC) + timedelta(days=1))
        assert (await app.post_ramp(body)).status_code == 400
        assert await app.stored() == (0, 0, 0)


async def test_a_replay_of_a_pruned_event_is_refused(tmp_path: Path) -> None:
    """An event with no signed time, received, settled and pruned by the retention, then
    replayed: refused (409) as a replay, not taken for new; nothing stored."""
    async with serving(tmp_path) as app:
        ramp = ramp_body("evt_undated", "bill_5")
        visma = json.dumps({"entity": "Supplier", "entityId": "50010"}).encode()
        assert (await app.post_ramp(ramp)).json()["status"] == "accepted"
        assert (await app.post_visma(visma)).json()["status"] == "accepted"
        pruned, _ = await app.runtime.store.prune_inbox(datetime.now(UTC) + timedelta(seconds=1))
        assert pruned == 2
        before = await app.stored()

        assert (await app.post_ramp(ramp)).status_code == 409
        assert (await app.post_visma(visma)).status_code == 409

        assert await app.stored() == before
        assert before[0] == 0  # the inbox is empty: the replays did not come back as new
        statuses = [r.http_status for r in await app.runtime.store.list_rejections("acme")]
        assert statuses == [409, 409]


async def test_a_repeated_visma_hint_stores_nothing_but_still_asks_for_a_poll(
    tmp_path: Path,
) -> None:
    """A Visma notification sent again: not stored again, but the chart's poll hint is stamped,
    so a second change to the same entity is polled for."""
    async with serving(tmp_path) as app:
        hint = json.dumps({"entity": "Account", "entityId": "6540"}).encode()
        assert (await app.post_visma(hint)).json()["status"] == "accepted"
        stamped = (await app.runtime.store.list_cursors(app.acme.id))["chart:hint"]
        before = await app.stored()
        again = await app.post_visma(hint)
        assert again.json()["status"] == "duplicate"
        assert await app.stored() == before
        assert (await app.runtime.store.list_cursors(app.acme.id))["chart:hint"] > stamped
