"""Users, sessions, API tokens, workspaces and their members, and the demo seed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import security
from ..config import Settings
from ..errors import BadRequest, Conflict, NotFound, Unauthorized
from ..storage.models import Instance, Membership, Session, User, Workspace
from . import credits as credits_svc
from .common import ROLES, Actor, iso, now_ms


@dataclass(frozen=True)
class Login:
    user: dict[str, Any]
    cookie: str


async def instance_secret(conn: AsyncConnection, settings: Settings) -> str:
    """The key that signs cookies and derives API tokens: the setting, else one made once."""
    if settings.secret_key:
        return settings.secret_key
    value = await conn.scalar(select(Instance.value).where(Instance.key == "secret_key"))
    if value is None:
        value = secrets.token_urlsafe(48)
        await conn.execute(insert(Instance).values(key="secret_key", value=value))
    return value


def _user_out(row: Any) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "name": row.name}


async def create_user(
    conn: AsyncConnection,
    secret: str,
    *,
    email: str,
    name: str,
    password: str,
    user_id: int | None = None,
) -> dict[str, Any]:
    email = email.strip().lower()
    if "@" not in email:
        raise BadRequest(f'Invalid request parameter(s): Field "email" - "{email}" is not an email')
    if len(password) < 8:
        raise BadRequest("Password must be at least 8 characters long")
    if await conn.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"A user with email {email} already exists")
    salt = secrets.token_hex(8)
    values: dict[str, Any] = {
        "email": email,
        "name": name or email.split("@")[0],
        "password_hash": await security.hash_password(password),
        "token_salt": salt,
        "api_token_hash": "",
        "created_at": now_ms(),
    }
    if user_id is not None:
        values["id"] = user_id
    new_id = (await conn.execute(insert(User).values(**values).returning(User.id))).scalar_one()
    token = security.api_token_for(secret, new_id, salt)
    await conn.execute(
        update(User).where(User.id == new_id).values(api_token_hash=security.sha256(token))
    )
    return {"id": new_id, "email": values["email"], "name": values["name"]}


async def create_workspace(
    conn: AsyncConnection,
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
    ws_id = (
        await conn.execute(insert(Workspace).values(**values).returning(Workspace.id))
    ).scalar_one()
    await conn.execute(
        insert(Membership).values(
            workspace_id=ws_id, user_id=owner_id, role="owner", created_at=now
        )
    )
    await conn.execute(
        update(User)
        .where(User.id == owner_id, User.default_workspace_id.is_(None))
        .values(default_workspace_id=ws_id)
    )
    if credits:
        await credits_svc.grant(conn, ws_id, credits, user_id=owner_id)
    return ws_id


async def add_member(conn: AsyncConnection, *, workspace_id: int, email: str, role: str) -> None:
    if role not in ROLES:
        raise BadRequest(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}")
    user_id = await conn.scalar(select(User.id).where(User.email == email.strip().lower()))
    if user_id is None:
        raise NotFound(f"No user with email {email}")
    if await conn.scalar(select(Workspace.id).where(Workspace.id == workspace_id)) is None:
        raise NotFound("Workspace not found")
    existing = await conn.scalar(
        select(Membership.role).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )
    if existing is not None:
        await conn.execute(
            update(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
            .values(role=role)
        )
    else:
        await conn.execute(
            insert(Membership).values(
                workspace_id=workspace_id, user_id=user_id, role=role, created_at=now_ms()
            )
        )
    await conn.execute(
        update(User)
        .where(User.id == user_id, User.default_workspace_id.is_(None))
        .values(default_workspace_id=workspace_id)
    )


async def login(
    conn: AsyncConnection, settings: Settings, secret: str, *, email: str, password: str
) -> Login | None:
    row = (
        await conn.execute(
            select(User.id, User.email, User.name, User.password_hash).where(
                User.email == email.strip().lower()
            )
        )
    ).first()
    if not await security.verify_password(row.password_hash if row else None, password):
        return None
    assert row is not None
    cookie, token = security.new_session_cookie(secret)
    now = now_ms()
    await conn.execute(
        insert(Session).values(
            token_hash=security.sha256(token),
            user_id=row.id,
            created_at=now,
            expires_at=now + settings.session_ttl_seconds * 1000,
        )
    )
    return Login(user=_user_out(row), cookie=cookie)


async def actor_from_cookie(conn: AsyncConnection, secret: str, cookie: str) -> tuple[Actor, int]:
    """The caller behind a session cookie, and when the session expires (epoch ms)."""
    token = security.session_token_from_cookie(secret, cookie)
    if token is None:
        raise Unauthorized()
    row = (
        await conn.execute(
            select(User.id, User.email, User.name, Session.expires_at)
            .join(Session, Session.user_id == User.id)
            .where(
                Session.token_hash == security.sha256(token),
                Session.expires_at > now_ms(),
                Session.revoked_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise Unauthorized()
    return Actor(row.id, row.email, row.name), row.expires_at


async def actor_from_api_token(conn: AsyncConnection, token: str) -> Actor:
    row = (
        await conn.execute(
            select(User.id, User.email, User.name).where(
                User.api_token_hash == security.sha256(token)
            )
        )
    ).first()
    if row is None:
        raise Unauthorized()
    return Actor(row.id, row.email, row.name)


async def logout(conn: AsyncConnection, secret: str, cookie: str | None) -> None:
    token = security.session_token_from_cookie(secret, cookie or "")
    if token is None:
        return
    await conn.execute(
        update(Session)
        .where(Session.token_hash == security.sha256(token), Session.revoked_at.is_(None))
        .values(revoked_at=now_ms())
    )


async def me(conn: AsyncConnection, secret: str, actor: Actor) -> dict[str, Any]:
    row = (await conn.execute(select(User).where(User.id == actor.user_id))).one()
    return {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "username": row.email.split("@")[0],
        "apiToken": security.api_token_for(secret, row.id, row.token_salt),
        "defaultWorkspaceId": row.default_workspace_id,
        "createdAt": iso(row.created_at),
    }


async def rotate_api_token(conn: AsyncConnection, secret: str, user_id: int) -> str:
    salt = secrets.token_hex(8)
    token = security.api_token_for(secret, user_id, salt)
    await conn.execute(
        update(User)
        .where(User.id == user_id)
        .values(token_salt=salt, api_token_hash=security.sha256(token))
    )
    return token


async def user_count(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(User)) or 0)


async def seed_demo(
    conn: AsyncConnection, settings: Settings, secret: str
) -> dict[str, Any] | None:
    """Creates the demo user (id 1) and workspace (id 1) on an empty database."""
    if not settings.seed_demo or await user_count(conn):
        return None
    user = await create_user(
        conn,
        secret,
        email=settings.demo_email,
        name=settings.demo_name,
        password=settings.demo_password,
        user_id=1,
    )
    ws_id = await create_workspace(
        conn,
        name=settings.demo_workspace_name,
        owner_id=user["id"],
        credits=settings.initial_credits,
        workspace_id=1,
    )
    if conn.dialect.name == "postgresql":
        for table in ("users", "workspaces"):
            await conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
    return {"user": user, "workspaceId": ws_id}
