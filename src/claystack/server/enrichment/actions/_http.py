"""Outbound HTTP shared by the actions: pooled aiohttp sessions and the request forgery guard.

The guard sits in the connection layer: every TCP connection, including those made for
redirects, is opened to addresses our resolver returned after checking every one of them, so
DNS rebinding between a check and the connection is not possible. aiohttp skips the resolver
for IP literals, so those are checked before each hop (a literal cannot be rebound). Sessions
are kept per event loop and per policy, so a connection opened under a permissive policy is
never reused under a strict one.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import ssl
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_CONNECTIONS = 128
KEEPALIVE_SECONDS = 30
MAX_HEADER_BYTES = 32 * 1024
REDIRECTS = frozenset((301, 302, 303, 307, 308))


class RefusedTarget(Exception):
    """A URL or address the policy does not allow."""


class TooManyRedirects(Exception):
    """More redirects than the caller allows."""


class ResponseTooLarge(Exception):
    """A response body over the caller's limit."""


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


def check_url(url: URL) -> None:
    """Refuses what the connection guard cannot see: schemes other than http(s), no host."""
    if url.scheme not in ("http", "https"):
        raise RefusedTarget(f"Only http and https URLs are allowed, not {url.scheme or 'none'}:")
    if not url.raw_host:
        raise RefusedTarget("The URL has no host")


def with_params(url: URL, params: list[tuple[str, str]]) -> URL:
    """``url`` with ``params`` merged into its query (a name given replaces that name's values),
    encoded as httpx's ``copy_merge_params`` did, so providers see the same query as before."""
    given: dict[str, list[str]] = {}
    for name, value in params:
        given.setdefault(name, []).append(value)
    pairs: list[tuple[str, str]] = []
    placed: set[str] = set()
    for name, value in url.query.items():
        if name not in given:
            pairs.append((name, value))
        elif name not in placed:
            pairs.extend((name, v) for v in given[name])
            placed.add(name)
    pairs.extend((name, v) for name, values in given.items() if name not in placed for v in values)
    base = str(url.with_query(None).with_fragment(None))
    return URL(f"{base}?{urlencode(pairs)}", encoded=True)


def _refuse(policy: Policy, host: str, ip: IPAddress) -> None:
    reason = policy.refusal(host, ip)
    if reason is not None:
        shown = host if host == str(ip) else f"{host} ({ip})"
        raise RefusedTarget(
            f"Refused to connect to {shown}: {reason} addresses are not allowed "
            "(see CLAYSTACK_HTTP_ALLOW_PRIVATE and CLAYSTACK_HTTP_ALLOWED_HOSTS)"
        )


@lru_cache(maxsize=4096)  # parsing costs more than the rest of the check
def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _check_literal(url: URL, policy: Policy) -> None:
    host = url.raw_host or ""
    # aiohttp connects to what looks like an IP (its own test) without asking the resolver;
    # older versions pass legacy forms such as 2130706433 or 127.1 to the OS as they are.
    if ":" not in host and not host.replace(".", "").isdigit():
        return
    ip = _literal(host)
    if ip is None:
        raise RefusedTarget(f"Refused to connect to {host}: not a canonical IP address")
    _refuse(policy, host, ip)


class GuardedResolver(AbstractResolver):
    """Resolves with the event loop and refuses a host if any of its addresses is refused."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        ip = _literal(host)
        if ip is not None:
            addresses = [ip]
        else:
            # a socket.gaierror (an OSError) becomes aiohttp's ClientConnectorDNSError
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
            addresses = list(
                dict.fromkeys(
                    ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos
                )
            )
        for ip in addresses:
            _refuse(self.policy, host, ip)
        return [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in addresses
        ]

    async def close(self) -> None:
        pass


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def _new_session(policy: Policy | None) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS,
        keepalive_timeout=KEEPALIVE_SECONDS,
        ssl=_ssl_context(),
        resolver=GuardedResolver(policy) if policy is not None else None,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # the callers bound the whole exchange with asyncio.timeout
        timeout=aiohttp.ClientTimeout(total=None),
        # one session serves every workspace: no cookie may pass from one to another
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        max_line_size=MAX_HEADER_BYTES,
        max_field_size=MAX_HEADER_BYTES,
    )


_sessions: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[Policy | None, aiohttp.ClientSession]
] = weakref.WeakKeyDictionary()


def session(policy: Policy | None) -> aiohttp.ClientSession:
    """The shared session of this event loop for ``policy`` (None: trusted, unguarded)."""
    per_loop = _sessions.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(policy)
    if found is None or found.closed:
        found = per_loop[policy] = _new_session(policy)
    return found


async def aclose() -> None:
    """Closes this event loop's sessions (call at shutdown)."""
    per_loop = _sessions.pop(asyncio.get_running_loop(), {})
    for found in per_loop.values():
        await found.close()


@dataclass(slots=True)
class Reply:
    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: URL

    @property
    def encoding(self) -> str | None:
        """The charset of the Content-Type header, if any."""
        _, _, params = self.headers.get("content-type", "").partition(";")
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.lower() == "charset" and value.strip('" '):
                return value.strip('" ')
        return None


async def request(
    method: str,
    url: URL,
    policy: Policy | None,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    max_redirects: int = 0,
    max_bytes: int | None = None,
) -> Reply:
    """One exchange, following up to ``max_redirects`` redirects, each hop checked again.

    Raises RefusedTarget, TooManyRedirects, ResponseTooLarge, aiohttp.ClientError (network,
    protocol, invalid URL) and lets the caller's timeout cancel it.
    """
    sender = session(policy)
    headers = dict(headers or {})
    for hop in range(max_redirects + 1):
        check_url(url)
        if policy is not None:
            _check_literal(url, policy)
        has_type = any(k.lower() == "content-type" for k in headers)
        try:
            async with sender.request(
                method,
                url,
                headers=headers,
                data=content,
                allow_redirects=False,
                # httpx sent no Content-Type the caller did not set; aiohttp would guess one
                skip_auto_headers=() if has_type else ("Content-Type",),
            ) as response:
                location = response.headers.get("location")
                if response.status in REDIRECTS and location and hop < max_redirects:
                    try:
                        following = url.join(URL(location))
                    except ValueError:
                        raise aiohttp.InvalidURL(location) from None
                    check_url(following)
                    method, content, headers = _redirected(
                        response.status, method, content, headers, url, following
                    )
                    url = following
                    continue
                if response.status in REDIRECTS and location and max_redirects:
                    raise TooManyRedirects(f"More than {max_redirects} redirects")
                body = await _read(response, max_bytes)
                return Reply(response.status, response.headers, body, url)
        except aiohttp.ClientError as exc:
            # the resolver's refusal must reach the caller as such, whatever wraps it
            cause = exc.__cause__
            if isinstance(cause, RefusedTarget):
                raise cause from None
            raise
    raise AssertionError("unreachable")


def _redirected(
    status: int,
    method: str,
    content: bytes | None,
    headers: dict[str, str],
    current: URL,
    following: URL,
) -> tuple[str, bytes | None, dict[str, str]]:
    """The next request of a redirect, as httpx built it."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, content = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    if current.origin() != following.origin():
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    return method, content, headers


async def _read(response: aiohttp.ClientResponse, max_bytes: int | None) -> bytes:
    if max_bytes is None:
        return await response.read()
    length = response.content_length
    if length is not None and length > max_bytes:
        raise ResponseTooLarge(f"Response larger than {max_bytes // 1048576} MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"Response larger than {max_bytes // 1048576} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(response: Any) -> float | None:
    """``Retry-After`` of a response (anything with ``headers``) in seconds, or None."""
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
