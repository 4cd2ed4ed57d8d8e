"""Server CPU per request for the everyday API calls, over real HTTP (issue 11: the wire
models must not make the hot paths dearer).

Starts ``claystack serve`` (``bench/_server.py``) on a fresh SQLite file or, with
``--database postgresql://…``, a fresh schema. For each call it sends ``--rounds`` rounds of
requests one after another and reports the server process's CPU time per request (from
/proc, so the figure hardly moves with what else the machine runs) and the client's median
wall time. The table has 10 text fields, 3 views and 1,000 rows.

    me        GET  /v3/me
    table     GET  /v3/tables/{t}                          (10 fields, 3 views)
    fields    GET  /v3/tables/{t}/fields
    view      GET  /v3/tables/{t}/views/{v}/records?limit=1000
    bulk      POST /v3/tables/{t}/bulk-fetch-records        (100 ids)
    insert    POST /v3/tables/{t}/records                   (100 rows, 10 cells)
    patch     PATCH /v3/tables/{t}/records                  (100 rows, 1 cell)
    status    GET  /v3/workspaces/1/tables/{t}/fields/runstatus

Usage: ``.venv/bin/python bench/api_cpu.py [--database URL] [--rounds 5] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402 - the sibling module, importable when run as a script
    Server,
    loadavg,
    machine_info,
    tree_cpu_seconds,
)

PER_ROUND = {"me": 200, "table": 100, "fields": 100, "view": 10, "bulk": 50}
PER_ROUND |= {"insert": 20, "patch": 20, "status": 200}


def ok(r: httpx.Response) -> httpx.Response:
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
    return r


def setup(c: httpx.Client) -> dict[str, Any]:
    t = ok(c.post("/v3/tables", json={"name": "Bench", "workspaceId": 1})).json()["table"]
    fields = [
        ok(c.post(f"/v3/tables/{t['id']}/fields", json={"name": f"c{i}", "type": "text"})).json()[
            "field"
        ]["id"]
        for i in range(10)
    ]
    for i in range(2):
        ok(c.post(f"/v3/tables/{t['id']}/views", json={"name": f"v{i}"}))
    rows = [{"cells": {f: f"value {n} {f}" for f in fields}} for n in range(1000)]
    added = ok(c.post(f"/v3/tables/{t['id']}/records", json={"records": rows})).json()
    ids = [r["id"] for r in added["records"]]
    return {"table": t["id"], "view": t["firstViewId"], "fields": fields, "ids": ids}


def calls(c: httpx.Client, s: dict[str, Any]) -> dict[str, Callable[[int], httpx.Response]]:
    t, v, fields, ids = s["table"], s["view"], s["fields"], s["ids"]
    insert = orjson.dumps({"records": [{"cells": {f: "x" for f in fields}}] * 100})
    json_header = {"content-type": "application/json"}

    def patch(n: int) -> httpx.Response:
        rows = [{"id": r, "cells": {fields[0]: f"edit {n}"}} for r in ids[:100]]
        return c.patch(f"/v3/tables/{t}/records", json={"records": rows})

    return {
        "me": lambda n: c.get("/v3/me"),
        "table": lambda n: c.get(f"/v3/tables/{t}"),
        "fields": lambda n: c.get(f"/v3/tables/{t}/fields"),
        "view": lambda n: c.get(f"/v3/tables/{t}/views/{v}/records", params={"limit": 1000}),
        "bulk": lambda n: c.post(
            f"/v3/tables/{t}/bulk-fetch-records", json={"recordIds": ids[:100]}
        ),
        "insert": lambda n: c.post(f"/v3/tables/{t}/records", content=insert, headers=json_header),
        "patch": patch,
        "status": lambda n: c.get(f"/v3/workspaces/1/tables/{t}/fields/runstatus"),
    }


def measure(server: Server, call: Callable[[int], httpx.Response], n: int) -> tuple[float, float]:
    """(server CPU ms per request, median wall ms) over ``n`` requests."""
    walls = []
    cpu0 = tree_cpu_seconds(server.pid)
    for i in range(n):
        t0 = time.perf_counter()
        ok(call(i))
        walls.append(time.perf_counter() - t0)
    cpu = tree_cpu_seconds(server.pid) - cpu0
    return cpu / n * 1000, statistics.median(walls) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args()
    env = {"CLAYSTACK_RUN_WORKERS": "false"}
    out: dict[str, Any] = {"load_before": loadavg()}
    with Server(args.database, env=env) as server, server.client() as c:
        table = calls(c, setup(c))
        for name, call in table.items():
            measure(server, call, 5)  # warm caches and prepared statements
            rounds = [measure(server, call, PER_ROUND[name]) for _ in range(args.rounds)]
            cpu = statistics.median(r[0] for r in rounds)
            wall = statistics.median(r[1] for r in rounds)
            out[name] = {"server_cpu_ms": round(cpu, 3), "wall_median_ms": round(wall, 2)}
            print(f"{name:8} server CPU {cpu:7.3f} ms/request   wall median {wall:7.2f} ms")
    out["load_after"] = loadavg()
    out["backend"] = server.backend
    out["machine"] = machine_info()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
