"""New computed columns on big tables, over real HTTP (issue 13).

    a  a formula column added to a 1,000,000-row table, computed with no run call
       (auto-run on) until runstatus shows no pending cell          bar <= 30 s (>= 35,000 cells/s)
    b  a lookup-row-in-other-table column over 100,000 rows against a 100,000-row table,
       run with PATCH /run until no cell is pending                 bar >= 5,000 cells/s

Usage: ``.venv/bin/python bench/columns.py [--database URL] [--quick] [--only a,b]
[--env CLAYSTACK_X=y] [--profile DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402 - the sibling module, importable when run as a script
    WORKSPACE,
    Profiler,
    Server,
    loadavg,
    machine_info,
    proc_cpu_seconds,
    tree_cpu_seconds,
)

PENDING = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
BATCH = 5_000
RESULTS = Path(__file__).resolve().parent / "results"


def check(r: httpx.Response) -> httpx.Response:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text}")
    return r


def make_table(
    c: httpx.Client, name: str, columns: tuple[str, ...], rows: int, value: Any
) -> tuple[str, str, dict[str, str]]:
    t = check(c.post("/v3/tables", json={"name": name, "workspaceId": WORKSPACE})).json()["table"]
    tid = t["id"]
    ids = {}
    for col in columns:
        r = check(c.post(f"/v3/tables/{tid}/fields", json={"name": col, "type": "text"}))
        ids[col] = r.json()["field"]["id"]
    for start in range(0, rows, BATCH):
        recs = [
            {"cells": {ids[col]: value(col, i) for col in columns}}
            for i in range(start, min(rows, start + BATCH))
        ]
        check(c.post(f"/v3/tables/{tid}/records", content=orjson.dumps({"records": recs})))
    return tid, t["firstViewId"], ids


def wait(c: httpx.Client, tid: str, fid: str) -> tuple[dict[str, int], int]:
    polls = 0
    while True:
        data = check(c.get(f"/v3/workspaces/{WORKSPACE}/tables/{tid}/fields/runstatus")).json()
        polls += 1
        counts = {r["status"]: r["count"] for r in data["statusCountsByField"].get(fid, [])}
        if counts and not PENDING & counts.keys():
            return counts, polls
        time.sleep(0.5)  # the SDK's runs.wait default


def bench_formula(server: Server, rows: int, profiler: Profiler) -> dict[str, Any]:
    with server.client() as c:
        t0 = time.perf_counter()
        tid, _, ids = make_table(c, "Formula fill", ("name",), rows, lambda _, i: f"p{i}")
        insert_s = time.perf_counter() - t0
        formula = "{{" + ids["name"] + '}}.toUpperCase() + "!"'
        cpu0, tree0 = proc_cpu_seconds(server.pid), tree_cpu_seconds(server.pid)
        with profiler.phase("formula_fill"):
            t0 = time.perf_counter()
            r = check(
                c.post(
                    f"/v3/tables/{tid}/fields",
                    json={"name": "F", "type": "text", "typeSettings": {"formulaText": formula}},
                )
            )
            create_s = time.perf_counter() - t0
            fid = r.json()["field"]["id"]
            counts, polls = wait(c, tid, fid)
            seconds = time.perf_counter() - t0
    return {
        "rows": rows,
        "insert_s": round(insert_s, 1),
        "create_field_request_s": round(create_s, 2),
        "seconds": round(seconds, 2),
        "cells_per_s": round(rows / seconds),
        "server_cpu_s": round(proc_cpu_seconds(server.pid) - cpu0, 1),
        "with_formula_workers_cpu_s": round(tree_cpu_seconds(server.pid) - tree0, 1),
        "statuses": counts,
        "polls": polls,
        "bar": "<= 30 s for 1,000,000 rows (>= 35,000 cells/s)",
        "pass": rows / seconds >= 35_000 and counts == {"SUCCESS": rows},
    }


def bench_lookup(server: Server, rows: int, profiler: Profiler) -> dict[str, Any]:
    with server.client() as c:
        target, _, tf = make_table(
            c,
            "Companies",
            ("Domain", "Company"),
            rows,
            lambda col, i: f"d{i}.com" if col == "Domain" else f"Company {i}",
        )
        tid, view, pf = make_table(
            c, "People", ("Domain",), rows, lambda _, i: f"d{(i * 7919) % rows}.com"
        )
        settings = {
            "actionKey": "lookup-row-in-other-table",
            "actionPackageId": "4299091f-3cd3-4d68-b198-0143575f471d",
            "inputsBinding": [
                {"name": "tableId", "formulaText": f'"{target}"'},
                {"name": "targetColumn", "formulaText": '"Domain"'},
                {"name": "rowValue", "formulaText": "{{" + pf["Domain"] + "}}"},
            ],
        }
        r = check(
            c.post(
                f"/v3/tables/{tid}/fields",
                json={"name": "Company", "type": "action", "typeSettings": settings},
            )
        )
        fid = r.json()["field"]["id"]
        cpu0, tree0 = proc_cpu_seconds(server.pid), tree_cpu_seconds(server.pid)
        with profiler.phase("lookup"):
            t0 = time.perf_counter()
            body = {"fieldIds": [fid], "runRecords": {"viewIdTopRecords": {"viewId": view}}}
            check(c.patch(f"/v3/tables/{tid}/run", json=body))
            run_s = time.perf_counter() - t0
            counts, polls = wait(c, tid, fid)
            seconds = time.perf_counter() - t0
    return {
        "rows": rows,
        "target_rows": rows,
        "run_request_s": round(run_s, 2),
        "seconds": round(seconds, 2),
        "cells_per_s": round(rows / seconds),
        "server_cpu_s": round(proc_cpu_seconds(server.pid) - cpu0, 1),
        "with_formula_workers_cpu_s": round(tree_cpu_seconds(server.pid) - tree0, 1),
        "statuses": counts,
        "polls": polls,
        "bar": ">= 5,000 cells/s",
        "pass": rows / seconds >= 5_000 and counts == {"SUCCESS": rows},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--only", default="a,b", help="comma-separated phases (a, b)")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of each phase here")
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE for the server (repeatable)"
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    only = set(args.only.split(","))
    results: dict[str, Any] = {"machine": machine_info(), "loadavg_start": loadavg()}
    env = dict(item.split("=", 1) for item in args.env)
    with Server(args.database, env=env) as server:
        results["backend"] = server.backend
        profiler = Profiler(server.pid, args.profile)
        if "a" in only:
            results["a_formula_fill"] = bench_formula(server, 1_000_000 // scale, profiler)
            print(json.dumps({"a_formula_fill": results["a_formula_fill"]}), flush=True)
        if "b" in only:
            results["b_lookup"] = bench_lookup(server, 100_000 // scale, profiler)
            print(json.dumps({"b_lookup": results["b_lookup"]}), flush=True)
    results["loadavg_end"] = loadavg()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"columns-{results['backend']}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
