"""Fairness benchmark: one workspace's hostile backlog against another's small run.

Starts ``claystack serve`` (see ``_server.py``), gives the demo user a second workspace
(written straight into the server's database, as there is no API for it), then:

    A  workspace 1: ``--hostile`` formula columns (default 19) over ``--rows`` rows (default
       20) whose formula is a backtracking regular expression that never returns on these
       rows, so every cell runs into the formula time limit
    B  workspace 2, once A's columns are queued: a 5-row formula column; the time from
       adding its rows until ``runstatus`` shows no pending cell       bar <= 5 s

A is not waited for (its cells take the time limit each, a few at a time); the figures are
B's time and how many of A's cells were done by then.

Usage: ``.venv/bin/python bench/fairness.py [--database URL] [--hostile N] [--rows N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import WORKSPACE, Server, loadavg, machine_info  # noqa: E402 - sibling module

PENDING = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
HOSTILE = "/^(a+)+$/.test({{n}})"
EVIL = "a" * 40 + "!"


def check(r: httpx.Response) -> httpx.Response:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text}")
    return r


def second_workspace(server: Server) -> int:
    """A workspace owned by the demo user (id 1), made in the server's database."""
    from claystack.server.config import Settings
    from claystack.server.services import accounts
    from claystack.server.storage.engine import Database

    settings = Settings(data_dir=server.tmp, database_url=server.database or "")
    db = Database(settings.resolved_database_url, schema=server.schema)

    async def make() -> int:
        try:
            async with db.transaction(write=True) as conn:
                return await accounts.create_workspace(conn, name="Fair", owner_id=1, credits=1000)
        finally:
            await db.engine.dispose()

    return asyncio.run(make())


def table(c: httpx.Client, workspace: int, name: str) -> tuple[str, str]:
    t = check(c.post("/v3/tables", json={"name": name, "workspaceId": workspace})).json()
    tid = t["table"]["id"]
    n = check(c.post(f"/v3/tables/{tid}/fields", json={"name": "n", "type": "text"}))
    return tid, n.json()["field"]["id"]


def formula(c: httpx.Client, tid: str, name: str, text: str) -> str:
    body = {"name": name, "type": "formula", "typeSettings": {"formulaText": text}}
    return str(check(c.post(f"/v3/tables/{tid}/fields", json=body)).json()["field"]["id"])


def counts(c: httpx.Client, workspace: int, tid: str) -> dict[str, int]:
    url = f"/v3/workspaces/{workspace}/tables/{tid}/fields/runstatus"
    total: dict[str, int] = {}
    for rows in check(c.get(url)).json()["statusCountsByField"].values():
        for r in rows:
            total[r["status"]] = total.get(r["status"], 0) + r["count"]
    return total


def bench(server: Server, hostile: int, rows: int, timeout: float) -> dict[str, Any]:
    other = second_workspace(server)
    with server.client() as c:
        a, n = table(c, WORKSPACE, "Hostile")
        for i in range(hostile):
            formula(c, a, f"H{i}", HOSTILE.replace("n", n))
        check(c.post(f"/v3/tables/{a}/records", json={"records": [{"cells": {n: EVIL}}] * rows}))
        b, bn = table(c, other, "Small")
        fid = formula(c, b, "Up", "{{" + bn + "}}.toUpperCase()")
        started = time.perf_counter()
        values = [{"cells": {bn: f"b{i}"}} for i in range(5)]
        check(c.post(f"/v3/tables/{b}/records", json={"records": values}))
        while True:
            done = counts(c, other, b)
            if not PENDING & done.keys() or time.perf_counter() - started > timeout:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        backlog = counts(c, WORKSPACE, a)
    return {
        "hostile_columns": hostile,
        "hostile_rows": rows,
        "small_run": {"rows": 5, "statuses": done, "seconds": round(seconds, 3), "field": fid},
        "hostile_cells_by_then": backlog,
        "bar": "<= 5 s",
        "pass": seconds <= 5 and done == {"SUCCESS": 5},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    parser.add_argument("--hostile", type=int, default=19, help="hostile formula columns")
    parser.add_argument("--rows", type=int, default=20, help="rows of the hostile table")
    parser.add_argument("--timeout", type=float, default=120, help="give up on B after this")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine_info(), "loadavg_start": loadavg()}
    with Server(args.database) as server:
        results["backend"] = server.backend
        results["fairness"] = bench(server, args.hostile, args.rows, args.timeout)
    results["loadavg_end"] = loadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
