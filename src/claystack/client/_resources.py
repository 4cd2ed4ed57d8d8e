"""The SDK's namespaces, one per resource. Each method is written once (see ``_base``) and
names the HTTP routes it calls; ``docs/api.md`` is generated from those names."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any
from urllib.parse import quote

from ._base import Emit, M, Op, Resource, Sleep, api, pages, req
from ._exceptions import ClayTimeoutError
from ._extras import AI, Functions, Presets, SharedTables
from ._jobs import Exports, Imports
from ._models import (
    AppAccount,
    CatalogAction,
    CreditReport,
    Field,
    Folder,
    Integration,
    Me,
    Member,
    Record,
    RunEstimate,
    RunStarted,
    RunStatus,
    Source,
    Table,
    User,
    Workbook,
    Workspace,
)
from ._models import (
    Resource as ResourceItem,
)
from ._views import Views

DEFAULT_BATCH_SIZE = 1000
WEBHOOK_SLUG_TEXT = "Pull in data from a Webhook"


def _q(value: str | int) -> str:
    return quote(str(value), safe="")


def _id(obj: Any) -> str:
    """Accepts an id or an object with an ``id`` (a Table, a Record, …)."""
    return str(getattr(obj, "id", obj))


def _table(table_id: str) -> Op[Table]:
    data = yield req("GET", f"/tables/{_q(table_id)}")
    return Table.model_validate(data["table"])


def _workspace_of(table_id: str, workspace_id: int | None) -> Op[int]:
    if workspace_id is not None:
        return workspace_id
    return (yield from _table(table_id)).workspaceId


def _view_of(table_id: str, view_id: str | None) -> Op[str]:
    if view_id:
        return view_id
    view = (yield from _table(table_id)).firstViewId
    if view is None:  # pragma: no cover - every table has a default view
        raise ValueError(f"table {table_id} has no view")
    return view


def _record_in(row: Mapping[str, Any]) -> dict[str, Any]:
    """``{"id"?, "cells": {...}}`` is kept; any other mapping is taken as the cells."""
    cells = row.get("cells")
    if isinstance(cells, Mapping):
        out: dict[str, Any] = {"cells": dict(cells)}
        if row.get("id") is not None:
            out["id"] = str(row["id"])
        return out
    return {"cells": dict(row)}


def _drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class Auth(Resource[M]):
    """Logging in and out, and who you are."""

    @api("POST /auth/login")
    def login(self, email: str, password: str) -> Op[User]:
        """Logs in with email and password and keeps the session cookie for later calls.
        The credentials are kept too, so an expired session is renewed once, automatically."""
        self._core.auth.email, self._core.auth.password = email, password
        self._core.auth.token = None
        response = yield self._core.login_request()
        self._core.remember_login(response)
        return User.model_validate(response.json()["user"])

    @api("POST /auth/logout")
    def logout(self, *, everywhere: bool = False) -> Op[None]:
        """Revokes the current session on the server and forgets it here; with
        ``everywhere=True``, every session of your user (other browsers and clients too)."""
        params = {"all": "true"} if everywhere else None
        yield req("POST", "/auth/logout", {}, params=params)
        self._core.auth.session = None
        self._core.auth.email = self._core.auth.password = None

    @api("GET /me")
    def me(self) -> Op[Me]:
        """The logged-in user, including ``apiToken`` (usable as ``token=``)."""
        return Me.model_validate((yield req("GET", "/me")))

    @api("POST /me/api-token")
    def rotate_api_token(self) -> Op[str]:
        """A new API token for your user; the old one stops working at once. A client
        authenticated by the old token switches to the new one."""
        data = yield req("POST", "/me/api-token", {})
        token: str = data["apiToken"]
        if self._core.auth.token:
            self._core.auth.token = token
        return token

    @api("DELETE /me/api-token")
    def revoke_api_token(self) -> Op[None]:
        """Revokes your API token (``rotate_api_token`` makes a new one). Sessions stay."""
        yield req("DELETE", "/me/api-token")


class Workspaces(Resource[M]):
    """Workspaces and their members."""

    @api("GET /my-workspaces")
    def list(self) -> Op[builtins.list[Workspace]]:
        """The workspaces you belong to."""
        data = yield req("GET", "/my-workspaces")
        return [Workspace.model_validate(w) for w in data["results"]]

    @api("GET /workspaces/{workspaceId}")
    def get(self, workspace_id: int) -> Op[Workspace]:
        """One workspace, with its credit balance."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}")
        return Workspace.model_validate(data["workspace"])

    @api("GET /workspaces/{workspaceId}/permissions")
    def members(self, workspace_id: int) -> Op[builtins.list[Member]]:
        """The users of a workspace and their roles."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/permissions")
        return [Member.model_validate(m) for m in data["results"]]

    @api("GET /owners")
    def owners(self, workspace_id: int | None = None) -> Op[builtins.list[Member]]:
        """Like :meth:`members`, by the seed path (default workspace when none is given)."""
        data = yield req("GET", "/owners", params={"workspaceId": workspace_id})
        return [Member.model_validate(m) for m in data["results"]]


class Folders(Resource[M]):
    """Folders of the resource tree."""

    @api("POST /workspaces/{workspaceId}/folders")
    def create(
        self,
        workspace_id: int,
        name: str,
        *,
        parent_folder_id: str | None = None,
        description: str | None = None,
    ) -> Op[Folder]:
        """Creates a folder at the top level or inside ``parent_folder_id``."""
        body = _drop_none(name=name, parentFolderId=parent_folder_id, description=description)
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/folders", body)
        return Folder.model_validate(data)

    @api("DELETE /folders/{folderId}")
    def delete(self, folder_id: str) -> Op[dict[str, Any]]:
        """Deletes a folder and everything in it; returns what was deleted."""
        data = yield req("DELETE", f"/folders/{_q(folder_id)}")
        return dict(data or {})


class Resources(Resource[M]):
    """The resource tree: folders, workbooks and tables."""

    @api("POST /workspaces/{workspaceId}/resources_v2/")
    def list(
        self,
        workspace_id: int,
        *,
        parent: tuple[str, str] | None = None,
        types: Iterable[str] | None = None,
        owner_ids: Iterable[int] | None = None,
        q: str | None = None,
        everywhere: bool = False,
    ) -> Op[builtins.list[ResourceItem]]:
        """Resources directly under ``parent`` (``("FOLDER", "fo_…")`` or
        ``("WORKBOOK", "wb_…")``; the top level when absent), or at every level with
        ``everywhere=True``; filtered by type (FOLDER, WORKBOOK, TABLE), owner and name."""
        filters = _drop_none(
            resourceTypes=list(types) if types is not None else None,
            ownerIds=list(owner_ids) if owner_ids is not None else None,
            q=q,
        )
        body = {
            "parentResource": {"type": parent[0], "id": parent[1]} if parent else None,
            "filters": filters,
            "isGlobalSearch": everywhere,
        }
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/resources_v2/", body)
        return [ResourceItem.model_validate(r) for r in data["resources"]]

    @api("POST /workspaces/{workspaceId}/resources/search")
    def search(self, workspace_id: int, query: str) -> Op[builtins.list[ResourceItem]]:
        """Resources at every level whose name or description contains ``query``."""
        body = {"query": query}
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/resources/search", body)
        return [ResourceItem.model_validate(r) for r in data["resources"]]

    @api("POST /users/{userId}/resources")
    def by_owner(
        self, user_id: int, *, workspace_id: int | None = None
    ) -> Op[builtins.list[ResourceItem]]:
        """Resources created by one user, at every level."""
        data = yield req(
            "POST", f"/users/{_q(user_id)}/resources", {}, params={"workspaceId": workspace_id}
        )
        return [ResourceItem.model_validate(r) for r in data["resources"]]

    @api("DELETE /workspaces/{workspaceId}/resources/")
    def delete(
        self,
        workspace_id: int,
        *,
        folder_ids: Iterable[str] = (),
        workbook_ids: Iterable[str] = (),
        table_ids: Iterable[str] = (),
    ) -> Op[dict[str, Any]]:
        """Deletes folders (with their contents), workbooks (with their tables) and tables."""
        body = {
            "folderIds": list(folder_ids),
            "workbookIds": list(workbook_ids),
            "tableIds": list(table_ids),
            "isPermanentDelete": True,
        }
        data = yield req("DELETE", f"/workspaces/{_q(workspace_id)}/resources/", body)
        return dict(data or {})


class Workbooks(Resource[M]):
    """Workbooks, which hold tables."""

    @api("POST /workbooks")
    def create(
        self,
        workspace_id: int,
        name: str,
        *,
        parent_folder_id: str | None = None,
        auto_run: bool | None = None,
        description: str | None = None,
    ) -> Op[Workbook]:
        """Creates a workbook (in a folder with ``parent_folder_id``)."""
        body = _drop_none(
            name=name,
            workspaceId=workspace_id,
            parentFolderId=parent_folder_id,
            description=description,
            settings={"isAutoRun": auto_run} if auto_run is not None else None,
        )
        return Workbook.model_validate((yield req("POST", "/workbooks", body)))

    @api("GET /workspaces/{workspaceId}/workbooks")
    def list(self, workspace_id: int) -> Op[builtins.list[Workbook]]:
        """Every workbook of a workspace."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/workbooks")
        return [Workbook.model_validate(w) for w in data]

    @api("GET /workspaces/{workspaceId}/workbooks/{workbookId}")
    def get(self, workspace_id: int, workbook_id: str) -> Op[Workbook]:
        """One workbook."""
        path = f"/workspaces/{_q(workspace_id)}/workbooks/{_q(workbook_id)}"
        return Workbook.model_validate((yield req("GET", path)))

    @api("PATCH /workspaces/{workspaceId}/workbooks/{workbookId}")
    def rename(self, workspace_id: int, workbook_id: str, name: str) -> Op[Workbook]:
        """Renames a workbook."""
        path = f"/workspaces/{_q(workspace_id)}/workbooks/{_q(workbook_id)}"
        return Workbook.model_validate((yield req("PATCH", path, {"name": name})))

    @api("GET /workspaces/{workspaceId}/workbooks/{workbookId}/overview")
    def overview(self, workspace_id: int, workbook_id: str) -> Op[dict[str, Any]]:
        """The workbook's tables as ``nodes`` and the tables feeding others as ``edges``."""
        path = f"/workspaces/{_q(workspace_id)}/workbooks/{_q(workbook_id)}/overview"
        return dict((yield req("GET", path)))

    @api("GET /workbooks/{workbookId}/tables")
    def tables(self, workbook_id: str) -> Op[builtins.list[Table]]:
        """The tables of a workbook."""
        data = yield req("GET", f"/workbooks/{_q(workbook_id)}/tables")
        return [Table.model_validate(t) for t in data]

    @api("DELETE /workbooks/{workbookId}")
    def delete(self, workbook_id: str) -> Op[dict[str, Any]]:
        """Deletes a workbook and its tables."""
        return dict((yield req("DELETE", f"/workbooks/{_q(workbook_id)}")) or {})


class Tables(Resource[M]):
    """Tables: create, read, change, count, delete."""

    @api("POST /tables")
    def create(
        self,
        workspace_id: int,
        name: str | None = None,
        *,
        workbook_id: str | None = None,
        type: str | None = None,
        description: str | None = None,
        table_settings: dict[str, Any] | None = None,
        template: str | None = None,
    ) -> Op[Table]:
        """Creates a table; without ``workbook_id`` the server makes a workbook for it.
        ``template``: ``basic`` (default: "Default view" plus the system views),
        ``no_views`` or ``basic_source`` (with a webhook source); ``name`` defaults to
        "Untitled table"."""
        body = _drop_none(
            name=name,
            workspaceId=workspace_id,
            workbookId=workbook_id,
            type=type,
            description=description,
            tableSettings=table_settings,
            template=template,
        )
        data = yield req("POST", "/tables", body)
        return Table.model_validate(data["table"])

    @api("GET /tables/{tableId}")
    def get(self, table_id: str) -> Op[Table]:
        """A table with its fields and views."""
        return (yield from _table(_id(table_id)))

    @api("GET /workspaces/{workspaceId}/tables")
    def list(self, workspace_id: int) -> Op[builtins.list[dict[str, Any]]]:
        """Every table of a workspace, without fields and views."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/tables")
        return [dict(t) for t in data["results"]]

    @api("PATCH /tables/{tableId}")
    def update(
        self,
        table_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        table_settings: dict[str, Any] | None = None,
        field_group_map: dict[str, Any] | None = None,
    ) -> Op[Table]:
        """Renames or describes a table, or merges ``table_settings`` (e.g.
        ``{"AUTO_RUN_ON": False}``)."""
        body = _drop_none(
            name=name,
            description=description,
            tableSettings=table_settings,
            fieldGroupMap=field_group_map,
        )
        data = yield req("PATCH", f"/tables/{_q(_id(table_id))}", body)
        return Table.model_validate(data["table"])

    @api("DELETE /tables/{tableId}")
    def delete(self, table_id: str) -> Op[None]:
        """Deletes a table and all its rows."""
        yield req("DELETE", f"/tables/{_q(_id(table_id))}")

    @api("GET /tables/{tableId}/count")
    def count(self, table_id: str) -> Op[int]:
        """The number of rows in a table."""
        data = yield req("GET", f"/tables/{_q(_id(table_id))}/count")
        return int(data["tableTotalRecordsCount"])


class Fields(Resource[M]):
    """Columns: plain types, formulas and enrichment actions."""

    @api("GET /tables/{tableId}/fields")
    def list(self, table_id: str) -> Op[builtins.list[Field]]:
        """The columns of a table, in order."""
        data = yield req("GET", f"/tables/{_q(_id(table_id))}/fields")
        return [Field.model_validate(f) for f in data]

    @api("DELETE /tables/{tableId}/fields")
    def delete_many(self, table_id: str, field_ids: Iterable[str]) -> Op[None]:
        """Deletes several columns at once; columns reading them get a ``settingsError``."""
        body = {"fieldIds": builtins.list(field_ids)}
        yield req("DELETE", f"/tables/{_q(_id(table_id))}/fields", body)

    @api("POST /tables/{tableId}/fields/group")
    def group(self, table_id: str, field_ids: Iterable[str], name: str | None = None) -> Op[str]:
        """Groups columns; returns the group id (``gr_…``)."""
        body = _drop_none(fieldIds=builtins.list(field_ids), name=name)
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields/group", body)
        return str(data["groupId"])

    @api("POST /tables/{tableId}/fields/group/{groupId}")
    def update_group(
        self,
        table_id: str,
        group_id: str,
        members: Iterable[str | Mapping[str, Any]],
        *,
        name: str | None = None,
    ) -> Op[dict[str, Any]]:
        """Replaces a group's members (ids, or ``{"id", "isOutputField"}``) and renames it."""
        fields = [{"id": m} if isinstance(m, str) else dict(m) for m in members]
        body = _drop_none(name=name, fields=fields)
        path = f"/tables/{_q(_id(table_id))}/fields/group/{_q(group_id)}"
        return dict((yield req("POST", path, body)))

    @api("DELETE /tables/{tableId}/fields/group/{groupId}")
    def ungroup(self, table_id: str, group_id: str, *, delete_fields: bool = False) -> Op[None]:
        """Removes a group; with ``delete_fields=True`` its columns go too."""
        path = f"/tables/{_q(_id(table_id))}/fields/group/{_q(group_id)}"
        yield req("DELETE", path, {"deleteFields": delete_fields})

    @api("POST /tables/{tableId}/waterfall/v2")
    def create_waterfall(
        self,
        table_id: str,
        name: str,
        steps: Iterable[Mapping[str, Any]],
        *,
        group_name: str | None = None,
        hide_steps: bool = False,
        run_as_button: bool = False,
    ) -> Op[dict[str, Any]]:
        """A waterfall: one action column per step (``{actionKey, actionPackageId,
        inputsBinding, attributePath, name}``), an output column ``name`` taking the first
        non-empty result, and a group; returns ``{"fieldGroupMap": {gr_…: group}}``."""
        body = {
            "waterfallFieldName": name,
            "waterfallGroupName": group_name or name,
            "hideFromViews": hide_steps,
            "runAsButton": run_as_button,
            "waterfallConfigs": [dict(s) for s in steps],
        }
        return dict((yield req("POST", f"/tables/{_q(_id(table_id))}/waterfall/v2", body)))

    @api("POST /tables/{tableId}/fields")
    def create(
        self,
        table_id: str,
        name: str,
        type: str = "text",
        *,
        type_settings: dict[str, Any] | None = None,
    ) -> Op[Field]:
        """Adds a column of ``type`` (text, number, boolean, date, url, email, select,
        formula, action, …). A duplicate name raises ``ConflictError``."""
        body = _drop_none(name=name, type=type, typeSettings=type_settings)
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields", body)
        return Field.model_validate(data["field"])

    @api("POST /tables/{tableId}/fields")
    def create_formula(self, table_id: str, name: str, formula: str) -> Op[Field]:
        """Adds a formula column; ``formula`` refers to cells as ``{{f_…}}``."""
        body = {"name": name, "type": "formula", "typeSettings": {"formulaText": formula}}
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields", body)
        return Field.model_validate(data["field"])

    @api("POST /tables/{tableId}/fields")
    def create_action(
        self,
        table_id: str,
        name: str,
        action_key: str,
        inputs: Mapping[str, str],
        *,
        package_id: str | None = None,
        auth_account_id: str | None = None,
        run_condition: str | None = None,
    ) -> Op[Field]:
        """Adds an enrichment column running ``action_key`` (e.g. ``"http-api-v2"``) with
        each input bound to a formula (``{"url": "https://x.dev/{{f_abc}}"}``)."""
        settings = _drop_none(
            actionKey=action_key,
            actionPackageId=package_id or action_key,
            authAccountId=auth_account_id,
            conditionalRunFormulaText=run_condition,
        )
        settings["inputsBinding"] = [{"name": k, "formulaText": v} for k, v in inputs.items()]
        settings["dataTypeSettings"] = {"type": "json"}
        body = {"name": name, "type": "action", "typeSettings": settings}
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields", body)
        return Field.model_validate(data["field"])

    @api("PATCH /tables/{tableId}/fields/{fieldId}")
    def update(
        self,
        table_id: str,
        field_id: str,
        *,
        name: str | None = None,
        type: str | None = None,
        type_settings: dict[str, Any] | None = None,
    ) -> Op[Field]:
        """Renames a column or changes its type or settings (settings merge)."""
        body = _drop_none(name=name, type=type, typeSettings=type_settings)
        data = yield req("PATCH", f"/tables/{_q(_id(table_id))}/fields/{_q(field_id)}", body)
        return Field.model_validate(data["field"])

    @api("DELETE /tables/{tableId}/fields/{fieldId}")
    def delete(self, table_id: str, field_id: str) -> Op[None]:
        """Deletes a column and its cells."""
        yield req("DELETE", f"/tables/{_q(_id(table_id))}/fields/{_q(field_id)}")


class Records(Resource[M]):
    """Rows: add in batches, read, page through, update, delete."""

    @api("POST /tables/{tableId}/records")
    def add(
        self,
        table_id: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_batch: Callable[[int], None] | None = None,
        return_records: bool = True,
    ) -> Op[builtins.list[Record]]:
        """Adds rows, ``batch_size`` per request. Each row is its cells
        (``{"f_name": "Acme"}``) or ``{"id": "my-id", "cells": {...}}``. ``rows`` may be
        any iterable, even a generator over a huge file: it is read one batch at a time.
        ``on_batch(n)`` is called after each batch lands; with ``return_records=False``
        nothing is kept and an empty list is returned."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        path = f"/tables/{_q(_id(table_id))}/records"
        out: list[Record] = []
        it = iter(rows)
        while batch := [_record_in(r) for r in islice(it, batch_size)]:
            data = yield req("POST", path, {"records": batch}, raw=not return_records)
            if return_records:
                out.extend(Record.model_validate(r) for r in data["records"])
            if on_batch is not None:
                on_batch(len(batch))
        return out

    @api("PATCH /tables/{tableId}/records")
    def update(
        self,
        table_id: str,
        rows: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Op[builtins.list[Record]]:
        """Merges cells into existing rows: ``[{"id": "r_…", "cells": {...}}]`` or
        ``{"r_…": {...cells}}``; sent ``batch_size`` rows per request."""
        if isinstance(rows, Mapping):
            items: Iterable[Mapping[str, Any]] = (
                {"id": k, "cells": dict(v)} for k, v in rows.items()
            )
        else:
            items = rows
        path = f"/tables/{_q(_id(table_id))}/records"
        out: list[Record] = []
        it = iter(items)
        while batch := [
            {"id": str(r["id"]), "cells": dict(r["cells"])} for r in islice(it, batch_size)
        ]:
            data = yield req("PATCH", path, {"records": batch})
            out.extend(Record.model_validate(r) for r in data["records"])
        return out

    @api("GET /tables/{tableId}/records/{recordId}")
    def get(self, table_id: str, record_id: str) -> Op[Record]:
        """One row."""
        path = f"/tables/{_q(_id(table_id))}/records/{_q(_id(record_id))}"
        return Record.model_validate((yield req("GET", path)))

    @api("PATCH /tables/{tableId}/records/{recordId}")
    def update_one(self, table_id: str, record_id: str, cells: Mapping[str, Any]) -> Op[Record]:
        """Merges ``cells`` into one row."""
        path = f"/tables/{_q(_id(table_id))}/records/{_q(_id(record_id))}"
        return Record.model_validate((yield req("PATCH", path, {"cells": dict(cells)})))

    @api("DELETE /tables/{tableId}/records/{recordId}")
    def delete(self, table_id: str, record_id: str) -> Op[None]:
        """Deletes one row."""
        yield req("DELETE", f"/tables/{_q(_id(table_id))}/records/{_q(_id(record_id))}")

    @api("DELETE /tables/{tableId}/records")
    def delete_many(self, table_id: str, record_ids: Iterable[str]) -> Op[int]:
        """Deletes these rows; returns how many were deleted."""
        body = {"recordIds": [_id(r) for r in record_ids]}
        data = yield req("DELETE", f"/tables/{_q(_id(table_id))}/records", body)
        return int((data or {}).get("deletedCount", 0))

    @api("DELETE /tables/{tableId}/records")
    def delete_all(
        self, table_id: str, *, view_id: str | None = None, keep: Iterable[str] = ()
    ) -> Op[int]:
        """Deletes every row (only those ``view_id`` shows, when given) except ``keep``."""
        body: dict[str, Any] = {"omitDeletingRecordIds": [_id(r) for r in keep]}
        if view_id is not None:
            body.update(deleteAll=True, viewId=view_id)
        data = yield req("DELETE", f"/tables/{_q(_id(table_id))}/records", body)
        return int((data or {}).get("deletedCount", 0))

    @api("POST /tables/{tableId}/bulk-fetch-records")
    def bulk_fetch(
        self,
        table_id: str,
        record_ids: Iterable[str],
        *,
        field_ids: Iterable[str] | None = None,
    ) -> Op[builtins.list[Record]]:
        """Rows by id, in the order asked (unknown ids are left out)."""
        body = _drop_none(
            recordIds=[_id(r) for r in record_ids],
            fieldIds=list(field_ids) if field_ids is not None else None,
        )
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/bulk-fetch-records", body)
        return [Record.model_validate(r) for r in data["results"]]

    @api("GET /tables/{tableId}/views/{viewId}/records")
    def list(
        self, table_id: str, view_id: str | None = None, *, limit: int = 1000, offset: int = 0
    ) -> Op[builtins.list[Record]]:
        """One page of the rows a view shows (the default view when none is given)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req(
            "GET",
            f"/tables/{_q(t)}/views/{_q(view)}/records",
            params={"limit": limit, "offset": offset},
        )
        return [Record.model_validate(r) for r in data["results"]]

    @pages(Record, "GET /tables/{tableId}/views/{viewId}/records")
    def iter(self, table_id: str, view_id: str | None = None, *, page_size: int = 1000) -> Op[None]:
        """Every row a view shows, fetched ``page_size`` at a time as you iterate
        (``for r in client.records.iter(t)`` / ``async for`` on the async client)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        offset = 0
        while True:
            data = yield req(
                "GET",
                f"/tables/{_q(t)}/views/{_q(view)}/records",
                params={"limit": page_size, "offset": offset},
            )
            rows = data["results"]
            for row in rows:
                yield Emit(Record.model_validate(row))
            if len(rows) < page_size:
                return
            offset += len(rows)

    @api("GET /tables/{tableId}/views/{viewId}/records/ids")
    def ids(self, table_id: str, view_id: str | None = None) -> Op[builtins.list[str]]:
        """Every row id a view shows, in view order (the default view when none is given)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req("GET", f"/tables/{_q(t)}/views/{_q(view)}/records/ids")
        return [str(i) for i in data["results"]]

    @api("GET /_claystack/ui/tables/{tableId}/views/{viewId}/rows")
    def window(
        self, table_id: str, view_id: str | None = None, *, offset: int = 0, limit: int = 100
    ) -> Op[tuple[int, builtins.list[Record]]]:
        """``(total, rows)``: up to ``limit`` (1–1000) rows a view shows from ``offset``, and
        how many it shows in all (what the web app's grid reads as you scroll)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req(
            "GET",
            f"/_claystack/ui/tables/{_q(t)}/views/{_q(view)}/rows",
            params={"offset": offset, "limit": limit},
            root=True,
        )
        return int(data["total"]), [Record.model_validate(r) for r in data["results"]]

    @api("GET /_claystack/ui/tables/{tableId}/views/{viewId}/rows/{recordId}")
    def index(self, table_id: str, record_id: str, view_id: str | None = None) -> Op[int]:
        """Where a row stands in a view (0 is the first row it shows), e.g. to scroll to a
        match of ``views.search()``; ``NotFound`` when the view
        does not show it."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        data = yield req(
            "GET",
            f"/_claystack/ui/tables/{_q(t)}/views/{_q(view)}/rows/{_q(_id(record_id))}",
            root=True,
        )
        return int(data["index"])

    @api("POST /_claystack/ui/tables/{tableId}/views/{viewId}/formula-preview")
    def preview_formula(
        self, table_id: str, formula: str, view_id: str | None = None, *, limit: int = 10
    ) -> Op[builtins.list[dict[str, Any]]]:
        """A formula's value over the first ``limit`` rows of a view, computed and not saved:
        ``[{"recordId", "value", "error"}]`` (``error`` is the message when it fails)."""
        t = _id(table_id)
        view = yield from _view_of(t, view_id)
        body = {"formulaText": formula, "limit": limit}
        data = yield req(
            "POST",
            f"/_claystack/ui/tables/{_q(t)}/views/{_q(view)}/formula-preview",
            body,
            root=True,
        )
        return [dict(item) for item in data["results"]]


class Runs(Resource[M]):
    """Running enrichment columns and watching them finish."""

    @api("PATCH /tables/{tableId}/run")
    def start(
        self,
        table_id: str,
        field_ids: Iterable[str],
        *,
        record_ids: Iterable[str] | None = None,
        view_id: str | None = None,
        num_records: int | None = None,
        force: bool = False,
        caller_name: str = "claystack-python",
    ) -> Op[RunStarted]:
        """Queues the ``field_ids`` columns for ``record_ids``, or for the first
        ``num_records`` rows of a view (all of them by default; the default view when none
        is given). Cells already ``SUCCESS`` are kept unless ``force``."""
        t = _id(table_id)
        if record_ids is not None:
            run_records: dict[str, Any] = {"recordIds": [_id(r) for r in record_ids]}
        else:
            top: dict[str, Any] = {"viewId": (yield from _view_of(t, view_id))}
            if num_records is not None:
                top["numRecords"] = num_records
            run_records = {"viewIdTopRecords": top}
        body = {
            "fieldIds": [_id(f) for f in field_ids],
            "runRecords": run_records,
            "callerName": caller_name,
            "forceRun": force,
        }
        return RunStarted.model_validate((yield req("PATCH", f"/tables/{_q(t)}/run", body)))

    @api("PATCH /tables/{tableId}/run/estimate")
    def estimate(
        self,
        table_id: str,
        field_ids: Iterable[str],
        *,
        record_ids: Iterable[str] | None = None,
        view_id: str | None = None,
        num_records: int | None = None,
        force: bool = False,
    ) -> Op[RunEstimate]:
        """What :meth:`start` with the same arguments would spend, without running: the
        rows, the actions (executions) and the credits, per column."""
        t = _id(table_id)
        if record_ids is not None:
            run_records: dict[str, Any] = {"recordIds": [_id(r) for r in record_ids]}
        else:
            top: dict[str, Any] = {"viewId": (yield from _view_of(t, view_id))}
            if num_records is not None:
                top["numRecords"] = num_records
            run_records = {"viewIdTopRecords": top}
        body: dict[str, Any] = {
            "fieldIds": [_id(f) for f in field_ids],
            "runRecords": run_records,
            "forceRun": force,
        }
        data = yield req("PATCH", f"/tables/{_q(t)}/run/estimate", body)
        return RunEstimate.model_validate(data)

    @api("GET /workspaces/{workspaceId}/tables/{tableId}/fields/runstatus")
    def status(self, table_id: str, *, workspace_id: int | None = None) -> Op[RunStatus]:
        """Cell status counts per column (looks the workspace up when not given)."""
        t = _id(table_id)
        ws = yield from _workspace_of(t, workspace_id)
        data = yield req("GET", f"/workspaces/{_q(ws)}/tables/{_q(t)}/fields/runstatus")
        return RunStatus.model_validate(data)

    @api("GET /workspaces/{workspaceId}/tables/{tableId}/fields/runstatus")
    def wait(
        self,
        table_id: str,
        field_ids: Iterable[str] | None = None,
        *,
        workspace_id: int | None = None,
        poll_interval: float = 0.5,
        timeout: float = 600.0,
        on_progress: Callable[[RunStatus], None] | None = None,
    ) -> Op[RunStatus]:
        """Polls the run status until no cell of ``field_ids`` (every column when none)
        is queued, running, retrying or awaiting a callback, and returns the final counts.
        ``on_progress(status)`` is called after every poll. Raises ``ClayTimeoutError``
        after ``timeout`` seconds."""
        t = _id(table_id)
        wanted = {_id(f) for f in field_ids} if field_ids is not None else None
        ws = yield from _workspace_of(t, workspace_id)
        deadline = time.monotonic() + timeout
        while True:
            data = yield req("GET", f"/workspaces/{_q(ws)}/tables/{_q(t)}/fields/runstatus")
            status = RunStatus.model_validate(data)
            if wanted is not None:
                status.statusCountsByField = {
                    k: v for k, v in status.statusCountsByField.items() if k in wanted
                }
            if on_progress is not None:
                on_progress(status)
            if status.done:
                return status
            if time.monotonic() >= deadline:
                raise ClayTimeoutError(
                    f"the run of table {t} was still going after {timeout:g}s", type="Timeout"
                )
            yield Sleep(poll_interval)


class Sources(Resource[M]):
    """Webhook sources: a URL per source; each JSON object POSTed to it becomes a row."""

    @api("PATCH /tables/{tableId}")
    def create(
        self,
        table_id: str,
        name: str = "Webhook",
        *,
        workspace_id: int | None = None,
        type_settings: dict[str, Any] | None = None,
        auth_token: bool = False,
    ) -> Op[Source]:
        """Adds a webhook source to a table; the returned ``url`` takes rows. With
        ``auth_token`` the source requires a token, returned once as ``authToken``."""
        t = _id(table_id)
        ws = yield from _workspace_of(t, workspace_id)
        settings = {"urlSlugText": WEBHOOK_SLUG_TEXT, **(type_settings or {})}
        if auth_token:
            settings["generateAuthToken"] = True
        source = {"name": name, "workspaceId": ws, "type": "webhook", "typeSettings": settings}
        body = {
            "tableSettings": {},
            "fieldGroupMap": {},
            "sourceSettings": {"addSource": {"name": name, "source": source}},
        }
        data = yield req("PATCH", f"/tables/{_q(t)}", body)
        return Source.model_validate(data["source"])

    @api("GET /tables/{tableId}/sources")
    def list(self, table_id: str) -> Op[builtins.list[Source]]:
        """The sources of a table."""
        data = yield req("GET", f"/tables/{_q(_id(table_id))}/sources")
        items = data if isinstance(data, list) else data.get("results", [])
        return [Source.model_validate(s) for s in items]

    @api("POST /sources/{sourceId}/auth-token")
    def new_auth_token(self, source_id: str) -> Op[Source]:
        """Gives a source a new auth token (the old one stops working); the returned
        source's ``authToken`` is the only copy."""
        return Source.model_validate(
            (yield req("POST", f"/sources/{_q(_id(source_id))}/auth-token", None))
        )

    @api("DELETE /sources/{sourceId}/auth-token")
    def remove_auth_token(self, source_id: str) -> Op[Source]:
        """Lets a source take rows without a token again."""
        return Source.model_validate(
            (yield req("DELETE", f"/sources/{_q(_id(source_id))}/auth-token"))
        )

    @api("GET /sources/{sourceId}")
    def get(self, source_id: str) -> Op[Source]:
        """One source."""
        return Source.model_validate((yield req("GET", f"/sources/{_q(_id(source_id))}")))

    @api("DELETE /sources/{sourceId}")
    def delete(self, source_id: str, *, delete_records: bool = False) -> Op[None]:
        """Deletes a source (and the rows it brought in, with ``delete_records``)."""
        body = {"deleteRecords": delete_records}
        yield req("DELETE", f"/sources/{_q(_id(source_id))}", body)

    @api("POST /sources/webhook/{slug}-{uuid}")
    def send(
        self,
        source: str | Source,
        payload: Mapping[str, Any],
        *,
        auth_token: str | None = None,
        idempotency_key: str | None = None,
    ) -> Op[Any]:
        """POSTs one JSON object (one row) to a source's webhook URL; ``source`` is a
        :class:`Source`, its id or the URL itself. No login is needed for this call.
        Returns ``{"success": true, "recordId": "r_…"}``; with ``idempotency_key``, sending
        the same key again returns the first row's id and adds nothing."""
        if isinstance(source, Source):
            url = source.url
        elif source.startswith(("http://", "https://", "/")):
            url = source
        else:
            url = yield from _source_url(source)
        if not url:
            raise ValueError("this source has no webhook URL")
        if url.startswith("/v3/"):
            url = url.removeprefix("/v3")
        headers = {"x-clay-webhook-auth": auth_token} if auth_token else {}
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        return (yield req("POST", url, dict(payload), auth=False, headers=headers or None))


def _source_url(source_id: str) -> Op[str | None]:
    return Source.model_validate((yield req("GET", f"/sources/{_q(source_id)}"))).url


def _report(data: Any) -> CreditReport:
    return CreditReport.model_validate(data)


def _report_params(
    start: str | None,
    end: str | None,
    *,
    workspace_id: int | None = None,
    users: Iterable[int] = (),
    integrations: Iterable[str] = (),
    tables: Iterable[str] = (),
    fields: Iterable[str] = (),
    group_by: Iterable[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "workspaceId": workspace_id,
        "timeRange[startTime]": start,
        "timeRange[endTime]": end,
        "limit": limit,
        "offset": offset,
    }
    for name, values in (
        ("userIds", users),
        ("integrations", integrations),
        ("tableIds", tables),
        ("fieldIds", fields),
    ):
        for i, value in enumerate(values):
            params[f"{name}[{i}]"] = str(value)
    if group_by is not None:
        params["groupBy"] = ",".join(group_by)
    return params


class Credits(Resource[M]):
    """Credit reports over the ledger: totals, rows grouped by day, user, integration,
    table and field, and one-dimension breakdowns. ``start`` and ``end`` are ISO dates or
    date-times (a bare ``end`` date includes that day) or epoch milliseconds; ``group_by``
    picks the dimensions of ``rows`` among date, user, integration, action, table, field;
    ``limit``/``offset`` page ``rows`` (the report's ``page`` says what is left)."""

    @api("GET /workspaces/{workspaceId}/credits")
    def workspace(
        self,
        workspace_id: int,
        *,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """A workspace's balance, grants and usage in a time range (all time by default)."""
        params = _report_params(start, end, group_by=group_by, limit=limit, offset=offset)
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/credits", params=params)
        return _report(data)

    @api("GET /users/{userId}/credits")
    def user(
        self,
        user_id: int,
        *,
        workspace_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """One user's usage (in ``workspace_id``, else your default workspace)."""
        params = _report_params(
            start,
            end,
            workspace_id=workspace_id,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        return _report((yield req("GET", f"/users/{_q(user_id)}/credits", params=params)))

    @api("GET /integrations/{type}/credits")
    def integration(
        self,
        integration: str,
        *,
        workspace_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """The usage of one integration (e.g. ``"http-api-v2"``)."""
        params = _report_params(
            start,
            end,
            workspace_id=workspace_id,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        data = yield req("GET", f"/integrations/{_q(integration)}/credits", params=params)
        return _report(data)

    @api("GET /integrations/{type}/credits/report")
    def report(
        self,
        integration: str,
        *,
        workspace_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """An integration's usage broken down by day, user, table and field."""
        params = _report_params(
            start,
            end,
            workspace_id=workspace_id,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        data = yield req("GET", f"/integrations/{_q(integration)}/credits/report", params=params)
        return _report(data)

    @api("GET /credit-reporting/{workspaceId}/creditReportType/{type}")
    def reporting(
        self,
        workspace_id: int,
        report_type: str = "workspace",
        *,
        start: str | None = None,
        end: str | None = None,
        users: Iterable[int] = (),
        integrations: Iterable[str] = (),
        tables: Iterable[str] = (),
        fields: Iterable[str] = (),
        group_by: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Op[CreditReport]:
        """The hosted service's credit-reporting path. ``report_type`` is ``workspace``,
        ``integration`` or ``user`` (rows by day, user, integration, table and field),
        ``table`` (rows per table) or ``field`` (rows per column); filters narrow it."""
        params = _report_params(
            start,
            end,
            users=users,
            integrations=integrations,
            tables=tables,
            fields=fields,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )
        path = f"/credit-reporting/{_q(workspace_id)}/creditReportType/{_q(report_type)}"
        return _report((yield req("GET", path, params=params)))


class Integrations(Resource[M]):
    """Integrations: provider types with their actions, prices and the credentials they need."""

    @api("GET /integrations")
    def list(self, *, workspace_id: int | None = None) -> Op[builtins.list[Integration]]:
        """Every integration the server offers."""
        data = yield req("GET", "/integrations", params={"workspaceId": workspace_id})
        return [Integration.model_validate(i) for i in data["integrations"]]

    @api("GET /integrations/{type}")
    def get(self, integration: str, *, workspace_id: int | None = None) -> Op[Integration]:
        """One integration: its actions, their inputs, outputs and credit prices, and your
        connected accounts for it (``appAccounts``)."""
        data = yield req(
            "GET", f"/integrations/{_q(integration)}", params={"workspaceId": workspace_id}
        )
        return Integration.model_validate(data["integration"])


class Actions(Resource[M]):
    """The action catalog: every action the server can run, with Clay's names and prices."""

    @api("GET /actions")
    def list(self, *, workspace_id: int | None = None) -> Op[builtins.list[CatalogAction]]:
        """Every built-in and plugin action, with ``actionKey``, ``actionPackageId``,
        parameters, ``pricing`` and ``auth``."""
        data = yield req("GET", "/actions", params={"workspaceId": workspace_id})
        return [CatalogAction.model_validate(a) for a in data["actions"]]

    @api("POST /workspaces/{workspaceId}/enrichment-search/query-v2")
    def search(
        self, workspace_id: int, query: str, *, limit: int = 20
    ) -> Op[builtins.list[dict[str, Any]]]:
        """Actions whose name, key or description contain every word of ``query``:
        ``[{entity_id, name, type, description, actionKey, actionPackageId, pricing}]``."""
        body = {"userQuery": query, "limit": limit}
        path = f"/workspaces/{_q(workspace_id)}/enrichment-search/query-v2"
        data = yield req("POST", path, body)
        return [dict(r) for r in data["results"]]


class AppAccounts(Resource[M]):
    """Connected accounts (``aa_…``): an integration's credentials, stored encrypted by the
    server and never shown again; answers name the credential keys that are set."""

    @api("POST /workspaces/{workspaceId}/app-accounts")
    def create(
        self,
        workspace_id: int,
        integration: str,
        credentials: Mapping[str, Any],
        *,
        name: str | None = None,
    ) -> Op[AppAccount]:
        """Connects an account for ``integration`` with ``credentials`` (checked against
        the integration's ``credentialsSchema``)."""
        body = _drop_none(appAccountTypeId=integration, name=name)
        body["credentials"] = dict(credentials)
        data = yield req("POST", f"/workspaces/{_q(workspace_id)}/app-accounts", body)
        return AppAccount.model_validate(data["appAccount"])

    @api("GET /workspaces/{workspaceId}/app-accounts")
    def list(self, workspace_id: int) -> Op[builtins.list[AppAccount]]:
        """The workspace's connected accounts."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/app-accounts")
        items = data["appAccounts"] if isinstance(data, dict) else data
        return [AppAccount.model_validate(a) for a in items]

    @api("GET /app-accounts/{accountId}")
    def get(self, account_id: str) -> Op[AppAccount]:
        """One connected account."""
        data = yield req("GET", f"/app-accounts/{_q(account_id)}")
        return AppAccount.model_validate(data["appAccount"])

    @api("PATCH /app-accounts/{accountId}")
    def update(
        self,
        account_id: str,
        *,
        name: str | None = None,
        credentials: Mapping[str, Any] | None = None,
    ) -> Op[AppAccount]:
        """Renames the account and/or replaces its whole set of credentials."""
        body = _drop_none(
            name=name, credentials=dict(credentials) if credentials is not None else None
        )
        data = yield req("PATCH", f"/app-accounts/{_q(account_id)}", body)
        return AppAccount.model_validate(data["appAccount"])

    @api("DELETE /app-accounts/{accountId}")
    def delete(self, account_id: str) -> Op[None]:
        """Deletes the account and its stored credentials."""
        yield req("DELETE", f"/app-accounts/{_q(account_id)}")


class Emulator(Resource[M]):
    """claystack's own conveniences (not part of Clay's API)."""

    @api("GET /_claystack/health")
    def health(self) -> Op[dict[str, Any]]:
        """Liveness, the database backend and the server version."""
        return dict((yield req("GET", "/_claystack/health", auth=False, root=True)))

    @api("POST /_claystack/reset")
    def reset(self) -> Op[dict[str, Any]]:
        """Back to the freshly seeded state (servers started with reset enabled). Every
        session ends; a client holding email and password logs in again by itself."""
        return dict((yield req("POST", "/_claystack/reset", auth=False, root=True)))


NAMESPACES: dict[str, type[Resource[Any]]] = {
    "auth": Auth,
    "workspaces": Workspaces,
    "folders": Folders,
    "resources": Resources,
    "workbooks": Workbooks,
    "tables": Tables,
    "fields": Fields,
    "views": Views,
    "records": Records,
    "runs": Runs,
    "sources": Sources,
    "credits": Credits,
    "integrations": Integrations,
    "actions": Actions,
    "app_accounts": AppAccounts,
    "exports": Exports,
    "imports": Imports,
    "emulator": Emulator,
    "shared_tables": SharedTables,
    "functions": Functions,
    "ai": AI,
    "presets": Presets,
}
