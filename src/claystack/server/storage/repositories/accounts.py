"""Users, their sessions and API tokens, login failures and the instance's own settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..models import Instance, LoginFailure, Session, User


async def instance_value(conn: AsyncConnection, key: str) -> str | None:
    return await conn.scalar(select(Instance.value).where(Instance.key == key))


async def add_instance_value(conn: AsyncConnection, key: str, value: str) -> None:
    await conn.execute(insert(Instance).values(key=key, value=value))


# -- users -----------------------------------------------------------------------------------


# Point lookups and single-row writes are marked ``sqlite_inline``: on SQLite they run on the
# loop's thread (sqlite_driver.py).


# Built once (the seed of every reset runs them).
_ID_BY_EMAIL = (
    select(User.id).where(User.email == bindparam("email")).execution_options(sqlite_inline=True)
)
_ADD_USER = insert(User).returning(User.id).execution_options(sqlite_inline=True)


async def user_id_by_email(conn: AsyncConnection, email: str) -> int | None:
    return await conn.scalar(_ID_BY_EMAIL, {"email": email})


async def add_user(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(_ADD_USER, values)).scalar_one()


async def update_user(conn: AsyncConnection, user_id: int, **values: Any) -> None:
    stmt = update(User).where(User.id == user_id).values(**values)
    await conn.execute(stmt.execution_options(sqlite_inline=True))


_SET_DEFAULT_WORKSPACE = (
    update(User)
    .where(User.id == bindparam("user_id"), User.default_workspace_id.is_(None))
    .values(default_workspace_id=bindparam("workspace_id"))
    .execution_options(sqlite_inline=True)
)


async def set_default_workspace_if_unset(
    conn: AsyncConnection, user_id: int, workspace_id: int
) -> None:
    await conn.execute(_SET_DEFAULT_WORKSPACE, {"user_id": user_id, "workspace_id": workspace_id})


async def login_row(conn: AsyncConnection, email: str) -> Any:
    """id, email, name and password hash of the user with this email."""
    return (
        await conn.execute(
            select(User.id, User.email, User.name, User.password_hash).where(User.email == email)
        )
    ).first()


# Built once: the first request of every credential (and each after the cache's lifetime).
_BY_SESSION = (
    select(User.id, User.email, User.name, User.auth_version, Session.expires_at)
    .join(Session, Session.user_id == User.id)
    .where(
        Session.token_hash == bindparam("token_hash"),
        Session.expires_at > bindparam("now"),
        Session.revoked_at.is_(None),
    )
    .execution_options(sqlite_inline=True)
)
_BY_API_TOKEN = (
    select(User.id, User.email, User.name, User.auth_version)
    .where(User.api_token_hash == bindparam("token_hash"), User.api_token_revoked_at.is_(None))
    .execution_options(sqlite_inline=True)
)


async def user_by_session(conn: AsyncConnection, token_hash: str, now: int) -> Any:
    """id, email, name, auth_version and the session's expiry, for a live session."""
    return (await conn.execute(_BY_SESSION, {"token_hash": token_hash, "now": now})).first()


async def user_by_api_token(conn: AsyncConnection, token_hash: str) -> Any:
    return (await conn.execute(_BY_API_TOKEN, {"token_hash": token_hash})).first()


_AUTH_VERSION = (
    select(User.auth_version)
    .where(User.id == bindparam("user_id"))
    .execution_options(sqlite_inline=True)
)


async def auth_version(conn: AsyncConnection, user_id: int) -> Any:
    return await conn.scalar(_AUTH_VERSION, {"user_id": user_id})


async def revoke_credentials(conn: AsyncConnection, user_id: int, **values: Any) -> None:
    """Moves the user's credential version (and sets ``values``): cached credentials die."""
    await conn.execute(
        update(User).where(User.id == user_id).values(auth_version=User.auth_version + 1, **values)
    )


_USER = select(User).where(User.id == bindparam("user_id")).execution_options(sqlite_inline=True)


async def get_user(conn: AsyncConnection, user_id: int) -> Any:
    return (await conn.execute(_USER, {"user_id": user_id})).one()


async def find_user(conn: AsyncConnection, user_id: int) -> Any:
    """The user, or None."""
    return (await conn.execute(_USER, {"user_id": user_id})).first()


async def default_workspace_id(conn: AsyncConnection, user_id: int) -> Any:
    return (await conn.execute(select(User.default_workspace_id).where(User.id == user_id))).first()


_ANY_USER = select(User.id).limit(1).execution_options(sqlite_inline=True)


async def has_users(conn: AsyncConnection) -> bool:
    """Whether any user exists (one index step, where a count would read every row)."""
    return await conn.scalar(_ANY_USER) is not None


async def sync_id_sequences(conn: AsyncConnection) -> None:
    """After rows were inserted with explicit ids: PostgreSQL's sequences follow them."""
    if conn.dialect.name == "postgresql":
        for table in ("users", "workspaces"):
            await conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )


# -- sessions --------------------------------------------------------------------------------


async def add_session(
    conn: AsyncConnection, *, token_hash: str, user_id: int, created_at: int, expires_at: int
) -> None:
    await conn.execute(
        insert(Session)
        .values(
            token_hash=token_hash, user_id=user_id, created_at=created_at, expires_at=expires_at
        )
        .execution_options(sqlite_inline=True)
    )


async def live_session_user(conn: AsyncConnection, token_hash: str) -> int | None:
    return await conn.scalar(
        select(Session.user_id).where(
            Session.token_hash == token_hash, Session.revoked_at.is_(None)
        )
    )


async def revoke_session(conn: AsyncConnection, token_hash: str, now: int) -> None:
    await conn.execute(
        update(Session)
        .where(Session.token_hash == token_hash, Session.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_sessions(conn: AsyncConnection, user_id: int, now: int) -> None:
    await conn.execute(
        update(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# -- login failures ----------------------------------------------------------------------------


async def failures_since(
    conn: AsyncConnection, keys: list[str], since: int
) -> list[tuple[str, int, int]]:
    """(key, failures, the oldest's time) of the keys with failures after ``since``."""
    rows = await conn.execute(
        select(LoginFailure.key, func.count(), func.min(LoginFailure.created_at))
        .where(LoginFailure.key.in_(keys), LoginFailure.created_at > since)
        .group_by(LoginFailure.key)
    )
    return [(key, count, oldest) for key, count, oldest in rows]


async def add_failures(conn: AsyncConnection, keys: list[str], now: int) -> None:
    await conn.execute(insert(LoginFailure), [{"key": k, "created_at": now} for k in keys])


async def delete_stale_failures(
    conn: AsyncConnection, until: int, keys: list[str] | None = None
) -> None:
    """Deletes failures up to ``until``: of ``keys``, or of every key when None."""
    stale = LoginFailure.created_at <= until
    if keys is None:
        await conn.execute(delete(LoginFailure).where(stale))
    else:
        await conn.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys), stale))


async def clear_failures(conn: AsyncConnection, key: str) -> None:
    await conn.execute(delete(LoginFailure).where(LoginFailure.key == key))
