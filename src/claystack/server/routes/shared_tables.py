"""Shared-table settings (spec part 2 §3.7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from ...wire import SharedTableIn, SharedTableOut, SharedTablePatch
from ..deps import Conn, CurrentActor, TableReadDep
from ..services import shared_tables
from . import JSONOut, ok, router

api = router("shared tables")
ShareId = Annotated[str, Path(alias="sharedTableId", max_length=60)]


@api.post("/v3/shared-tables", responses=ok(SharedTableOut))
async def share_table(conn: Conn, actor: CurrentActor, body: SharedTableIn) -> JSONOut:
    """The table's sharing settings (``share_…``), created on the first call."""
    return JSONOut(await shared_tables.share(conn, actor, body.model_dump()))


@api.get("/v3/shared-tables/by-table-id/{tableId}", responses=ok(SharedTableOut))
async def shared_by_table(conn: Conn, table: TableReadDep) -> JSONOut:
    """The table's sharing settings, or 404 when it was never shared."""
    return JSONOut(await shared_tables.by_table(conn, table))


@api.get("/v3/shared-tables/{sharedTableId}", responses=ok(SharedTableOut))
async def get_shared(conn: Conn, actor: CurrentActor, share_id: ShareId) -> JSONOut:
    """One table's sharing settings."""
    return JSONOut(await shared_tables.get(conn, actor, share_id))


@api.patch("/v3/shared-tables/{sharedTableId}", responses=ok(SharedTableOut))
async def patch_shared(
    conn: Conn, actor: CurrentActor, share_id: ShareId, body: SharedTablePatch
) -> JSONOut:
    """Changes ``sharingType``, ``viewId``, ``sharedUserEmails``; ``shouldResetPublicId``
    mints a new ``publicId``."""
    out = await shared_tables.patch(conn, actor, share_id, body.model_dump(exclude_unset=True))
    return JSONOut(out)
