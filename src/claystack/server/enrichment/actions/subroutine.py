"""``execute-subroutine``: runs a function table's columns on the given inputs (spec part 2
§4.3, §8), without writing a row there.

A function table is a table of the cell's workspace whose ``tableSettings`` say
``BLOCK_TYPE: "SUBROUTINE"``, with ``SUBROUTINE_INPUTS: [{inputName, optional}]``: each input
fills the column of that name (or id). Its formula and action columns are then computed in
dependency order, as a row of that table would be; the value is every computed column by
name. The actions it runs are charged on the calling cell: their credits are this action's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ....integrations import ActionError, ActionResult, RunContext
from ....wire.cells import CellStatus
from ...storage.repositories import fields as fields_repo
from ...storage.repositories import lookups
from .. import bindings, context, evaluation, registry
from ..context import database

KEY = "execute-subroutine"
INPUTS: dict[str, Any] = {
    "type": "object",
    "required": ["subroutineId"],
    "properties": {
        "subroutineId": {
            "type": "string",
            "description": "The function table's id (aliases: tableId, functionTableId)",
        },
        "inputs": {"type": "object", "description": "Input name → value"},
    },
}


def _order(fields: list[Any]) -> list[Any]:
    """Runnable fields, each after the fields it reads (cycles: in position order)."""
    from ...services.tables import input_field_ids

    runnable = {f.id: f for f in fields if f.type in ("formula", "action")}
    done: set[str] = set()
    out: list[Any] = []

    def visit(fid: str, path: set[str]) -> None:
        if fid in done or fid in path or fid not in runnable:
            return
        path.add(fid)
        for ref in input_field_ids(runnable[fid].type_settings):
            visit(ref, path)
        done.add(fid)
        out.append(runnable[fid])

    for f in fields:
        visit(f.id, set())
    return out


async def _step_action(
    field: Any, values: Mapping[str, Any], ctx: RunContext, credentials: Mapping[str, Any]
) -> tuple[Any, int]:
    settings = field.type_settings
    found = registry.resolve(
        str(settings.get("actionPackageId") or ""), str(settings.get("actionKey") or "")
    )
    if found is None:
        raise ActionError(f'Column "{field.name}": action {settings.get("actionKey")} unknown')
    integration, action = found
    if action.key == KEY:
        raise ActionError(f'Column "{field.name}": a subroutine cannot call another one')
    inputs: dict[str, Any] = {}
    for b in bindings.runnable(settings.get("inputsBinding")):
        text = b["formulaText"]
        if any(evaluation.is_blank(values.get(r)) for r in evaluation.references(text)):
            return None, 0  # a blank input: the column stays empty, as on a row
        inputs[b["name"]] = evaluation.evaluate_input(text, values)
    nested = context.for_action(
        action,
        workspace_id=ctx.workspace_id,
        table_id=ctx.table_id,
        field_id=ctx.field_id,
        record_id=ctx.record_id,
        credentials=credentials,
        settings=context.builtin(ctx).settings,
        db=database(ctx),
    )
    result = await action.run(inputs, nested)
    price = result.credits if result.credits is not None else action.credits
    full = result.full_value if result.full_value is not None else result.value
    return full, int(price)


async def _credentials(ctx: RunContext, fields: list[Any]) -> dict[str, Mapping[str, Any]]:
    from ...services import app_accounts

    out: dict[str, Mapping[str, Any]] = {}
    async with database(ctx).transaction(write=False) as conn:
        for f in fields:
            aa = f.type_settings.get("authAccountId") if f.type == "action" else None
            if aa:
                try:
                    out[f.id] = await app_accounts.resolve_credentials(
                        conn, ctx.workspace_id, aa, str(f.type_settings.get("actionPackageId"))
                    )
                except Exception as exc:
                    message = getattr(exc, "message", str(exc))
                    raise ActionError(f'Column "{f.name}": {message}') from None
    return out


async def run(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    inputs = bindings.nest(inputs)
    table_id = next(
        (
            str(inputs[k]).strip()
            for k in ("subroutineId", "tableId", "functionTableId")
            if isinstance(inputs.get(k), str) and inputs[k].strip()
        ),
        "",
    )
    if not table_id:
        raise ActionError("subroutineId is required", CellStatus.ERROR_INVALID_INPUT)
    given = inputs.get("inputs") or {}
    if not isinstance(given, dict):
        raise ActionError(
            "inputs must be an object of input name → value", CellStatus.ERROR_INVALID_INPUT
        )
    async with database(ctx).transaction(write=False) as conn:
        table = await lookups.function_table(conn, table_id)
        if table is None or table.workspace_id != ctx.workspace_id:
            raise ActionError(f"Table not found: {table_id}", CellStatus.ERROR_INVALID_INPUT)
        fields = await fields_repo.list_for_table(conn, table_id)
    settings = table.settings or {}
    if settings.get("BLOCK_TYPE") != "SUBROUTINE":
        raise ActionError(f"Table {table_id} is not a subroutine", CellStatus.ERROR_INVALID_INPUT)
    exact = {f.name: f.id for f in fields}
    by_name = {f.name.lower(): f.id for f in reversed(fields)}
    ids = {f.id for f in fields}
    values: dict[str, Any] = {}
    declared = settings.get("SUBROUTINE_INPUTS") or []
    for spec in declared:
        if isinstance(spec, dict):
            name, optional = str(spec.get("inputName") or ""), bool(spec.get("optional"))
        else:
            name, optional = str(spec), False
        if name and not optional and evaluation.is_blank(given.get(name)):
            raise ActionError(f'Input "{name}" is required', CellStatus.ERROR_INVALID_INPUT)
    for name, value in given.items():
        fid = name if name in ids else exact.get(name, by_name.get(str(name).lower()))
        if fid is None:
            raise ActionError(
                f'The subroutine has no input "{name}"', CellStatus.ERROR_INVALID_INPUT
            )
        values[fid] = value
    names = {f.id: f.name for f in fields}
    credentials = await _credentials(ctx, fields)
    outputs: dict[str, Any] = {}
    credits = 0
    order = _order(fields)
    for f in order:
        if f.type == "formula":
            text = str(f.type_settings.get("formulaText") or "")
            try:
                value = await asyncio.to_thread(evaluation.evaluate, text, values) if text else None
            except evaluation.FormulaError as exc:
                raise ActionError(f'Column "{f.name}": {evaluation.error_message(exc)}') from None
        else:
            value, price = await _step_action(f, values, ctx, credentials.get(f.id, {}))
            credits += price
        values[f.id] = value
        outputs[names[f.id]] = value
    has_data = any(not evaluation.is_blank(v) for v in outputs.values())
    computed = {f.id for f in order}
    given_by_name = {names[k]: v for k, v in values.items() if k not in computed}
    full = {"outputs": outputs, "inputs": given_by_name}
    return ActionResult(value=outputs, full_value=full, has_data=has_data, credits=credits)
