"""Webhook ingestion over real HTTP: throughput, latency and a no-lost-rows check.

    .venv/bin/python -m bench.webhooks                 # throughput: 16 clients, 10 s
    .venv/bin/python -m bench.webhooks --check         # 16 senders x 20,000 rows, verified
    .venv/bin/python -m bench.webhooks --check --idempotent   # same, with keys and retries

The server is ``claystack serve`` in its own process (``bench/_server.py``) with default
settings (webhook limits off). Clients are ``--procs`` processes of ``--clients/--procs``
threads, each holding one keep-alive connection (a minimal HTTP/1.1 client: the client side
should cost as little CPU as possible, the machine is small).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._server import Profiler, Server, loadavg, machine_info, percentile

WARMUP_S = 1.0


class RawConn:
    """A keep-alive HTTP/1.1 connection that sends prebuilt requests and parses just the
    status line and Content-Length: the client should cost far less CPU than the server."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port, parts.path
        self.sock = socket.create_connection((self.host, self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def post(self, body: bytes, key: str | None = None) -> tuple[int, bytes]:
        extra = f"Idempotency-Key: {key}\r\n" if key is not None else ""
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        )
        self.sock.sendall(head.encode() + body)
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        header, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buf) < length:
            self._recv()
        payload, self.buf = self.buf[:length], self.buf[length:]
        return status, payload

    def _recv(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def close(self) -> None:
        self.sock.close()


# -- throughput ----------------------------------------------------------------------------


def _throughput_proc(url: str, threads: int, start_at: float, stop_at: float, out: Any) -> None:
    lock = threading.Lock()
    stats: dict[str, Any] = {"ok": 0, "other": 0, "lat": []}

    def run(tid: int) -> None:
        conn = RawConn(url)
        ok = other = 0
        lat: list[float] = []
        n = 0
        while True:
            now = time.monotonic()
            if now >= stop_at:
                break
            body = b'{"email":"user%d@example.com","company":"Acme","n":%d}' % (tid, n)
            n += 1
            t0 = time.perf_counter()
            status, _ = conn.post(body)
            dt = time.perf_counter() - t0
            if now >= start_at:
                if 200 <= status < 300:
                    ok += 1
                    lat.append(dt)
                else:
                    other += 1
        conn.close()
        with lock:
            stats["ok"] += ok
            stats["other"] += other
            stats["lat"].extend(lat)

    cpu0 = time.process_time()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stats["cpu_s"] = time.process_time() - cpu0
    out.put(stats)


def throughput(
    server: Server, url: str, clients: int, procs: int, seconds: float
) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.monotonic() + WARMUP_S
    stop_at = start_at + seconds
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    ps = [
        ctx.Process(target=_throughput_proc, args=(url, n, start_at, stop_at, out))
        for n in per
        if n
    ]
    cpu0 = _cpu(server.pid)
    for p in ps:
        p.start()
    results = [out.get() for _ in ps]
    for p in ps:
        p.join()
    cpu = _cpu(server.pid) - cpu0
    ok = sum(r["ok"] for r in results)
    lat = [x * 1000 for r in results for x in r["lat"]]
    return {
        "clients": clients,
        "client_processes": len(ps),
        "seconds": seconds,
        "accepted": ok,
        "refused": sum(r["other"] for r in results),
        "accepted_per_s": round(ok / seconds, 1),
        "p50_ms": round(percentile(lat, 50), 2),
        "p99_ms": round(percentile(lat, 99), 2),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_ms_per_accepted": round(1000 * cpu / max(ok, 1), 3),
        # The load generator's own CPU (warm-up included): it shares the machine's cores.
        "client_cpu_s": round(sum(r["cpu_s"] for r in results), 2),
        **{k: round(v, 1) for k, v in server.memory().items()},
    }


def _cpu(pid: int) -> float:
    from ._server import tree_cpu_seconds

    return tree_cpu_seconds(pid)


# -- correctness ---------------------------------------------------------------------------


def _check_proc(url: str, numbers: list[int], idempotent: bool, retry_every: int, out: Any) -> None:
    """Sends each number as one payload; returns (n, status, recordId or None) per POST."""
    conn = RawConn(url)
    rows: list[tuple[int, int, str | None]] = []
    for n in numbers:
        body = b'{"n":%d,"email":"u%d@example.com"}' % (n, n)
        key = f"k{n}" if idempotent else None
        sends = 2 if idempotent and retry_every and n % retry_every == 0 else 1
        for _ in range(sends):
            status, raw = conn.post(body, key)
            rid = json.loads(raw).get("recordId") if 200 <= status < 300 else None
            rows.append((n, status, rid))
    conn.close()
    out.put(rows)


def check(
    server: Server, url: str, table: dict[str, Any], senders: int, total: int, idempotent: bool
) -> dict[str, Any]:
    numbers = list(range(total))
    random.Random(1).shuffle(numbers)
    chunks = [numbers[i::senders] for i in range(senders)]
    if idempotent:
        # Each sender also replays a slice of another sender's keys, so retries race the
        # first delivery from another connection.
        for i in range(senders):
            chunks[i] += chunks[(i + 1) % senders][: len(chunks[i]) // 10]
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    retry_every = 10 if idempotent else 0
    ps = [
        ctx.Process(target=_check_proc, args=(url, c, idempotent, retry_every, out)) for c in chunks
    ]
    t0 = time.monotonic()
    for p in ps:
        p.start()
    sent: list[tuple[int, int, str | None]] = []
    for _ in ps:
        sent.extend(out.get())
    for p in ps:
        p.join()
    elapsed = time.monotonic() - t0

    field_id = table["sourceFieldId"]
    stored: dict[str, Any] = {}
    with server.client() as c:
        offset = 0
        while True:
            page = c.get(
                f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records",
                params={"limit": 10_000, "offset": offset},
            ).json()["results"]
            for r in page:
                stored[r["id"]] = r["cells"][field_id]["value"]["n"]
            if len(page) < 10_000:
                break
            offset += len(page)
        count = c.get(f"/v3/tables/{table['id']}/count").json()["tableTotalRecordsCount"]

    ok = [(n, rid) for n, status, rid in sent if 200 <= status < 300]
    failed = [(n, status) for n, status, _ in sent if not 200 <= status < 300]
    acked_ids = {rid for _, rid in ok}
    problems = []
    for n, rid in ok:
        if rid not in stored:
            problems.append(f"2xx for n={n} but no row {rid}")
        elif stored[rid] != n:
            problems.append(f"row {rid} holds n={stored[rid]}, answered for n={n}")
    orphans = set(stored) - acked_ids
    if orphans:
        problems.append(f"{len(orphans)} rows without a 2xx")
    if count != len(stored):
        problems.append(f"count says {count}, {len(stored)} rows stored")
    if idempotent:
        by_n: dict[int, set[str | None]] = {}
        for n, rid in ok:
            by_n.setdefault(n, set()).add(rid)
        split = [n for n, ids in by_n.items() if len(ids) > 1]
        if split:
            problems.append(f"{len(split)} keys answered with more than one record id")
        if len(stored) != len(by_n):
            problems.append(f"{len(stored)} rows for {len(by_n)} distinct keys")
    elif len(stored) != len(ok):
        problems.append(f"{len(stored)} rows for {len(ok)} 2xx answers")
    return {
        "senders": senders,
        "payloads": total,
        "posts": len(sent),
        "accepted_2xx": len(ok),
        "refused": len(failed),
        "rows_stored": len(stored),
        "table_count": count,
        "seconds": round(elapsed, 2),
        "posts_per_s": round(len(sent) / elapsed, 1),
        "ok": not problems,
        "problems": problems[:10],
    }


# -- set-up --------------------------------------------------------------------------------


def make_source(server: Server) -> dict[str, Any]:
    with server.client() as c:
        t = c.post("/v3/tables", json={"name": "Webhook bench", "workspaceId": 1}).json()["table"]
        body = {
            "tableSettings": {},
            "fieldGroupMap": {},
            "sourceSettings": {
                "addSource": {
                    "name": "Webhook",
                    "source": {
                        "name": "Webhook",
                        "workspaceId": 1,
                        "type": "webhook",
                        "typeSettings": {"urlSlugText": "Pull in data from a Webhook"},
                    },
                }
            },
        }
        r = c.patch(f"/v3/tables/{t['id']}", json=body)
        r.raise_for_status()
        data = r.json()
    table = data["table"]
    table["sourceFieldId"] = data["source"]["fieldId"]
    table["url"] = data["source"]["url"]
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--procs", type=int, default=4, help="client processes (throughput mode)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--check", action="store_true", help="correctness mode")
    ap.add_argument("--total", type=int, default=20_000, help="payloads in --check mode")
    ap.add_argument("--idempotent", action="store_true", help="--check with keys and retries")
    ap.add_argument(
        "--api-workers", type=int, default=1, help="HTTP processes (serve --workers N; PostgreSQL)"
    )
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--profile", type=Path, help="py-spy the server into this directory")
    args = ap.parse_args(argv)

    extra = ["--workers", str(args.api_workers)] if args.api_workers > 1 else []
    with Server(args.database, args=extra) as server:
        table = make_source(server)
        url = table["url"]
        result: dict[str, Any] = {
            "backend": server.backend,
            "api_workers": args.api_workers,
            "loadavg_before": loadavg(),
        }
        if args.check:
            result["check"] = check(server, url, table, args.clients, args.total, args.idempotent)
            result["check"]["idempotent"] = args.idempotent
        else:
            with Profiler(server.pid, args.profile).phase("webhooks"):
                result["throughput"] = throughput(
                    server, url, args.clients, args.procs, args.seconds
                )
        result["loadavg_after"] = loadavg()
        result["machine"] = machine_info()
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    if args.check and not result["check"]["ok"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
