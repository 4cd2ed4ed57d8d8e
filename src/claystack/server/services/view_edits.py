"""The view sub-routes of spec part 2 §5: filter, sort, field settings, moving columns,
duplicating, searching, reading one view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from fractional_indexing import generate_n_keys_between

from ...wire import View as ViewOut
from ..errors import BadRequest, InvalidParameter, NotFound
from ..ids import new_id
from ..storage import search_index
from ..storage.repositories import Connection, view_rows
from ..storage.repositories import views as views_repo
from ..storage.uow import UnitOfWork
from . import tables as tables_svc
from . import views as views_svc
from .common import now_ms
from .tables import TableRef

SEARCH_LIMIT = 10_000
_SCAN_CHUNK = 5_000


def _bad(message: str) -> BadRequest:
    return InvalidParameter(None, message)


async def get_view(conn: Connection, table: TableRef, view_id: str) -> ViewOut:
    return tables_svc.view_out(await tables_svc.get_view(conn, table.id, view_id))


async def set_filter(uow: UnitOfWork, table: TableRef, view_id: str, body: Any) -> ViewOut:
    """The body is the filter itself; ``{}`` or ``null`` clears it."""
    flt = body if body else None
    return await tables_svc.update_view(uow, table, view_id, name=None, config={"filter": flt})


async def set_sort(uow: UnitOfWork, table: TableRef, view_id: str, body: Any) -> ViewOut:
    items = body.get("items") if isinstance(body, dict) else body
    sort = items if items else None
    return await tables_svc.update_view(uow, table, view_id, name=None, config={"sort": sort})


async def set_fields(uow: UnitOfWork, table: TableRef, view_id: str, body: Any) -> ViewOut:
    """``{f_…: {isVisible?, width?, isPinned?}}``."""
    return await tables_svc.update_view(uow, table, view_id, name=None, config={"fields": body})


def _anchor(body: dict[str, Any]) -> tuple[str | None, str | None]:
    after, before = body.get("afterFieldId"), body.get("beforeFieldId")
    for name, value in (("afterFieldId", after), ("beforeFieldId", before)):
        if value is not None and not isinstance(value, str):
            raise _bad(f'Field "{name}" - expected a field id')
    if after is not None and before is not None:
        raise _bad('give "afterFieldId" or "beforeFieldId", not both')
    return after, before


async def _move(
    conn: Connection,
    table: TableRef,
    view_id: str,
    block: Sequence[str],
    after: str | None,
    before: str | None,
    *,
    adjacent: bool = False,
) -> ViewOut:
    """Moves ``block`` (kept in its view order) after or before another column, giving its
    columns fresh fractional ``order`` keys between the neighbours."""
    row = await tables_svc.get_view(conn, table.id, view_id)
    fields = views_svc.field_entries(row.config.get("fields") or {}, list(row.config["fields"]))
    order = list(fields)
    unknown = [f for f in (*block, after, before) if f is not None and f not in fields]
    if unknown:
        raise NotFound(f"Field {unknown[0]} not found in this view")
    if not block:
        raise _bad('Field "fieldIds" - must not be empty')
    positions = sorted(order.index(f) for f in set(block))
    if adjacent and positions[-1] - positions[0] != len(positions) - 1:
        raise BadRequest("Fields are not adjacent in the view.")
    moving = [order[i] for i in positions]
    anchor = after or before
    if anchor is None:
        raise _bad('give "afterFieldId" or "beforeFieldId"')
    if anchor in moving:
        raise _bad("a column cannot move next to itself")
    rest = [f for f in order if f not in moving]
    at = rest.index(anchor) + (1 if after is not None else 0)
    low = fields[rest[at - 1]]["order"] if at > 0 else None
    high = fields[rest[at]]["order"] if at < len(rest) else None
    for fid, key in zip(moving, generate_n_keys_between(low, high, len(moving)), strict=True):
        fields[fid] = {**fields[fid], "order": key}
    await views_repo.update_view(
        conn, view_id, config={**row.config, "fields": fields}, updated_at=now_ms()
    )
    return await get_view(conn, table, view_id)


async def patch_field(
    uow: UnitOfWork, table: TableRef, view_id: str, field_id: str, body: Any
) -> ViewOut:
    """One column of a view: ``isVisible``, ``width``, ``isPinned``, or a move with
    ``afterFieldId``/``beforeFieldId``."""
    conn = uow.conn
    if not isinstance(body, dict):
        raise _bad("expected an object")
    after, before = _anchor(body)
    settings = {k: body[k] for k in views_svc.FIELD_KEYS if k in body}
    view = await tables_svc.get_view(conn, table.id, view_id)
    if field_id not in (view.config.get("fields") or {}):
        raise NotFound("Field not found")
    if settings:
        await set_fields(uow, table, view_id, {field_id: settings})
    if after is not None or before is not None:
        return await _move(conn, table, view_id, [field_id], after, before)
    return await get_view(conn, table, view_id)


async def reorder_fields(conn: Connection, table: TableRef, view_id: str, body: Any) -> ViewOut:
    """Moves adjacent columns together (``Fields are not adjacent in the view.`` else)."""
    if not isinstance(body, dict):
        raise _bad("expected an object")
    ids = body.get("fieldIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _bad('Field "fieldIds" - Required')
    after, before = _anchor(body)
    return await _move(conn, table, view_id, ids, after, before, adjacent=True)


async def move_group(
    conn: Connection, table: TableRef, view_id: str, group_id: str, body: Any
) -> ViewOut:
    """Moves every column of a field group next to another column."""
    if not isinstance(body, dict):
        raise _bad("expected an object")
    group = (table.row.field_group_map or {}).get(group_id)
    if not isinstance(group, dict):
        raise NotFound("Field group not found")
    members = [f["id"] for f in (group.get("groupDetails") or {}).get("fields", [])]
    after, before = _anchor(body)
    return await _move(conn, table, view_id, members, after, before)


async def duplicate(conn: Connection, table: TableRef, view_id: str) -> ViewOut:
    """A copy named ``<name> (copy)``, placed last; a copy of a system view is an ordinary
    (deletable) view with the same filter, sort and columns."""
    row = await tables_svc.get_view(conn, table.id, view_id)
    config = dict(row.config)
    settings = dict(config.get("typeSettings") or {})
    settings.pop("preconfiguredType", None)
    config["typeSettings"] = settings
    position = await views_repo.next_position(conn, table.id)
    now = now_ms()
    new = new_id("gv")
    await views_repo.add(
        conn,
        id=new,
        table_id=table.id,
        name=f"{row.name} (copy)",
        position=position,
        config=config,
        created_at=now,
        updated_at=now,
    )
    return await get_view(conn, table, new)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


async def search(
    conn: Connection,
    table: TableRef,
    view_id: str,
    term: Any,
    want_index: Callable[[str, int], None] | None = None,
) -> list[dict[str, str]]:
    """``[{fieldId, recordId}]`` for every visible cell of the rows the view shows whose
    value contains ``term`` (case-insensitive), in view and column order; at most
    ``SEARCH_LIMIT``. The database narrows the rows first (a substring test on the row's
    JSON text, answered from the search index once the table has one: a table that has none
    yet is offered to ``want_index`` with its row count), so only candidate rows reach Python."""
    if not isinstance(term, str):
        raise _bad('Field "searchTerm" - Required')
    needle = term.strip().lower()
    config = await tables_svc.view_config(conn, table.id, view_id)
    if not needle:
        return []
    visible = [
        fid
        for fid, entry in views_svc.field_entries(
            config.get("fields") or {}, list(config.get("fields") or {})
        ).items()
        if entry.get("isVisible", True) and fid not in tables_svc.SYSTEM_FIELD_IDS
    ]
    prefilter = view_rows.can_narrow(conn, needle)
    indexed = False
    if prefilter:
        state = await search_index.state(conn, table.id)
        if state != "ready" and want_index is not None:
            want_index(table.id, await tables_svc.row_count(conn, table.id))
        indexed = state == "ready"
    stmt = view_rows.search_select(
        conn, table.id, config, needle if prefilter else None, indexed=indexed
    )
    found: list[dict[str, str]] = []
    offset = 0
    while len(found) < SEARCH_LIMIT:
        rows = await view_rows.page(conn, stmt, _SCAN_CHUNK, offset)
        for row in rows:
            cells = row.cells or {}
            for fid in visible:
                if fid in cells and needle in _text(cells[fid]).lower():
                    found.append({"fieldId": fid, "recordId": row.id})
        if len(rows) < _SCAN_CHUNK:
            break
        offset += _SCAN_CHUNK
    return found[:SEARCH_LIMIT]
