"""Request dependencies: the transaction, the caller, and ids resolved with authorization.

Every route that takes an id gets it through one of these, so a route cannot forget to
check that the caller belongs to the workspace that owns it.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from .config import Settings
from .errors import Forbidden, NotFound, Unauthorized
from .services import accounts, app_accounts, exports, imports, sources, tables, workspaces
from .services.common import Actor, Scope, int_id
from .services.sources import SourceRef
from .services.tables import TableRef
from .state import AppState, state_of
from .storage.engine import Database
from .storage.uow import UnitOfWork

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def app_state(request: Request) -> AppState:
    """The app's typed state (``server/state.py``): every read of it goes through here."""
    return state_of(request.app)


def get_settings(request: Request) -> Settings:
    return app_state(request).settings


def public_base_url(request: Request) -> str:
    """Where clients reach this server, for URLs in answers (webhook, export, upload):
    ``CLAYSTACK_PUBLIC_BASE_URL`` when set, else the address the request came to."""
    public = get_settings(request).public_base_url
    return public.rstrip("/") if public else str(request.base_url).rstrip("/")


def get_database(request: Request) -> Database:
    return app_state(request).db


_F = TypeVar("_F", bound=Callable[..., Any])


def read_only(endpoint: _F) -> _F:
    """Marks a POST route that only reads (a search, a bulk fetch): it runs in a read
    transaction, so it never queues behind writers, and a viewer may call it."""
    endpoint.claystack_read_only = True  # type: ignore[attr-defined]
    return endpoint


def viewer_may_call(endpoint: _F) -> _F:
    """Marks a POST route that writes only bookkeeping a viewer may create (starting an
    export of what they can read): a write transaction, but no 403 for viewers."""
    endpoint.claystack_viewer_ok = True  # type: ignore[attr-defined]
    return endpoint


def is_write(request: Request) -> bool:
    if request.method in _SAFE:
        return False
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    return not getattr(endpoint, "claystack_read_only", False)


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """The request's one transaction: committed when the handler returns (before the answer
    is sent), its after-commit hooks run then; rolled back if the handler raises."""
    db = get_database(request)
    async with db.unit_of_work(write=is_write(request)) as uow:
        yield uow


Work = Annotated[UnitOfWork, Depends(unit_of_work, scope="function")]


async def connection(uow: Work) -> AsyncConnection:
    """The unit of work's connection, for routes whose services only read."""
    return uow.conn


Conn = Annotated[AsyncConnection, Depends(connection, scope="function")]


async def secret_key(request: Request, conn: Conn) -> str:
    state = app_state(request)
    if state.secret is None:
        state.secret = await accounts.instance_secret(conn, state.settings)
    return state.secret


Secret = Annotated[str, Depends(secret_key, scope="function")]


@dataclass(slots=True)
class Caller:
    """Who sent the request (one per request: FastAPI caches the dependency). ``unconfirmed``
    is the ``auth_version`` of a cached credential that no query of this request has
    confirmed yet; None once one has (or when it was checked against the database)."""

    actor: Actor
    unconfirmed: int | None
    credential: str
    cookie: bool


async def caller(request: Request, conn: Conn, secret: Secret) -> Caller:
    """The request's credential: from the cache without a query (a dependency that reads
    the database confirms it in its own statement, else ``current_actor`` does), else
    checked against the database."""
    cache = app_state(request).auth_cache
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        credential = auth[7:].strip()
        cookie = False
    else:
        credential = request.cookies.get("claysession") or ""
        cookie = True
        if not credential:
            raise Unauthorized()
    hit: accounts.Credential | None = cache.get(credential)
    if hit is not None:
        return Caller(hit.actor, hit.auth_version, credential, cookie)
    return Caller(await _check(request, conn, secret, credential, cookie), None, credential, cookie)


CallerDep = Annotated[Caller, Depends(caller, scope="function")]


async def _check(
    request: Request, conn: AsyncConnection, secret: str, credential: str, cookie: bool
) -> Actor:
    cache = app_state(request).auth_cache
    if not cookie:
        checked = await accounts.actor_from_api_token(conn, credential)
        cache.put(credential, checked)
    else:
        checked = await accounts.actor_from_cookie(conn, secret, credential)
        assert checked.expires_ms is not None
        cache.put(credential, checked, valid_for=checked.expires_ms / 1000 - time.time())
    return checked.actor


async def current_actor(request: Request, conn: Conn, secret: Secret, who: CallerDep) -> Actor:
    """The caller, confirmed: a cached credential still holds if no revocation (in any
    process) happened since it was cached; otherwise it is checked again."""
    if who.unconfirmed is None:
        return who.actor
    if await accounts.auth_version(conn, who.actor.user_id) != who.unconfirmed:
        app_state(request).auth_cache.forget(who.credential)
        who.actor = await _check(request, conn, secret, who.credential, who.cookie)
    who.unconfirmed = None
    return who.actor


CurrentActor = Annotated[Actor, Depends(current_actor, scope="function")]


def _check_write(request: Request, scope: Scope) -> Scope:
    if is_write(request) and not scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    return scope


# The ``…Read…`` variants skip the role check: they are for POSTs that only read
# (searches, bulk fetches), which a viewer may call.


_R = TypeVar("_R")


async def _confirmed(
    request: Request,
    conn: AsyncConnection,
    secret: str,
    who: Caller,
    resolve: Callable[..., Awaitable[_R]],
    key: Any,
) -> _R:
    """``resolve(conn, actor, key)`` (a workspace's scope, a table) by one query that also
    confirms a cached credential; anything but a hit confirms the credential first (a
    revoked one is a 401, not a 404)."""
    if who.unconfirmed is not None:
        try:
            found = await resolve(conn, who.actor, key, auth_version=who.unconfirmed)
        except NotFound:
            pass
        else:
            who.unconfirmed = None  # a CurrentActor of the same request asks no more
            return found
    actor = await current_actor(request, conn, secret, who)
    return await resolve(conn, actor, key)


async def _workspace(
    request: Request, conn: AsyncConnection, secret: str, who: Caller, workspace_id: object
) -> Scope:
    return await _confirmed(request, conn, secret, who, workspaces.resolve_workspace, workspace_id)


async def workspace_read_scope(
    request: Request,
    conn: Conn,
    secret: Secret,
    who: CallerDep,
    workspace_id: Annotated[str, Path(alias="workspaceId")],
) -> Scope:
    return await _workspace(request, conn, secret, who, workspace_id)


WorkspaceReadScope = Annotated[Scope, Depends(workspace_read_scope, scope="function")]


async def workspace_scope(request: Request, scope: WorkspaceReadScope) -> Scope:
    return _check_write(request, scope)


WorkspaceScope = Annotated[Scope, Depends(workspace_scope, scope="function")]


async def default_read_scope(
    request: Request,
    conn: Conn,
    secret: Secret,
    who: CallerDep,
    workspace_id: Annotated[str | None, Query(alias="workspaceId")] = None,
) -> Scope:
    """For seed paths that carry no workspace id in the path."""
    if workspace_id not in (None, ""):
        return await _workspace(request, conn, secret, who, workspace_id)
    actor = await current_actor(request, conn, secret, who)
    return await workspaces.default_workspace(conn, actor, workspace_id)


DefaultReadScope = Annotated[Scope, Depends(default_read_scope, scope="function")]


async def default_scope(request: Request, scope: DefaultReadScope) -> Scope:
    return _check_write(request, scope)


DefaultScope = Annotated[Scope, Depends(default_scope, scope="function")]


async def _table(
    request: Request, conn: AsyncConnection, secret: str, who: Caller, table_id: str
) -> TableRef:
    return await _confirmed(request, conn, secret, who, tables.resolve_table, table_id)


async def table_read_ref(
    request: Request,
    conn: Conn,
    secret: Secret,
    who: CallerDep,
    table_id: Annotated[str, Path(alias="tableId")],
) -> TableRef:
    return await _table(request, conn, secret, who, table_id)


TableReadDep = Annotated[TableRef, Depends(table_read_ref, scope="function")]


async def table_ref(request: Request, ref: TableReadDep) -> TableRef:
    _check_write(request, ref.scope)
    return ref


TableDep = Annotated[TableRef, Depends(table_ref, scope="function")]


async def view_ref(
    conn: Conn, table: TableReadDep, view_id: Annotated[str, Path(alias="viewId")]
) -> str:
    """A view of the table, resolved before the body is read (an unknown id is 404)."""
    await tables.get_view(conn, table.id, view_id)
    return view_id


ViewIdDep = Annotated[str, Depends(view_ref, scope="function")]


async def workspace_table_ref(
    request: Request,
    conn: Conn,
    secret: Secret,
    who: CallerDep,
    workspace_id: Annotated[str, Path(alias="workspaceId")],
    table_id: Annotated[str, Path(alias="tableId")],
) -> TableRef:
    """A table reached through ``/v3/workspaces/{ws}/tables/{t}`` by a route that checks
    ``{ws}`` first: one query when the caller belongs to ``{ws}`` and it owns the table;
    otherwise the same 404 as checking the workspace and then the table."""
    try:
        ref: TableRef | None = await _table(request, conn, secret, who, table_id)
    except NotFound:
        ref = None
    if ref is None or ref.scope.workspace_id != int_id(workspace_id):
        actor = await current_actor(request, conn, secret, who)
        await workspaces.resolve_workspace(conn, actor, workspace_id)
        raise NotFound("Table not found")
    _check_write(request, ref.scope)
    return ref


WorkspaceTableDep = Annotated[TableRef, Depends(workspace_table_ref, scope="function")]


async def workspace_owns_table(
    table: TableReadDep, workspace_id: Annotated[str, Path(alias="workspaceId")]
) -> None:
    """For the ``/v3/workspaces/{ws}/tables/{t}/…`` aliases: a ``{ws}`` that does not own the
    table answers like an unknown table."""
    if str(table.scope.workspace_id) != workspace_id:
        raise NotFound("Table not found")


async def _owner_scope(
    request: Request, conn: AsyncConnection, actor: Actor, workspace_id: object, what: str
) -> Scope:
    """The caller's scope in the workspace that owns an object; a 404 naming the object when
    the caller is not a member, so a foreign id reads like an unknown one."""
    try:
        scope = await workspaces.resolve_workspace(conn, actor, workspace_id)
    except NotFound:
        raise NotFound(f"{what} not found") from None
    return _check_write(request, scope)


async def folder_scope(
    request: Request,
    conn: Conn,
    actor: CurrentActor,
    folder_id: Annotated[str, Path(alias="folderId")],
) -> tuple[Scope, str]:
    ws = await workspaces.folder_workspace(conn, folder_id)
    return await _owner_scope(request, conn, actor, ws, "Folder"), folder_id


FolderDep = Annotated[tuple[Scope, str], Depends(folder_scope, scope="function")]


async def workbook_scope(
    request: Request,
    conn: Conn,
    actor: CurrentActor,
    workbook_id: Annotated[str, Path(alias="workbookId")],
) -> tuple[Scope, str]:
    ws = await workspaces.workbook_workspace(conn, workbook_id)
    return await _owner_scope(request, conn, actor, ws, "Workbook"), workbook_id


WorkbookDep = Annotated[tuple[Scope, str], Depends(workbook_scope, scope="function")]


async def workspace_workbook(
    workbook: WorkbookDep, workspace_id: Annotated[str, Path(alias="workspaceId")]
) -> tuple[Scope, str]:
    """A workbook reached through a ``{ws}`` path, which must own it (else the same 404)."""
    if str(workbook[0].workspace_id) != workspace_id:
        raise NotFound("Workbook not found")
    return workbook


WorkspaceWorkbookDep = Annotated[tuple[Scope, str], Depends(workspace_workbook, scope="function")]


async def app_account_scope(
    request: Request,
    conn: Conn,
    actor: CurrentActor,
    account_id: Annotated[str, Path(alias="accountId")],
) -> tuple[Scope, str]:
    ws = await app_accounts.account_workspace(conn, account_id)
    return await _owner_scope(request, conn, actor, ws, "Connected account"), account_id


AppAccountDep = Annotated[tuple[Scope, str], Depends(app_account_scope, scope="function")]


async def source_ref(
    request: Request,
    conn: Conn,
    actor: CurrentActor,
    source_id: Annotated[str, Path(alias="sourceId")],
) -> SourceRef:
    ref = await sources.resolve_source(conn, actor, source_id)
    _check_write(request, ref.scope)
    return ref


SourceDep = Annotated[SourceRef, Depends(source_ref, scope="function")]


async def export_row(
    conn: Conn, actor: CurrentActor, export_id: Annotated[str, Path(alias="exportId")]
) -> Any:
    """An export of a workspace the caller belongs to (reading one is for every role)."""
    return await exports.resolve_export(conn, actor, export_id)


ExportDep = Annotated[Any, Depends(export_row, scope="function")]


async def import_row(
    conn: Conn, actor: CurrentActor, import_id: Annotated[str, Path(alias="importId")]
) -> Any:
    return await imports.resolve_import(conn, actor, import_id)


ImportDep = Annotated[Any, Depends(import_row, scope="function")]


def _read_signatures_once() -> None:
    """FastAPI reads a dependency's signature again for every route that uses it, directly or
    through another dependency (some 4,000 reads as the routes are built, each evaluating the
    string annotations): read each here once, which every start of the server gains."""
    for value in list(globals().values()):
        if inspect.isfunction(value) and value.__module__ == __name__:
            try:
                value.__signature__ = inspect.signature(value, eval_str=True)  # type: ignore[attr-defined]
            except NameError:  # an annotation only for type checkers: FastAPI reads it as is
                continue


_read_signatures_once()
