"""The executor: runs a planned task's action (a composite's steps through
``enrichment/actions/waterfall.py``) under the integration's concurrency and rate limits
and the run timeout, and turns what happened into an ``Outcome``: a result and its
charges, a retry at a backoff, or an error."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from ...integrations import Action, ActionError, ActionResult, Integration, RunContext
from ...wire.cells import CellStatus
from ..config import Settings
from ..enrichment import context
from ..enrichment.actions import local, waterfall
from ..services import credits
from ..services.common import now_ms
from ..storage.engine import Database
from . import batching
from .work import Charge, Job, Outcome, Step, Task, dumps

# Integrations whose batch-hooked actions run ``inline``: local, quick, no provider to pace.
INLINE = frozenset({local.KEY})

log = logging.getLogger("claystack.engine")


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


class Executor:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._semaphores: dict[str, asyncio.Semaphore | None] = {}
        self._buckets: dict[str, TokenBucket | None] = {}

    async def run(self, task: Task) -> Outcome:
        """What running ``task`` came to; never raises (but for cancellation)."""
        try:
            outcome = self._checked(task, await self._execute(task))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never lose a worker to one cell
            log.exception("executing %s failed", task.job.key)
            outcome = Outcome(task.job, CellStatus.ERROR, error=f"Internal error: {exc}")
        outcome.reserved = task.reserved
        return outcome

    def _checked(self, task: Task, outcome: Outcome) -> Outcome:
        value, full = dumps(outcome.value), dumps(outcome.full_value)
        limit = self.settings.max_cell_bytes
        # The limit is in bytes of UTF-8, at most 4 per character: short texts need no encoding.
        size = len(value) + len(full)
        if size * 4 > limit:
            size = len(value.encode()) + len(full.encode())
        if size > limit:
            error = f"Action result is larger than the cell limit of {limit} bytes"
            return Outcome(task.job, CellStatus.ERROR, error=error, charges=outcome.charges)
        outcome.dumped = (value, full)
        return outcome

    def inline(self, task: Task) -> bool:
        """Whether ``task`` runs with the others of its claim in one call, in the planning
        task: a built-in local action (a lookup in claystack's own tables) that has a batch
        hook and no concurrency or rate limit, so no executor task per cell is needed."""
        if task.composite or len(task.steps) != 1:
            return False
        step = task.steps[0]
        if step.integration.key not in INLINE or step.action.run_batch is None:
            return False
        return self._limits(step.integration) == (None, None)

    async def run_inline(self, tasks: Sequence[Task]) -> list[Outcome]:
        """The outcomes of ``inline`` tasks of one action, run in one batch call; as
        ``run`` would give them one by one."""
        step = tasks[0].steps[0]
        cells = []
        for t in tasks:
            j = t.job
            cells.append(
                (j.workspace_id, j.table_id, j.field_id, j.record_id, t.steps[0].credentials)
            )
        ctxs = context.for_cells(step.action, cells, settings=self.settings, db=self.db)
        results: list[Any]
        try:
            async with asyncio.timeout(self.settings.run_action_timeout_seconds):
                results = await step.action.execute_batch(
                    [dict(t.steps[0].inputs or {}) for t in tasks], ctxs
                )
        except TimeoutError:
            results = [self._timed_out()] * len(tasks)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # each cell fails as it would alone
            results = [exc] * len(tasks)
        outcomes = []
        for task, result in zip(tasks, results, strict=True):
            try:
                job, own = task.job, task.steps[0]
                if isinstance(result, ActionError):
                    outcome = self._failed(job, result)
                elif isinstance(result, Exception):
                    error = f"{type(result).__name__}: {result}"
                    outcome = Outcome(job, CellStatus.ERROR, error=error)
                elif not isinstance(result, ActionResult):
                    wrong = f"The action returned {type(result).__name__}, not ActionResult"
                    outcome = self._failed(job, ActionError(wrong))
                else:
                    outcome = self._succeeded(job, result, self._charge(task, own, result, None))
                outcome = self._checked(task, outcome)
            except Exception as exc:  # never lose a batch to one cell
                log.exception("executing %s failed", task.job.key)
                outcome = Outcome(task.job, CellStatus.ERROR, error=f"Internal error: {exc}")
            outcome.reserved = task.reserved
            outcomes.append(outcome)
        return outcomes

    def _limits(
        self, integration: Integration
    ) -> tuple[asyncio.Semaphore | None, TokenBucket | None]:
        key = integration.key
        if key not in self._semaphores:
            n = self.settings.integration_concurrency.get(key) or integration.max_concurrency
            self._semaphores[key] = asyncio.Semaphore(n) if n else None
            rate = self.settings.integration_rate_per_second.get(key) or integration.rate_per_second
            self._buckets[key] = TokenBucket(rate) if rate else None
        return self._semaphores[key], self._buckets[key]

    def _context(self, task: Task, step: Step) -> RunContext:
        job = task.job
        return context.for_action(
            step.action,
            workspace_id=job.workspace_id,
            table_id=job.table_id,
            field_id=job.field_id,
            record_id=job.record_id,
            credentials=step.credentials,
            settings=self.settings,
            db=self.db,
        )

    def _timed_out(self) -> ActionError:
        return ActionError(
            f"The action took longer than {self.settings.run_action_timeout_seconds:g}s",
            CellStatus.ERROR_TIMEOUT,
            retryable=True,
        )

    async def _call(self, task: Task, step: Step) -> ActionResult:
        ctx = self._context(task, step)
        sem, bucket = self._limits(step.integration)
        if sem is not None:
            await sem.acquire()
        try:
            if bucket is not None:
                await bucket.take()
            try:
                async with asyncio.timeout(self.settings.run_action_timeout_seconds):
                    result = await _run_one(step.action, dict(step.inputs or {}), ctx)
            except TimeoutError:
                raise self._timed_out() from None
        finally:
            if sem is not None:
                sem.release()
        if not isinstance(result, ActionResult):
            raise ActionError(f"The action returned {type(result).__name__}, not ActionResult")
        return result

    def _charge(
        self, task: Task, step: Step, result: ActionResult, index: int | None
    ) -> list[Charge]:
        # Every execution is recorded, a free one too: it counts as one action.
        own = result.credits if result.credits is not None else step.action.credits
        price = credits.execution_price(self.settings, step.integration, step.action, own)
        key = f"run:{task.job.key}" if index is None else f"run:{task.job.key}:{index}"
        return [Charge(key, step.integration.key, step.action.key, price)]

    async def _execute(self, task: Task) -> Outcome:
        job = task.job
        if task.composite:
            done = await waterfall.run(
                task.steps,
                task.reserved,
                lambda i: self._call(task, task.steps[i]),
                lambda i, result: self._charge(task, task.steps[i], result, i),
            )
            return Outcome(
                job,
                done.status,
                value=done.value,
                full_value=done.full_value,
                error=done.error,
                charges=done.charges,
            )
        step = task.steps[0]
        try:
            result = await self._call(task, step)
        except ActionError as exc:
            return self._failed(job, exc)
        except Exception as exc:
            return Outcome(job, CellStatus.ERROR, error=f"{type(exc).__name__}: {exc}")
        return self._succeeded(job, result, self._charge(task, step, result, None))

    def _succeeded(self, job: Job, result: ActionResult, charges: list[Charge]) -> Outcome:
        full = result.full_value if result.full_value is not None else result.value
        status = CellStatus.SUCCESS if result.has_data else CellStatus.SUCCESS_NO_DATA
        return Outcome(job, status, value=result.value, full_value=full, charges=charges)

    def _failed(self, job: Job, exc: ActionError) -> Outcome:
        retries = self.settings.run_max_attempts - 1
        if exc.max_retries is not None:
            retries = min(retries, exc.max_retries)
        if exc.retryable and job.attempts <= retries:
            if exc.retry_after is not None:
                delay = max(0.0, float(exc.retry_after))
            else:
                delay = self.settings.run_retry_base_seconds * 2 ** (job.attempts - 1)
            delay = min(delay, self.settings.run_retry_max_seconds)
            return Outcome(
                job, CellStatus.RETRY, error=exc.message, retry_at=now_ms() + int(delay * 1000)
            )
        return Outcome(job, exc.status or CellStatus.ERROR, error=exc.message)


async def _run_one(action: Action, inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    """One cell: through the action's batch hook, with the cells beside it, when it has one."""
    if action.run_batch is None:
        return await action.run(inputs, ctx)
    return await batching.run(action, inputs, ctx)
