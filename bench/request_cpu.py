"""In-process CPU per request and statements per request on PostgreSQL (issue 14 bars).

The app runs in this process against a fresh schema and requests go straight to its ASGI
callable (no HTTP, no client), so the process's CPU time (``time.process_time``) is the
server's work alone: a figure that moves far less with the machine's load than wall time.

    runstatus  GET /v3/workspaces/1/tables/{t}/fields/runstatus, one after another
    webhooks   POST /v3/sources/webhook/{hook} from --senders concurrent tasks

Compare two commits by running this file with ``PYTHONPATH=<other tree>/src`` in turns.

Usage: ``.venv/bin/python bench/request_cpu.py --database postgresql://… [--only runstatus]
[--requests 1000] [--senders 8] [--engine]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import DEMO_EMAIL, DEMO_PASSWORD, loadavg, machine_info  # noqa: E402
from claystack.server.app import create_app  # noqa: E402
from claystack.server.config import Settings  # noqa: E402
from claystack.server.state import state_of  # noqa: E402


def asgi_call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> Callable[[], Awaitable[int]]:
    """One request straight to the ASGI app; returns its status."""

    async def call() -> int:
        sent: list[Any] = []
        given = False

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:
                await asyncio.Event().wait()  # no disconnect while the answer is written
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"bench"), *headers],
            "client": ("127.0.0.1", 1),
            "server": ("bench", 80),
            "root_path": "",
            "state": {},
        }
        await app(scope, receive, send)
        return int(sent[0]["status"])

    return call


async def measure(
    label: str, run: Callable[[], Awaitable[int]], statements: list[str]
) -> dict[str, Any]:
    """A warm-up run (statements counted), then three timed runs."""
    statements.clear()
    done = await run()
    per_request = round(len(statements) / done, 2)
    rounds = []
    for _ in range(3):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        done = await run()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        rounds.append(
            {"cpu_ms": round(1000 * cpu / done, 3), "wall_ms": round(1000 * wall / done, 2)}
        )
    out = {"statements_per_call": per_request, "rounds": rounds, "load": loadavg()}
    print(label, json.dumps(out), flush=True)
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    schema = "rcpu_" + uuid.uuid4().hex[:10]
    conn = await asyncpg.connect(args.database)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    result: dict[str, Any] = {"machine": machine_info()}
    try:
        settings = Settings(
            database_url=args.database,
            database_schema=schema,
            data_dir=Path(tempfile.mkdtemp(prefix="claystack-rcpu-")),
            password_hash_cost="low",
            run_workers=args.engine,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                login = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "source": None}
                (await c.post("/v3/auth/login", json=login)).raise_for_status()
                token = (await c.get("/v3/me")).json()["apiToken"]
                c.cookies.clear()
                c.headers["Authorization"] = f"Bearer {token}"
                table = (await c.post("/v3/tables", json={"name": "B", "workspaceId": 1})).json()
                tid = table["table"]["id"]
                n = await c.post(f"/v3/tables/{tid}/fields", json={"name": "n", "type": "text"})
                nid = n.json()["field"]["id"]
                formula = {"formulaText": "{{" + nid + "}} + 1"}
                body = {"name": "F", "type": "formula", "typeSettings": formula}
                await c.post(f"/v3/tables/{tid}/fields", json=body)
                rows = [{"cells": {nid: str(i)}} for i in range(100)]
                await c.post(f"/v3/tables/{tid}/records", json={"records": rows})
                add = {"name": "Webhook", "workspaceId": 1, "type": "webhook", "typeSettings": {}}
                src = {"sourceSettings": {"addSource": {"name": "Webhook", "source": add}}}
                hook = (await c.patch(f"/v3/tables/{tid}", json=src)).json()["source"]["url"]
            statements: list[str] = []
            event.listen(
                state_of(app).db.engine.sync_engine,
                "before_cursor_execute",
                lambda *a: statements.append(a[2]),
            )
            only = set(args.only.split(","))
            if "runstatus" in only:
                auth = [(b"authorization", f"Bearer {token}".encode())]
                path = f"/v3/workspaces/1/tables/{tid}/fields/runstatus"
                one = asgi_call(app, "GET", path, auth, b"")

                async def statuses() -> int:
                    for _ in range(args.requests):
                        assert await one() == 200
                    return args.requests

                result["runstatus"] = await measure("runstatus", statuses, statements)
            if "webhooks" in only:
                path = "/" + hook.split("/", 3)[3]
                counter = iter(range(10**9))

                async def sender(count: int) -> None:
                    for _ in range(count):
                        payload = b'{"email":"u%d@example.com","n":1}' % next(counter)
                        length = str(len(payload)).encode()
                        headers = [
                            (b"content-type", b"application/json"),
                            (b"content-length", length),
                        ]
                        assert await asgi_call(app, "POST", path, headers, payload)() == 200

                async def posts() -> int:
                    each = max(1, args.requests // args.senders)
                    await asyncio.gather(*(sender(each) for _ in range(args.senders)))
                    return each * args.senders

                result["webhooks"] = await measure("webhooks", posts, statements)
    finally:
        conn = await asyncpg.connect(args.database)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", required=True, help="postgresql://…")
    ap.add_argument("--only", default="runstatus,webhooks")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--senders", type=int, default=8, help="concurrent webhook senders")
    ap.add_argument("--engine", action="store_true", help="run the engine in the process")
    ap.add_argument("--json", type=Path)
    parsed = ap.parse_args()
    os.environ.setdefault("CLAYSTACK_LOG_LEVEL", "warning")
    res = asyncio.run(main(parsed))
    if parsed.json:
        parsed.json.write_text(json.dumps(res, indent=2))
