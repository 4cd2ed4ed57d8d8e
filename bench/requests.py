"""CPU per request of the commonest calls, in process (the suite's way of calling the app).

The app runs in this process, as in the test suite: its lifespan started, requests sent by an
``httpx.AsyncClient`` over ``ASGITransport``, logged in by a session cookie (the suite's
``client``), with no answer validation. Each request is timed alone by the process's CPU
clock (``time.process_time``: the loop's thread, SQLite's worker thread and the idle engine),
so set-up between requests (a fresh table every few fields or inserts) is not counted and the
figure moves far less with the machine's load than wall time. SQL statements per request are
counted by SQLAlchemy's ``before_cursor_execute`` (what ``run_in_worker`` sends is not).

    me          GET   /v3/me
    table       POST  /v3/tables                                  (basic template: 3 views)
    field       POST  /v3/tables/{t}/fields                       (text; a new table every 10)
    insert      POST  /v3/tables/{t}/records                      (10 rows of 3 text cells)
    read        GET   /v3/tables/{t}/views/{v}/records            (10 rows of 3 text cells)
    runstatus   GET   /v3/workspaces/1/tables/{t}/fields/runstatus
    patch       PATCH /v3/tables/{t}/fields/{f}                   (a rename)
    reset       lifecycle.reset(app)                              (after a table of 10 rows)

Usage: ``.venv/bin/python -m bench.requests [--database postgresql://…] [--requests 200]
[--rounds 3] [--only me,table] [--profile FILE.prof] [--json FILE]``. With ``--profile`` the
timed requests of the chosen calls run under cProfile (figures then are the profiler's).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from bench._server import DEMO_EMAIL, loadavg, machine_info
from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.services import accounts
from claystack.server.state import state_of

CALLS = ("me", "table", "field", "insert", "read", "runstatus", "patch", "reset")
FIELDS_PER_TABLE = 10
INSERTS_PER_TABLE = 20
Request = Callable[[int], Awaitable[Any]]


def ok(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
    return r.json()


class Bench:
    """The app, a logged-in client, and what the calls need made beforehand."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app, self.c = app, client
        self.statements = 0
        self.table: dict[str, Any] = {}
        self.fields: list[str] = []

    async def login(self) -> None:
        state = state_of(self.app)
        async with state.db.transaction(write=True) as conn:
            user = await accounts.user_id_by_email(conn, DEMO_EMAIL)
            cookie = await accounts.open_session(conn, state.settings, state.require_secret(), user)
        self.c.cookies.clear()
        self.c.cookies.set("claysession", cookie, domain="bench.local", path="/")

    async def new_table(self, fields: int = 3, rows: int = 0) -> None:
        self.table = ok(await self.c.post("/v3/tables", json={"name": "B", "workspaceId": 1}))[
            "table"
        ]
        self.fields = []
        for i in range(fields):
            body = {"name": f"c{i}", "type": "text"}
            made = ok(await self.c.post(f"/v3/tables/{self.table['id']}/fields", json=body))
            self.fields.append(made["field"]["id"])
        if rows:
            ok(await self.c.post(self.path("/records"), json=self.rows(rows)))

    def path(self, rest: str) -> str:
        return f"/v3/tables/{self.table['id']}{rest}"

    def rows(self, n: int) -> dict[str, Any]:
        return {"records": [{"cells": {f: f"v{i} {f}" for f in self.fields}} for i in range(n)]}

    async def calls(self, name: str) -> tuple[Request | None, Request]:
        """(untimed set-up before request i or None, the timed request i) of a call."""
        c = self.c
        if name == "me":
            return None, lambda i: c.get("/v3/me")
        if name == "table":
            return None, lambda i: c.post("/v3/tables", json={"name": f"T{i}", "workspaceId": 1})
        if name == "field":

            async def fresh_table(i: int) -> None:
                if i % FIELDS_PER_TABLE == 0:
                    await self.new_table(fields=0)

            return fresh_table, lambda i: c.post(
                self.path("/fields"), json={"name": f"f{i}", "type": "text"}
            )
        if name == "insert":

            async def fresh_rows(i: int) -> None:
                if i % INSERTS_PER_TABLE == 0:
                    await self.new_table()

            return fresh_rows, lambda i: c.post(self.path("/records"), json=self.rows(10))
        await self.new_table(rows=10)
        if name == "read":
            view = self.table["views"][0]["id"]
            return None, lambda i: c.get(self.path(f"/views/{view}/records"))
        if name == "runstatus":
            status = f"/v3/workspaces/1/tables/{self.table['id']}/fields/runstatus"
            return None, lambda i: c.get(status)
        if name == "patch":
            field = self.fields[0]
            return None, lambda i: c.patch(self.path(f"/fields/{field}"), json={"name": f"n{i}"})
        assert name == "reset"

        async def leftovers(i: int) -> None:
            await self.login()
            await self.new_table(rows=10)

        async def reset(i: int) -> None:
            await lifecycle.reset(self.app)

        return leftovers, reset

    async def measure(
        self, name: str, n: int, rounds: int, profile: cProfile.Profile | None
    ) -> dict[str, Any]:
        prepare, request = await self.calls(name)
        counts = []  # the fewest statements of a warm-up request (the engine may poll)
        for i in range(min(n, 20)):
            if prepare:
                await prepare(i)
            before = self.statements
            answer = await request(i)
            counts.append(self.statements - before)
            if isinstance(answer, httpx.Response):
                ok(answer)
        statements = min(counts)
        results = []
        for r in range(rounds):
            cpu = wall = 0.0
            for i in range(n):
                if prepare:
                    await prepare(n * (r + 1) + i)
                c0, w0 = time.process_time(), time.perf_counter()
                if profile:
                    profile.enable()
                answer = await request(n * (r + 1) + i)
                if profile:
                    profile.disable()
                cpu += time.process_time() - c0
                wall += time.perf_counter() - w0
                if isinstance(answer, httpx.Response):
                    ok(answer)
            results.append((1000 * cpu / n, 1000 * wall / n))
        if name == "reset":
            await self.login()  # the reset ended the session
        out = {
            "cpu_ms": round(statistics.median(x for x, _ in results), 3),
            "wall_ms": round(statistics.median(y for _, y in results), 3),
            "cpu_ms_rounds": [round(x, 3) for x, _ in results],
            "statements": statements,
            "load": loadavg(),
        }
        print(f"{name:10} {json.dumps(out)}", flush=True)
        return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    schema = ""
    if args.database:
        schema = "breq_" + uuid.uuid4().hex[:10]
        await _pg(args.database, f'CREATE SCHEMA "{schema}"')
    tmp = Path(tempfile.mkdtemp(prefix="claystack-breq-"))
    settings = Settings(
        database_url=args.database or f"sqlite:///{tmp / 'bench.db'}",
        database_schema=schema,
        data_dir=tmp,
        enable_reset=True,
        password_hash_cost="low",
    )
    result: dict[str, Any] = {"machine": machine_info(), "database": "postgresql" * bool(schema)}
    result["database"] = result["database"] or "sqlite"
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await lifecycle.reset(app)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                bench = Bench(app, c)

                def count(*_: Any) -> None:
                    bench.statements += 1

                event.listen(state_of(app).db.engine.sync_engine, "before_cursor_execute", count)
                await bench.login()
                profile = cProfile.Profile(time.thread_time) if args.profile else None
                for name in args.only.split(","):
                    result[name] = await bench.measure(name, args.requests, args.rounds, profile)
                if profile:
                    profile.dump_stats(args.profile)
    finally:
        if schema:
            await _pg(args.database, f'DROP SCHEMA "{schema}" CASCADE')
    return result


async def _pg(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--database", default="", help="postgresql://… (default: a SQLite file)")
    ap.add_argument("--only", default=",".join(CALLS))
    ap.add_argument("--requests", type=int, default=200, help="timed requests per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=Path, help="cProfile the timed requests into this file")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    unknown = set(args.only.split(",")) - set(CALLS)
    if unknown:
        ap.error(f"unknown calls: {', '.join(sorted(unknown))}")
    os.environ.setdefault("CLAYSTACK_LOG_LEVEL", "warning")
    res = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
