"""Which address a request came from, believing ``X-Forwarded-For`` only from trusted proxies.

The peer address of the TCP connection is the client, unless that peer is one of the proxies
named in ``ML_CONNECTOR_TRUSTED_PROXIES`` (none by default). Then ``X-Forwarded-For`` is read
from the right: each hop a trusted proxy appended is skipped, and the first address no trusted
proxy vouches for is the client. Anything to its left was written by the client itself and is
ignored. A header that does not parse leaves the trusted proxy's own address as the client.

``serve`` turns uvicorn's own header handling off (``proxy_headers=False``): uvicorn would
otherwise believe the header from loopback peers and rewrite the peer address before this code
sees it.

IPv6 clients are throttled by their /64 network (``throttle_key``): one subscriber usually holds
a whole /64, so counting single addresses would give an attacker 2**64 fresh budgets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

from ml_connector.settings import Network

__all__ = ["ProxyTrust", "throttle_key"]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(text: str) -> _Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ProxyTrust:
    """Resolves the client address of a request (module docstring)."""

    def __init__(self, networks: Sequence[Network] = ()) -> None:
        self._networks = tuple(networks)

    def _trusted(self, address: _Address) -> bool:
        return any(address.version == n.version and address in n for n in self._networks)

    def client(self, request: Request) -> str:
        """The client's address as text ("unknown" when the server has none)."""
        peer_text = request.client.host if request.client else ""
        peer = _parse(peer_text)
        if peer is None:
            return peer_text or "unknown"
        if not self._networks or not self._trusted(peer):
            return str(peer)
        hops = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
        client = peer
        for hop in reversed([h for h in hops if h.strip()]):
            address = _parse(hop)
            if address is None:
                break
            client = address
            if not self._trusted(address):
                break
        return str(client)

    def __repr__(self) -> str:
        return f"ProxyTrust({[str(n) for n in self._networks]})"


def throttle_key(address: str) -> str:
    """The unit an address is throttled by: the address itself, or its /64 for IPv6."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed) if parsed is not None else address
