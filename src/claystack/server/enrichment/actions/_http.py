"""Outbound HTTP shared by the actions: pooled clients and the server-side request forgery guard.

The guard sits in the connection layer: every TCP connection, including those made for
redirects, resolves the host itself, checks every address and connects to a checked one, so
DNS rebinding between a check and the connection is not possible. Clients are kept per event
loop and per policy, so a connection opened under a permissive policy is never reused
under a strict one.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import itertools
import socket
import ssl
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import certifi
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# httpcore's pool scans all its connections on every request event, so its cost grows with
# the connection count: requests are spread round-robin over several small pools instead.
SHARDS = 16
LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=32, keepalive_expiry=30)


class RefusedTarget(Exception):
    """A URL or address the policy does not allow."""


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        raw = getattr(settings, "http_allowed_hosts", "") or ""
        if not isinstance(raw, str):
            raw = ",".join(raw)
        return _policy(bool(getattr(settings, "http_allow_private", False)), raw)

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """Why connecting to ``ip`` (for ``host``) is refused, or None when it is allowed."""
        if self.allow_private or host.lower().rstrip(".") in self.allowed_names:
            return None
        if any(ip in net for net in self.allowed_networks):
            return None
        return _kind_of_non_global(ip)


@lru_cache(maxsize=64)
def _policy(allow_private: bool, allowed_hosts: str) -> Policy:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for item in (i.strip().lower() for i in allowed_hosts.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
        except ValueError:
            names.add(item.rstrip("."))
    return Policy(allow_private, frozenset(names), tuple(networks))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _kind_of_non_global(ip: IPAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return _kind_of_non_global(embedded)
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:
        return "non-public"
    return None


def check_url(url: httpx.URL) -> None:
    """Refuses what the connection guard cannot see: schemes other than http(s), no host."""
    if url.scheme not in ("http", "https"):
        raise RefusedTarget(f"Only http and https URLs are allowed, not {url.scheme or 'none'}:")
    if not url.host:
        raise RefusedTarget("The URL has no host")


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%", 1)[0])]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"Could not resolve {host}: {exc.strerror}") from exc
    return list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
    )


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port)
        for ip in addresses:
            reason = self.policy.refusal(host, ip)
            if reason is not None:
                shown = host if host == str(ip) else f"{host} ({ip})"
                raise RefusedTarget(
                    f"Refused to connect to {shown}: {reason} addresses are not allowed "
                    "(see CLAYSTACK_HTTP_ALLOW_PRIVATE and CLAYSTACK_HTTP_ALLOWED_HOSTS)"
                )
        error: Exception | None = None
        for ip in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedTarget("Unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _new_client(policy: Policy | None) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(limits=LIMITS, trust_env=False)
    if policy is not None:
        # httpx takes no network backend, so its pool is rebuilt around the guarded one.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )
    return httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)


class _Shards:
    def __init__(self, policy: Policy | None) -> None:
        self.clients = [_new_client(policy) for _ in range(SHARDS)]
        self.turn = itertools.cycle(range(SHARDS))


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Policy | None, _Shards]] = (
    weakref.WeakKeyDictionary()
)


def client(policy: Policy | None) -> httpx.AsyncClient:
    """A shared client of this event loop for ``policy`` (None: trusted, unguarded)."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    shards = per_loop.get(policy)
    if shards is None:
        shards = per_loop[policy] = _Shards(policy)
    index = next(shards.turn)
    found = shards.clients[index]
    if found.is_closed:
        found = shards.clients[index] = _new_client(policy)
    return found


async def aclose() -> None:
    """Closes this event loop's clients (call at shutdown)."""
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for shards in per_loop.values():
        for found in shards.clients:
            await found.aclose()


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), or None."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def short_text(content: bytes | str, limit: int = 200) -> str:
    """A one-line excerpt of a response body for an error message."""
    if isinstance(content, bytes):
        content = content[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(content.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
