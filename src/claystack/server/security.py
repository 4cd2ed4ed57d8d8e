"""Passwords, session cookies and API tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import deque
from typing import Any
from urllib.parse import quote, unquote

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import TooManyRequests

_HASHERS = {
    "standard": PasswordHasher(),
    "low": PasswordHasher(time_cost=1, memory_cost=64, parallelism=1),
}
_hasher = _HASHERS["standard"]
# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASHES = {cost: h.hash("claystack-dummy-password") for cost, h in _HASHERS.items()}


def use_password_cost(cost: str) -> None:
    """Chooses the argon2 parameters new hashes get (``Settings.password_hash_cost``); a hash
    keeps the parameters it was made with, so verifying works whatever the choice."""
    global _hasher
    _hasher = _HASHERS[cost]


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _hasher
    dummy = _DUMMY_HASHES["standard" if hasher is _HASHERS["standard"] else "low"]

    def check() -> bool:
        try:
            return hasher.verify(password_hash or dummy, password) and bool(password_hash)
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


class LoginThrottle:
    """Failed logins per email and per client address within a sliding window (in memory)."""

    def __init__(self, max_failures: int, window_seconds: int) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            q = self._recent(key, now)
            if len(q) >= self.max_failures:
                raise TooManyRequests(
                    "Too many login attempts, try again later",
                    retry_after=int(q[0] + self.window - now) + 1,
                )

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key, now).append(now)
        if len(self._failures) > 100_000:
            self._failures = {k: q for k, q in self._failures.items() if q}

    def succeeded(self, *keys: str) -> None:
        """Clears the given keys (the email only: never the address, or one good account
        would reset an attacker's budget)."""
        for key in keys:
            self._failures.pop(key, None)


class AuthCache:
    """Credential → caller for a few seconds, so hot endpoints skip the session read."""

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
