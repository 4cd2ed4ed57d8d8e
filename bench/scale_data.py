"""The data side of scale-out (issue 14), over real HTTP against a `claystack serve` process.

    a  runstatus after an edit on a 1,000,000-row table, median     bar <= 5 ms
    b  every credit report type at 1,000,000 ledger entries, median bar <= 200 ms each
       (90 days; 50 tables x 4 fields, each field one integration, each table one user)
    c  insert 100,000 rows of 5 text cells, batches of 1,000        bar >= 40,000 rows/s
    d  a formula column filled on the 1,000,000-row table of a       bar >= 30,000 cells/s

The 1,000,000 rows and ledger entries are written with SQL straight into the server's
schema (the API would take minutes); only the operation measured is timed.

Usage: ``.venv/bin/python bench/scale_data.py --database postgresql://… [--rows N]
[--entries N] [--only a,b,c,d] [--edits 200]``. PostgreSQL only: the generators use
``generate_series``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402 - the sibling module, importable when run as a script
    WORKSPACE,
    Server,
    loadavg,
    machine_info,
    pg_backend_pids,
    pids_cpu_seconds,
    summary_ms,
    tree_cpu_seconds,
)

PENDING = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
DAY = 86_400_000
RESULTS = Path(__file__).resolve().parent / "results"


def check(r: httpx.Response) -> httpx.Response:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text}")
    return r


def sql(server: Server, statement: str, *args: Any) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(
            server.database, server_settings={"search_path": server.schema}
        )
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    asyncio.run(run())


def big_table(server: Server, c: httpx.Client, rows: int) -> tuple[str, str, str]:
    """A table of ``rows`` rows: a text field ``n`` and a formula field ``F`` already
    computed (SUCCESS) on every row but one in a hundred (ERROR)."""
    t = check(c.post("/v3/tables", json={"name": "Big", "workspaceId": WORKSPACE})).json()["table"]
    tid = t["id"]
    n = check(c.post(f"/v3/tables/{tid}/fields", json={"name": "n", "type": "text"}))
    nid = n.json()["field"]["id"]
    body = {"name": "F", "type": "formula", "typeSettings": {"formulaText": "{{" + nid + "}} + 1"}}
    fid = check(c.post(f"/v3/tables/{tid}/fields", json=body)).json()["field"]["id"]
    for start in range(0, rows, 200_000):
        sql(
            server,
            "INSERT INTO records (table_id, id, cells, meta, created_at, updated_at) "
            "SELECT $1, 'r_' || i, "
            "jsonb_build_object($2::text, 'v' || i, $3::text, 'v' || i || '1'), "
            "jsonb_build_object($3::text, jsonb_build_object('status', "
            "CASE WHEN i % 100 = 0 THEN 'ERROR' ELSE 'SUCCESS' END)), 0, 0 "
            "FROM generate_series($4::bigint, $5::bigint) i",
            tid,
            nid,
            fid,
            start,
            min(rows, start + 200_000) - 1,
        )
    sql(server, "UPDATE tables SET row_count = $2 WHERE id = $1", tid, rows)
    return tid, nid, fid


def bench_runstatus(c: httpx.Client, tid: str, nid: str, rows: int, edits: int) -> dict[str, Any]:
    path = f"/v3/workspaces/{WORKSPACE}/tables/{tid}/fields/runstatus"
    samples, baseline = [], []
    for i in range(edits):
        rid = f"r_{i * 4999 % rows}"
        body = {"records": [{"id": rid, "cells": {nid: f"edit{i}"}}]}
        check(c.patch(f"/v3/tables/{tid}/records", content=orjson.dumps(body)))
        t0 = time.perf_counter()
        check(c.get(path))
        samples.append(time.perf_counter() - t0)
        # The same client's cheapest authenticated request, for how busy the machine is.
        t0 = time.perf_counter()
        check(c.get("/v3/me"))
        baseline.append(time.perf_counter() - t0)
    out = summary_ms(samples)
    out["baseline_get_me_median_ms"] = round(statistics.median(baseline) * 1000, 2)
    out["bar"] = "median <= 5 ms"
    out["pass"] = out["median_ms"] <= 5
    return out


def bench_reports(server: Server, c: httpx.Client, entries: int) -> dict[str, Any]:
    now = int(time.time() * 1000)
    body = {"name": "Charged", "workspaceId": WORKSPACE}
    real = check(c.post("/v3/tables", json=body)).json()["table"]["id"]
    for start in range(0, entries, 250_000):
        sql(
            server,
            "INSERT INTO credit_ledger (workspace_id, amount, kind, user_id, integration, "
            "action_key, table_id, field_id, record_id, actions, idempotency_key, created_at) "
            "SELECT 1, -((i * 7919) % 4), 'charge', 1 + (f / 4) % 20, 'int-' || f % 5, 'a', "
            "CASE WHEN f / 4 = 3 THEN $6 ELSE 't_' || f / 4 END, 'f_' || f, 'r_' || i, 1, "
            "'k' || i, $1::bigint - 90 * $2::bigint + i * (90 * $2::bigint / $3::bigint) "
            "FROM (SELECT i, (i * 11) % 200 AS f FROM generate_series($4::bigint, $5::bigint) i) g",
            now,
            DAY,
            entries,
            start,
            min(entries, start + 250_000) - 1,
            real,
        )
    week = {"timeRange[startTime]": str(now - 7 * DAY), "timeRange[endTime]": str(now)}
    cases: list[tuple[str, str, dict[str, str]]] = [
        ("workspace, all time", "/v3/workspaces/1/credits", {}),
        ("workspace, all time, first 100 rows", "/v3/workspaces/1/credits", {"limit": "100"}),
        ("workspace, one week (ms bounds)", "/v3/workspaces/1/credits", week),
        ("integration, one week", "/v3/integrations/int-1/credits/report", week),
        ("integration usage", "/v3/integrations/int-1/credits", {}),
        ("user", "/v3/users/1/credits", {}),
        ("table", "/v3/credit-reporting/1/creditReportType/table", {}),
        ("field", "/v3/credit-reporting/1/creditReportType/field", {}),
        ("api, first 100 rows", "/v3/credit-reporting/1/creditReportType/api", {"limit": "100"}),
        ("one table by day", f"/v3/realtime-credit-usage/1/table/{real}/time", {}),
        ("one table by column", f"/v3/realtime-credit-usage/1/table/{real}/column", {}),
    ]
    out: dict[str, Any] = {}
    for label, path, params in cases:
        samples = []
        for _ in range(7):
            t0 = time.perf_counter()
            check(c.get(path, params=params))
            samples.append(time.perf_counter() - t0)
        median = statistics.median(samples) * 1000
        body = c.get(path, params=params).json()
        rows = len(body["rows"] if isinstance(body, dict) else body)
        out[label] = {"median_ms": round(median, 1), "rows": rows, "pass": median <= 200}
    return out


def bench_insert(server: Server, c: httpx.Client, rows: int) -> dict[str, Any]:
    t = check(c.post("/v3/tables", json={"name": "Ins", "workspaceId": WORKSPACE})).json()["table"]
    tid = t["id"]
    ids = [
        check(c.post(f"/v3/tables/{tid}/fields", json={"name": f"c{k}", "type": "text"})).json()[
            "field"
        ]["id"]
        for k in range(5)
    ]
    batches = []
    assert server.database
    backends = pg_backend_pids(server.database, server.pid)
    cpu0 = (time.process_time(), tree_cpu_seconds(server.pid), pids_cpu_seconds(backends))
    t0 = time.perf_counter()
    for start in range(0, rows, 1000):
        recs = [{"cells": {f: f"value {i} {f}" for f in ids}} for i in range(start, start + 1000)]
        b0 = time.perf_counter()
        check(c.post(f"/v3/tables/{tid}/records", content=orjson.dumps({"records": recs})))
        batches.append(time.perf_counter() - b0)
    seconds = time.perf_counter() - t0
    # backends the pool opened during the run count from zero
    backends = sorted(set(backends) | set(pg_backend_pids(server.database, server.pid)))
    cpu1 = (time.process_time(), tree_cpu_seconds(server.pid), pids_cpu_seconds(backends))
    per_batch = [round((b - a) * 1000 / (rows / 1000), 2) for a, b in zip(cpu0, cpu1, strict=True)]
    return {
        "rows": rows,
        "rows_per_s": round(rows / seconds),
        "batch_median_ms": round(statistics.median(batches) * 1000, 1),
        "cpu_ms_per_batch": dict(zip(("client", "server", "postgresql"), per_batch, strict=True)),
        "pass": rows / seconds >= 40_000,
    }


def bench_formula(server: Server, c: httpx.Client, tid: str, nid: str, rows: int) -> dict[str, Any]:
    formula = "{{" + nid + '}}.toUpperCase() + "!"'
    assert server.database
    backends = pg_backend_pids(server.database, server.pid)
    cpu0 = (tree_cpu_seconds(server.pid), pids_cpu_seconds(backends))
    t0 = time.perf_counter()
    body = {"name": "G", "type": "formula", "typeSettings": {"formulaText": formula}}
    fid = check(c.post(f"/v3/tables/{tid}/fields", json=body)).json()["field"]["id"]
    create_s = time.perf_counter() - t0
    path = f"/v3/workspaces/{WORKSPACE}/tables/{tid}/fields/runstatus"
    while True:
        data = check(c.get(path)).json()["statusCountsByField"].get(fid, [])
        counts = {r["status"]: r["count"] for r in data}
        if counts and not PENDING & counts.keys():
            break
        time.sleep(0.5)
    seconds = time.perf_counter() - t0
    backends = sorted(set(backends) | set(pg_backend_pids(server.database, server.pid)))
    cpu1 = (tree_cpu_seconds(server.pid), pids_cpu_seconds(backends))
    return {
        "rows": rows,
        "cpu_s": {
            "server_and_formula_workers": round(cpu1[0] - cpu0[0], 1),
            "postgresql": round(cpu1[1] - cpu0[1], 1),
        },
        "create_field_request_s": round(create_s, 2),
        "seconds": round(seconds, 1),
        "cells_per_s": round(rows / seconds),
        "statuses": counts,
        "pass": rows / seconds >= 30_000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="postgresql://…")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--only", default="a,b,c,d")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    phases = set(args.only.split(","))
    result: dict[str, Any] = {"machine": machine_info(), "load_start": loadavg()}
    with Server(args.database) as server, server.client() as c:
        if phases & {"a", "d"}:
            t0 = time.perf_counter()
            tid, nid, _ = big_table(server, c, args.rows)
            result["setup_table_s"] = round(time.perf_counter() - t0, 1)
            if "a" in phases:
                result["a_runstatus_after_edit"] = bench_runstatus(
                    c, tid, nid, args.rows, args.edits
                )
                print("a", result["a_runstatus_after_edit"], flush=True)
        if "b" in phases:
            result["b_credit_reports"] = bench_reports(server, c, args.entries)
            print("b", result["b_credit_reports"], flush=True)
        if "c" in phases:
            result["c_insert"] = bench_insert(server, c, 100_000)
            print("c", result["c_insert"], flush=True)
        if "d" in phases:
            result["d_formula_fill"] = bench_formula(server, c, tid, nid, args.rows)
            print("d", result["d_formula_fill"], flush=True)
    result["load_end"] = loadavg()
    out = args.out or RESULTS / f"scale_data-{int(time.time())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
