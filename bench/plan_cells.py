"""The engine's Python per cell for a claim of lookups, in process (no server, no database):
planning (``Planner.plan``: inputs, price) and the run contexts of an inline batch.

Usage: ``.venv/bin/python bench/plan_cells.py [--cells N] [--repeat R]``. Prints the best
of R runs in process CPU µs per cell: load on the machine moves it less than wall time.
To compare with another tree, run it with ``PYTHONPATH=<that tree>/src``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from types import SimpleNamespace
from typing import Any

from claystack.server.config import Settings
from claystack.server.engine.planner import Planner
from claystack.server.engine.queue import Claim
from claystack.server.engine.work import Job, Task
from claystack.server.enrichment import context

SETTINGS = {
    "actionKey": "lookup-row-in-other-table",
    "actionPackageId": "claystack-tables",
    "inputsBinding": [
        {"name": "tableId", "formulaText": '"t_target"'},
        {"name": "targetColumn", "formulaText": '"Domain"'},
        {"name": "rowValue", "formulaText": "{{f_dom}}"},
    ],
}


def make_claim(n: int) -> Claim:
    """A claim of ``n`` lookup cells, with rows shaped as the claim reads them."""
    row = SimpleNamespace
    fields: dict[tuple[str, str], Any] = {
        ("t", "f_look"): row(id="f_look", type="action", type_settings=SETTINGS),
        ("t", "f_dom"): row(id="f_dom", type="text", type_settings={}),
    }
    jobs = [Job(i, f"k{i}", "action", 1, "t", "f_look", f"r{i}", 1, 1) for i in range(n)]
    records: dict[tuple[str, str], Any] = {
        ("t", f"r{i}"): row(
            id=f"r{i}", cells={"f_dom": f"d{i}.com"}, meta={"f_look": {"status": "RUNNING"}}
        )
        for i in range(n)
    }
    return Claim(jobs, fields, records, {}, {1: 0})


async def measure(cells: int, repeat: int) -> dict[str, float]:
    settings = Settings()
    planner = Planner(settings, None)  # type: ignore[arg-type]  # no formula needs JavaScript
    claim = make_claim(cells)
    plan = ctxs = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        planned = await planner.plan(claim)
        plan = min(plan, time.process_time() - t0)
        tasks = [t for t in planned if isinstance(t, Task)]
        assert len(tasks) == cells, planned[0]
        action = tasks[0].steps[0].action
        cells_of = [(1, "t", "f_look", t.job.record_id, t.steps[0].credentials) for t in tasks]
        t0 = time.process_time()
        if hasattr(context, "for_cells"):
            context.for_cells(action, cells_of, settings=settings, db=None)
        else:  # a tree from before for_cells: a context built per cell
            for ws, table_id, field_id, record_id, creds in cells_of:
                context.for_action(
                    action,
                    workspace_id=ws,
                    table_id=table_id,
                    field_id=field_id,
                    record_id=record_id,
                    credentials=creds,
                    settings=settings,
                    db=None,
                )
        ctxs = min(ctxs, time.process_time() - t0)
    return {
        "plan_us_per_cell": round(plan / cells * 1e6, 1),
        "contexts_us_per_cell": round(ctxs / cells * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.cells, args.repeat))))


if __name__ == "__main__":
    main()
