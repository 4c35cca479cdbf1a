"""Store contract, accounts: user ids never reused, sessions, login throttling, security log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command

from ml_connector.store import Store
from ml_connector.store.migrations import alembic_config
from ml_connector.store.sessions import SessionPolicy
from ml_connector.store.testing import ScratchDatabase, scratch_database
from ml_connector.store.throttle import ThrottleRule
from ml_connector.store.users import Role

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle_s=1800, lifetime_s=8 * 3600, touch_s=60)


async def _user(store: Store, email: str, role: Role = Role.ADMIN) -> int:
    return (await store.create_user(email, password_hash="argon2-hash", role=role)).id


async def test_user_ids_are_never_reused(scratch: ScratchDatabase) -> None:
    """After the newest user is removed, the next user gets a new id, never the removed one."""
    store = scratch.store
    await _user(store, "first@x.test")
    removed = await _user(store, "removed@x.test")
    assert await store.delete_user(removed)
    after = await _user(store, "next@x.test")
    assert after > removed


async def test_role_change_disable_and_removal_end_sessions(scratch: ScratchDatabase) -> None:
    """A new role, disabling and removal each delete the user's sessions; scope changes do not."""
    store = scratch.store
    uid = await _user(store, "ops@x.test", Role.OPERATOR)
    other = await _user(store, "other@x.test", Role.VIEWER)
    await store.create_session("a" * 64, uid, now=T0)
    await store.create_session("b" * 64, other, now=T0)
    await store.update_user(uid, connection_ids=frozenset({1}))
    assert len(await store.list_sessions(uid)) == 1
    await store.update_user(uid, role=Role.VIEWER)
    assert await store.list_sessions(uid) == []
    await store.create_session("c" * 64, uid, now=T0)
    await store.update_user(uid, disabled=True)
    assert await store.list_sessions(uid) == []
    await store.create_session("d" * 64, uid, now=T0)
    assert await store.delete_user(uid)
    assert [s.user_id for s in await store.list_sessions()] == [other]


async def test_session_expiry_and_touch(scratch: ScratchDatabase) -> None:
    """A session lives while used within the idle timeout, never past its lifetime; last-seen
    is written at most once per touch interval."""
    store = scratch.store
    uid = await _user(store, "user@x.test")
    await store.create_session("s" * 64, uid, now=T0)
    assert await store.session_user("s" * 64, POLICY, now=T0 + timedelta(seconds=59))
    (info,) = await store.list_sessions(uid)
    assert info.last_seen_at == T0  # within the touch interval: no write
    moment = T0
    for _ in range(16):  # busy all day (7 h 44 min): each step inside the idle timeout
        moment += timedelta(minutes=29)
        assert await store.session_user("s" * 64, POLICY, now=moment)
    (info,) = await store.list_sessions(uid)
    assert info.last_seen_at == moment
    moment += timedelta(minutes=29)  # 8 h 13 min after login: past the lifetime
    assert await store.session_user("s" * 64, POLICY, now=moment) is None
    assert await store.list_sessions(uid) == []
    await store.create_session("t" * 64, uid, now=T0)
    assert await store.session_user("t" * 64, POLICY, now=T0 + timedelta(minutes=31)) is None


async def test_prune_sessions_removes_only_expired(scratch: ScratchDatabase) -> None:
    """Pruning deletes idle and over-age sessions and keeps live ones."""
    store = scratch.store
    uid = await _user(store, "user@x.test")
    await store.create_session("old" + "0" * 61, uid, now=T0)
    await store.create_session("new" + "0" * 61, uid, now=T0 + timedelta(minutes=50))
    assert await store.prune_sessions(POLICY, now=T0 + timedelta(minutes=60)) == 1
    assert len(await store.list_sessions(uid)) == 1


async def test_throttle_locks_and_doubles(scratch: ScratchDatabase) -> None:
    """Past the limit a key locks for its window; the next lock lasts twice as long."""
    store = scratch.store
    rule = ThrottleRule("email", "k" * 64, limit=2, window_s=60)
    verdicts = [
        await store.take_login_attempt([rule], lockout_max_s=3600, now=T0 + timedelta(seconds=i))
        for i in range(4)
    ]
    assert [v.allowed for v in verdicts] == [True, True, False, False]
    assert verdicts[2].locked_now == ("email",)
    assert verdicts[3].locked_now == ()  # refused while locked: nothing counted
    assert verdicts[2].retry_after_s == 60
    later = T0 + timedelta(seconds=63)
    again = [
        await store.take_login_attempt([rule], lockout_max_s=3600, now=later + timedelta(seconds=i))
        for i in range(3)
    ]
    assert [v.allowed for v in again] == [True, True, False]
    assert again[2].retry_after_s == 120


async def test_success_gives_the_attempt_back(scratch: ScratchDatabase) -> None:
    """A successful login resets the email's counter and takes one count off the address's."""
    store = scratch.store
    email = ThrottleRule("email", "e" * 64, limit=5, window_s=900)
    address = ThrottleRule("address", "a" * 64, limit=20, window_s=900)
    for _ in range(3):
        await store.take_login_attempt([email, address], lockout_max_s=3600, now=T0)
    await store.settle_login_success([email, address], reset_scopes=frozenset({"email"}))
    assert await store.throttle_row("email", "e" * 64) is None
    assert await store.throttle_row("address", "a" * 64) == (2, None)


async def test_parallel_attempts_cannot_exceed_the_limit(scratch: ScratchDatabase) -> None:
    """Twenty attempts at once from two stores admit exactly the limit of five."""
    other = scratch.open_store()
    rule = ThrottleRule("email", "p" * 64, limit=5, window_s=900)
    stores = [scratch.store, other] * 10
    verdicts = await asyncio.gather(
        *(s.take_login_attempt([rule], lockout_max_s=3600, now=T0) for s in stores)
    )
    assert sum(v.allowed for v in verdicts) == 5


async def test_security_log_chains_verifies_and_prunes(scratch: ScratchDatabase) -> None:
    """Entries chain; tampering is reported; pruning keeps the rest verifiable."""
    store = scratch.store
    for n in range(5):
        await store.append_security_event(
            "login_failed",
            {"email": f"u{n}@x.test", "client": "192.0.2.1"},
            at=T0 + timedelta(minutes=n),
        )
    assert [e.seq for e in await store.list_security_events()] == [5, 4, 3, 2, 1]
    assert await store.verify_security_log() == []
    assert await store.prune_security_log(before=T0 + timedelta(minutes=2)) == 2
    assert await store.verify_security_log() == []
    await scratch.execute('UPDATE security_events SET data = \'{"email":"x"}\' WHERE seq = 4')
    problems = await store.verify_security_log()
    assert [p.seq for p in problems] == [4]
    await scratch.execute("DELETE FROM security_events WHERE seq = 5")
    assert any(p.seq is None for p in await store.verify_security_log())


async def test_migration_keeps_users_tokens_and_never_reuses_ids(tmp_path: Path) -> None:
    """Upgrading a 0007 SQLite store keeps users, ids and API tokens, and stops id reuse."""
    async with scratch_database("sqlite", directory=tmp_path, migrate=False) as db:
        await db.run_sync(lambda conn: command.upgrade(alembic_config(conn), "0007"))
        store = db.store
        keep = await _user(store, "keep@x.test")
        gone = await _user(store, "gone@x.test")
        await store.add_api_token(keep, "d" * 64)
        # The 0007 code deleted users like this (today's code also ends sessions: no table yet).
        assert await db.execute("DELETE FROM users WHERE id = :id", {"id": gone}) == 1
        await store.migrate()
        assert (await store.find_user("keep@x.test")) is not None
        assert (await store.user_for_token("d" * 64)) is not None
        third = await _user(store, "third@x.test")
        await store.delete_user(third)
        fourth = await _user(store, "fourth@x.test")
        assert fourth > third
        assert await db.scalar("PRAGMA foreign_key_check") is None


@pytest.mark.parametrize("kind", ["login", "user_action"])
async def test_security_log_redacts_secret_named_keys(scratch: ScratchDatabase, kind: str) -> None:
    """A value under a secret-named key never reaches the security log."""
    event = await scratch.store.append_security_event(kind, {"password": "hunter2-hunter2"})
    assert "hunter2" not in str(event.data)
    assert "hunter2" not in str(await scratch.store.list_security_events())
