"""Shared-table settings (spec part 2 §3.7): who a table is shared with, through which view,
under which public id. Stored and served; claystack has no public page for them."""

from __future__ import annotations

import secrets
from typing import Any

from ...wire import SharedTableOut
from ..errors import BadRequest, Forbidden, NotFound
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import shared_tables as repo
from ..storage.repositories import views as views_repo
from . import tables
from .common import Actor, iso, now_ms
from .tables import TableRef

DEFAULT_SHARING = "PRIVATE"


def _bad(field: str, text: str) -> BadRequest:
    return BadRequest(f'Invalid request parameter(s): Field "{field}" - {text}')


def _out(row: Any) -> SharedTableOut:
    return SharedTableOut.build(
        id=row.id,
        tableId=row.table_id,
        viewId=row.view_id,
        sharingType=row.sharing_type,
        publicId=row.public_id,
        sharedUserEmails=list(row.shared_user_emails or []),
        createdAt=iso(row.created_at),
        updatedAt=iso(row.updated_at),
    )


async def _by_table(conn: Connection, table_id: str) -> Any:
    return await repo.get_for_table(conn, table_id)


async def _check_view(conn: Connection, table_id: str, view_id: Any) -> str:
    if not isinstance(view_id, str) or not view_id:
        raise _bad("viewId", "expected a view id")
    if not await views_repo.exists(conn, table_id, view_id):
        raise NotFound("View not found")
    return view_id


def _check_write(table: TableRef) -> None:
    if not table.scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")


async def share(conn: Connection, actor: Actor, body: dict[str, Any]) -> SharedTableOut:
    """The table's sharing settings, created on first call (``PRIVATE``, its first view)."""
    table_id = body.get("tableId")
    if not isinstance(table_id, str) or not table_id:
        raise _bad("tableId", "Required")
    table = await tables.resolve_table(conn, actor, table_id)
    _check_write(table)
    existing = await _by_table(conn, table.id)
    if existing is not None:
        return _out(existing)
    view_id = body.get("viewId") or table.row.first_view_id
    view_id = await _check_view(conn, table.id, view_id)
    sharing = body.get("sharingType") or DEFAULT_SHARING
    if not isinstance(sharing, str) or len(sharing) > 40:
        raise _bad("sharingType", "expected a string")
    now = now_ms()
    share_id = new_id("share")
    await repo.add(
        conn,
        id=share_id,
        workspace_id=table.scope.workspace_id,
        table_id=table.id,
        view_id=view_id,
        sharing_type=sharing,
        public_id=secrets.token_urlsafe(16),
        shared_user_emails=[],
        created_at=now,
        updated_at=now,
    )
    return _out(await _by_table(conn, table.id))


async def _resolve(conn: Connection, actor: Actor, share_id: str) -> tuple[Any, TableRef]:
    row = await repo.get_by_id(conn, share_id)
    if row is None:
        raise NotFound("Shared table not found")
    try:
        table = await tables.resolve_table(conn, actor, row.table_id)
    except NotFound:
        raise NotFound("Shared table not found") from None
    return row, table


async def get(conn: Connection, actor: Actor, share_id: str) -> SharedTableOut:
    row, _ = await _resolve(conn, actor, share_id)
    return _out(row)


async def by_table(conn: Connection, table: TableRef) -> SharedTableOut:
    row = await _by_table(conn, table.id)
    if row is None:
        raise NotFound("Shared table not found")
    return _out(row)


def _emails(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(e, str) and "@" in e for e in value):
        raise _bad("sharedUserEmails", "expected an array of email addresses")
    return list(dict.fromkeys(e.strip().lower() for e in value))


async def patch(
    conn: Connection, actor: Actor, share_id: str, body: dict[str, Any]
) -> SharedTableOut:
    """Changes ``sharingType``, ``viewId``, ``sharedUserEmails``; ``shouldResetPublicId``
    mints a new public id."""
    row, table = await _resolve(conn, actor, share_id)
    _check_write(table)
    values: dict[str, Any] = {}
    if body.get("sharingType") is not None:
        sharing = body["sharingType"]
        if not isinstance(sharing, str) or not sharing or len(sharing) > 40:
            raise _bad("sharingType", "expected a string")
        values["sharing_type"] = sharing
    if body.get("viewId") is not None:
        values["view_id"] = await _check_view(conn, table.id, body["viewId"])
    if body.get("sharedUserEmails") is not None:
        values["shared_user_emails"] = _emails(body["sharedUserEmails"])
    if body.get("shouldResetPublicId"):
        values["public_id"] = secrets.token_urlsafe(16)
    if values:
        values["updated_at"] = now_ms()
        await repo.update_share(conn, row.id, **values)
    row, _ = await _resolve(conn, actor, share_id)
    return _out(row)
