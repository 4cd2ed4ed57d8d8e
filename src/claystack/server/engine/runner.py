"""The ``Runner``: the engine's workers in one server process, wired together.

One claimer task takes action jobs from the queue, the planner makes tasks of them (one
planning task per workspace at a time), and ``run_concurrency`` executor tasks run those,
taking the workspaces in turn; one writer task stores the outcomes. The sweeper evaluates
formula columns. No workspace can hold all the claims, planners, executors or sweeps.
A heartbeat task renews the leases of the jobs in hand. Run state lives only in the
database: the jobs of a process that died are taken over once their leases lapse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ...wire.cells import CellStatus
from ..config import Settings
from ..enrichment.pool import FormulaPool
from ..services.common import now_ms
from ..storage.engine import Database
from .executor import Executor
from .fair import FairQueue, workspace_cap
from .planner import Planner
from .queue import ActionQueue, Claim
from .sweeper import Sweeper
from .work import Outcome, Task
from .writer import Writer

log = logging.getLogger("claystack.engine")


async def _idle(event: asyncio.Event, seconds: float) -> None:
    """Waits for ``event`` (then clears it) or ``seconds``, whichever comes first."""
    event.clear()
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation that
        # stop() sends when the event is set at that moment.
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass


class Runner:
    """The workers of one server process; ``start`` in the app's lifespan, ``stop`` at exit.

    Its parts: ``queue`` (claim, lease, renew, release), ``planner`` (inputs, run conditions,
    price), ``executor`` (limits, timeouts, retries), ``writer`` (store, charge, cascade) and
    ``sweeper`` (formula columns); formulas run in ``pool``'s worker processes."""

    def __init__(self, db: Database, settings: Settings, pool: FormulaPool | None = None) -> None:
        self.db = db
        self.settings = settings
        self.concurrency = settings.run_concurrency
        shape = (
            settings.formula_workers,
            settings.formula_time_limit_seconds,
            settings.max_cell_bytes,
            settings.formula_kill_grace_seconds,
        )
        if pool is not None and not pool.fits(*shape):
            pool.close()
            pool = None
        # ``pool``: the formula workers of a runner stopped with ``keep_pool`` (a reset).
        self.pool = pool if pool is not None else FormulaPool(*shape)
        self.queue = ActionQueue(db, settings)
        self.planner = Planner(settings, self.pool)
        self.executor = Executor(db, settings)
        self.writer = Writer(db, self._written, self.queue.owner)
        self.sweeper = Sweeper(db, settings, self.pool, self.wake)
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._exec = FairQueue(workspace_cap(self.concurrency))
        self._inflight: dict[int, int] = {}  # workspace → action jobs claimed, not yet written
        self._planning: dict[int, asyncio.Task[None]] = {}  # workspace → its planning task
        self._plans: dict[int, list[Claim]] = {}  # workspace → claims waiting for it
        # Workspaces whose last claim ran inline only (lookups): no executor waits for
        # their jobs, so they may claim whole batches at once.
        self._inline_only: set[int] = set()
        self._stopping = False
        self._busy = 0  # executor tasks running an action
        self._quiet = asyncio.Event()  # set when ``_busy`` drops to 0

    def start(self, *, idle: bool = False) -> None:
        """Starts the workers; with ``idle`` (after a reset: nothing is queued) their first
        claim and sweep wait for a wake-up or the poll interval instead of looking at once."""
        if self._tasks:
            return
        self._exec = FairQueue(workspace_cap(self.concurrency))
        self.writer.results = asyncio.Queue()
        self._inflight = {}
        self._plans = {}
        self._inline_only = set()
        self.planner.reserved = {}
        self._stopping = False
        self._busy = 0
        claimer = self._forever(self._claim_round, self._wake, "claiming run jobs", idle)
        sweeper = self._forever(
            self.sweeper.round, self.sweeper.wake_event, "evaluating formulas", idle
        )
        self._tasks = [asyncio.create_task(claimer, name="claystack-claimer")]
        self._tasks.append(asyncio.create_task(self.writer.run(), name="claystack-writer"))
        self._tasks.append(asyncio.create_task(sweeper, name="claystack-formulas"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="claystack-heartbeat"))
        for i in range(self.concurrency):
            self._tasks.append(asyncio.create_task(self._execute(), name=f"claystack-exec-{i}"))

    async def stop(
        self, grace: float | None = None, *, release: bool = True, keep_pool: bool = False
    ) -> None:
        """Stops claiming; lets the actions executing finish and their results be stored
        for up to ``grace`` seconds (default ``shutdown_grace_seconds``); then releases every
        job still held (unless ``release`` is false: a reset deletes them), so other
        processes can claim it at once, and stops. ``keep_pool`` keeps the idle formula
        workers for the next runner (``Runner(…, pool=runner.pool)``)."""
        tasks, self._tasks = self._tasks, []
        if tasks:
            self._stopping = True
            claimer, planning = tasks[0], list(self._planning.values())
            for t in (claimer, *planning):
                t.cancel()
            await asyncio.gather(claimer, *planning, return_exceptions=True)
            wait = self.settings.shutdown_grace_seconds if grace is None else grace
            try:
                async with asyncio.timeout(wait):
                    await self._drain()
            except TimeoutError:
                log.warning("stopping with %d actions still executing", self._busy)
        tasks += self._planning.values()
        self._planning = {}
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks and release:
            try:
                released = await self.queue.release()
            except Exception:  # the leases lapse anyway
                log.exception("releasing run jobs failed")
            else:
                if released:
                    log.warning("released %d run jobs for other processes", released)
        await self.sweeper.stop()
        if keep_pool:
            self.pool.kill_busy()
        else:
            self.pool.close()

    async def _drain(self) -> None:
        """Returns once no action is executing and every result is stored."""
        while self._busy > 0:
            self._quiet.clear()
            await self._quiet.wait()
        await self.writer.results.join()

    async def _heartbeat(self) -> None:
        """Renews the leases of the jobs in hand, three times a lease."""
        every = self.settings.run_lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            try:
                async with self.writer.lock:
                    await self.queue.renew()
            except asyncio.CancelledError:
                raise
            except Exception:  # a missed beat is retried; the lease outlasts two of them
                log.exception("renewing run job leases failed")

    def wake(self) -> None:
        self._wake.set()
        self.sweeper.wake_event.set()

    async def _forever(
        self, step: Callable[[], Awaitable[bool]], wake: asyncio.Event, what: str, idle: bool
    ) -> None:
        """Runs ``step`` again and again, waiting for ``wake`` (or the poll interval)
        whenever it found nothing to do, and first of all when started ``idle``."""
        poll = self.settings.run_poll_seconds
        if idle:  # a wake-up since start() counts: the event is not cleared first
            try:
                async with asyncio.timeout(poll):
                    await wake.wait()
            except TimeoutError:
                pass
        while True:
            busy = False
            try:
                busy = await step()
            except asyncio.CancelledError:
                raise
            except Exception:  # the engine must outlive any one bad batch
                log.exception("%s failed", what)
                await asyncio.sleep(poll)
            if not busy:
                await _idle(wake, poll)

    def _room(self, workspace_id: int) -> int:
        most = 2 * self.concurrency
        if workspace_id in self._inline_only:  # one claim planned while the next is claimed
            most = max(most, 2 * self.settings.run_claim_batch)
        return most - self._inflight.get(workspace_id, 0)

    async def _claim_round(self) -> bool:
        shares = await self.queue.shares(self.settings.run_claim_batch, self._room)
        if not shares:
            return False
        if self.db.is_sqlite and all(ws in self._inline_only for ws, _ in shares):
            return await self._claim_inline(shares)
        claim = await self.queue.lease(shares)
        if claim is None:
            return False
        for part in claim.by_workspace():
            ws = part.jobs[0].workspace_id
            self._inflight[ws] = self._inflight.get(ws, 0) + len(part.jobs)
            self._plans.setdefault(ws, []).append(part)
            if ws not in self._planning:
                task = asyncio.create_task(self._plan(ws), name="claystack-planner")
                self._planning[ws] = task
        return True

    async def _claim_inline(self, shares: list[tuple[int, int]]) -> bool:
        """On SQLite, while the claims of every workspace with ready jobs run inline only
        (lookups): a claim planned, run and stored
        in the one write transaction that leases its jobs. Nothing of it is seen before it
        is done, so its cells need no RUNNING mark, nor its jobs a lease that outlives the
        transaction; the jobs it does not finish (the executor's, a workspace's first
        that are not inline) are marked RUNNING and go on as any claim's."""
        outcomes: list[Outcome] = []
        later: list[Task] = []
        reserved: list[Task] = []
        try:
            async with self.db.unit_of_work() as uow:
                claim = await self.queue.take(uow.conn, shares)
                if claim is None:
                    return False
                for part in claim.by_workspace():
                    ws = part.jobs[0].workspace_id
                    done, inline, others = await self._sort(ws, part)
                    outcomes += done
                    later += others
                    reserved += others
                    for tasks in inline.values():
                        reserved += tasks
                        outcomes += await self.executor.run_inline(tasks)
                # As a claim marks them: the cells of the jobs left running, and of those
                # dropped without a result.
                marked = [t.job for t in later] + [o.job for o in outcomes if o.status is None]
                await self.queue.mark_running(uow.conn, marked, claim.records)
                await self.writer.store(uow, outcomes, held=True)
        except BaseException:
            for t in reserved:  # nothing was stored: give back what planning held
                if t.reserved:
                    self.planner.release(Outcome(t.job, None, reserved=t.reserved))
            raise
        for j in claim.jobs:
            self._inflight[j.workspace_id] = self._inflight.get(j.workspace_id, 0) + 1
        self._written(outcomes)
        for t in later:
            self._exec.put(t)
        return True

    async def _sort(
        self, workspace_id: int, claim: Claim
    ) -> tuple[list[Outcome], dict[int, list[Task]], list[Task]]:
        """Plans a claim of one workspace: the outcomes known before any call, the tasks
        that run inline (by action) and the executor's tasks; the credits they may spend
        reserved."""
        try:
            planned = await self.planner.plan(claim)
        except Exception as exc:  # put the jobs back rather than lose them
            log.exception("planning %d run jobs failed", len(claim.jobs))
            at = now_ms() + 1000
            planned = [
                Outcome(j, CellStatus.RETRY, error=f"{exc}", retry_at=at) for j in claim.jobs
            ]
        outcomes: list[Outcome] = []
        inline: dict[int, list[Task]] = {}  # action → its tasks run in one call
        others: list[Task] = []
        for item in planned:
            if isinstance(item, Task):
                refused = self.planner.reserve(item, claim.balances)
                if refused is None:
                    if self.executor.inline(item):
                        inline.setdefault(id(item.steps[0].action), []).append(item)
                    else:
                        others.append(item)
                    continue
                item = refused
            outcomes.append(item)
        # Inline only: every planned job a task of the one inline action.
        if len(inline) == 1 and len(next(iter(inline.values()))) == len(planned):
            self._inline_only.add(workspace_id)
        else:
            self._inline_only.discard(workspace_id)
        return outcomes, inline, others

    async def _plan(self, workspace_id: int) -> None:
        """Plans a workspace's claims one after another (a slow input formula of one
        workspace delays only its own)."""
        try:
            while self._plans.get(workspace_id):
                claim = self._plans[workspace_id].pop(0)
                outcomes, inline, others = await self._sort(workspace_id, claim)
                for outcome in outcomes:
                    self.writer.put(outcome)
                for task in others:
                    self._exec.put(task)
                for tasks in inline.values():
                    self.writer.put_all(await self.executor.run_inline(tasks))
        finally:
            self._planning.pop(workspace_id, None)
            self._plans.pop(workspace_id, None)

    async def _execute(self) -> None:
        while True:
            task = await self._exec.get()
            try:
                if self._stopping:
                    continue  # not started: released when the runner stops
                self._busy += 1
                try:
                    self.writer.put(await self.executor.run(task))
                finally:
                    self._busy -= 1
                    if self._busy == 0:
                        self._quiet.set()
            finally:
                self._exec.done(task)

    def _written(self, batch: Sequence[Outcome]) -> None:
        for outcome in batch:
            ws = outcome.job.workspace_id
            left = self._inflight.get(ws, 0) - 1
            if left > 0:
                self._inflight[ws] = left
            else:
                self._inflight.pop(ws, None)
            self.planner.release(outcome)
        self.wake()  # room for more claims, and retries may be due
