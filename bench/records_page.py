"""The records hot paths over real HTTP, for the cost of answering with wire models.

    p  GET /views/{gv}/records?limit=1000 (1,000 rows of 5 text cells), median of N calls
    w  POST /records with 1,000 rows (the same cells), median of N/10 calls
    o  GET /records/{r} (one row, a ``wire.Record`` built per answer), median of N calls

Reports wall time (median, p90) and the server's CPU per call (user + system of the
``claystack serve`` process over the phase), the load average beside every figure.

Usage: ``.venv/bin/python bench/records_page.py [--database URL] [--calls 200]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import Server, loadavg, machine_info, proc_cpu_seconds  # noqa: E402
from foundation import batch_body, check, create_table  # noqa: E402


def _phase(server: Server, label: str, calls: int, call: object) -> dict[str, object]:
    assert server.proc is not None and callable(call)
    times: list[float] = []
    cpu0 = proc_cpu_seconds(server.proc.pid)
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    cpu = proc_cpu_seconds(server.proc.pid) - cpu0
    times.sort()
    out = {
        "phase": label,
        "calls": calls,
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p90_ms": round(times[int(len(times) * 0.9)] * 1000, 2),
        "server_cpu_ms_per_call": round(cpu / calls * 1000, 2),
        "loadavg": loadavg(),
    }
    print(json.dumps(out), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps({"machine": machine_info()}), flush=True)
    with Server(args.database) as server, server.client() as c:
        table_id, view_id, fields = create_table(c, "Page")
        body = batch_body(fields, 0)
        check(c.post(f"/v3/tables/{table_id}/records", content=body))
        page = f"/v3/tables/{table_id}/views/{view_id}/records?limit=1000"
        first = check(c.get(page)).json()["results"][0]["id"]

        def get_page() -> None:
            assert len(check(c.get(page)).content) > 100_000

        def add_rows() -> None:
            check(
                c.post(
                    f"/v3/tables/{table_id}/records",
                    content=body,
                    headers={"content-type": "application/json"},
                )
            )

        def get_one() -> None:
            check(c.get(f"/v3/tables/{table_id}/records/{first}"))

        for _ in range(5):  # warm up
            get_page()
            get_one()
        _phase(server, "p_page_1000", args.calls, get_page)
        _phase(server, "w_add_1000", max(args.calls // 10, 5), add_rows)
        _phase(server, "o_one_record", args.calls, get_one)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
