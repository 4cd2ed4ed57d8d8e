from __future__ import annotations

from typing import Annotated

from fastapi import Body

from ...wire import (
    DeletedResources,
    DeleteResourcesIn,
    Folder,
    FolderIn,
    MemberList,
    ResourceList,
    ResourceSearchIn,
    ResourcesIn,
    Table,
    Workbook,
    WorkbookCreate,
    WorkbookIn,
    WorkbookOverview,
    WorkbookPatch,
    WorkbookWithTables,
    WorkspaceEnvelope,
    WorkspaceList,
    WorkspaceResults,
)
from ..deps import (
    Conn,
    CurrentActor,
    DefaultReadScope,
    DefaultScope,
    FolderDep,
    Work,
    WorkbookDep,
    WorkspaceReadScope,
    WorkspaceScope,
    WorkspaceWorkbookDep,
    read_only,
)
from ..services import tables, workbooks, workspaces
from ..services.common import Scope
from . import JSONOut, ok, router

api = router("workspaces")


@api.get("/v3/my-workspaces", responses=ok(WorkspaceList))
async def my_workspaces(conn: Conn, actor: CurrentActor) -> JSONOut:
    """The workspaces the caller belongs to."""
    return JSONOut(WorkspaceList.build(results=await workspaces.my_workspaces(conn, actor)))


@api.get("/v3/workspaces/{workspaceId}", responses=ok(WorkspaceEnvelope))
async def get_workspace(conn: Conn, scope: WorkspaceScope) -> JSONOut:
    """One workspace, with its credit balance."""
    return JSONOut(WorkspaceEnvelope.build(workspace=await workspaces.get_workspace(conn, scope)))


@api.post("/v3/workspaces/{workspaceId}/folders", responses=ok(Folder))
async def create_folder(body: FolderIn, conn: Conn, scope: WorkspaceScope) -> JSONOut:
    """Creates a folder, at the top level or inside ``parentFolderId``."""
    return JSONOut(
        await workspaces.create_folder(
            conn,
            scope,
            name=body.name,
            parent_folder_id=body.parentFolderId,
            description=body.description,
        )
    )


@api.delete("/v3/folders/{folderId}", responses=ok(DeletedResources))
async def delete_folder(uow: Work, folder: FolderDep) -> JSONOut:
    """Deletes a folder and everything inside it."""
    scope, folder_id = folder
    deleted = await workspaces.delete_resources(uow, scope, folder_ids=[folder_id])
    return JSONOut(DeletedResources.build(success=True, deleted=deleted))


@api.delete("/v3/workspaces/{workspaceId}/resources", responses=ok(DeletedResources))
async def delete_resources(
    uow: Work, scope: WorkspaceScope, body: Annotated[DeleteResourcesIn | None, Body()] = None
) -> JSONOut:
    """Deletes folders (with their contents), workbooks (with their tables) and tables.
    Deletion is always permanent here; ``isPermanentDelete`` is accepted and ignored."""
    body = body or DeleteResourcesIn()
    deleted = await workspaces.delete_resources(
        uow,
        scope,
        folder_ids=body.folderIds,
        workbook_ids=body.workbookIds,
        table_ids=body.tableIds,
    )
    return JSONOut(DeletedResources.build(success=True, deleted=deleted))


async def _resources(conn: Conn, scope: Scope, body: ResourcesIn | None) -> JSONOut:
    body = body or ResourcesIn()
    filters = body.filters
    types = workspaces.normalize_resource_types(
        (filters.resourceTypes if filters else None) or body.resourceTypes
    )
    parent = (body.parentResource.type, body.parentResource.id) if body.parentResource else None
    return JSONOut(
        ResourceList.build(
            resources=await workspaces.list_resources(
                conn,
                scope,
                parent=parent,
                types=types,
                owner_ids=set(filters.ownerIds) if filters and filters.ownerIds else None,
                query=filters.q if filters else None,
                everywhere=body.isGlobalSearch,
            )
        )
    )


@api.post("/v3/workspaces/{workspaceId}/resources_v2", responses=ok(ResourceList))
@read_only
async def resources_v2(
    conn: Conn, scope: WorkspaceReadScope, body: Annotated[ResourcesIn | None, Body()] = None
) -> JSONOut:
    """Resources directly under ``parentResource`` (top level when absent), or at every
    level with ``isGlobalSearch``; filtered by type, owner and name."""
    return await _resources(conn, scope, body)


@api.post("/v3/workspaces/{workspaceId}/resources/search", responses=ok(ResourceList))
@read_only
async def search_resources(
    body: ResourceSearchIn, conn: Conn, scope: WorkspaceReadScope
) -> JSONOut:
    """Resources at every level whose name or description contains ``query``."""
    found = await workspaces.list_resources(
        conn,
        scope,
        parent=None,
        types=set(workspaces.RESOURCE_TYPES),
        owner_ids=None,
        query=body.query,
        everywhere=True,
        search_descriptions=True,
    )
    return JSONOut(ResourceList.build(resources=found))


@api.post("/v3/workbooks", responses=ok(Workbook))
async def create_workbook(body: WorkbookIn, conn: Conn, actor: CurrentActor) -> JSONOut:
    """Creates a workbook in ``workspaceId``."""
    scope = await workspaces.resolve_workspace(conn, actor, body.workspaceId, write=True)
    return JSONOut(
        await workspaces.create_workbook(
            conn,
            scope,
            name=body.name,
            parent_folder_id=body.parentFolderId,
            settings=body.settings,
            description=body.description,
        )
    )


@api.delete("/v3/workbooks/{workbookId}", responses=ok(DeletedResources))
async def delete_workbook(uow: Work, workbook: WorkbookDep) -> JSONOut:
    """Deletes a workbook and its tables."""
    scope, workbook_id = workbook
    deleted = await workspaces.delete_resources(uow, scope, workbook_ids=[workbook_id])
    return JSONOut(DeletedResources.build(success=True, deleted=deleted))


@api.get("/v3/workspaces/{workspaceId}/workbooks", responses=ok(list[Workbook]))
async def list_workbooks(conn: Conn, scope: WorkspaceScope) -> JSONOut:
    """Every workbook of the workspace, as a JSON array."""
    return JSONOut(await workspaces.list_workbooks(conn, scope))


@api.post("/v3/workspaces/{workspaceId}/workbooks", responses=ok(Workbook))
async def create_workspace_workbook(
    conn: Conn, scope: WorkspaceScope, body: Annotated[WorkbookCreate | None, Body()] = None
) -> JSONOut:
    """Creates a workbook in the path's workspace; ``name`` is optional."""
    body = body or WorkbookCreate()
    return JSONOut(
        await workspaces.create_workbook(
            conn,
            scope,
            name=body.name or workbooks.DEFAULT_WORKBOOK_NAME,
            parent_folder_id=body.parentFolderId,
            settings=body.settings,
            description=body.description,
        )
    )


@api.get("/v3/workspaces/{workspaceId}/workbooks/{workbookId}", responses=ok(Workbook))
async def get_workbook(conn: Conn, workbook: WorkspaceWorkbookDep) -> JSONOut:
    """One workbook, bare."""
    return JSONOut(await workbooks.get_workbook(conn, *workbook))


@api.patch("/v3/workspaces/{workspaceId}/workbooks/{workbookId}", responses=ok(Workbook))
async def patch_workbook(
    conn: Conn, workbook: WorkspaceWorkbookDep, body: Annotated[WorkbookPatch | None, Body()] = None
) -> JSONOut:
    """Renames a workbook."""
    body = body or WorkbookPatch()
    return JSONOut(await workbooks.update_workbook(conn, *workbook, name=body.name))


@api.get("/v3/{workspaceId}/workbooks/{workbookId}", responses=ok(WorkbookWithTables))
async def get_workbook_with_tables(conn: Conn, workbook: WorkspaceWorkbookDep) -> JSONOut:
    """One workbook with ``orderedWorkbookTables`` ``[{id, name}]``."""
    return JSONOut(await workbooks.get_workbook_with_tables(conn, *workbook))


@api.get("/v3/workbooks/{workbookId}/tables", responses=ok(list[Table]))
async def list_workbook_tables(conn: Conn, workbook: WorkbookDep) -> JSONOut:
    """The tables of a workbook, in full, as a JSON array."""
    scope, workbook_id = workbook
    return JSONOut(await tables.list_tables_in_workbook(conn, scope, workbook_id))


@api.get("/v3/workspaces/{workspaceId}/workbooks/{workbookId}/tables", responses=ok(list[Table]))
async def list_workspace_workbook_tables(conn: Conn, workbook: WorkspaceWorkbookDep) -> JSONOut:
    """The tables of a workbook, in full, as a JSON array."""
    return JSONOut(await tables.list_tables_in_workbook(conn, *workbook))


@api.get(
    "/v3/workspaces/{workspaceId}/workbooks/{workbookId}/overview",
    responses=ok(WorkbookOverview),
)
@api.get("/v3/{workspaceId}/workbooks/{workbookId}/overview", responses=ok(WorkbookOverview))
async def workbook_overview(conn: Conn, workbook: WorkspaceWorkbookDep) -> JSONOut:
    """The workbook's tables as ``nodes`` and the tables feeding others as ``edges``."""
    return JSONOut(await workbooks.overview(conn, *workbook))


@api.get("/v3/workspaces", responses=ok(WorkspaceResults))
async def list_workspaces(conn: Conn, actor: CurrentActor) -> JSONOut:
    """The caller's workspaces as ``{"results": […]}`` (a CLI's health check)."""
    return JSONOut(WorkspaceResults.build(results=await workspaces.my_workspaces(conn, actor)))


@api.get("/v3/owners", responses=ok(MemberList))
async def owners(conn: Conn, scope: DefaultScope) -> JSONOut:
    """Users of the workspace (``?workspaceId=``, else the caller's default) and their roles."""
    return JSONOut(MemberList.build(results=await workspaces.members(conn, scope)))


@api.get("/v3/workspaces/{workspaceId}/permissions", responses=ok(MemberList))
async def permissions(conn: Conn, scope: WorkspaceScope) -> JSONOut:
    """Users of the workspace and their roles."""
    return JSONOut(MemberList.build(results=await workspaces.members(conn, scope)))


@api.post("/v3/users/{userId}/resources", responses=ok(ResourceList))
@read_only
async def user_resources(
    userId: int,
    conn: Conn,
    scope: DefaultReadScope,
    body: Annotated[ResourcesIn | None, Body()] = None,
) -> JSONOut:
    """Resources created by a user, at every level (``?workspaceId=``, else the default)."""
    body = body or ResourcesIn()
    filters = body.filters
    types = workspaces.normalize_resource_types(
        (filters.resourceTypes if filters else None) or body.resourceTypes
    )
    found = await workspaces.list_resources(
        conn,
        scope,
        parent=None,
        types=types,
        owner_ids={userId},
        query=filters.q if filters else None,
        everywhere=True,
    )
    return JSONOut(ResourceList.build(resources=found))
