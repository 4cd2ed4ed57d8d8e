"""Webhook sources: creating, listing, deleting them and their auth tokens.

Each source owns one ``type:"source"`` field of its table, named after the source; every
payload it receives is kept whole in that field's cell, which is also how the rows a
source created are found again (``deleteRecords``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from ...wire import Source as SourceOut
from ..errors import BadRequest, InvalidParameter, NotFound
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import sources as repo
from ..storage.uow import UnitOfWork
from . import records as records_svc
from . import table_fields
from . import tables as tables_svc
from .common import Actor, Scope, iso, now_ms
from .tables import TableRef

SOURCE_TYPES = ("webhook",)
DEFAULT_SLUG_TEXT = "Pull in data from a Webhook"
WEBHOOK_PATH = "/v3/sources/webhook/"
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_HOOK = re.compile(
    r"^(?:(?P<slug>[a-z0-9-]*)-)?(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
# typeSettings keys that ask for something and are not stored.
_REQUEST_FLAGS = ("generateAuthToken", "authToken")
_TOKEN_OPTION = re.compile(r"token|auth", re.IGNORECASE)
_TOKEN = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,498}[\x21-\x7e])?")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source the caller may use, as resolved by the route dependency."""

    id: str
    scope: Scope
    row: Any


def slugify(text: str) -> str:
    slug = _NON_SLUG.sub("-", text.lower()).strip("-")[:100].rstrip("-")
    return slug or slugify(DEFAULT_SLUG_TEXT)


def parse_hook(hook: str) -> tuple[str, str] | None:
    """``(slug, uuid)`` of the last path segment of a webhook URL, if it has that form."""
    m = _HOOK.match(hook)
    if m is None:
        return None
    return m.group("slug") or "", m.group("uuid")


def hash_token(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), f"webhook:{token}".encode(), hashlib.sha256).hexdigest()


def token_matches(secret: str, stored_hash: str, given: str | None) -> bool:
    """Constant-time check of an ``x-clay-webhook-auth`` value against the stored hash."""
    return hmac.compare_digest(hash_token(secret, given or ""), stored_hash) and bool(given)


def new_token() -> str:
    return "whk_" + secrets.token_urlsafe(32)


def source_url(base_url: str, row: Any) -> str:
    return f"{base_url}{WEBHOOK_PATH}{row.slug}-{row.hook_uuid}"


def source_out(row: Any, base_url: str, **more: Any) -> SourceOut:
    """The source as answered; ``more``: keys shown once (``authToken``)."""
    return SourceOut.build(**source_row(row, base_url), **more)


def source_row(row: Any, base_url: str) -> dict[str, Any]:
    """A source in the ``wire.Source`` shape as a plain dict, for lists of them."""
    url = source_url(base_url, row)
    return {
        "id": row.id,
        "tableId": row.table_id,
        "workspaceId": row.workspace_id,
        "name": row.name,
        "type": row.type,
        "typeSettings": row.type_settings,
        "url": url,
        "state": {"url": url, "numSourceRecords": row.num_records},
        "hasAuthToken": row.auth_token_hash is not None,
        "fieldId": row.field_id,
        "dataFieldId": row.field_id,
        "numSourceRecords": row.num_records,
        "numSubmissions": row.num_submissions,
        "sourceSubscriptions": (
            [{"tableId": row.table_id, "fieldId": row.field_id}] if row.table_id else []
        ),
        "ownerId": row.owner_id,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "deletedAt": iso(row.deleted_at),
    }


async def resolve_source(conn: Connection, actor: Actor, source_id: str) -> SourceRef:
    """The source if the caller belongs to its workspace; 404 otherwise (never 403)."""
    row = await repo.get_for_member(conn, source_id, actor.user_id)
    if row is None:
        raise NotFound("Source not found")
    return SourceRef(row.id, Scope(actor, row.workspace_id, row.role), row)


async def _free_field_name(conn: Connection, table_id: str, name: str) -> str:
    taken = await repo.field_names(conn, table_id)
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} {n}"
    return candidate


def _type_settings(add: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """``typeSettings`` from ``addSource.source`` and ``addSource`` itself (clients send
    either); a key given in both places must have the same value."""
    merged: dict[str, Any] = {}
    for where, holder in (("addSource.typeSettings", add), ("source.typeSettings", spec)):
        settings = holder.get("typeSettings")
        if settings is None:
            continue
        if not isinstance(settings, dict):
            raise InvalidParameter(where, "expected object")
        for key, value in settings.items():
            if key in merged and merged[key] != value:
                raise InvalidParameter(where, f"{key} differs from the other typeSettings")
            merged[key] = value
    return merged


def _token_options(add: dict[str, Any], settings: dict[str, Any]) -> tuple[bool, str | None]:
    """(generate a token, the token chosen by the client). Any other option naming a token
    is refused: ignoring it would leave open a source its creator meant to protect."""
    unknown = sorted(
        k
        for k in settings.keys() | add.keys()
        if _TOKEN_OPTION.search(k) and k not in _REQUEST_FLAGS
    )
    if unknown:
        raise InvalidParameter(
            f"typeSettings.{unknown[0]}", "unknown option; use generateAuthToken or authToken"
        )
    generate = False
    for where, holder in (("generateAuthToken", add), ("typeSettings.generateAuthToken", settings)):
        value = holder.get("generateAuthToken")
        if value is not None and not isinstance(value, bool):
            raise InvalidParameter(where, "expected true or false")
        generate = generate or bool(value)
    chosen = settings.get("authToken", add.get("authToken"))
    if chosen is not None and (not isinstance(chosen, str) or not _TOKEN.fullmatch(chosen)):
        # A token kept in typeSettings would be shown in plain text and protect nothing.
        raise InvalidParameter(
            "typeSettings.authToken",
            "expected 1 to 500 printable ASCII characters, without leading or trailing spaces",
        )
    if chosen is not None and generate:
        raise BadRequest("Give typeSettings.authToken or generateAuthToken, not both")
    return generate, chosen


def _add_source_body(add: Any, workspace_id: int) -> tuple[str, dict[str, Any], str | None]:
    """(name, typeSettings to store, the source's token if any) from ``addSource``."""
    if not isinstance(add, dict):
        raise InvalidParameter("sourceSettings.addSource", "expected object")
    spec = add.get("source") or {}
    if not isinstance(spec, dict):
        raise InvalidParameter("addSource.source", "expected object")
    source_type = spec.get("type") or add.get("type") or "webhook"
    if source_type not in SOURCE_TYPES:
        raise BadRequest(f'Source type "{source_type}" is not supported; use "webhook"')
    ws = spec.get("workspaceId")
    if ws is not None and str(ws) != str(workspace_id):
        raise BadRequest("source.workspaceId must be the table's workspace")
    name = spec.get("name") or add.get("name") or "Webhook"
    if not isinstance(name, str) or not name.strip() or len(name) > 500:
        raise InvalidParameter("name", "expected a non-empty string")
    settings = _type_settings(add, spec)
    generate, chosen = _token_options(add, settings)
    stored = {k: v for k, v in settings.items() if k not in _REQUEST_FLAGS}
    slug_text = stored.setdefault("urlSlugText", DEFAULT_SLUG_TEXT)
    if not isinstance(slug_text, str):
        raise InvalidParameter("typeSettings.urlSlugText", "expected text")
    return name.strip(), stored, chosen or (new_token() if generate else None)


async def add_source(
    uow: UnitOfWork, table: TableRef, add: Any, *, secret: str, base_url: str
) -> SourceOut:
    """Creates a webhook source and its source field. The answer carries ``authToken``
    when one was asked for or given: the only time it is shown."""
    conn = uow.conn
    name, type_settings, token = _add_source_body(add, table.scope.workspace_id)
    source_id = new_id("s")
    field = await table_fields.create_field(
        uow,
        table,
        name=await _free_field_name(conn, table.id, name),
        field_type="source",
        type_settings={"sourceIds": [source_id], "canCreateRecords": True},
    )
    now = now_ms()
    await repo.add(
        conn,
        id=source_id,
        table_id=table.id,
        workspace_id=table.scope.workspace_id,
        field_id=field["id"],
        name=name,
        type="webhook",
        type_settings=type_settings,
        slug=slugify(type_settings["urlSlugText"]),
        hook_uuid=str(uuid.uuid4()),
        auth_token_hash=hash_token(secret, token) if token else None,
        num_records=0,
        num_submissions=0,
        owner_id=table.scope.actor.user_id,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
    row = await repo.get_by_id(conn, source_id)
    return source_out(row, base_url, authToken=token) if token else source_out(row, base_url)


async def list_sources(conn: Connection, table_id: str, base_url: str) -> list[dict[str, Any]]:
    rows = await repo.list_for_table(conn, table_id)
    return [source_row(r, base_url) for r in rows]


async def workspace_sources(
    conn: Connection, workspace_id: int, base_url: str
) -> list[dict[str, Any]]:
    """Every live source of a workspace, subscribed or buffering."""
    rows = await repo.list_for_workspace(conn, workspace_id)
    return [source_row(r, base_url) for r in rows]


async def set_auth_token(
    uow: UnitOfWork, source: SourceRef, *, secret: str, base_url: str, remove: bool = False
) -> SourceOut:
    """Replaces the source's token with a new one (shown once), or removes it."""
    conn = uow.conn
    token = None if remove else new_token()
    await repo.update_source(
        conn,
        source.id,
        auth_token_hash=hash_token(secret, token) if token else None,
        updated_at=now_ms(),
    )
    uow.source_changed(source.row.hook_uuid)
    row = await repo.get_by_id(conn, source.id)
    return source_out(row, base_url, authToken=token) if token else source_out(row, base_url)


async def delete_source(uow: UnitOfWork, source: SourceRef, *, delete_records: bool) -> int:
    """Soft-deletes the source (its URL answers 404 from now on); with ``delete_records``
    also deletes the rows it created. Returns how many rows went."""
    conn = uow.conn
    # Taken first so webhook rows being written now are committed before the rows of the
    # source are looked up, and rows written later see the source deleted (PostgreSQL).
    if await repo.lock_live(conn, source.id) is None:
        raise NotFound("Source not found")
    now = now_ms()
    deleted = 0
    records_deleted = None
    if delete_records and source.row.table_id is not None:
        table_id = source.row.table_id
        table = TableRef(table_id, source.scope, await tables_svc.reload(conn, table_id))
        # The rows a source created are those whose cell of its field is set.
        ids = await repo.record_ids_with_cell(conn, table_id, source.row.field_id)
        deleted = records_deleted = await records_svc.delete_records(uow, table, record_ids=ids)
    await repo.soft_delete(conn, source.id, now, records_deleted=records_deleted)
    uow.source_changed(source.row.hook_uuid)
    return deleted
