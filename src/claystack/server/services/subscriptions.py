"""Sources made by ``POST /v3/sources`` (spec part 2 §8): they belong to no table at first and
buffer what they receive; a ``type:"source"`` field naming them in ``typeSettings.sourceIds``
subscribes them, which turns the buffer into rows of that field's table. Also the source
routes beyond webhooks' basics: rename, runs, response type, auth token."""

from __future__ import annotations

import uuid
from typing import Any

from ...wire import ResponseTypeOut, SourceEnvelope, SourceRuns, SourceTokenOut
from ...wire import Source as SourceOut
from ..errors import BadRequest, Forbidden, InvalidParameter, NotFound
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import sources as repo
from ..storage.uow import UnitOfWork
from . import records as records_svc
from . import sources as sources_svc
from . import tables as tables_svc
from . import workspaces
from .common import Actor, iso, now_ms
from .sources import DEFAULT_SLUG_TEXT, SourceRef, hash_token, new_token, slugify, source_out
from .tables import TableRef

# Types whose rows come from Clay's own people/company data: no subscriptions offline.
HOSTED_TYPES = ("people", "company", "companies", "find-people", "find-companies", "jobs")
SOURCE_TYPES = ("webhook", "manual")
RESPONSE_TYPES = ("JSON", "PLAIN_TEXT")
TOKEN_HEADER = "x-clay-webhook-auth"
_NO_CAP = 2**62


def _bad(field: str, text: str) -> BadRequest:
    return InvalidParameter(f"{field}", f"{text}")


def with_envelope(out: SourceOut) -> SourceEnvelope:
    """``{"source": S, …S}``: clients read either."""
    return SourceEnvelope.build(source=out, **out.wire_dict())


async def create_source(
    conn: Connection, actor: Actor, body: dict[str, Any], *, secret: str, base_url: str
) -> SourceOut:
    """A source with no subscription yet: it buffers what it receives (``numSourceRecords``)
    until a source field subscribes it. ``workspaceId`` (else the caller's default) must be
    writable by the caller; a ``tableId`` must be in it."""
    scope = await workspaces.default_workspace(conn, actor, body.get("workspaceId"))
    if not scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    kind = body.get("type") or "webhook"
    if not isinstance(kind, str):
        raise _bad("type", "expected a string")
    if kind.lower() in HOSTED_TYPES:
        raise BadRequest("Invalid subscriptions")
    if kind not in SOURCE_TYPES:
        raise _bad("type", f"expected one of {', '.join(SOURCE_TYPES)}")
    name = body.get("name") or ("Webhook" if kind == "webhook" else "Source")
    if not isinstance(name, str) or not name.strip() or len(name) > 500:
        raise _bad("name", "expected 1 to 500 characters")
    settings = body.get("typeSettings") or {}
    if not isinstance(settings, dict):
        raise _bad("typeSettings", "expected an object")
    table_id = body.get("tableId")
    if table_id is not None and not isinstance(table_id, str):
        raise _bad("tableId", "expected a table id")
    if table_id:
        ref = await tables_svc.resolve_table(conn, actor, table_id)
        if ref.scope.workspace_id != scope.workspace_id:
            raise NotFound("Table not found")
    stored = {k: v for k, v in settings.items() if k not in ("generateAuthToken", "authToken")}
    slug_text = stored.setdefault("urlSlugText", DEFAULT_SLUG_TEXT)
    if not isinstance(slug_text, str):
        raise _bad("typeSettings.urlSlugText", "expected text")
    if table_id:
        stored["requestedTableId"] = table_id
    token = new_token() if settings.get("generateAuthToken") else None
    now = now_ms()
    source_id = new_id("s")
    await repo.add(
        conn,
        id=source_id,
        table_id=None,
        workspace_id=scope.workspace_id,
        field_id=None,
        name=name.strip(),
        type=kind,
        type_settings=stored,
        slug=slugify(slug_text),
        hook_uuid=str(uuid.uuid4()),
        auth_token_hash=hash_token(secret, token) if token else None,
        num_records=0,
        num_submissions=0,
        owner_id=scope.actor.user_id,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
    row = await repo.get_by_id(conn, source_id)
    return source_out(row, base_url, authToken=token) if token else source_out(row, base_url)


async def buffer_payload(
    conn: Connection, source_id: str, payload: Any
) -> tuple[str | None, str | None]:
    """Keeps a payload of a source no field subscribes yet: ``(the id its row will have,
    None)``; ``(None, table id)`` when the source was subscribed meanwhile (write a row)."""
    row = await repo.lock_table_of(conn, source_id)
    if row is None:
        raise NotFound("Webhook not found")
    if row.table_id is not None:
        return None, row.table_id
    record_id = new_id("r")
    await repo.buffer(conn, source_id, record_id, payload, now_ms())
    return record_id, None


async def subscribe(uow: UnitOfWork, table: TableRef, field_id: str, type_settings: Any) -> None:
    """A source field names sources in ``sourceIds``: each unsubscribed source of the
    workspace now feeds this field, and its buffered payloads become rows (unless
    ``canCreateRecords`` is false, which drops them)."""
    conn = uow.conn
    ids = type_settings.get("sourceIds") if isinstance(type_settings, dict) else None
    if not isinstance(ids, list):
        return
    for sid in ids:
        if not isinstance(sid, str):
            continue
        if await repo.lock_unsubscribed(conn, sid, table.scope.workspace_id) is None:
            continue
        buffered = await repo.buffered(conn, sid)
        made = 0
        if type_settings.get("canCreateRecords", True) is not False:
            for start in range(0, len(buffered), 1000):
                chunk = buffered[start : start + 1000]
                rows = [{"id": b.record_id, "cells": {field_id: b.payload}} for b in chunk]
                # Each payload was held to the webhook payload limit when it arrived.
                added = await records_svc.add_records(uow, table, rows, max_cell_bytes=_NO_CAP)
                made += len(added)
        await repo.clear_buffer(conn, sid)
        await repo.update_source(
            conn, sid, table_id=table.id, field_id=field_id, num_records=made, updated_at=now_ms()
        )


async def rename(conn: Connection, source: SourceRef, name: Any, *, base_url: str) -> SourceOut:
    if name is not None:
        if not isinstance(name, str) or not name.strip() or len(name) > 500:
            raise _bad("name", "expected 1 to 500 characters")
        await repo.update_source(conn, source.id, name=name.strip(), updated_at=now_ms())
    return source_out(await repo.get_by_id(conn, source.id), base_url)


async def source_runs(conn: Connection, source: SourceRef, limit: Any) -> SourceRuns:
    """A webhook source has one continuous run: what it has received so far."""
    try:
        n = int(limit)
    except (TypeError, ValueError):
        raise InvalidParameter(None, "Field 'limit' - Expected number, received nan") from None
    if n < 1:
        raise InvalidParameter(None, "Field 'limit' - must be at least 1")
    row = await repo.get_by_id(conn, source.id)
    buffered = await repo.count_buffered(conn, source.id)
    run = {
        "id": f"run_{row.id}",
        "status": "ACTIVE" if row.table_id is not None else "BUFFERING",
        "numRecords": int(row.num_records),
        "numSubmissions": int(row.num_submissions),
        "numBufferedRecords": int(buffered or 0),
        "createdAt": iso(row.created_at),
    }
    return SourceRuns.build(runs=[run][:n])


async def set_response_type(
    uow: UnitOfWork, source: SourceRef, response_type: Any
) -> ResponseTypeOut:
    conn = uow.conn
    if response_type not in RESPONSE_TYPES:
        raise _bad("responseType", f"expected one of {', '.join(RESPONSE_TYPES)}")
    settings = dict(source.row.type_settings or {})
    settings["responseType"] = response_type
    await repo.update_source(conn, source.id, type_settings=settings, updated_at=now_ms())
    uow.source_changed(source.row.hook_uuid)
    return ResponseTypeOut.build(success=True, responseType=response_type)


async def new_auth_token(
    uow: UnitOfWork, source: SourceRef, *, secret: str, base_url: str
) -> SourceTokenOut:
    """Clay's shape of a new token: ``{token, headerName}``, shown this once."""
    out = await sources_svc.set_auth_token(uow, source, secret=secret, base_url=base_url)
    return SourceTokenOut.build(token=out["authToken"], headerName=TOKEN_HEADER, sourceId=source.id)
