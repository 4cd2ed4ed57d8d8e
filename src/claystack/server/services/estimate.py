"""What a run would spend, without running it: the rows it selects, the executions (actions)
it would make and the credits they would cost, with the same rules as the engine: cells
already SUCCESS are kept unless ``forceRun``, a blank input or an unmet run condition ends a
cell without executing it, and ``CLAYSTACK_ACTION_PRICES`` overrides prices.

The figures assume every execution succeeds (a failure costs nothing and counts no action);
a waterfall counts its first step that can run, and ``maxCredits`` every such step."""

from __future__ import annotations

from typing import Any

from ...wire import RunEstimate
from ...wire.cells import CellStatus
from ..enrichment import bindings, evaluation, registry
from ..enrichment.actions import waterfall
from ..errors import ClayError
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import records as records_repo
from . import app_accounts, credits
from . import runs as runs_svc
from .tables import TableRef

_CHUNK = 1000


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value  # NaN is falsy too


def _values(types: dict[str, str], cells: dict[str, Any], meta: Any) -> dict[str, Any]:
    values = dict(cells or {})
    for fid, cell in (meta or {}).items():
        if types.get(fid) == "action" and isinstance(cell, dict) and "fullValue" in cell:
            values[fid] = cell["fullValue"]
    return values


class _Plan:
    """One action field's steps (one, or a waterfall's), resolved once."""

    def __init__(self, field: Any, settings: Any) -> None:
        self.field = field
        ts = field.type_settings or {}
        self.condition = ts.get("conditionalRunFormulaText")
        self.composite = waterfall.is_composite(ts)
        self.steps = []
        for spec in waterfall.step_specs(ts):
            integration = registry.get(spec.get("actionPackageId", ""))
            action = integration.action(spec.get("actionKey", "")) if integration else None
            if integration is not None and action is not None:
                self.steps.append((integration, action, spec))
        self.settings = settings
        self.out: dict[str, Any] = {
            "fieldId": field.id,
            "name": field.name,
            "actionKey": ts.get("actionKey"),
            "actionPackageId": ts.get("actionPackageId"),
            "cells": 0,
            "actions": 0,
            "credits": 0,
            "maxCredits": 0,
            "skipped": {"alreadySucceeded": 0, "blankInput": 0, "runCondition": 0, "error": 0},
        }

    def add(self, values: dict[str, Any], creds: dict[Any, Any]) -> None:
        skipped = self.out["skipped"]
        if isinstance(self.condition, str) and self.condition.strip():
            try:
                if not _truthy(evaluation.evaluate(self.condition, values)):
                    skipped["runCondition"] += 1
                    return
            except evaluation.FormulaError:
                skipped["error"] += 1
                return
        prices: list[int] = []
        blank = False
        for integration, action, spec in self.steps:
            inputs: dict[str, Any] | None = {}
            for binding in bindings.runnable(spec.get("inputsBinding")):
                formula = binding.get("formulaText") or ""
                refs = evaluation.references(formula)
                if any(evaluation.is_blank(values.get(r)) for r in refs):
                    inputs = None
                    break
                try:
                    inputs[binding["name"]] = evaluation.evaluate_input(formula, values)  # type: ignore[index]
                except (evaluation.FormulaError, KeyError):
                    inputs = None
                    break
            if inputs is None:
                blank = True
                continue
            cred = creds.get((spec.get("authAccountId"), integration.key), {})
            if isinstance(cred, ClayError):
                continue
            own = action.price(inputs, cred, self.settings)
            prices.append(credits.execution_price(self.settings, integration, action, own))
        if not prices:
            skipped["blankInput" if blank or not self.steps else "error"] += 1
            return
        self.out["cells"] += 1
        self.out["actions"] += 1
        self.out["credits"] += prices[0]
        self.out["maxCredits"] += waterfall.most_it_may_cost(self.composite, prices)


async def _credentials(conn: Connection, table: TableRef, plans: list[_Plan]) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for plan in plans:
        for integration, _, spec in plan.steps:
            aa = spec.get("authAccountId")
            if aa and (aa, integration.key) not in found:
                try:
                    found[(aa, integration.key)] = await app_accounts.resolve_credentials(
                        conn, table.scope.workspace_id, aa, integration.key
                    )
                except ClayError as exc:
                    found[(aa, integration.key)] = exc
    return found


async def estimate_run(
    conn: Connection,
    table: TableRef,
    settings: Any,
    *,
    field_ids: Any,
    run_records: Any,
    force: bool = False,
) -> RunEstimate:
    """The ``PATCH …/run`` body's cost, checked as strictly as the run itself."""
    selection = await runs_svc.selection(conn, table, run_records)
    kinds = await runs_svc.runnable_fields(conn, table.id, field_ids)
    all_fields = await fields_repo.list_any_order(conn, table.id)
    types = {f.id: f.type for f in all_fields}
    plans = [_Plan(f, settings) for f in all_fields if kinds.get(f.id) == "action"]
    creds = await _credentials(conn, table, plans)
    seqs = await records_repo.seqs(conn, selection)
    rows = 0
    for start in range(0, len(seqs), _CHUNK):
        chunk = seqs[start : start + _CHUNK]
        for rec in await records_repo.cells_and_meta(conn, chunk):
            rows += 1
            values = _values(types, rec.cells, rec.meta)
            for plan in plans:
                status = ((rec.meta or {}).get(plan.field.id) or {}).get("status")
                if status == CellStatus.SUCCESS and not force:
                    plan.out["skipped"]["alreadySucceeded"] += 1
                    continue
                plan.add(values, creds)
    fields = [p.out for p in plans]
    total = sum(f["credits"] for f in fields)
    balance = await credits.balance(conn, table.scope.workspace_id)
    return RunEstimate.build(
        preview=True,
        recordCount=rows,
        runMode="INDIVIDUAL",
        actions=sum(f["actions"] for f in fields),
        credits=total,
        maxCredits=sum(f["maxCredits"] for f in fields),
        balance=balance,
        sufficientCredits=balance >= total,
        formulaFieldIds=[fid for fid, kind in kinds.items() if kind == "formula"],
        fields=fields,
    )
