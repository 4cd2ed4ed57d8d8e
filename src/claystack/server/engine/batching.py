"""Coalesces the concurrent executions of an action that has a ``run_batch`` hook.

The executor's workers run cells in parallel; those that reach the same batching action in the
same turn of the event loop are handed to ``run_batch`` together, so a provider that takes
many rows per call gets them in one. A batch runs in its own task: a worker whose own timeout
fires stops waiting, the others still get their results.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...integrations import Action, ActionError, ActionResult, RunContext

MAX_BATCH = 100


class _Pending:
    def __init__(self) -> None:
        self.items: list[tuple[dict[str, Any], RunContext, asyncio.Future[Any]]] = []


_pending: dict[int, _Pending] = {}
_running: set[asyncio.Task[None]] = set()


async def run(action: Action, inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    """One cell's result, computed in a batch with the cells that arrived alongside it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    key = id(action)
    pending = _pending.get(key)
    if pending is None:
        pending = _pending[key] = _Pending()
        loop.call_soon(_flush, action, key)
    pending.items.append((inputs, ctx, future))
    if len(pending.items) >= MAX_BATCH:
        _flush(action, key)
    outcome = await asyncio.shield(future)
    if isinstance(outcome, ActionError):
        raise outcome
    return outcome


def _flush(action: Action, key: int) -> None:
    pending = _pending.pop(key, None)
    if pending is None or not pending.items:
        return
    task = asyncio.get_running_loop().create_task(_execute(action, pending))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _execute(action: Action, pending: _Pending) -> None:
    items = pending.items
    try:
        results: list[Any] = await action.execute_batch(
            [i for i, _, _ in items], [c for _, c, _ in items]
        )
    except ActionError as exc:
        results = [exc] * len(items)
    except Exception as exc:  # the workers report it as they would a failing run
        results = [exc] * len(items)
    for (_, _, future), result in zip(items, results, strict=True):
        if future.done():
            continue
        if isinstance(result, Exception) and not isinstance(result, ActionError):
            future.set_exception(result)
        else:
            future.set_result(result)
