"""Users, sessions, API tokens, workspaces and their members, and the demo seed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ...wire import Me
from ...wire import User as UserOut
from .. import security
from ..config import Settings
from ..errors import BadRequest, Conflict, InvalidParameter, NotFound, TooManyRequests, Unauthorized
from ..storage.repositories import Connection
from ..storage.repositories import accounts as repo
from ..storage.repositories import workspaces as workspaces_repo
from . import credits as credits_svc
from .common import ROLES, Actor, iso, now_ms


@dataclass(frozen=True)
class Login:
    user: UserOut
    cookie: str


async def instance_secret(conn: Connection, settings: Settings) -> str:
    """The key that signs cookies and derives API tokens: the setting, else one made once."""
    if settings.secret_key:
        return settings.secret_key
    value = await repo.instance_value(conn, "secret_key")
    if value is None:
        value = secrets.token_urlsafe(48)
        await repo.add_instance_value(conn, "secret_key", value)
    return value


def _user_out(row: Any) -> UserOut:
    return UserOut.build(id=row.id, email=row.email, name=row.name)


async def create_user(
    conn: Connection,
    secret: str,
    *,
    email: str,
    name: str,
    password: str,
    cost: str,
    user_id: int | None = None,
    password_hash: str | None = None,
) -> dict[str, Any]:
    """A new user; ``password_hash``: the password's hash when the caller has it."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidParameter("email", f'"{email}" is not an email')
    if len(password) < 8:
        raise BadRequest("Password must be at least 8 characters long")
    if await repo.user_id_by_email(conn, email) is not None:
        raise Conflict(f"A user with email {email} already exists")
    salt = secrets.token_hex(8)
    values: dict[str, Any] = {
        "email": email,
        "name": name or email.split("@")[0],
        "password_hash": password_hash or await security.hash_password(password, cost=cost),
        "token_salt": salt,
        "api_token_hash": "",
        "created_at": now_ms(),
    }
    if user_id is not None:  # the token is known before the insert: no update after it
        values["id"] = user_id
        values["api_token_hash"] = security.sha256(security.api_token_for(secret, user_id, salt))
    new_id = await repo.add_user(conn, values)
    if user_id is None:
        token = security.api_token_for(secret, new_id, salt)
        await repo.update_user(conn, new_id, api_token_hash=security.sha256(token))
    return {"id": new_id, "email": values["email"], "name": values["name"]}


async def create_workspace(
    conn: Connection,
    *,
    name: str,
    owner_id: int,
    credits: int,
    workspace_id: int | None = None,
) -> int:
    now = now_ms()
    values: dict[str, Any] = {"name": name, "created_at": now, "updated_at": now}
    if workspace_id is not None:
        values["id"] = workspace_id
    ws_id = await workspaces_repo.add_workspace(conn, values)
    await workspaces_repo.add_member(conn, ws_id, owner_id, role="owner", created_at=now)
    await repo.set_default_workspace_if_unset(conn, owner_id, ws_id)
    if credits:
        await credits_svc.grant(conn, ws_id, credits, user_id=owner_id)
    return ws_id


async def add_member(conn: Connection, *, workspace_id: int, email: str, role: str) -> None:
    if role not in ROLES:
        raise BadRequest(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}")
    user_id = await repo.user_id_by_email(conn, email.strip().lower())
    if user_id is None:
        raise NotFound(f"No user with email {email}")
    if not await workspaces_repo.exists(conn, workspace_id):
        raise NotFound("Workspace not found")
    if await workspaces_repo.member_role(conn, workspace_id, user_id) is not None:
        await workspaces_repo.set_member_role(conn, workspace_id, user_id, role)
    else:
        await workspaces_repo.add_member(
            conn, workspace_id, user_id, role=role, created_at=now_ms()
        )
    await repo.set_default_workspace_if_unset(conn, user_id, workspace_id)


async def login(
    conn: Connection, settings: Settings, secret: str, *, email: str, password: str
) -> Login | None:
    row = await repo.login_row(conn, email.strip().lower())
    hashed = row.password_hash if row else None
    if not await security.verify_password(hashed, password, cost=settings.password_hash_cost):
        return None
    assert row is not None
    cookie = await open_session(conn, settings, secret, row.id)
    return Login(user=_user_out(row), cookie=cookie)


async def open_session(conn: Connection, settings: Settings, secret: str, user_id: int) -> str:
    """A new session of the user (``session_ttl_seconds`` long); its cookie value."""
    cookie, token = security.new_session_cookie(secret)
    now = now_ms()
    await repo.add_session(
        conn,
        token_hash=security.sha256(token),
        user_id=user_id,
        created_at=now,
        expires_at=now + settings.session_ttl_seconds * 1000,
    )
    return cookie


@dataclass(frozen=True, slots=True)
class Credential:
    """Who a session cookie or API token belongs to, checked against the database."""

    actor: Actor
    auth_version: int
    expires_ms: int | None = None


async def actor_from_cookie(conn: Connection, secret: str, cookie: str) -> Credential:
    """The caller behind a session cookie, and when the session expires (epoch ms)."""
    token = security.session_token_from_cookie(secret, cookie)
    if token is None:
        raise Unauthorized()
    row = await repo.user_by_session(conn, security.sha256(token), now_ms())
    if row is None:
        raise Unauthorized()
    return Credential(Actor(row.id, row.email, row.name), row.auth_version, row.expires_at)


async def actor_from_api_token(conn: Connection, token: str) -> Credential:
    row = await repo.user_by_api_token(conn, security.sha256(token))
    if row is None:
        raise Unauthorized()
    return Credential(Actor(row.id, row.email, row.name), row.auth_version)


async def auth_version(conn: Connection, user_id: int) -> int | None:
    """The user's credential version: a cached credential checked at another is stale."""
    value = await repo.auth_version(conn, user_id)
    return None if value is None else int(value)


async def logout(
    conn: Connection, secret: str, cookie: str | None, *, everywhere: bool = False
) -> None:
    """Revokes the session of ``cookie``; with ``everywhere``, every session of its user."""
    token = security.session_token_from_cookie(secret, cookie or "")
    if token is None:
        return
    user_id = await repo.live_session_user(conn, security.sha256(token))
    if user_id is None:
        return
    if everywhere:
        await revoke_sessions(conn, user_id)
        return
    await repo.revoke_session(conn, security.sha256(token), now_ms())
    await repo.revoke_credentials(conn, user_id)


async def revoke_sessions(conn: Connection, user_id: int) -> None:
    """Ends every session of the user, in every server process at once."""
    await repo.revoke_user_sessions(conn, user_id, now_ms())
    await repo.revoke_credentials(conn, user_id)


async def set_password(conn: Connection, user_id: int, password: str, *, cost: str) -> None:
    """Changes the password and ends every session of the user."""
    if len(password) < 8:
        raise BadRequest("Password must be at least 8 characters long")
    await repo.update_user(
        conn, user_id, password_hash=await security.hash_password(password, cost=cost)
    )
    await revoke_sessions(conn, user_id)


async def me(
    conn: Connection, secret: str, actor: Actor, *, auth_version: int | None = None
) -> Me | None:
    """The user; None when ``auth_version`` is given and the user's has moved past it (or
    the user is gone)."""
    if auth_version is None:
        row = await repo.get_user(conn, actor.user_id)
    else:
        row = await repo.find_user(conn, actor.user_id)
        if row is None or row.auth_version != auth_version:
            return None
    return Me.build(
        id=row.id,
        email=row.email,
        name=row.name,
        username=row.email.split("@")[0],
        apiToken=None
        if row.api_token_revoked_at is not None
        else security.api_token_for(secret, row.id, row.token_salt),
        defaultWorkspaceId=row.default_workspace_id,
        createdAt=iso(row.created_at),
    )


async def rotate_api_token(conn: Connection, secret: str, user_id: int) -> str:
    """A new API token for the user; the old one stops working at once, everywhere."""
    salt = secrets.token_hex(8)
    token = security.api_token_for(secret, user_id, salt)
    await repo.revoke_credentials(
        conn,
        user_id,
        token_salt=salt,
        api_token_hash=security.sha256(token),
        api_token_revoked_at=None,
    )
    return token


async def revoke_api_token(conn: Connection, user_id: int) -> None:
    """Revokes the user's API token (until the next rotation)."""
    # The column is unique and required: a hash no token has keeps both true.
    unusable = security.sha256("revoked:" + secrets.token_hex(16))
    await repo.revoke_credentials(
        conn, user_id, api_token_hash=unusable, api_token_revoked_at=now_ms()
    )


async def user_id_by_email(conn: Connection, email: str) -> int:
    user_id = await repo.user_id_by_email(conn, email.strip().lower())
    if user_id is None:
        raise NotFound(f"No user with email {email}")
    return int(user_id)


# -- the login throttle: failures per account and per address, shared through the database


@dataclass(frozen=True, slots=True)
class Throttle:
    window_ms: int
    # (key, the failures it may have within the window)
    limits: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, settings: Settings, email: str, address: str) -> Throttle:
        return cls(
            settings.login_window_seconds * 1000,
            (
                ("account:" + email.strip().lower(), settings.login_max_failures),
                ("address:" + address, settings.login_max_failures_per_address),
            ),
        )


async def check_throttle(conn: Connection, throttle: Throttle) -> None:
    """429 when the account or the address has failed too often within the window."""
    now = now_ms()
    limit_of = dict(throttle.limits)
    rows = await repo.failures_since(conn, list(limit_of), now - throttle.window_ms)
    for key, count, oldest in rows:
        if count >= limit_of[key]:
            raise TooManyRequests(
                "Too many login attempts, try again later",
                retry_after=(oldest + throttle.window_ms - now) // 1000 + 1,
            )


async def login_failed(conn: Connection, throttle: Throttle) -> None:
    now = now_ms()
    keys = [key for key, _ in throttle.limits]
    await repo.add_failures(conn, keys, now)
    stale = now - throttle.window_ms
    await repo.delete_stale_failures(conn, stale, keys)
    if secrets.randbelow(100) == 0:  # now and then, keys no one tries any more
        await repo.delete_stale_failures(conn, stale)


async def login_succeeded(conn: Connection, throttle: Throttle) -> None:
    """Clears the account's failures (never the address's: one good login must not reset
    an attacker's budget there)."""
    account = throttle.limits[0][0]
    await repo.clear_failures(conn, account)


async def has_users(conn: Connection) -> bool:
    return await repo.has_users(conn)


# The demo password's hash per (password, cost), made once per process: a reset (before every
# test of the suite) seeds the demo user again, and hashing was a third of its work.
_DEMO_HASHES: dict[tuple[str, str], str] = {}


async def seed_demo(conn: Connection, settings: Settings, secret: str) -> dict[str, Any] | None:
    """Creates the demo user (id 1) and workspace (id 1) on an empty database."""
    if not settings.seed_demo or await has_users(conn):
        return None
    password, cost = settings.demo_password, settings.password_hash_cost
    known = _DEMO_HASHES.get((password, cost))
    if known is None:
        known = _DEMO_HASHES[password, cost] = await security.hash_password(password, cost=cost)
    user = await create_user(
        conn,
        secret,
        email=settings.demo_email,
        name=settings.demo_name,
        password=password,
        cost=cost,
        user_id=1,
        password_hash=known,
    )
    ws_id = await create_workspace(
        conn,
        name=settings.demo_workspace_name,
        owner_id=user["id"],
        credits=settings.initial_credits,
        workspace_id=1,
    )
    await repo.sync_id_sequences(conn)
    return {"user": user, "workspaceId": ws_id}
