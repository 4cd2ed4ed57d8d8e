"""Functions (Clay's subroutines) and what is built around tables offline (spec part 2 §8,
§11): the subroutine list, tools made from function tables, and ``create-cpj-table``'s
structure.

A function table is a table whose settings say ``BLOCK_TYPE: "SUBROUTINE"`` with
``SUBROUTINE_INPUTS: [{inputName, optional}]``; ``execute-subroutine`` fields call it.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...wire import CpjTableOut, SubroutineList, ToolOut
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import sources as sources_repo
from ..storage.repositories import tables as tables_repo
from ..storage.uow import UnitOfWork
from . import catalog, sources, table_fields, tables, workspaces
from .common import Actor, Scope, now_ms
from .tables import TableRef
from .workbooks import table_summary

SUBROUTINE_KEYS = ("execute-subroutine",)


def is_function(settings: Any) -> bool:
    return isinstance(settings, dict) and settings.get("BLOCK_TYPE") == "SUBROUTINE"


def _bad(field: str, text: str) -> BadRequest:
    return BadRequest(f'Invalid request parameter(s): Field "{field}" - {text}')


async def _function_tables(conn: Connection, workspace_id: int) -> list[Any]:
    rows = await tables_repo.list_for_workspace(conn, workspace_id)
    return [r for r in rows if is_function(r.settings)]


def _price(settings: Any, type_settings: dict[str, Any]) -> tuple[int, bool]:
    ts = type_settings
    found = catalog.find_action(ts.get("actionPackageId"), ts.get("actionKey"))
    if found is None:
        return 0, False
    pricing = catalog.action_out(found[0], found[1], settings)["pricing"]
    return int(pricing["credits"]), bool(pricing["variable"])


async def subroutines(conn: Connection, scope: Scope, settings: Any) -> SubroutineList:
    """``{subroutines:[{sourceId, table, cost, actionExecutionCost, containsVariablePricing,
    referenceCount}]}``: ``cost`` is the credits of one call (its action columns' prices)."""
    functions = await _function_tables(conn, scope.workspace_id)
    if not functions:
        return SubroutineList.build(subroutines=[])
    ids = [t.id for t in functions]
    fields = await fields_repo.action_settings_in_workspace(conn, scope.workspace_id)
    source_rows = await sources_repo.list_for_tables(conn, ids)
    source_of: dict[str, str] = {}
    for s in source_rows:
        manual = s.type == "manual" or (s.type_settings or {}).get("type") == "subroutine"
        if manual and s.table_id not in source_of:
            source_of[s.table_id] = s.id
    out = []
    for t in functions:
        cost, variable, own = 0, False, 0
        references = 0
        for f in fields:
            ts = f.type_settings or {}
            if f.table_id == t.id:
                credits, var = _price(settings, ts)
                cost, variable, own = cost + credits, variable or var, own + 1
            elif ts.get("actionKey") in SUBROUTINE_KEYS and t.id in orjson.dumps(ts).decode():
                references += 1
        out.append(
            {
                "sourceId": source_of.get(t.id),
                "table": table_summary(t),
                "cost": cost,
                "actionExecutionCost": own,
                "containsVariablePricing": variable,
                "referenceCount": references,
            }
        )
    return SubroutineList.build(subroutines=out)


# -- tools (§11): a function table offered as a tool -----------------------------------------


def _tool_out(row: Any) -> dict[str, Any]:
    settings = row.settings or {}
    tool = settings.get("tool") or {}
    inputs = [
        i if isinstance(i, dict) else {"inputName": str(i)}
        for i in settings.get("SUBROUTINE_INPUTS") or []
    ]
    names = [str(i.get("inputName") or "") for i in inputs]
    return {
        "id": f"function:{row.id}",
        "type": "function",
        "name": tool.get("name") or row.name,
        "description": tool.get("description") or row.description or "",
        "tableId": row.id,
        "inputSchema": {
            "type": "object",
            "properties": {n: {"type": "string"} for n in names if n},
            "required": [
                n for n, i in zip(names, inputs, strict=True) if n and not i.get("optional")
            ],
        },
        "createdAt": tool.get("createdAt"),
    }


async def list_tools(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    return [
        _tool_out(t)
        for t in await _function_tables(conn, scope.workspace_id)
        if (t.settings or {}).get("tool")
    ]


async def create_tool(conn: Connection, scope: Scope, body: dict[str, Any]) -> ToolOut:
    """Offers a function table as a tool (``{type:"function", tableId | id, name?}``); 409 if
    it already is one."""
    kind = body.get("type") or "function"
    if kind != "function":
        raise _bad("type", 'only "function" tools exist on claystack')
    raw = body.get("tableId") or body.get("functionId") or body.get("id") or ""
    if not isinstance(raw, str) or not raw:
        raise _bad("tableId", "Required")
    table_id = raw.removeprefix("function:")
    row = await tables_repo.find_by_id(conn, table_id)
    if row is None or row.workspace_id != scope.workspace_id:
        raise NotFound("Table not found")
    if not is_function(row.settings):
        raise BadRequest(f"Table {table_id} is not a function (BLOCK_TYPE SUBROUTINE)")
    if (row.settings or {}).get("tool"):
        raise Conflict(f"A tool already exists for function:{table_id}")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise _bad("name", "expected a non-empty string")
    tool = {"name": name or row.name, "createdAt": now_ms()}
    if isinstance(body.get("description"), str):
        tool["description"] = body["description"]
    await tables_repo.update_table(
        conn, table_id, settings={**(row.settings or {}), "tool": tool}, updated_at=now_ms()
    )
    row = await tables_repo.get_by_id(conn, table_id)
    return ToolOut.build(**_tool_out(row))


# -- create-cpj-table (§8): the structure of a people/company source, without its rows --------


def _basic_field(entry: Any, source_field: str, i: int) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _bad(f"cpjConfig.basicFields[{i}]", "expected {name, formulaText?}")
    raw = entry.get("typeSettings")
    settings: dict[str, Any] = raw if isinstance(raw, dict) else {}
    text = entry.get("formulaText") or settings.get("formulaText") or entry.get("formula")
    if not isinstance(text, str) or not text.strip():
        return entry["name"], "text", {}
    text = text.replace("{{source}}", "{{" + source_field + "}}")
    kind = entry.get("dataType") or settings.get("dataTypeSettings", {}).get("type") or "text"
    return (
        entry["name"],
        "formula",
        {"formulaText": text, "formulaType": "text", "dataTypeSettings": {"type": kind}},
    )


async def create_cpj_table(
    uow: UnitOfWork, actor: Actor, body: dict[str, Any], *, secret: str, base_url: str
) -> CpjTableOut:
    """Workbook, table, source and source field, and ``basicFields`` as formulas over the
    source field (``{{source}}``). The rows would come from Clay's people data: none offline."""
    conn = uow.conn
    scope = await workspaces.default_workspace(conn, actor, body.get("workspaceId"))
    if not scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    config = body.get("cpjConfig")
    if not isinstance(config, dict):
        raise _bad("cpjConfig", "Required")
    kind = config.get("type") or "people"
    if not isinstance(kind, str):
        raise _bad("cpjConfig.type", "expected a string")
    basic = config.get("basicFields") or []
    if not isinstance(basic, list):
        raise _bad("cpjConfig.basicFields", "expected an array")
    name = body.get("workbookName") or f"Find {kind}"
    if not isinstance(name, str) or len(name) > 500:
        raise _bad("workbookName", "expected text")
    workbook_id = body.get("workbookId")
    destination = config.get("destinationTableId")
    if destination:
        ref = await tables.resolve_table(conn, actor, str(destination))
        if ref.scope.workspace_id != scope.workspace_id:
            raise NotFound("Table not found")
        ref = TableRef(ref.id, scope, ref.row)
        new = False
    else:
        table, _ = await tables.create_table(
            conn,
            scope,
            name=name,
            workbook_id=workbook_id if isinstance(workbook_id, str) and workbook_id else None,
            table_type="spreadsheet",
        )
        ref, new = TableRef(table["id"], scope, await tables.reload(conn, table["id"])), True
    add = {
        "source": {"type": "webhook", "name": f"Find {kind}"},
        "typeSettings": {"cpjType": kind, "cpjTypeSettings": config.get("typeSettings") or {}},
    }
    source = await sources.add_source(uow, ref, add, secret=secret, base_url=base_url)
    for i, entry in enumerate(basic):
        fname, ftype, settings = _basic_field(entry, source["dataFieldId"], i)
        await table_fields.create_field(
            uow, ref, name=fname, field_type=ftype, type_settings=settings or None
        )
    row = await tables.reload(conn, ref.id)
    return CpjTableOut.build(
        tableId=ref.id,
        viewId=row.first_view_id,
        workbookId=row.workbook_id,
        sourceId=source["id"],
        isNewTable=new,
    )
