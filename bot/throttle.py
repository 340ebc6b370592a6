"""Request limits of the web server: who a request comes from (behind a reverse proxy too), and a
token bucket per client, so that no single client can keep the server busy for everyone.

Pure: the time comes in (monotonic seconds).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network
IPV6_CLIENT_PREFIX = 64  # one IPv6 customer gets a whole /64: it counts as one client


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """Who sent a request: the peer, or, when the peer is a trusted proxy, the last address in
    X-Forwarded-For that is not a trusted proxy itself (each proxy appends the address it saw,
    so what a client wrote there itself comes before it and is never taken). An IPv6 address
    stands for its /64."""
    address = peer or ""
    if forwarded_for and _within(address, proxies):
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            address = hop
            if not _within(hop, proxies):
                break
    return _client(address)


def _within(address: str, networks: Sequence[Network]) -> bool:
    try:
        found = ip_address(address)
    except ValueError:
        return False
    return any(found in network for network in networks)


def _client(address: str) -> str:
    try:
        found = ip_address(address)
    except ValueError:
        return address  # not an address (a unix socket, a proxy's garbage): counted as given
    if not isinstance(found, IPv6Address):
        return str(found)
    if found.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
        return str(found.ipv4_mapped)
    return str(ip_network(f"{found}/{IPV6_CLIENT_PREFIX}", strict=False))


class AddressBuckets:
    """Per client: up to `burst` requests at once, then `rate` a second. At most `size` clients
    are remembered; the one idle longest is forgotten first (and comes back with a full bucket)."""

    def __init__(self, rate: float, burst: float, size: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.size = size
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client: (tokens, at)

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str, now: float) -> float:
        """Take a request's token: 0.0 when there was one, else the seconds until there is one."""
        tokens, at = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.size:
            self._buckets.popitem(last=False)
        return wait
