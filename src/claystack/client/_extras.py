"""The SDK's smaller namespaces for what real Clay clients call beyond the core (spec part 2
§3.7, §8–§11): shared-table settings, functions and tools, the AI helpers and presets."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from ._base import M, Namespace, Op, api, req


def _q(value: str | int) -> str:
    return quote(str(value), safe="")


def _drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class SharedTables(Namespace[M]):
    """A table's sharing settings (``share_…``): sharing type, view, people. Stored only;
    claystack serves no public page."""

    @api("POST /shared-tables")
    def share(self, table_id: str) -> Op[dict[str, Any]]:
        """The table's sharing settings, created on the first call."""
        return dict((yield req("POST", "/shared-tables", {"tableId": table_id})))

    @api("GET /shared-tables/by-table-id/{tableId}")
    def get(self, table_id: str) -> Op[dict[str, Any]]:
        """The table's sharing settings (``NotFoundError`` if it was never shared)."""
        return dict((yield req("GET", f"/shared-tables/by-table-id/{_q(table_id)}")))

    @api("PATCH /shared-tables/{sharedTableId}")
    def update(
        self,
        shared_table_id: str,
        *,
        sharing_type: str | None = None,
        view_id: str | None = None,
        emails: builtins.list[str] | None = None,
        reset_public_id: bool = False,
    ) -> Op[dict[str, Any]]:
        """Changes who sees the table and through which view; ``reset_public_id`` mints a
        new public id."""
        body = _drop_none(sharingType=sharing_type, viewId=view_id, sharedUserEmails=emails)
        if reset_public_id:
            body["shouldResetPublicId"] = True
        return dict((yield req("PATCH", f"/shared-tables/{_q(shared_table_id)}", body)))


class Functions(Namespace[M]):
    """Function tables (Clay's subroutines: ``BLOCK_TYPE: "SUBROUTINE"``), the tools made
    from them, and the structure of a people/company source."""

    @api("GET /workspaces/{workspaceId}/subroutines")
    def list(self, workspace_id: int) -> Op[builtins.list[dict[str, Any]]]:
        """``[{sourceId, table, cost, actionExecutionCost, containsVariablePricing,
        referenceCount}]``."""
        data = yield req("GET", f"/workspaces/{_q(workspace_id)}/subroutines")
        return [dict(s) for s in data["subroutines"]]

    @api("GET /workspaces/{workspaceId}/tools")
    def tools(self, workspace_id: int) -> Op[builtins.list[dict[str, Any]]]:
        """Function tables offered as tools: ``[{id:"function:t_…", name, inputSchema}]``."""
        return [dict(t) for t in (yield req("GET", f"/workspaces/{_q(workspace_id)}/tools"))]

    @api("POST /workspaces/{workspaceId}/tools")
    def create_tool(
        self, workspace_id: int, table_id: str, *, name: str | None = None
    ) -> Op[dict[str, Any]]:
        """Offers a function table as a tool (``ConflictError`` if it already is one)."""
        body = _drop_none(type="function", tableId=table_id, name=name)
        return dict((yield req("POST", f"/workspaces/{_q(workspace_id)}/tools", body)))

    @api("POST /sources/create-cpj-table")
    def create_cpj_table(
        self,
        workspace_id: int,
        kind: str = "people",
        *,
        workbook_name: str | None = None,
        basic_fields: builtins.list[Mapping[str, Any]] | None = None,
        destination_table_id: str | None = None,
    ) -> Op[dict[str, Any]]:
        """The workbook, table, source and ``basic_fields`` (formulas over ``{{source}}``)
        of a people/company search; its rows come from Clay's data, so none offline.
        Answers ``{tableId, viewId, workbookId, sourceId, isNewTable}``."""
        config = _drop_none(
            type=kind,
            basicFields=[dict(f) for f in basic_fields] if basic_fields else None,
            destinationTableId=destination_table_id,
        )
        body = _drop_none(workspaceId=workspace_id, workbookName=workbook_name)
        body["cpjConfig"] = config
        return dict((yield req("POST", "/sources/create-cpj-table", body)))

    @api("POST /actions/run-enrichment")
    def run_action(
        self, action_key: str, inputs: Mapping[str, Any], *, workspace_id: int | None = None
    ) -> Op[dict[str, Any]]:
        """Runs one local action (a normalizer, a lookup, a function) on ``inputs`` once,
        outside any table: ``{result, metadata:{status}, taskId}``."""
        body = _drop_none(workspaceId=workspace_id, enrichmentType=action_key)
        body["inputs"] = dict(inputs)
        return dict((yield req("POST", "/actions/run-enrichment", body)))


class AI(Namespace[M]):
    """Clay's AI helpers: the server's configured model (``CLAYSTACK_AI_*``), or a
    deterministic answer offline."""

    @api("POST /ai-generation/formula")
    def formula(
        self, prompt: str, columns: Mapping[str, str] | None = None, *, workspace_id: int = 1
    ) -> Op[dict[str, Any]]:
        """``{formula, dataType}`` for ``prompt`` over ``columns`` (name → field id);
        ``formula`` is ``""`` without a model."""
        body = {
            "workspaceId": str(workspace_id),
            "userPromptInput": prompt,
            "columnNamesToIds": dict(columns or {}),
            "mode": "basic",
        }
        return dict((yield req("POST", "/ai-generation/formula", body)))

    @api("POST /ai-generation/table-description")
    def describe_table(self, table_id: str) -> Op[str]:
        """A short description of the table; nothing is saved."""
        data = yield req("POST", "/ai-generation/table-description", {"tableId": table_id})
        return str(data["description"])

    @api("POST /ai-generation/stream-metaprompter")
    def metaprompt(self, task: str, *, table_id: str | None = None) -> Op[dict[str, Any]]:
        """The suggested use case, model and prompt for a use-ai column doing ``task``,
        merged from the metaprompter's lines."""
        body = _drop_none(prompt=task, taskDescription=task, tableId=table_id)
        response = yield req("POST", "/ai-generation/stream-metaprompter", body, raw=True)
        merged: dict[str, Any] = {}
        for line in response.text.splitlines():
            if line.strip():
                merged.update(orjson.loads(line))
        return merged


class Presets(Namespace[M]):
    """Saved presets (``pre__…``): named configurations of an action."""

    @api("POST /presets")
    def create(
        self,
        workspace_id: int,
        name: str,
        preset: Mapping[str, Any],
        *,
        type: str = "action",
        category: str | None = None,
        action_key: str | None = None,
        action_package_id: str | None = None,
    ) -> Op[dict[str, Any]]:
        """Saves a preset in the workspace."""
        body = _drop_none(
            workspaceId=workspace_id,
            name=name,
            type=type,
            category=category,
            actionKey=action_key,
            actionPackageId=action_package_id,
        )
        body["preset"] = dict(preset)
        return dict((yield req("POST", "/presets", body)))

    @api("GET /presets/workspace/{workspaceId}")
    def list(
        self, workspace_id: int, *, category: str | None = None
    ) -> Op[builtins.list[dict[str, Any]]]:
        """The workspace's presets (of one ``category``)."""
        path = f"/presets/workspace/{_q(workspace_id)}"
        return [dict(p) for p in (yield req("GET", path, params={"category": category}))]
