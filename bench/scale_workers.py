"""HTTP-column throughput as ``claystack worker`` processes are added (PostgreSQL).

One ``claystack serve --no-engine`` (the API), then for each count in ``--workers`` a fresh
database with that many ``claystack worker --concurrency C`` processes, and a run of an
``http-api-v2`` column over ``--rows`` rows against a local provider (its own process) that
answers every request after ``--delay-ms`` (default 50 ms). Timing runs from the
``PATCH /run`` request until ``runstatus`` shows no pending cell.

    .venv/bin/python -m bench.scale_workers --database postgresql://127.0.0.1:5432/test
    .venv/bin/python -m bench.scale_workers --database … --workers 1,2,4 --rows 6000

With C actions in flight per worker, a 50 ms provider caps one worker at C x 20 cells/s;
past that the machine's CPU (workers, API, PostgreSQL and the provider share it) is the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from ._server import VENV_BIN, Server, free_port, loadavg, machine_info, tree_cpu_seconds
from .enrichment import check, make_table, run_and_wait


def provider_main(port: int, delay_ms: int) -> None:
    """A provider answering ``{"name": q}`` after ``delay_ms``."""
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        q = scope.get("query_string", b"").decode().partition("q=")[2].partition("&")[0]
        await asyncio.sleep(delay_ms / 1000)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps({"name": q.upper()})})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_workers(server: Server, n: int, concurrency: int) -> list[subprocess.Popen[bytes]]:
    """n workers on the server's database; returns once each says it is running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    env |= {
        "CLAYSTACK_DATA_DIR": str(server.tmp),
        "CLAYSTACK_DATABASE_URL": server.database or "",
        "CLAYSTACK_DATABASE_SCHEMA": server.schema,
        "CLAYSTACK_HTTP_ALLOW_PRIVATE": "true",
    }
    cmd = [str(VENV_BIN / "claystack"), "worker", "--concurrency", str(concurrency)]
    procs = [subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE) for _ in range(n)]
    for p in procs:
        assert p.stderr is not None
        for line in p.stderr:
            if b"claystack worker: running" in line:
                break
        else:
            raise RuntimeError(f"a worker exited: {p.wait()}")
    return procs


def one(database: str, provider_url: str, workers: int, rows: int, conc: int) -> dict[str, Any]:
    with Server(database, args=["--no-engine"]) as server:
        procs = start_workers(server, workers, conc)
        try:
            with server.client() as c:
                tid, view, name = make_table(c, f"Scale {workers}", rows)
                settings = {
                    "actionPackageId": "http-api-v2",
                    "actionKey": "http-api-v2",
                    "inputsBinding": [
                        {"name": "url", "formulaText": f'"{provider_url}/p?q=" + {{{{{name}}}}}'},
                        {"name": "fieldPaths", "formulaText": '["name"]'},
                    ],
                }
                body = {"name": "Lookup", "type": "action", "typeSettings": settings}
                fid = check(c.post(f"/v3/tables/{tid}/fields", json=body)).json()["field"]["id"]
                cpu0 = sum(tree_cpu_seconds(p.pid) for p in procs)
                out = run_and_wait(c, server, tid, view, fid, rows)
                out["workers_cpu_s"] = round(sum(tree_cpu_seconds(p.pid) for p in procs) - cpu0, 2)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=60)
    out["workers"] = workers
    out["ceiling_cells_per_s"] = round(workers * conc * 1000 / DELAY[0], 1)
    return out


DELAY = [50]


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--provider":
        provider_main(int(sys.argv[2]), int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database", required=True, help="postgresql://…")
    ap.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    ap.add_argument("--rows", type=int, default=4_000)
    ap.add_argument("--concurrency", type=int, default=32, help="per worker")
    ap.add_argument("--delay-ms", type=int, default=50)
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args()
    DELAY[0] = args.delay_ms
    port = free_port()
    provider = subprocess.Popen(
        [sys.executable, "-m", "bench.scale_workers", "--provider", str(port), str(args.delay_ms)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"machine": machine_info(), "loadavg_start": loadavg(), "runs": []}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for n in (int(x) for x in args.workers.split(",")):
            run = one(args.database, url, n, args.rows, args.concurrency)
            run["loadavg"] = loadavg()
            result["runs"].append(run)
            print(json.dumps(run), flush=True)
    finally:
        provider.terminate()
        provider.wait(timeout=10)
    result["loadavg_end"] = loadavg()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
