"""Functions (subroutines), tools made from them, and create-cpj-table (spec part 2 §8, §11)."""

from __future__ import annotations

from fastapi import Request

from ...wire import CpjTableIn, CpjTableOut, SubroutineList, ToolIn, ToolOut
from ..deps import (
    Conn,
    CurrentActor,
    Secret,
    Work,
    WorkspaceReadScope,
    WorkspaceScope,
    get_settings,
)
from ..services import functions
from . import JSONOut, ok, router

api = router("functions")


@api.get("/v3/workspaces/{workspaceId}/subroutines", responses=ok(SubroutineList))
async def list_subroutines(request: Request, conn: Conn, scope: WorkspaceReadScope) -> JSONOut:
    """The workspace's function tables (``BLOCK_TYPE: "SUBROUTINE"``) with what one call
    costs and how many ``execute-subroutine`` fields call each."""
    return JSONOut(await functions.subroutines(conn, scope, get_settings(request)))


@api.get("/v3/workspaces/{workspaceId}/tools", responses=ok(list[ToolOut]))
async def list_tools(conn: Conn, scope: WorkspaceReadScope) -> JSONOut:
    """Function tables offered as tools: ``[{id:"function:t_…", type, name, inputSchema}]``."""
    return JSONOut(await functions.list_tools(conn, scope))


@api.post("/v3/workspaces/{workspaceId}/tools", responses=ok(ToolOut))
async def create_tool(conn: Conn, scope: WorkspaceScope, body: ToolIn) -> JSONOut:
    """Offers a function table as a tool (``{type:"function", tableId}``); 409 if it is one."""
    return JSONOut(await functions.create_tool(conn, scope, body.model_dump()))


@api.post("/v3/sources/create-cpj-table", responses=ok(CpjTableOut))
async def create_cpj_table(
    request: Request, uow: Work, actor: CurrentActor, secret: Secret, body: CpjTableIn
) -> JSONOut:
    """A people/company source's workbook, table, source, source field and ``basicFields``
    (formulas over ``{{source}}``). Its rows come from Clay's data: none offline."""
    out = await functions.create_cpj_table(
        uow,
        actor,
        body.model_dump(),
        secret=secret,
        base_url=get_settings(request).base_url,
    )
    return JSONOut(out)
