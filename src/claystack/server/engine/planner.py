"""The planner: what a claimed job will do. It evaluates run conditions and input bindings
(in the formula worker processes), picks the action's steps (one, or a composite's:
``enrichment/actions/waterfall.py``), asks each its price and holds the credits a task may
spend while it runs."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...wire.cells import CellStatus
from ..config import Settings
from ..enrichment import bindings, evaluation, formulas, registry
from ..enrichment.actions import waterfall
from ..enrichment.pool import FormulaPool
from ..errors import ClayError
from ..services import credits
from .queue import Claim, Credentials
from .work import Job, Outcome, Step, Task, cell_values

log = logging.getLogger("claystack.engine")


def _truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def table_fields(fields: Mapping[tuple[str, str], Any], table_id: str) -> dict[str, Any]:
    return {fid: f for (tid, fid), f in fields.items() if tid == table_id}


_Kind = tuple[str | None, bool, Any]  # (the one field referenced, is a string literal, its value)


def _kind(text: str) -> _Kind:
    """How a formula's value is found: read from the row, a constant, or JavaScript."""
    literal, value = evaluation.string_literal(text)
    return evaluation.single_reference(text), literal, value


@dataclass(slots=True)
class _StepRecipe:
    pkg: str
    key: str
    integration: Any
    action: Any
    auth: Any
    bindings: list[tuple[Any, str, list[str]]]  # (input name, formula, fields it references)


@dataclass(slots=True)
class _Recipe:
    """What planning a field's cells needs from its settings, worked out once per claim
    rather than once per cell: its steps and their bindings, how each formula is read, and
    the formulas that need JavaScript (with the fields they reference)."""

    condition: str | None
    composite: bool
    steps: list[_StepRecipe]
    kinds: dict[str, _Kind]
    scripts: dict[str, list[str]]


def _recipe(
    recipes: dict[tuple[str, str], _Recipe], key: tuple[str, str], settings: Mapping[str, Any]
) -> _Recipe:
    found = recipes.get(key)
    if found is None:
        found = recipes[key] = _make_recipe(settings)
    return found


def _make_recipe(settings: Mapping[str, Any]) -> _Recipe:
    condition = settings.get("conditionalRunFormulaText")
    if not (isinstance(condition, str) and condition.strip()):
        condition = None
    steps: list[_StepRecipe] = []
    texts = [condition]
    for spec in waterfall.step_specs(settings):
        pkg, key = spec.get("actionPackageId", ""), spec.get("actionKey", "")
        integration = registry.get(pkg)
        action = integration.action(key) if integration else None
        runnable = bindings.runnable(spec.get("inputsBinding"))
        texts += [b.get("formulaText") for b in runnable]
        pairs = [(b.get("name"), b.get("formulaText") or "") for b in runnable]
        steps.append(
            _StepRecipe(
                pkg,
                key,
                integration,
                action,
                spec.get("authAccountId"),
                [(name, text, evaluation.references(text)) for name, text in pairs],
            )
        )
    kinds: dict[str, _Kind] = {}
    scripts: dict[str, list[str]] = {}
    for text in texts:
        if not isinstance(text, str) or not text.strip() or text in kinds:
            continue
        kinds[text] = _kind(text)
        single, literal, _ = kinds[text]
        if single is None and not literal:
            scripts[text] = evaluation.references(text)
    return _Recipe(condition, waterfall.is_composite(settings), steps, kinds, scripts)


class Planner:
    def __init__(self, settings: Settings, pool: FormulaPool) -> None:
        self.settings = settings
        self.pool = pool
        self.reserved: dict[int, int] = {}  # workspace → credits held by running actions

    async def plan(self, claim: Claim) -> list[Task | Outcome]:
        """A task for each claimed job, or the outcome when a check fails before any call."""
        recipes: dict[tuple[str, str], _Recipe] = {}
        evaluated = await self.evaluate_inputs(claim.jobs, claim.fields, claim.records, recipes)
        return await asyncio.to_thread(
            self._prepare, claim.jobs, claim.fields, claim.records, claim.creds, evaluated, recipes
        )

    async def evaluate_inputs(
        self,
        jobs: Sequence[Job],
        fields: Mapping[tuple[str, str], Any],
        records: Mapping[tuple[str, str], Any],
        recipes: dict[tuple[str, str], _Recipe] | None = None,
    ) -> dict[tuple[int, str], Any]:
        """The run conditions and input bindings of the jobs, evaluated in the formula
        worker processes: ``(job id, formula) → value or FormulaError``."""
        recipes = {} if recipes is None else recipes
        wanted: dict[str, list[tuple[int, str]]] = {}
        per_table: dict[str, dict[str, Any]] = {}
        for j in jobs:
            f = fields.get((j.table_id, j.field_id))
            rec = records.get((j.table_id, j.record_id))
            if f is None or f.type != "action" or rec is None:
                continue
            try:
                recipe = _recipe(recipes, (j.table_id, j.field_id), f.type_settings)
            except Exception:  # noqa: BLE001 - preparing the cell reports it, for that cell
                continue
            if not recipe.scripts:
                continue
            tf = per_table.get(j.table_id)
            if tf is None:
                tf = per_table[j.table_id] = table_fields(fields, j.table_id)
            values = cell_values(tf, rec.cells, rec.meta)
            for formula, refs in recipe.scripts.items():
                payload = formulas.row_json(refs, values)
                wanted.setdefault(formula, []).append((j.id, payload))
        out: dict[tuple[int, str], Any] = {}
        for formula, items in wanted.items():
            results = await self.pool.evaluate_many_json(formula, [p for _, p in items])
            for (job_id, _), value in zip(items, results, strict=True):
                out[(job_id, formula)] = value
        return out

    def _prepare(
        self,
        jobs: Sequence[Job],
        fields: Mapping[tuple[str, str], Any],
        records: Mapping[tuple[str, str], Any],
        creds: Mapping[tuple[int, str, str], Credentials],
        evaluated: Mapping[tuple[int, str], Any],
        recipes: dict[tuple[str, str], _Recipe],
    ) -> list[Task | Outcome]:
        out: list[Task | Outcome] = []
        per_table: dict[str, dict[str, Any]] = {}
        for j in jobs:
            f = fields.get((j.table_id, j.field_id))
            rec = records.get((j.table_id, j.record_id))
            if f is None or f.type != "action" or rec is None:
                out.append(Outcome(j, None))
                continue
            tf = per_table.get(j.table_id)
            if tf is None:
                tf = per_table[j.table_id] = table_fields(fields, j.table_id)
            try:
                recipe = _recipe(recipes, (j.table_id, j.field_id), f.type_settings)
                values = cell_values(tf, rec.cells, rec.meta)
                out.append(self._prepare_one(j, recipe, values, creds, evaluated))
            except Exception as exc:  # a bad formula or setting fails the cell, not the batch
                log.exception("preparing %s/%s failed", j.field_id, j.record_id)
                out.append(Outcome(j, CellStatus.ERROR, error=f"Could not prepare the run: {exc}"))
        return out

    def _prepare_one(
        self,
        job: Job,
        recipe: _Recipe,
        values: Mapping[str, Any],
        creds: Mapping[tuple[int, str, str], Credentials],
        evaluated: Mapping[tuple[int, str], Any],
    ) -> Task | Outcome:
        kinds = recipe.kinds

        def value_of(text: str) -> Any:
            single, literal, value = kinds.get(text) or _kind(text)
            if single is not None:
                return values.get(single)
            if literal:
                return value
            if (job.id, text) not in evaluated:
                raise evaluation.FormulaError("syntax", "SyntaxError: empty formula")
            value = evaluated[(job.id, text)]
            if isinstance(value, evaluation.FormulaError):
                raise evaluation.FormulaError(value.kind, value.message)
            return value

        condition = recipe.condition
        if condition is not None:
            try:
                ok = value_of(condition)
            except evaluation.FormulaError as exc:
                return Outcome(
                    job,
                    CellStatus.ERROR_INVALID_INPUT,
                    error=f"Run condition failed: {evaluation.error_message(exc)}",
                )
            if not _truthy(ok):
                return Outcome(
                    job, CellStatus.ERROR_RUN_CONDITION_NOT_MET, error="Run condition not met"
                )
        # A composite passes over a step that cannot run; a plain action fails the cell.
        composite = recipe.composite
        steps: list[Step] = []
        for spec in recipe.steps:
            pkg, key = spec.pkg, spec.key
            integration, action = spec.integration, spec.action
            if integration is None or action is None:
                if composite:
                    continue
                return Outcome(job, CellStatus.ERROR, error=f"Action {pkg}/{key} is not installed")
            inputs: dict[str, Any] | None = {}
            blank: str | None = None
            for name, formula, refs in spec.bindings:
                empty = [r for r in refs if evaluation.is_blank(values.get(r))]
                if empty:
                    blank = f'Input "{name}" refers to blank field {empty[0]}'
                    inputs = None
                    break
                try:
                    value = evaluation.evaluate_input(formula, values, value_of)
                    inputs[name] = value  # type: ignore[index]
                except evaluation.FormulaError as exc:
                    msg = f'Input "{name}": {evaluation.error_message(exc)}'
                    if composite:
                        blank, inputs = msg, None
                        break
                    return Outcome(job, CellStatus.ERROR_INVALID_INPUT, error=msg)
            if inputs is None and not composite:
                return Outcome(job, CellStatus.ERROR_BLANK_TOKEN, error=blank)
            aa = spec.auth
            cred = creds.get((job.workspace_id, aa, pkg), {}) if aa else {}
            if isinstance(cred, ClayError):
                return Outcome(job, CellStatus.ERROR_INVALID_INPUT, error=f"{aa}: {cred.message}")
            price = 0
            if inputs is not None:
                own = action.price(inputs, cred, self.settings)
                price = credits.execution_price(self.settings, integration, action, own)
            steps.append(Step(integration, action, inputs, cred, blank, price))
        if not any(s.inputs is not None for s in steps):
            message = next((s.blank for s in steps if s.blank), "No step of the waterfall can run")
            return Outcome(job, CellStatus.ERROR_BLANK_TOKEN, error=message)
        return Task(job, steps, composite)

    def reserve(self, task: Task, balances: Mapping[int, int]) -> Outcome | None:
        """Holds the credits ``task`` may spend; the outcome instead when its workspace
        cannot pay for it."""
        ws = task.job.workspace_id
        prices = [s.price for s in task.steps if s.inputs is not None]
        need = sum(prices)
        if need > 0:
            available = balances.get(ws, 0) - self.reserved.get(ws, 0)
            if available < waterfall.price_to_start(task.composite, prices):
                return Outcome(task.job, CellStatus.ERROR_OUT_OF_CREDITS, error="Out of credits")
            task.reserved = min(need, available)
            self.reserved[ws] = self.reserved.get(ws, 0) + task.reserved
        return None

    def release(self, outcome: Outcome) -> None:
        """Gives back what ``reserve`` held, once the outcome is stored."""
        if outcome.reserved:
            ws = outcome.job.workspace_id
            self.reserved[ws] = self.reserved.get(ws, 0) - outcome.reserved
