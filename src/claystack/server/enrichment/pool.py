"""Formulas evaluated in worker processes that can be killed.

QuickJS's time limit cannot interrupt everything a script does (a backtracking regular
expression runs inside one native call), so the engine never evaluates a formula in its
own process: a small pool of worker processes (``_formula_worker``, talking over a socket
pair) does, and one that misses its deadline is killed and replaced. A row whose evaluation
missed the deadline ends with a timeout error; the rest of its batch is evaluated again
without it, and after ``MAX_TIMEOUTS`` such rows of one call the remaining rows get a
timeout error without running.

Each slot of the pool is one process and one thread of its own that talks to it, so a
slow formula holds one slot and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from . import _formula_worker, formulas

log = logging.getLogger("claystack.engine")

MAX_TIMEOUTS = 3  # rows of one call that may time out before the rest are given up
_CHUNK_ROWS = _formula_worker.CHUNK_ROWS
_START_SECONDS = 60.0  # for a worker to start, on a machine under load
GRACE_SECONDS = 0.5  # past the time limit, for a worker to answer on a machine under load
_Result = Any  # a JSON-compatible value or a FormulaError


def timeout_message(seconds: float) -> str:
    return f"Formula timed out after {seconds:g} s"


def _decode(item: Any) -> _Result:
    if isinstance(item, tuple):
        return formulas.FormulaError(item[0], item[1])
    return item


class _Missed(Exception):
    """The worker did not answer in time (it has been killed)."""


class _Slot:
    """One worker process, used by one thread at a time."""

    def __init__(self, time_limit: float, max_result_bytes: int, grace: float) -> None:
        self.time_limit = time_limit
        self.max_result_bytes = max_result_bytes
        self.grace = grace
        self.process: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.closed = False

    def _ensure(self) -> Connection:
        conn = self.conn
        # A plain subprocess, not multiprocessing: that would import the server's __main__
        # again in the child.
        if conn is None or self.process is None or self.process.poll() is not None:
            self.kill()
            if self.closed:
                raise RuntimeError("The formula pool is closed")
            ours, theirs = socket.socketpair()
            with ours, theirs:
                self.process = subprocess.Popen(
                    [sys.executable, _formula_worker.__file__, str(theirs.fileno())],
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                )
                conn = self.conn = Connection(os.dup(ours.fileno()))
            if self.closed:  # closed while this worker started: it must not outlive the pool
                self.kill()
                raise RuntimeError("The formula pool is closed")
            if not conn.poll(_START_SECONDS) or conn.recv() != "ready":
                self.kill()
                raise RuntimeError("A formula worker process did not start")
        return conn

    def kill(self) -> None:
        conn, process, self.conn, self.process = self.conn, self.process, None, None
        if conn is not None:
            conn.close()
        if process is not None:
            process.kill()
            process.wait(5)

    def _receive(self, conn: Connection, seconds: float) -> Any:
        if not conn.poll(seconds):
            self.kill()
            raise _Missed
        try:
            return conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise _Missed from None

    def _stream(self, text: str, payloads: Sequence[str]) -> tuple[list[_Result], bool]:
        """Results from the first row on until a row timed out, the worker missed its
        deadline or all rows are done; whether the deadline was missed."""
        conn = self._ensure()
        limit = self.time_limit
        results: list[_Result] = []
        try:
            conn.send((text, list(payloads), limit, self.max_result_bytes))
        except OSError:
            self.kill()
            return results, True
        # A chunk may have rows that use the budget and a row that then gets its own.
        deadline = 2 * limit + self.grace
        while True:
            try:
                out, last = self._receive(conn, deadline)
            except _Missed:
                return results, True
            results.extend(_decode(item) for item in out)
            if last:
                return results, False

    def evaluate_rows(self, text: str, rows: str) -> str | None:
        """``formulas.evaluate_rows`` in the worker; None also when it missed its deadline."""
        conn = self._ensure()
        try:
            conn.send((text, rows, self.time_limit, self.max_result_bytes))
        except OSError:
            self.kill()
            return None
        try:
            out, _ = self._receive(conn, self.time_limit + self.grace)
        except _Missed:
            return None
        return out if isinstance(out, str) else None

    def evaluate(self, text: str, payloads: Sequence[str]) -> list[_Result]:
        limit = self.time_limit
        timed_out = formulas.FormulaError("timeout", timeout_message(limit))
        results: list[_Result] = []
        timeouts = 0
        start = 0
        while start < len(payloads):
            if timeouts >= MAX_TIMEOUTS:
                skipped = formulas.FormulaError(
                    "timeout",
                    f"{timeout_message(limit)} on {timeouts} other rows; this row was skipped",
                )
                results.extend([skipped] * (len(payloads) - start))
                break
            got, missed = self._stream(text, payloads[start:])
            results.extend(got)
            start += len(got)
            if got and isinstance(got[-1], formulas.FormulaError) and got[-1].kind == "timeout":
                timeouts += 1
                continue
            if not missed:
                continue
            # One row of the next chunk never returned: find it, one row at a time.
            end = min(len(payloads), start + _CHUNK_ROWS)
            while start < end and timeouts < MAX_TIMEOUTS:
                one, missed = self._stream(text, payloads[start : start + 1])
                value = one[0] if one else timed_out
                if missed or (isinstance(value, formulas.FormulaError) and value.kind == "timeout"):
                    timeouts += 1
                    value = timed_out
                results.append(value)
                start += 1
        return results


class FormulaPool:
    """Up to ``size`` worker processes, started when first needed. A result whose JSON is
    longer than ``max_result_bytes`` (when set) comes back as a ``"size"`` error. A worker
    that has not answered ``grace`` seconds after its time limit is killed."""

    def __init__(
        self,
        size: int,
        time_limit: float,
        max_result_bytes: int = 0,
        grace: float = GRACE_SECONDS,
    ) -> None:
        self.size = size
        self.time_limit = time_limit
        self.max_result_bytes = max_result_bytes
        self.grace = grace
        self._idle: list[_Slot] = []
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        self._semaphore: asyncio.Semaphore | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._closed = False

    def _start(self) -> None:
        self._closed = False
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="claystack-formulas")
            self._semaphore = asyncio.Semaphore(self.size)

    def _take(self) -> _Slot:
        with self._lock:
            if self._closed:  # a call queued before close() must not start a worker
                raise RuntimeError("The formula pool is closed")
            if self._idle:
                return self._idle.pop()
            slot = _Slot(self.time_limit, self.max_result_bytes, self.grace)
            self._slots.append(slot)
            return slot

    def _give(self, slot: _Slot) -> None:
        with self._lock:
            if slot in self._slots:  # not if the pool was closed meanwhile
                self._idle.append(slot)

    def _run(self, text: str, payloads: Sequence[str]) -> list[_Result]:
        slot = self._take()
        try:
            return slot.evaluate(text, payloads)
        finally:
            self._give(slot)

    def _run_rows(self, text: str, rows: str) -> str | None:
        slot = self._take()
        try:
            return slot.evaluate_rows(text, rows)
        finally:
            self._give(slot)

    async def evaluate_rows(self, text: str, rows: str) -> str | None:
        """A formula column's batch in one call (``formulas.evaluate_rows``): the rows to
        store as one JSON text, or None when the batch needs ``evaluate_many_json``."""
        self._start()
        assert self._semaphore is not None
        async with self._semaphore:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self._run_rows, text, rows)

    async def evaluate_many_json(self, text: str, payloads: Sequence[str]) -> list[_Result]:
        """One formula over rows given as JSON object texts; each item is a value or a
        ``FormulaError``, whatever the formula does."""
        if not payloads:
            return []
        self._start()
        assert self._semaphore is not None
        async with self._semaphore:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self._run, text, payloads)

    def fits(self, size: int, time_limit: float, max_result_bytes: int, grace: float) -> bool:
        """Whether this pool was made with these parameters."""
        shape = (self.size, self.time_limit, self.max_result_bytes, self.grace)
        return shape == (size, time_limit, max_result_bytes, grace)

    def kill_busy(self) -> None:
        """Kills the workers evaluating now (their calls get a timeout, as on ``close``) and
        keeps the idle ones, which hold nothing of the calls before: a reset's new engine
        uses them rather than start processes again."""
        with self._lock:
            busy = [slot for slot in self._slots if slot not in self._idle]
            self._slots = list(self._idle)
        for slot in busy:
            slot.closed = True
            slot.kill()

    def close(self) -> None:
        """Kills the workers (a call still running gets its answer or a timeout)."""
        with self._lock:
            self._closed = True
            slots, self._slots, self._idle = self._slots, [], []
        for slot in slots:
            slot.closed = True
            slot.kill()
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None
            self._semaphore = None
