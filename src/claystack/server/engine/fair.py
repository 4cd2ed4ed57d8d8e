"""A queue of planned tasks that the executors take workspace by workspace, in turn."""

from __future__ import annotations

import asyncio
from collections import deque

from .work import Task


def workspace_cap(concurrency: int) -> int:
    """How many executors one workspace may hold: all but an eighth (at least one), so a
    workspace whose actions hang cannot keep another's from starting."""
    return max(1, concurrency - max(1, concurrency // 8)) if concurrency > 1 else 1


class FairQueue:
    """``put`` tasks; ``get`` the next one of the next workspace in turn that holds fewer
    than ``cap`` executors; ``done`` when a task taken has been executed."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._tasks: dict[int, deque[Task]] = {}
        self._turns: deque[int] = deque()  # workspaces with queued tasks, in turn
        self._running: dict[int, int] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return sum(len(q) for q in self._tasks.values())

    def put(self, task: Task) -> None:
        ws = task.job.workspace_id
        queue = self._tasks.get(ws)
        if queue is None:
            queue = self._tasks[ws] = deque()
            self._turns.append(ws)
        queue.append(task)
        self._wake_one()

    def done(self, task: Task) -> None:
        ws = task.job.workspace_id
        left = self._running.get(ws, 0) - 1
        if left > 0:
            self._running[ws] = left
        else:
            self._running.pop(ws, None)
        self._wake_one()

    async def get(self) -> Task:
        while True:
            task = self._pick()
            if task is not None:
                if self._turns:
                    self._wake_one()  # another waiter may find one too
                return task
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass on the wake-up this waiter got
                raise

    def _pick(self) -> Task | None:
        for _ in range(len(self._turns)):
            ws = self._turns[0]
            self._turns.rotate(-1)
            if self._running.get(ws, 0) >= self.cap:
                continue
            queue = self._tasks[ws]
            task = queue.popleft()
            if not queue:
                del self._tasks[ws]
                self._turns.remove(ws)
            self._running[ws] = self._running.get(ws, 0) + 1
            return task
        return None

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
