"""Foundation benchmarks for claystack over real HTTP.

Starts ``claystack serve`` (uvicorn, access log off) on 127.0.0.1 with a fresh SQLite file
or, with ``--database postgresql://…``, a fresh private schema; this script is the client,
in its own process, talking httpx over keep-alive connections.

    a  add 100,000 rows (5 text cells) in batches of 1,000          bar >= 50,000 rows/s
    b  GET /count on a 1,000,000-row table, median of >= 200 calls   bar <= 2 ms
    c  GET /views/{gv}/records/ids of that table, median of 3        bar <= 1 s
    d  DELETE /records (no body) on a 100,000-row table              bar <= 1 s
    e  DELETE /records/{r}, median of >= 200 calls (1M-row table)    bar <= 3 ms
    f  server RSS: max of VmRSS sampled every 100 ms, and VmHWM      bar <= 400 MB

Usage: ``.venv/bin/python bench/foundation.py [--database URL] [--quick] [--only a,b]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import socket
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
    summary_ms,
)

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 1_000
N_FIELDS = 5

BARS: dict[str, tuple[str, str, float, Callable[[float, float], bool]]] = {
    # key: (label, unit, bar, passes(value, bar))
    "a": ("add 100k rows, batches of 1,000", "rows/s", 50_000, lambda v, b: v >= b),
    "b": ("GET /count on 1M rows, median", "ms", 2.0, lambda v, b: v <= b),
    "c": ("GET /records/ids of 1M rows, median of 3", "s", 1.0, lambda v, b: v <= b),
    "d": ("DELETE all of 100k rows", "s", 1.0, lambda v, b: v <= b),
    "e": ("DELETE one row, median", "ms", 3.0, lambda v, b: v <= b),
    "f": ("server RSS peak (max of sampled VmRSS, VmHWM)", "MB", 400, lambda v, b: v <= b),
}


def check(r: httpx.Response) -> httpx.Response:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:500]}")
    return r


def create_table(c: httpx.Client, name: str) -> tuple[str, str, list[str]]:
    """A new table with 5 text fields: (table id, first view id, field ids)."""
    table = check(c.post("/v3/tables", json={"name": name, "workspaceId": WORKSPACE})).json()
    table_id = table["table"]["id"]
    fields = []
    for i in range(N_FIELDS):
        body = {"name": f"Text {i + 1}", "type": "text", "typeSettings": {}}
        r = check(c.post(f"/v3/tables/{table_id}/fields", json=body))
        fields.append(r.json()["field"]["id"])
    t = check(c.get(f"/v3/tables/{table_id}")).json()["table"]
    return table_id, t["firstViewId"], fields


def batch_body(fields: list[str], start: int, size: int = BATCH) -> bytes:
    f1, f2, f3, f4, f5 = fields
    return orjson.dumps(
        {
            "records": [
                {
                    "cells": {
                        f1: f"Person {i}",
                        f2: f"person{i}@example.com",
                        f3: f"Company {i % 997}",
                        f4: f"https://example.com/p/{i}",
                        f5: f"City {i % 53}",
                    }
                }
                for i in range(start, start + size)
            ]
        }
    )


def post_batch(c: httpx.Client, table_id: str, body: bytes) -> None:
    r = c.post(
        f"/v3/tables/{table_id}/records",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    check(r)


class RawClient:
    """A minimal keep-alive HTTP/1.1 client on a bare socket: the same request as httpx
    with almost no client-side cost, to tell server time from client time."""

    def __init__(self, server: Server) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.token = server.token

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n"
        )
        self.sock.sendall(head.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.sock.recv(65536)
        header, _, body = buf.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(body) < length:
            body += self.sock.recv(65536)
        return status, body

    def close(self) -> None:
        self.sock.close()


def count(c: httpx.Client, table_id: str) -> int:
    return int(check(c.get(f"/v3/tables/{table_id}/count")).json()["tableTotalRecordsCount"])


def build_table(server: Server, name: str, rows: int, connections: int) -> tuple[str, str]:
    """A table of ``rows`` rows, added in 1,000-row batches over several connections."""
    with server.client() as c:
        table_id, view_id, fields = create_table(c, name)
    # A few distinct bodies cycled: the client should not spend its CPU on JSON.
    bodies = [batch_body(fields, k * BATCH) for k in range(16)]
    n_batches = rows // BATCH

    def worker(w: int) -> None:
        with server.client() as c:
            for k in range(w, n_batches, connections):
                post_batch(c, table_id, bodies[k % len(bodies)])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        for f in [pool.submit(worker, w) for w in range(connections)]:
            f.result()
    elapsed = time.perf_counter() - t0
    with server.client() as c:
        got = count(c, table_id)
    if got != rows:
        raise RuntimeError(f"built {got} rows, wanted {rows}")
    print(
        f"  built {name}: {rows:,} rows in {elapsed:.1f} s "
        f"({rows / elapsed:,.0f} rows/s over {connections} connections)",
        flush=True,
    )
    return table_id, view_id


class Run:
    def __init__(self, server: Server, profiler: Profiler) -> None:
        self.server = server
        self.profiler = profiler
        self.results: dict[str, dict[str, Any]] = {}

    @contextmanager
    def phase(self, key: str, name: str) -> Iterator[dict[str, Any]]:
        """Records load average, server CPU seconds and memory around a measurement."""
        info: dict[str, Any] = {"loadavg_before": loadavg()}
        cpu0 = proc_cpu_seconds(self.server.pid)
        t0 = time.perf_counter()
        with self.profiler.phase(name):
            yield info
        info["phase_wall_s"] = round(time.perf_counter() - t0, 3)
        info["server_cpu_s"] = round(proc_cpu_seconds(self.server.pid) - cpu0, 3)
        info["loadavg_after"] = loadavg()
        info["memory_after"] = self.server.memory()
        self.results[key] = info


def bench_a(run: Run, rows: int) -> str:
    """Sequential 1,000-row POSTs on one keep-alive connection; returns the table id."""
    server = run.server
    with server.client() as c:
        table_id, _, fields = create_table(c, "bench a")
        bodies = [batch_body(fields, k * BATCH) for k in range(rows // BATCH)]
        post_batch(c, table_id, batch_body(fields, 0, 10))  # warm the code path: 10 rows
        with run.phase("a", "a_add_rows") as info:
            t0 = time.perf_counter()
            per_batch = []
            for body in bodies:
                t1 = time.perf_counter()
                post_batch(c, table_id, body)
                per_batch.append(time.perf_counter() - t1)
            elapsed = time.perf_counter() - t0
        got = count(c, table_id)
        if got != rows + 10:
            raise RuntimeError(f"table has {got} rows, wanted {rows + 10}")
    info.update(
        value=rows / elapsed,
        rows=rows,
        wall_s=round(elapsed, 3),
        batch=summary_ms(per_batch),
        request_body_bytes=len(bodies[0]),
    )
    return table_id


def bench_b(run: Run, table_id: str, calls: int) -> None:
    with run.server.client() as c:
        for _ in range(20):
            count(c, table_id)
        with run.phase("b", "b_count") as info:
            samples = []
            for _ in range(calls):
                t0 = time.perf_counter()
                r = c.get(f"/v3/tables/{table_id}/count")
                samples.append(time.perf_counter() - t0)
                check(r)
    stats = summary_ms(samples)
    info.update(value=stats["median_ms"], **stats)
    # Context, not the figure: the same call from a bare-socket client, and a 404 (routing
    # and HTTP only, no auth, no database) from httpx.
    raw = RawClient(run.server)
    try:
        raw_samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            status, _ = raw.request("GET", f"/v3/tables/{table_id}/count")
            raw_samples.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"raw count -> {status}")
    finally:
        raw.close()
    info["raw_socket_client"] = summary_ms(raw_samples)
    with run.server.client() as c:
        floor = []
        for _ in range(calls):
            t0 = time.perf_counter()
            c.get("/v3/__bench_no_such_path")
            floor.append(time.perf_counter() - t0)
    info["httpx_404_floor"] = summary_ms(floor)


def bench_c(run: Run, table_id: str, view_id: str, rows: int) -> list[str]:
    url = f"/v3/tables/{table_id}/views/{view_id}/records/ids"
    with run.server.client() as c, run.phase("c", "c_record_ids") as info:
        samples = []
        body = b""
        for _ in range(3):
            t0 = time.perf_counter()
            r = c.get(url)
            body = r.content
            samples.append(time.perf_counter() - t0)
            check(r)
    ids: list[str] = orjson.loads(body)["results"]
    if len(ids) != rows:
        raise RuntimeError(f"ids returned {len(ids)}, wanted {rows}")
    ordered = sorted(samples)
    info.update(
        value=ordered[1],
        samples_s=[round(s, 4) for s in samples],
        response_bytes=len(body),
        ids=len(ids),
    )
    return ids


def bench_d(run: Run, table_id: str, rows: int) -> None:
    with run.server.client() as c:
        before = count(c, table_id)
        with run.phase("d", "d_delete_all") as info:
            t0 = time.perf_counter()
            r = c.delete(f"/v3/tables/{table_id}/records")
            elapsed = time.perf_counter() - t0
            check(r)
        after = count(c, table_id)
    deleted = r.json().get("deletedCount")
    if after != 0 or deleted != before:
        raise RuntimeError(f"delete-all left {after} rows (deletedCount {deleted} of {before})")
    info.update(value=elapsed, rows=before, deleted=deleted)


def bench_e(run: Run, table_id: str, ids: list[str], calls: int) -> None:
    rng = random.Random(42)
    victims = rng.sample(ids, calls + 10)
    with run.server.client() as c:
        before = count(c, table_id)
        for rid in victims[:10]:  # warm-up
            check(c.delete(f"/v3/tables/{table_id}/records/{rid}"))
        with run.phase("e", "e_delete_one") as info:
            samples = []
            for rid in victims[10:]:
                t0 = time.perf_counter()
                r = c.delete(f"/v3/tables/{table_id}/records/{rid}")
                samples.append(time.perf_counter() - t0)
                check(r)
        after = count(c, table_id)
    if after != before - len(victims):
        raise RuntimeError(f"count {after} after deleting {len(victims)} of {before}")
    stats = summary_ms(samples)
    info.update(value=stats["median_ms"], table_rows=before, **stats)


def fmt(key: str, value: float) -> str:
    unit = BARS[key][1]
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    return f"{value:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    ap.add_argument("--quick", action="store_true", help="10x smaller tables (smoke check)")
    ap.add_argument("--only", default="a,b,c,d,e,f", help="comma-separated subset of a-f")
    ap.add_argument("--calls", type=int, default=300, help="calls for b and e (>= 200)")
    ap.add_argument(
        "--connections", type=int, default=4, help="client connections building the 1M table"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="run py-spy on the server during each phase (results/profile-…/); slows it down",
    )
    ap.add_argument("--out", type=Path, help="JSON file to write (default: bench/results/…)")
    args = ap.parse_args(argv)

    only = {k.strip() for k in args.only.split(",") if k.strip()}
    if not only <= set(BARS):
        ap.error(f"--only takes letters from a-f, got {args.only!r}")
    scale = 10 if args.quick else 1
    small_rows = 100_000 // scale
    big_rows = 1_000_000 // scale
    backend = "postgresql" if args.database else "sqlite"
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    tag = f"foundation-{backend}{'-quick' if args.quick else ''}-{stamp}"
    RESULTS.mkdir(exist_ok=True)
    out_path = args.out or RESULTS / f"{tag}.json"

    report: dict[str, Any] = {
        "benchmark": "foundation",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "backend": backend,
        "quick": args.quick,
        "machine": machine_info(),
        "loadavg_start": loadavg(),
    }
    print(f"claystack foundation benchmark: {backend}{' (quick)' if args.quick else ''}")
    print(f"  load average at start: {report['loadavg_start']}", flush=True)

    with Server(args.database) as server:
        profiler = Profiler(server.pid, RESULTS / f"profile-{tag}" if args.profile else None)
        run = Run(server, profiler)
        print(f"  server pid {server.pid} on {server.base_url}", flush=True)
        small_table = None
        if "a" in only:
            small_table = bench_a(run, small_rows)
        if only & {"b", "c", "e"}:
            t0 = time.perf_counter()
            with profiler.phase("build_big_table"):
                big_table, big_view = build_table(
                    server, "bench big", big_rows, max(1, args.connections)
                )
            report["build_big_table_s"] = round(time.perf_counter() - t0, 2)
            report["build_big_table_rows_per_s"] = round(big_rows / (time.perf_counter() - t0))
            if "b" in only:
                bench_b(run, big_table, args.calls)
            ids: list[str] = []
            if "c" in only:
                ids = bench_c(run, big_table, big_view, big_rows)
            if "e" in only:
                if not ids:
                    with server.client() as c:
                        url = f"/v3/tables/{big_table}/views/{big_view}/records/ids"
                        ids = check(c.get(url)).json()["results"]
                bench_e(run, big_table, ids, args.calls)
        if "d" in only:
            if small_table is None:
                small_table, _ = build_table(server, "bench d", small_rows, 1)
            with server.client() as c:  # bench a left 10 warm-up rows on top
                n = count(c, small_table)
            bench_d(run, small_table, n)
        mem = server.memory()
        run.results["f"] = {"value": max(mem["rss_max_sampled_mb"], mem["vm_hwm_mb"]), **mem}
        if "f" not in only:
            run.results.pop("f")

    report["loadavg_end"] = loadavg()
    report["results"] = {}
    rows = []
    for key in sorted(run.results):
        info = run.results[key]
        label, unit, bar, passes = BARS[key]
        ok = passes(info["value"], bar)
        info.update(label=label, unit=unit, bar=bar, passed=ok)
        report["results"][key] = info
        extra = ""
        if "p95_ms" in info:
            extra = f"p95 {info['p95_ms']:.2f} ms"
        if "raw_socket_client" in info:
            extra += (
                f"; raw-socket client {info['raw_socket_client']['median_ms']:.2f} ms"
                f"; httpx 404 {info['httpx_404_floor']['median_ms']:.2f} ms"
            )
        elif key == "c":
            extra = "runs " + ", ".join(f"{s:.3f}" for s in info["samples_s"])
        elif key == "f":
            extra = f"sampled max {info['rss_max_sampled_mb']:.0f}, VmHWM {info['vm_hwm_mb']:.0f}"
        elif key == "a":
            extra = f"batch median {info['batch']['median_ms']:.1f} ms"
        if "loadavg_before" in info:
            extra += f"; load {info['loadavg_before'][0]:.2f}"
        cmp = ">=" if key == "a" else "<="
        rows.append((key, label, fmt(key, info["value"]), f"{cmp} {fmt(key, bar)}", ok, extra))

    print()
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)] if rows else [1] * 4
    head = ("", "measure", "figure", "bar")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + "  result  notes")
    for r in rows:
        cells = "  ".join(str(v).ljust(w) for v, w in zip(r[:4], widths, strict=True))
        print(f"{cells}  {'PASS' if r[4] else 'FAIL'}    {r[5]}")
    print(f"\n  load average at end: {report['loadavg_end']}")
    out_path.write_text(json.dumps(report, indent=2))
    print(f"  wrote {out_path}")
    if args.profile:
        print(f"  profiles in {RESULTS / f'profile-{tag}'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
