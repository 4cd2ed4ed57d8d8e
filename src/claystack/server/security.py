"""Passwords, session cookies and API tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHERS = {
    "standard": PasswordHasher(),
    "low": PasswordHasher(time_cost=1, memory_cost=64, parallelism=1),
}


@cache
def _dummy_hash(cost: str) -> str:
    """Verified against when the email is unknown, so both paths cost the same. Made on first
    use: hashing at full cost at import would slow every process start, the CLI's included."""
    return _HASHERS[cost].hash("claystack-dummy-password")


async def hash_password(password: str, *, cost: str) -> str:
    """An argon2 hash with the parameters ``cost`` names (``Settings.password_hash_cost``); a
    hash keeps the parameters it was made with, so verifying works whatever the choice."""
    return await anyio.to_thread.run_sync(_HASHERS[cost].hash, password)


async def prepare_dummy_hash(cost: str) -> None:
    """Makes the dummy hash at start-up (in a thread), so that the first login with an unknown
    email costs what every later one does."""
    await anyio.to_thread.run_sync(_dummy_hash, cost)


async def verify_password(password_hash: str | None, password: str, *, cost: str) -> bool:
    """Whether ``password`` matches; an unknown user (no hash) costs a check all the same."""
    hasher = _HASHERS[cost]

    def check() -> bool:
        try:
            against = password_hash or _dummy_hash(cost)
            return hasher.verify(against, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _sign(secret: str, value: str) -> str:
    mac = hmac.new(secret.encode(), value.encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode().rstrip("=")


def new_session_cookie(secret: str) -> tuple[str, str]:
    """Returns (cookie value as sent, the token whose hash is stored)."""
    token = secrets.token_urlsafe(32)
    return quote(f"s:{token}.{_sign(secret, token)}", safe=""), token


def session_token_from_cookie(secret: str, cookie: str) -> str | None:
    """The token inside an express-session style ``s:<token>.<signature>`` cookie, if genuine."""
    raw = unquote(cookie)
    if not raw.startswith("s:") or "." not in raw:
        return None
    token, _, sig = raw[2:].rpartition(".")
    # bytes: compare_digest refuses str with non-ASCII characters (a forged cookie may have them)
    if not token or not hmac.compare_digest(sig.encode(), _sign(secret, token).encode()):
        return None
    return token


def api_token_for(secret: str, user_id: int, salt: str) -> str:
    """A user's API token, derived rather than stored: only its hash is in the database."""
    mac = hmac.new(secret.encode(), f"api:{user_id}:{salt}".encode(), hashlib.sha256).digest()
    return "cs_" + base64.urlsafe_b64encode(mac).decode().rstrip("=")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 10.1.0.0/16"`` as networks; ValueError names a bad entry."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if part:
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or CIDR network") from None
    return tuple(out)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str | None, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the
    rightmost ``X-Forwarded-For`` entry not itself a trusted proxy (entries left of it were
    written by the client and prove nothing)."""
    address = peer or "?"
    if not _trusted(address, proxies):
        return address
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        address = hop
        if not _trusted(hop, proxies):
            break
    return address


class AuthCache:
    """Credential → (caller, the user's ``auth_version`` when checked) for a few seconds, so
    hot endpoints read one integer instead of the session; a revocation anywhere bumps the
    version and every process drops the entry on its next use."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Any, float]] = {}

    def get(self, credential: str) -> Any | None:
        hit = self._entries.get(credential)
        if hit is None:
            return None
        if hit[1] <= time.monotonic():
            self._entries.pop(credential, None)
            return None
        return hit[0]

    def put(self, credential: str, actor: Any, valid_for: float | None = None) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        ttl = self.ttl if valid_for is None else min(self.ttl, valid_for)
        self._entries[credential] = (actor, time.monotonic() + ttl)

    def forget(self, credential: str | None = None) -> None:
        if credential is None:
            self._entries.clear()
        else:
            self._entries.pop(credential, None)


def url_signature(secret: str, purpose: str, text: str) -> str:
    """An HMAC for a signed link (downloads, uploads); ``purpose`` keeps one kind of link
    from being replayed as another."""
    mac = hmac.new(secret.encode(), f"{purpose}:{text}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def signature_ok(secret: str, purpose: str, text: str, signature: str) -> bool:
    expected = url_signature(secret, purpose, text).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
