"""Enrichment engine benchmarks over real HTTP.

Starts ``claystack serve`` (see ``_server.py``) with outbound HTTP to 127.0.0.1 allowed and
``CLAYSTACK_RUN_CONCURRENCY`` (default 64), plus a local provider in its own process
(uvicorn, answers every request after 20 ms). This script is the client.

    a  10,000 rows x an http-api-v2 column against the 20 ms provider   bar >= 1,000 cells/s
    b  a formula column over 100,000 rows                                bar >= 20,000 cells/s
    c  server RSS: max of VmRSS sampled every 100 ms, and VmHWM          bar <= 400 MB

Timing runs from the ``PATCH /run`` request until ``runstatus`` shows no pending cell.

Usage: ``.venv/bin/python bench/enrichment.py [--database URL] [--quick] [--only a,b]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
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
    free_port,
    loadavg,
    machine_info,
    proc_cpu_seconds,
)

PENDING = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
BATCH = 1_000


def provider_main(port: int) -> None:
    """A provider answering ``{"name": q}`` after 20 ms, for as many requests as come."""
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = scope.get("query_string", b"").decode()
        q = query.partition("q=")[2].partition("&")[0]
        await asyncio.sleep(0.02)
        body = orjson.dumps({"name": q.upper()})
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def check(r: httpx.Response) -> httpx.Response:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text}")
    return r


def make_table(c: httpx.Client, name: str, rows: int) -> tuple[str, str, str]:
    t = check(c.post("/v3/tables", json={"name": name, "workspaceId": WORKSPACE})).json()["table"]
    tid = t["id"]
    check(c.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}}))
    fid = check(c.post(f"/v3/tables/{tid}/fields", json={"name": "name", "type": "text"}))
    name = fid.json()["field"]["id"]
    for start in range(0, rows, BATCH):
        recs = [{"cells": {name: f"p{i}"}} for i in range(start, min(rows, start + BATCH))]
        check(c.post(f"/v3/tables/{tid}/records", content=orjson.dumps({"records": recs})))
    return tid, t["firstViewId"], name


def run_and_wait(
    c: httpx.Client, server: Server, tid: str, view: str, fid: str, rows: int
) -> dict[str, Any]:
    cpu0 = proc_cpu_seconds(server.pid)
    t0 = time.perf_counter()
    body = {"fieldIds": [fid], "runRecords": {"viewIdTopRecords": {"viewId": view}}}
    started = check(c.patch(f"/v3/tables/{tid}/run", json=body)).json()
    queued_s = time.perf_counter() - t0
    polls: list[float] = []
    while True:
        p0 = time.perf_counter()
        data = check(c.get(f"/v3/workspaces/{WORKSPACE}/tables/{tid}/fields/runstatus")).json()
        polls.append(time.perf_counter() - p0)
        counts = {r["status"]: r["count"] for r in data["statusCountsByField"].get(fid, [])}
        if not PENDING & counts.keys():
            break
        time.sleep(0.5)  # the SDK's runs.wait default
    seconds = time.perf_counter() - t0
    return {
        "rows": rows,
        "recordCount": started["recordCount"],
        "statuses": counts,
        "run_request_s": round(queued_s, 3),
        "seconds": round(seconds, 3),
        "cells_per_s": round(rows / seconds, 1),
        "server_cpu_s": round(proc_cpu_seconds(server.pid) - cpu0, 2),
        "runstatus_polls": len(polls),
        "runstatus_median_ms": round(sorted(polls)[len(polls) // 2] * 1000, 1),
    }


def bench_http(server: Server, provider_url: str, rows: int) -> dict[str, Any]:
    with server.client() as c:
        tid, view, name = make_table(c, "HTTP bench", rows)
        settings = {
            "actionPackageId": "http-api-v2",
            "actionKey": "http-api-v2",
            "inputsBinding": [
                {"name": "url", "formulaText": f'"{provider_url}/person?q=" + {{{{{name}}}}}'},
                {"name": "fieldPaths", "formulaText": '["name"]'},
            ],
        }
        field = check(
            c.post(
                f"/v3/tables/{tid}/fields",
                json={"name": "Lookup", "type": "action", "typeSettings": settings},
            )
        ).json()["field"]["id"]
        out = run_and_wait(c, server, tid, view, field, rows)
        out["bar"] = ">= 1000 cells/s"
        out["pass"] = out["cells_per_s"] >= 1000 and out["statuses"] == {"SUCCESS": rows}
        return out


def bench_formula(server: Server, rows: int) -> dict[str, Any]:
    with server.client() as c:
        tid, view, name = make_table(c, "Formula bench", rows)
        formula = "{{" + name + '}}.toUpperCase() + "!"'
        field = check(
            c.post(
                f"/v3/tables/{tid}/fields",
                json={"name": "F", "type": "formula", "typeSettings": {"formulaText": formula}},
            )
        ).json()["field"]["id"]
        out = run_and_wait(c, server, tid, view, field, rows)
        out["bar"] = ">= 20000 cells/s"
        out["pass"] = out["cells_per_s"] >= 20_000 and out["statuses"] == {"SUCCESS": rows}
        return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--provider":
        provider_main(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--only", default="a,b", help="comma-separated phases (a, b)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of each phase here")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    only = set(args.only.split(","))

    port = free_port()
    provider = subprocess.Popen(
        [sys.executable, __file__, "--provider", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    provider_url = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"machine": machine_info(), "loadavg_start": loadavg()}
    try:
        for _ in range(100):
            try:
                httpx.get(provider_url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        env = {
            "CLAYSTACK_HTTP_ALLOW_PRIVATE": "true",
            "CLAYSTACK_RUN_CONCURRENCY": str(args.concurrency),
        }
        with Server(args.database, env=env) as server:
            results["backend"] = server.backend
            results["concurrency"] = args.concurrency
            profiler = Profiler(server.pid, args.profile)
            if "a" in only:
                with profiler.phase("a_http_api"):
                    results["a_http_api"] = bench_http(server, provider_url, 10_000 // scale)
                print(json.dumps({"a_http_api": results["a_http_api"]}), flush=True)
            if "b" in only:
                with profiler.phase("b_formula"):
                    results["b_formula"] = bench_formula(server, 100_000 // scale)
                print(json.dumps({"b_formula": results["b_formula"]}), flush=True)
            mem = server.memory()
            results["c_rss"] = {
                **mem,
                "bar": "<= 400 MB",
                "pass": max(mem["rss_max_sampled_mb"], mem["vm_hwm_mb"]) <= 400,
            }
    finally:
        provider.terminate()
        provider.wait(timeout=10)
    results["loadavg_end"] = loadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
