"""The run engine: background workers that execute queued cells.

One claimer task takes action jobs from ``run_jobs`` in batches under a lease (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL; the process's write lock on SQLite), evaluates inputs and run
conditions, and hands executions to ``run_concurrency`` executor tasks. One writer task
stores action outcomes in batches: the cell, the credit charges and the job's deletion
commit together, and every charge carries the job's key as its idempotency key, so a job
re-run after a crash is never charged twice.

Formula columns have no job per cell: one sweeper task walks each column's QUEUED cells in
row order (``formula_runs``), a batch evaluated in one call into JavaScript and stored with
one statement in the transaction that moves the sweep on. Run state lives only in the
database; a restart picks up where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Text, bindparam, cast, delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import Settings
from ..errors import ClayError
from ..services import app_accounts, credits, runs, tables
from ..services.common import now_ms
from ..services.fields import WATERFALL
from ..services.runs import META_OBJECT, set_meta_expr
from ..storage.engine import Database
from ..storage.models import Field, FormulaRun, Record, RunJob
from . import bindings, evaluation, registry
from .base import Action, ActionError, ActionResult, Integration, RunContext

log = logging.getLogger("claystack.engine")

FINAL_OK = ("SUCCESS", "SUCCESS_NO_DATA")
_SWEEP_BATCHES = 16  # batches of one formula column before the sweeper turns to the next
_UNSTORABLE = "The formula's value could not be stored"
_RUNNING_CELL = orjson.dumps({"status": "RUNNING"}).decode()


async def resolve_credentials(
    conn: AsyncConnection, workspace_id: int, auth_account_id: str, integration: str
) -> Mapping[str, Any] | ClayError:
    """The credentials an action runs with, from the field's ``authAccountId``; the error
    (account deleted, of another workspace or integration) when it cannot be used, which
    ends the cell instead of the batch."""
    try:
        return await app_accounts.resolve_credentials(
            conn, workspace_id, auth_account_id, integration
        )
    except ClayError as exc:
        return exc


@dataclass(slots=True)
class Job:
    id: int
    key: str
    kind: str
    workspace_id: int
    table_id: str
    field_id: str
    record_id: str
    user_id: int | None
    attempts: int


@dataclass(slots=True)
class Charge:
    key: str
    integration: str
    action_key: str
    amount: int


@dataclass(slots=True)
class Step:
    integration: Integration
    action: Action
    inputs: dict[str, Any] | None  # None: an input was blank (waterfall steps are skipped)
    credentials: Mapping[str, Any]
    blank: str | None = None
    price: int = 0  # what the action quotes for these inputs


@dataclass(slots=True)
class Task:
    job: Job
    steps: list[Step]
    waterfall: bool
    reserved: int = 0


@dataclass(slots=True)
class Outcome:
    """What happened to one job. ``status`` RETRY puts the job back; None drops it."""

    job: Job
    status: str | None
    value: Any = None
    full_value: Any = None
    error: str | None = None
    charges: list[Charge] = field(default_factory=list)
    retry_at: int = 0
    reserved: int = 0

    def cell_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"status": self.status}
        if self.full_value is not None:
            meta["fullValue"] = self.full_value
        if self.error is not None:
            meta["error"] = self.error
        return meta


@dataclass(slots=True)
class FormulaCell:
    seq: int
    record_id: str
    status: str
    value: Any
    error: str | None = None


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


def _truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _cell_values(fields: Mapping[str, Any], cells: Mapping[str, Any], meta: Any) -> dict[str, Any]:
    """What formulas see: plain cells, and an action column's whole result."""
    values = dict(cells)
    if meta:
        for fid, cell in meta.items():
            f = fields.get(fid)
            if f is not None and f.type == "action" and isinstance(cell, dict):
                if "fullValue" in cell:
                    values[fid] = cell["fullValue"]
    return values


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_WRITE_SQL = {
    "sqlite": (
        "UPDATE records SET cells = json_set(cells, :path, json(:value)), "
        f"meta = json_set({META_OBJECT['sqlite']}, :path, json(:meta)), updated_at = :now "
        "WHERE table_id = :t AND id = :r"
    ),
    "postgresql": (
        "UPDATE records SET "
        "cells = cells || jsonb_build_object(CAST(:f AS text), CAST(:value AS jsonb)), "
        f"meta = {META_OBJECT['postgresql']} "
        "|| jsonb_build_object(CAST(:f AS text), CAST(:meta AS jsonb)), updated_at = :now "
        "WHERE table_id = :t AND id = :r"
    ),
}
_META_SQL = {
    "sqlite": (
        f"UPDATE records SET meta = json_set({META_OBJECT['sqlite']}, :path, json(:meta)) "
        "WHERE table_id = :t AND id = :r"
    ),
    "postgresql": (
        f"UPDATE records SET meta = {META_OBJECT['postgresql']} "
        "|| jsonb_build_object(CAST(:f AS text), CAST(:meta AS jsonb)) "
        "WHERE table_id = :t AND id = :r"
    ),
}


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


# One statement stores a batch of formula cells: rows matched by ``seq``, unchanged since
# they were read (``updated_at``) and still QUEUED.
_FORMULA_SQL = {
    "sqlite": (
        "UPDATE records SET cells = json_set(cells, :path, json(json_extract(v.value, '$.v'))), "
        f"meta = json_set({META_OBJECT['sqlite']}, :path, json(json_extract(v.value, '$.m'))), "
        "updated_at = :now FROM json_each(:rows) AS v "
        "WHERE records.seq = json_extract(v.value, '$.s') "
        "AND records.updated_at = json_extract(v.value, '$.u') "
        "AND json_extract(records.meta, :status) = 'QUEUED'"
    ),
    "postgresql": (
        "UPDATE records SET "
        "cells = records.cells || jsonb_build_object(CAST(:f AS text), v.v), "
        f"meta = {META_OBJECT['postgresql']} || jsonb_build_object(CAST(:f AS text), v.m), "
        "updated_at = :now "
        "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(s bigint, u bigint, v jsonb, m jsonb) "
        "WHERE records.seq = v.s AND records.updated_at = v.u "
        "AND records.meta -> CAST(:f AS text) ->> 'status' = 'QUEUED'"
    ),
}


class Runner:
    """The workers of one server process; ``start`` in the app's lifespan, ``stop`` at exit."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.concurrency = settings.run_concurrency
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._exec: asyncio.Queue[Task] = asyncio.Queue()
        self._results: asyncio.Queue[Outcome] = asyncio.Queue()
        self._inflight = 0  # action jobs claimed and not yet written
        self._formula_wake = asyncio.Event()
        self._reserved: dict[int, int] = {}  # workspace → credits held by running actions
        self._semaphores: dict[str, asyncio.Semaphore | None] = {}
        self._buckets: dict[str, TokenBucket | None] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def recover(self) -> int:
        """Makes every job a previous process held claimable at once."""
        async with self.db.transaction(write=True) as conn:
            result = await conn.execute(
                update(RunJob)
                .where(RunJob.lease_until.is_not(None))
                .values(lease_until=None, not_before=now_ms())
            )
        return result.rowcount or 0

    def start(self) -> None:
        if self._tasks:
            return
        self._exec = asyncio.Queue()
        self._results = asyncio.Queue()
        self._inflight = 0
        self._reserved = {}
        claimer = self._forever(self._claim_round, self._wake, "claiming run jobs")
        sweeper = self._forever(self._sweep_round, self._formula_wake, "evaluating formulas")
        self._tasks = [asyncio.create_task(claimer, name="claystack-claimer")]
        self._tasks.append(asyncio.create_task(self._writer(), name="claystack-writer"))
        self._tasks.append(asyncio.create_task(sweeper, name="claystack-formulas"))
        for i in range(self.concurrency):
            self._tasks.append(asyncio.create_task(self._executor(), name=f"claystack-exec-{i}"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()
        self._formula_wake.set()

    # -- claiming ----------------------------------------------------------------------------

    async def _forever(
        self, step: Callable[[], Awaitable[bool]], wake: asyncio.Event, what: str
    ) -> None:
        """Runs ``step`` again and again, waiting for ``wake`` (or the poll interval)
        whenever it found nothing to do."""
        poll = self.settings.run_poll_seconds
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

    async def _claim_round(self) -> bool:
        room = 2 * self.concurrency - self._inflight
        if room <= 0:
            return False
        return await self._claim_actions(min(room, self.settings.run_claim_batch))

    @staticmethod
    def _job(r: Any, claimed: bool = False) -> Job:
        return Job(
            r.id,
            r.key,
            r.kind,
            r.workspace_id,
            r.table_id,
            r.field_id,
            r.record_id,
            r.user_id,
            r.attempts + claimed,
        )

    async def _claim_actions(self, limit: int) -> bool:
        """Leases action jobs, marks their cells RUNNING, and hands them to the executors
        (or straight to the writer when a check fails before any call)."""
        kind = "action"
        now = now_ms()
        lease = int(self.settings.run_lease_seconds * 1000)
        async with self.db.transaction(write=False) as conn:
            ready = await conn.scalar(
                select(RunJob.id).where(RunJob.kind == kind, RunJob.not_before <= now).limit(1)
            )
        if ready is None:
            return False
        async with self.db.transaction(write=True) as conn:
            rows = list(
                await conn.execute(
                    select(RunJob)
                    .where(RunJob.kind == kind, RunJob.not_before <= now)
                    .order_by(RunJob.not_before, RunJob.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not rows:
                return False
            ids = [r.id for r in rows]
            # A claimed job is invisible to other claims until its lease runs out.
            for start in range(0, len(ids), 1000):
                await conn.execute(
                    update(RunJob)
                    .where(RunJob.id.in_(ids[start : start + 1000]))
                    .values(
                        lease_until=now + lease,
                        not_before=now + lease,
                        attempts=RunJob.attempts + 1,
                    )
                )
            jobs = [self._job(r, claimed=True) for r in rows]
            fields, records = await self._load(conn, jobs)
            balances: dict[int, int] = {}
            creds: dict[tuple[int, str, str], Mapping[str, Any] | ClayError] = {}
            for ws in {j.workspace_id for j in jobs}:
                balances[ws] = await credits.balance(conn, ws)
            for j in jobs:
                f = fields.get((j.table_id, j.field_id))
                if f is None:
                    continue
                ts = f.type_settings
                for step in ts.get("steps") or [ts]:
                    aa, pkg = step.get("authAccountId"), step.get("actionPackageId", "")
                    if aa and (j.workspace_id, aa, pkg) not in creds:
                        creds[(j.workspace_id, aa, pkg)] = await resolve_credentials(
                            conn, j.workspace_id, aa, pkg
                        )
            await self._mark_running(conn, jobs, records)
        self._inflight += len(jobs)
        prepared = await asyncio.to_thread(self._prepare, jobs, fields, records, creds)
        for item in prepared:
            if isinstance(item, Outcome):
                self._put(item)
            else:
                self._reserve(item, balances)
        return True

    async def _load(
        self, conn: AsyncConnection, jobs: Sequence[Job]
    ) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Any]]:
        table_ids = {j.table_id for j in jobs}
        fields: dict[tuple[str, str], Any] = {}
        for f in await conn.execute(select(Field).where(Field.table_id.in_(table_ids))):
            fields[(f.table_id, f.id)] = f
        records: dict[tuple[str, str], Any] = {}
        by_table: dict[str, list[str]] = {}
        for j in jobs:
            by_table.setdefault(j.table_id, []).append(j.record_id)
        for table_id, rids in by_table.items():
            unique = list(dict.fromkeys(rids))
            for start in range(0, len(unique), 1000):
                rows = await conn.execute(
                    select(Record.id, Record.cells, Record.meta).where(
                        Record.table_id == table_id, Record.id.in_(unique[start : start + 1000])
                    )
                )
                for r in rows:
                    records[(table_id, r.id)] = r
        return fields, records

    async def _mark_running(
        self, conn: AsyncConnection, jobs: Sequence[Job], records: Mapping[Any, Any]
    ) -> None:
        groups: dict[tuple[str, str], list[str]] = {}
        for j in jobs:
            if (j.table_id, j.record_id) in records:
                groups.setdefault((j.table_id, j.field_id), []).append(j.record_id)
        for (table_id, field_id), rids in groups.items():
            await conn.execute(
                update(Record)
                .where(Record.table_id == table_id, Record.id.in_(rids))
                .values(meta=set_meta_expr(conn, field_id, _RUNNING_CELL))
            )

    def _table_fields(self, fields: Mapping[tuple[str, str], Any], table_id: str) -> dict[str, Any]:
        return {fid: f for (tid, fid), f in fields.items() if tid == table_id}

    # -- formulas ----------------------------------------------------------------------------

    async def _sweep_round(self) -> bool:
        async with self.db.transaction(write=False) as conn:
            sweeps = list(await conn.execute(select(FormulaRun.table_id, FormulaRun.field_id)))
        busy = False
        for table_id, field_id in sweeps:
            busy |= await self._sweep(table_id, field_id)
        return busy

    async def _sweep(self, table_id: str, field_id: str, batches: int = _SWEEP_BATCHES) -> bool:
        """Up to ``batches`` batches of one formula column in row order, each read and
        evaluated while the one before it is written; whether it found cells to do.
        Evaluation holds no lock: a slow formula keeps no other writer waiting."""
        limit = self.settings.run_formula_batch
        async with self.db.transaction(write=False) as conn:
            sweep = (
                await conn.execute(
                    select(FormulaRun).where(
                        FormulaRun.table_id == table_id, FormulaRun.field_id == field_id
                    )
                )
            ).first()
        if sweep is None:
            return False
        position, found = sweep.after_seq, False
        writing: asyncio.Task[None] | None = None
        try:
            for _ in range(batches):
                fields, rows, raw = await self._sweep_rows(table_id, field_id, position, limit)
                target = fields.get(field_id)
                runnable = target is not None and target.type == "formula"
                cells = []
                if rows:
                    cells = await asyncio.to_thread(self._evaluate, target, fields, rows, raw)
                if writing is not None:
                    await writing
                found |= bool(rows)
                end = len(rows) < limit
                store = self._store_sweep(sweep, position, rows, cells, runnable, end)
                writing = asyncio.create_task(store)
                if end:
                    break
                position = rows[-1].seq
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)
        return found

    async def _sweep_rows(
        self, table_id: str, field_id: str, position: int, limit: int
    ) -> tuple[dict[str, Any], list[Any], bool]:
        """The table's fields, the column's next QUEUED cells after ``position`` (none when
        the column is gone or no longer a formula), and whether their ``cells`` are the JSON
        text the database holds: so for a formula that reads no action column, as it needs
        no ``meta``."""
        async with self.db.transaction(write=False) as conn:
            fields = {
                f.id: f for f in await conn.execute(select(Field).where(Field.table_id == table_id))
            }
            target = fields.get(field_id)
            if target is None or target.type != "formula":
                return fields, [], False
            refs = evaluation.references(str(target.type_settings.get("formulaText") or ""))
            raw = all(getattr(fields.get(r), "type", None) != "action" for r in refs)
            values = (
                [cast(Record.cells, Text).label("cells")] if raw else [Record.cells, Record.meta]
            )
            rows = await conn.execute(
                select(Record.seq, Record.id, Record.updated_at, *values)
                .where(
                    Record.table_id == table_id,
                    Record.seq > position,
                    runs.cell_status(field_id) == "QUEUED",
                )
                .order_by(Record.seq)
                .limit(limit)
            )
            return fields, list(rows), raw

    async def _store_sweep(
        self,
        sweep: Any,
        start: int,
        rows: Sequence[Any],
        cells: Sequence[FormulaCell],
        runnable: bool,
        end: bool,
    ) -> None:
        """Stores a batch read after ``start`` and moves the sweep to just before the first
        cell still QUEUED after ``start``, or ends it (``end``: the read reached the table's
        last queued cell). A cell is stored only if its row is unchanged since it was read;
        a changed one (a new input, a run queueing it again) stays QUEUED and so is read
        again. The sweep's row is locked first, as runs that queue cells of the column lock
        it (``runs._queue_formula``), so none slips by; its ``pending`` count says whether
        any cell can remain without scanning for one."""
        table_id, field_id = sweep.table_id, sweep.field_id
        this = (FormulaRun.table_id == table_id) & (FormulaRun.field_id == field_id)
        async with self.db.transaction(write=True) as conn:
            await tables.data_changed(conn, [table_id])  # table, then sweep, then records
            current = (
                await conn.execute(
                    select(FormulaRun.after_seq, FormulaRun.pending).where(this).with_for_update()
                )
            ).first()
            stamps = {r.seq: r.updated_at for r in rows}
            written = await self._write_formulas(conn, field_id, cells, stamps)
            if current is not None:
                left = max(int(current.pending) - written, 0)
                moved: dict[str, Any] = {"pending": left}
                if not runnable or (end and left == 0):
                    finished = True
                elif current.after_seq < start:
                    finished = False  # a run moved the sweep back meanwhile: it stays there
                else:
                    nxt = await conn.scalar(
                        select(Record.seq)
                        .where(
                            Record.table_id == table_id,
                            Record.seq > start,
                            runs.cell_status(field_id) == "QUEUED",
                        )
                        .order_by(Record.seq)
                        .limit(1)
                    )
                    finished = nxt is None
                    if nxt is not None:
                        moved["after_seq"] = nxt - 1
                if finished:
                    await conn.execute(delete(FormulaRun).where(this))
                else:
                    await conn.execute(update(FormulaRun).where(this).values(**moved))
            done = [(field_id, c.record_id) for c in cells if c.status in FINAL_OK]
            if done:
                # A new result, even an equal one, is news to the formulas that read it.
                await runs.cascade(conn, sweep.workspace_id, sweep.user_id, table_id, done)
        if done:
            self.wake()

    @staticmethod
    def _evaluate(
        field: Any, fields: Mapping[str, Any], rows: Sequence[Any], raw: bool
    ) -> list[FormulaCell]:
        formula = str(field.type_settings.get("formulaText") or "")
        if raw:
            results = evaluation.evaluate_many_json(formula, [r.cells for r in rows])
        else:
            values = [_cell_values(fields, r.cells, r.meta) for r in rows]
            results = evaluation.evaluate_many(formula, values)
        out: list[FormulaCell] = []
        for r, value in zip(rows, results, strict=True):
            if isinstance(value, evaluation.FormulaError):
                out.append(FormulaCell(r.seq, r.id, "ERROR", None, evaluation.error_message(value)))
            else:
                status = "SUCCESS_NO_DATA" if evaluation.is_blank(value) else "SUCCESS"
                out.append(FormulaCell(r.seq, r.id, status, value))
        return out

    async def _write_formulas(
        self,
        conn: AsyncConnection,
        field_id: str,
        cells: Sequence[FormulaCell],
        stamps: Mapping[int, int],
    ) -> int:
        """Stores the cells whose rows still have the ``updated_at`` they were read with
        and are still QUEUED; how many it stored."""
        if not cells:
            return 0
        dialect = conn.dialect.name
        items = []
        for c in cells:
            meta = (
                {"status": c.status} if c.error is None else {"status": c.status, "error": c.error}
            )
            if dialect == "postgresql":
                items.append({"s": c.seq, "u": stamps[c.seq], "v": c.value, "m": meta})
            else:  # JSON text inside JSON: json_extract gives it back as text for json()
                items.append(
                    {"s": c.seq, "u": stamps[c.seq], "v": _json(c.value), "m": _json(meta)}
                )
        params = {"f": field_id, "now": now_ms(), "rows": _json(items)}
        if dialect != "postgresql":
            params["path"] = f'$."{field_id}"'
            params["status"] = f'$."{field_id}".status'
        try:
            async with conn.begin_nested():
                result = await conn.execute(text(_FORMULA_SQL[dialect]), params)
            return result.rowcount or 0
        except DBAPIError:
            if len(cells) > 1:  # find the values the database refuses (NUL on PostgreSQL)
                half = len(cells) // 2
                first = await self._write_formulas(conn, field_id, cells[:half], stamps)
                return first + await self._write_formulas(conn, field_id, cells[half:], stamps)
            c = cells[0]
            if c.error == _UNSTORABLE:
                raise
            failed = FormulaCell(c.seq, c.record_id, "ERROR", None, _UNSTORABLE)
            return await self._write_formulas(conn, field_id, [failed], stamps)

    # -- actions -----------------------------------------------------------------------------

    def _prepare(
        self,
        jobs: Sequence[Job],
        fields: Mapping[tuple[str, str], Any],
        records: Mapping[tuple[str, str], Any],
        creds: Mapping[tuple[int, str, str], Mapping[str, Any] | ClayError],
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
                tf = per_table[j.table_id] = self._table_fields(fields, j.table_id)
            try:
                out.append(
                    self._prepare_one(
                        j, f.type_settings, _cell_values(tf, rec.cells, rec.meta), creds
                    )
                )
            except Exception as exc:  # a bad formula or setting fails the cell, not the batch
                log.exception("preparing %s/%s failed", j.field_id, j.record_id)
                out.append(Outcome(j, "ERROR", error=f"Could not prepare the run: {exc}"))
        return out

    def _prepare_one(
        self,
        job: Job,
        settings: Mapping[str, Any],
        values: Mapping[str, Any],
        creds: Mapping[tuple[int, str, str], Mapping[str, Any] | ClayError],
    ) -> Task | Outcome:
        condition = settings.get("conditionalRunFormulaText")
        if isinstance(condition, str) and condition.strip():
            try:
                ok = evaluation.evaluate(condition, values)
            except evaluation.FormulaError as exc:
                return Outcome(
                    job,
                    "ERROR_INVALID_INPUT",
                    error=f"Run condition failed: {evaluation.error_message(exc)}",
                )
            if not _truthy(ok):
                return Outcome(job, "ERROR_RUN_CONDITION_NOT_MET", error="Run condition not met")
        waterfall = settings.get("actionPackageId") == WATERFALL
        steps: list[Step] = []
        for spec in settings.get("steps") or [] if waterfall else [settings]:
            pkg, key = spec.get("actionPackageId", ""), spec.get("actionKey", "")
            integration = registry.get(pkg)
            action = integration.action(key) if integration else None
            if integration is None or action is None:
                if waterfall:
                    continue
                return Outcome(job, "ERROR", error=f"Action {pkg}/{key} is not installed")
            inputs: dict[str, Any] | None = {}
            blank: str | None = None
            for binding in bindings.runnable(spec.get("inputsBinding")):
                formula = binding.get("formulaText") or ""
                empty = [
                    r for r in evaluation.references(formula) if evaluation.is_blank(values.get(r))
                ]
                if empty:
                    blank = f'Input "{binding.get("name")}" refers to blank field {empty[0]}'
                    inputs = None
                    break
                try:
                    inputs[binding["name"]] = evaluation.evaluate_input(formula, values)  # type: ignore[index]
                except evaluation.FormulaError as exc:
                    msg = f'Input "{binding.get("name")}": {evaluation.error_message(exc)}'
                    if waterfall:
                        blank, inputs = msg, None
                        break
                    return Outcome(job, "ERROR_INVALID_INPUT", error=msg)
            if inputs is None and not waterfall:
                return Outcome(job, "ERROR_BLANK_TOKEN", error=blank)
            aa = spec.get("authAccountId")
            cred = creds.get((job.workspace_id, aa, pkg), {}) if aa else {}
            if isinstance(cred, ClayError):
                return Outcome(job, "ERROR_INVALID_INPUT", error=f"{aa}: {cred.message}")
            price = 0
            if inputs is not None:
                own = action.price(inputs, cred, self.settings)
                price = credits.execution_price(self.settings, integration, action, own)
            steps.append(Step(integration, action, inputs, cred, blank, price))
        if not any(s.inputs is not None for s in steps):
            message = next((s.blank for s in steps if s.blank), "No step of the waterfall can run")
            return Outcome(job, "ERROR_BLANK_TOKEN", error=message)
        return Task(job, steps, waterfall)

    def _reserve(self, task: Task, balances: dict[int, int]) -> None:
        ws = task.job.workspace_id
        prices = [s.price for s in task.steps if s.inputs is not None]
        need = sum(prices)
        if need > 0:
            available = balances.get(ws, 0) - self._reserved.get(ws, 0)
            floor = min(p for p in prices if p > 0) if task.waterfall else need
            if available < floor:
                self._put(Outcome(task.job, "ERROR_OUT_OF_CREDITS", error="Out of credits"))
                return
            task.reserved = min(need, available)
            self._reserved[ws] = self._reserved.get(ws, 0) + task.reserved
        self._exec.put_nowait(task)

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

    async def _executor(self) -> None:
        while True:
            task = await self._exec.get()
            try:
                outcome = await self._execute(task)
                _json([outcome.value, outcome.full_value])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never lose a worker to one cell
                log.exception("executing %s failed", task.job.key)
                outcome = Outcome(task.job, "ERROR", error=f"Internal error: {exc}")
            outcome.reserved = task.reserved
            self._put(outcome)

    async def _call(self, task: Task, step: Step) -> ActionResult:
        job = task.job
        ctx = RunContext(
            workspace_id=job.workspace_id,
            table_id=job.table_id,
            field_id=job.field_id,
            record_id=job.record_id,
            credentials=step.credentials,
            settings=self.settings,
            db=self.db,
        )
        sem, bucket = self._limits(step.integration)
        if sem is not None:
            await sem.acquire()
        try:
            if bucket is not None:
                await bucket.take()
            timeout = self.settings.run_action_timeout_seconds
            try:
                async with asyncio.timeout(timeout):
                    result = await step.action.run(dict(step.inputs or {}), ctx)
            except TimeoutError:
                raise ActionError(
                    f"The action took longer than {timeout:g}s", "ERROR_TIMEOUT", retryable=True
                ) from None
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
        if not task.waterfall:
            step = task.steps[0]
            try:
                result = await self._call(task, step)
            except ActionError as exc:
                return self._failed(job, exc)
            except Exception as exc:
                return Outcome(job, "ERROR", error=f"{type(exc).__name__}: {exc}")
            return self._succeeded(job, result, self._charge(task, step, result, None))
        charges: list[Charge] = []
        trail: list[dict[str, Any]] = []
        budget = task.reserved
        for i, step in enumerate(task.steps):
            info: dict[str, Any] = {
                "index": i,
                "actionPackageId": step.integration.key,
                "actionKey": step.action.key,
            }
            if step.inputs is None:
                trail.append({**info, "status": "ERROR_BLANK_TOKEN", "error": step.blank})
                continue
            if step.price > budget:
                trail.append({**info, "status": "ERROR_OUT_OF_CREDITS"})
                continue
            try:
                result = await self._call(task, step)
            except Exception as exc:
                status = exc.status if isinstance(exc, ActionError) else "ERROR"
                message = exc.message if isinstance(exc, ActionError) else f"{exc}"
                trail.append({**info, "status": status, "error": message})
                continue
            step_charges = self._charge(task, step, result, i)
            budget -= sum(c.amount for c in step_charges)
            charges += step_charges
            status = "SUCCESS" if result.has_data else "SUCCESS_NO_DATA"
            trail.append({**info, "status": status})
            if result.has_data:
                full = result.full_value if result.full_value is not None else result.value
                wrapped = {"value": result.value, "result": full, "step": info, "steps": trail}
                return Outcome(
                    job, "SUCCESS", value=result.value, full_value=wrapped, charges=charges
                )
        if any(t["status"] == "SUCCESS_NO_DATA" for t in trail):
            return Outcome(job, "SUCCESS_NO_DATA", full_value={"steps": trail}, charges=charges)
        if all(
            t["status"] == "ERROR_OUT_OF_CREDITS"
            for t in trail
            if t["status"] != "ERROR_BLANK_TOKEN"
        ):
            return Outcome(
                job, "ERROR_OUT_OF_CREDITS", error="Out of credits", full_value={"steps": trail}
            )
        last = next(t for t in reversed(trail) if "error" in t)
        return Outcome(
            job,
            "ERROR",
            error=f"No step returned data; last error: {last.get('error')}",
            full_value={"steps": trail},
            charges=charges,
        )

    def _succeeded(self, job: Job, result: ActionResult, charges: list[Charge]) -> Outcome:
        full = result.full_value if result.full_value is not None else result.value
        status = "SUCCESS" if result.has_data else "SUCCESS_NO_DATA"
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
            return Outcome(job, "RETRY", error=exc.message, retry_at=now_ms() + int(delay * 1000))
        return Outcome(job, exc.status or "ERROR", error=exc.message)

    async def _cascade(self, conn: AsyncConnection, batch: Sequence[Outcome]) -> None:
        groups: dict[tuple[int, int | None, str], list[tuple[str, str]]] = {}
        for o in batch:
            if o.status in FINAL_OK:
                j = o.job
                groups.setdefault((j.workspace_id, j.user_id, j.table_id), []).append(
                    (j.field_id, j.record_id)
                )
        for (ws, user, table_id), done in groups.items():
            # A new result, even an equal one, is news to the formulas that read it.
            await runs.cascade(conn, ws, user, table_id, done)

    # -- writing -----------------------------------------------------------------------------

    def _put(self, outcome: Outcome) -> None:
        self._results.put_nowait(outcome)

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._results.get()]
            deadline = loop.time() + 0.02
            while len(batch) < 2000:
                try:
                    batch.append(self._results.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        item = await self._results.get()
                except TimeoutError:
                    break
                batch.append(item)
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("writing %d run results failed; writing them one by one", len(batch))
                for outcome in batch:
                    try:
                        await self._write([outcome])
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("dropping the result of %s", outcome.job.key)
            finally:
                self._settle(batch)

    def _settle(self, batch: Sequence[Outcome]) -> None:
        for o in batch:
            self._inflight -= 1
            if o.reserved:
                ws = o.job.workspace_id
                self._reserved[ws] = self._reserved.get(ws, 0) - o.reserved

    async def _write(self, batch: Sequence[Outcome]) -> None:
        now = now_ms()
        async with self.db.transaction(write=True) as conn:
            # The tables' rows before their records' (see tables.data_changed).
            await tables.data_changed(conn, {o.job.table_id for o in batch if o.status})
            dialect = conn.dialect.name
            finals: list[dict[str, Any]] = []
            retries: list[dict[str, Any]] = []
            done: list[int] = []
            for o in batch:
                j = o.job
                if o.status is None:
                    done.append(j.id)
                    continue
                params: dict[str, Any] = {
                    "path": f'$."{j.field_id}"',
                    "f": j.field_id,
                    "meta": _json(o.cell_meta()),
                    "t": j.table_id,
                    "r": j.record_id,
                }
                if dialect == "postgresql":
                    del params["path"]
                else:
                    del params["f"]
                if o.status == "RETRY":
                    retries.append(params)
                    continue
                params["value"] = _json(o.value if o.status in FINAL_OK else None)
                params["now"] = now
                finals.append(params)
                done.append(j.id)
                for c in o.charges:
                    await credits.charge(
                        conn,
                        workspace_id=j.workspace_id,
                        amount=c.amount,
                        idempotency_key=c.key,
                        user_id=j.user_id,
                        integration=c.integration,
                        action_key=c.action_key,
                        table_id=j.table_id,
                        field_id=j.field_id,
                        record_id=j.record_id,
                    )
            if finals:
                await conn.execute(text(_WRITE_SQL[dialect]), finals)
            if retries:
                await conn.execute(text(_META_SQL[dialect]), retries)
                await conn.execute(
                    update(RunJob)
                    .where(RunJob.id == bindparam("b_id"))
                    .values(lease_until=None, not_before=bindparam("b_at")),
                    [{"b_id": o.job.id, "b_at": o.retry_at} for o in batch if o.status == "RETRY"],
                )
            await self._cascade(conn, batch)
            for start in range(0, len(done), 1000):
                await conn.execute(delete(RunJob).where(RunJob.id.in_(done[start : start + 1000])))
        self.wake()  # room for more claims, and retries may be due
