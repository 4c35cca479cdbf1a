"""Pure pieces of the login policy: purpose keys, whom to believe, how counters move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from starlette.requests import Request

from ml_connector.settings import parse_networks
from ml_connector.store.throttle import Counter, ThrottleRule, count_attempt
from ml_connector.vault import Vault
from ml_connector.web.proxies import ProxyTrust, throttle_key

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    scope = {"type": "http", "headers": headers, "client": (peer, 5000), "method": "GET"}
    return Request(scope)


def test_purpose_keys_are_separate_and_survive_rotation() -> None:
    """Keys of two labels never verify each other's tags; a rotated vault still verifies."""
    old = Fernet.generate_key().decode()
    vault = Vault([old])
    session, csrf = vault.purpose_key("session v1"), vault.purpose_key("csrf v1")
    tag = session.sign(b"abc")
    assert session.verify(b"abc", tag)
    assert not csrf.verify(b"abc", tag)
    assert not session.verify(b"abd", tag)
    rotated = Vault([Fernet.generate_key().decode(), old]).purpose_key("session v1")
    assert rotated.verify(b"abc", tag)
    assert rotated.sign(b"abc") != tag  # the newest key signs
    assert old not in repr(session)


def test_purpose_key_is_not_the_master_key() -> None:
    """No derived tag equals an HMAC under the raw master key material."""
    import base64
    import hashlib
    import hmac

    master = Fernet.generate_key()
    tag = Vault([master.decode()]).purpose_key("session v1").sign(b"x")
    raw = hmac.new(base64.urlsafe_b64decode(master), b"x", hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != tag


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ("", "127.0.0.1", "203.0.113.9", "127.0.0.1"),  # nobody trusted: the header is ignored
        ("10.0.0.1", "192.0.2.7", "203.0.113.9", "192.0.2.7"),  # an untrusted peer's header
        ("10.0.0.1", "10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.0/8", "10.0.0.1", "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        ("10.0.0.1", "10.0.0.1", "garbage", "10.0.0.1"),
        ("10.0.0.1", "10.0.0.1", None, "10.0.0.1"),
        ("::1", "::1", "[2001:db8::5]:443", "2001:db8::5"),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    trusted: str, peer: str, forwarded: str | None, client: str
) -> None:
    """The client is the nearest address no trusted proxy vouches for."""
    proxies = ProxyTrust(parse_networks(trusted))
    assert proxies.client(_request(peer, forwarded)) == client


def test_ipv6_clients_are_throttled_by_their_64() -> None:
    """Two addresses of one /64 share a key; IPv4 and mapped IPv4 count per address."""
    assert throttle_key("2001:db8:1:2::1") == throttle_key("2001:db8:1:2:ffff::9")
    assert throttle_key("2001:db8:1:3::1") != throttle_key("2001:db8:1:2::1")
    assert throttle_key("::ffff:192.0.2.1") == "192.0.2.1"


def test_a_bad_trusted_proxy_setting_is_refused() -> None:
    """A value that is neither an address nor a CIDR range is named in the error."""
    with pytest.raises(ValueError, match=r"proxy\.example"):
        parse_networks("10.0.0.1, proxy.example")


RULE = ThrottleRule("email", "k", limit=3, window_s=60)


@pytest.mark.parametrize(
    ("before", "at_s", "after", "lock_s"),
    [
        (Counter(0, T0, 0, T0), 1, Counter(1, T0, 0, T0 + timedelta(seconds=1)), None),
        (
            Counter(3, T0, 0, T0),
            10,
            Counter(0, T0 + timedelta(seconds=10), 1, T0 + timedelta(seconds=10)),
            60.0,
        ),
        (
            Counter(3, T0, 2, T0),
            10,
            Counter(0, T0 + timedelta(seconds=10), 3, T0 + timedelta(seconds=10)),
            240.0,
        ),
        (
            Counter(3, T0, 9, T0),
            10,
            Counter(0, T0 + timedelta(seconds=10), 10, T0 + timedelta(seconds=10)),
            3600.0,
        ),
        (
            Counter(3, T0, 0, T0),
            61,
            Counter(1, T0 + timedelta(seconds=61), 0, T0 + timedelta(seconds=61)),
            None,
        ),
        (
            Counter(3, T0, 4, T0),
            3601,
            Counter(1, T0 + timedelta(seconds=3601), 0, T0 + timedelta(seconds=3601)),
            None,
        ),
    ],
    ids=["counts", "locks", "doubles", "capped", "window-restarts", "history-forgotten"],
)
def test_count_attempt(before: Counter, at_s: int, after: Counter, lock_s: float | None) -> None:
    """One more attempt moves the counter as the policy says, locking past the limit."""
    assert count_attempt(before, RULE, T0 + timedelta(seconds=at_s), 3600.0) == (after, lock_s)
