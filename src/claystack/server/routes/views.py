"""View sub-routes (spec part 2 §5). Every answer carries the view under ``view`` and at
top level."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Request

from ...wire import (
    Empty,
    GroupMoveIn,
    ReorderFieldsIn,
    View,
    ViewFieldPatchIn,
    ViewFieldSettingsIn,
    ViewFilterIn,
    ViewSearchIn,
    ViewSearchOut,
    ViewSortIn,
    ViewWrapped,
)
from ..deps import (
    Conn,
    TableDep,
    TableReadDep,
    ViewIdDep,
    Work,
    app_state,
    read_only,
)
from ..services import view_edits
from . import JSONOut, ok, router

api = router("views")
ViewId = ViewIdDep
FieldId = Annotated[str, Path(alias="fieldId")]
GroupId = Annotated[str, Path(alias="groupId")]
V = "/v3/tables/{tableId}/views/{viewId}"


def wrapped(view: View) -> JSONOut:
    """The view under ``view`` and at top level too (``ViewWrapped``)."""
    return JSONOut(ViewWrapped.build(view=view, **view.wire_dict()))


def _dump(body: Any) -> Any:
    return body.model_dump(exclude_unset=True) if body is not None else None


@api.get(V, responses=ok(ViewWrapped))
async def get_view(view_id: ViewId, conn: Conn, table: TableDep) -> JSONOut:
    """One view."""
    return wrapped(await view_edits.get_view(conn, table, view_id))


@api.patch(V + "/filter", responses=ok(ViewWrapped))
async def set_filter(
    view_id: ViewId,
    uow: Work,
    table: TableDep,
    body: Annotated[ViewFilterIn | None, Body()] = None,
) -> JSONOut:
    """Replaces the view's filter with the body (``{}`` clears it). Item ``type`` takes
    Clay's operator names."""
    return wrapped(await view_edits.set_filter(uow, table, view_id, _dump(body)))


@api.patch(V + "/sort", responses=ok(ViewWrapped))
async def set_sort(
    view_id: ViewId, uow: Work, table: TableDep, body: Annotated[ViewSortIn | None, Body()] = None
) -> JSONOut:
    """Replaces the view's sort (``items: [{fieldId, direction: ASC|DESC}]``)."""
    return wrapped(await view_edits.set_sort(uow, table, view_id, _dump(body)))


@api.patch(V + "/fields", responses=ok(ViewWrapped))
async def set_fields(
    view_id: ViewId,
    uow: Work,
    table: TableDep,
    body: Annotated[dict[str, ViewFieldSettingsIn], Body()],
) -> JSONOut:
    """Column settings keyed by field id: ``{f_…: {isVisible?, width?, isPinned?}}``."""
    changes = {k: v.model_dump(exclude_none=True) for k, v in body.items()}
    return wrapped(await view_edits.set_fields(uow, table, view_id, changes))


@api.patch(V + "/fields/{fieldId}", responses=ok(ViewWrapped))
async def patch_view_field(
    view_id: ViewId, field_id: FieldId, uow: Work, table: TableDep, body: ViewFieldPatchIn
) -> JSONOut:
    """One column: ``isVisible``, ``width``, ``isPinned``, or a move with ``afterFieldId``
    or ``beforeFieldId``."""
    changes = body.model_dump(exclude_none=True)
    return wrapped(await view_edits.patch_field(uow, table, view_id, field_id, changes))


@api.patch(V + "/reorder-fields", responses=ok(ViewWrapped))
async def reorder_fields(
    view_id: ViewId, conn: Conn, table: TableDep, body: ReorderFieldsIn
) -> JSONOut:
    """Moves adjacent columns together after or before another."""
    changes = body.model_dump(exclude_none=True)
    return wrapped(await view_edits.reorder_fields(conn, table, view_id, changes))


@api.patch(V + "/group/{groupId}", responses=ok(ViewWrapped))
async def move_group(
    view_id: ViewId, group_id: GroupId, conn: Conn, table: TableDep, body: GroupMoveIn
) -> JSONOut:
    """Moves a field group's columns after or before another column."""
    changes = body.model_dump(exclude_none=True)
    return wrapped(await view_edits.move_group(conn, table, view_id, group_id, changes))


@api.post(V + "/duplicate", responses=ok(ViewWrapped))
async def duplicate_view(
    view_id: ViewId, conn: Conn, table: TableDep, body: Annotated[Empty | None, Body()] = None
) -> JSONOut:
    """A copy of the view, named ``<name> (copy)``."""
    return wrapped(await view_edits.duplicate(conn, table, view_id))


@api.post(V + "/search", responses=ok(ViewSearchOut))
@read_only
async def search_view(
    request: Request, view_id: ViewId, conn: Conn, table: TableReadDep, body: ViewSearchIn
) -> JSONOut:
    """Cells of the view's visible columns containing ``searchTerm`` (any case)."""
    indexer = app_state(request).indexer()
    hits = await view_edits.search(conn, table, view_id, body.searchTerm, indexer.request)
    return JSONOut(ViewSearchOut.build(results=hits))
