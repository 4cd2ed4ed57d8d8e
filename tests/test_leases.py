"""Run job leases: a process holds its claimed jobs under a lease it renews by heartbeat;
a lapsed lease (the process died) lets any other process take the job over, and the old
holder's late result is dropped, so a job is stored and charged once; a stopping process
finishes its jobs within its grace time or releases them (a real ``serve`` on SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from claystack.server.config import Settings
from claystack.server.engine import Runner
from claystack.server.engine.fair import workspace_cap
from claystack.server.engine.work import Charge, Outcome
from claystack.server.services.common import now_ms
from claystack.server.storage.engine import Database
from claystack.server.storage.models import CreditEntry, RunJob

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, new_table, serve_in_thread
from .fakes import free_port, wait_ready
from .runs_fixtures import add_field, add_rows, wait_done

ROWS = 20
BUSY = workspace_cap(8)  # the actions one workspace executes at once with 8 executors


class Provider:
    """A local HTTP provider whose answers wait until ``open()``; ``calls`` counts the
    requests, and ``wait_calls(n)`` returns once n have arrived."""

    def __init__(self) -> None:
        self.calls = 0
        self._arrived = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None
        self._opened = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._gate is None:
            self._loop, self._gate = asyncio.get_running_loop(), asyncio.Event()
            if self._opened:
                self._gate.set()
        with self._arrived:
            self.calls += 1
            self._arrived.notify_all()
        await self._gate.wait()
        body = b'{"q": "' + scope["query_string"] + b'"}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def wait_calls(self, n: int, timeout: float = 30) -> None:
        with self._arrived:
            assert self._arrived.wait_for(lambda: self.calls >= n, timeout), self.calls

    def open(self) -> None:
        self._opened = True
        if self._loop is not None and self._gate is not None:
            self._loop.call_soon_threadsafe(self._gate.set)


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    p = Provider()
    with serve_in_thread(p) as url:
        yield p, url
        p.open()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"run_workers": False, "run_poll_seconds": 0.05, "http_allow_private": True}
    )


@pytest.fixture
async def runners(app: FastAPI) -> AsyncIterator[list[Runner]]:
    """Engines made by a test (each as another process would run it), stopped at the end."""
    made: list[Runner] = []
    yield made
    for r in made:
        await r.stop(grace=0)


def engine(app: FastAPI, made: list[Runner], **settings: Any) -> Runner:
    runner = Runner(app.state.db, app.state.settings.model_copy(update=settings))
    made.append(runner)
    return runner


async def call_column(client: httpx.AsyncClient, url: str) -> tuple[str, str]:
    """A table with ROWS rows and an http-api-v2 column over them (auto-run queues them)."""
    table = await new_table(client, fields=("name",))
    tid, name = table["id"], table["byName"]["name"]
    settings = {
        "actionKey": "http-api-v2",
        "actionPackageId": "http-api-v2",
        "inputsBinding": [{"name": "url", "formulaText": f'"{url}/?q=" + {{{{{name}}}}}'}],
    }
    fid = await add_field(client, tid, "Call", {"type": "action", "typeSettings": settings})
    await add_rows(client, tid, [{"cells": {name: f"r{i}"}} for i in range(ROWS)])
    return tid, fid


async def jobs(app: FastAPI) -> list[Any]:
    async with app.state.db.transaction(write=False) as conn:
        return list(await conn.execute(select(RunJob).order_by(RunJob.id)))


async def charges(app: FastAPI, table_id: str) -> list[Any]:
    async with app.state.db.transaction(write=False) as conn:
        rows = await conn.execute(
            select(CreditEntry).where(
                CreditEntry.table_id == table_id, CreditEntry.kind == "charge"
            )
        )
        return list(rows)


async def lapse(app: FastAPI) -> None:
    """What the clock does to the leases of a process that died: they run out."""
    async with app.state.db.transaction(write=True) as conn:
        past = now_ms() - 1
        await conn.execute(update(RunJob).values(lease_until=past, not_before=past))


async def test_a_lapsed_lease_is_taken_over_and_the_old_holders_result_dropped(
    app: FastAPI, client: httpx.AsyncClient, provider: tuple[Provider, str], runners: list[Runner]
) -> None:
    prov, url = provider
    prov.open()
    tid, fid = await call_column(client, url)
    dead = engine(app, runners)
    claim = await dead.queue.claim(ROWS, lambda ws: ROWS)
    assert claim is not None and len(claim.jobs) == ROWS
    assert {j.lease_owner for j in await jobs(app)} == {dead.queue.owner}
    # While the lease holds, another process's claim finds nothing.
    other = engine(app, runners)
    assert await other.queue.claim(ROWS, lambda ws: ROWS) is None
    await lapse(app)
    other.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": ROWS}}
    assert prov.calls == ROWS
    # The dead process's heartbeat renews nothing and its late results are dropped: no
    # cell is overwritten and no job charged twice.
    assert await dead.queue.renew() == 0
    late = [
        Outcome(j, "SUCCESS", value="late", charges=[Charge(f"run:{j.key}", "x", "y", 5)])
        for j in claim.jobs
    ]
    await dead.writer.write(late)
    got = await charges(app, tid)
    assert len(got) == ROWS
    assert len({c.idempotency_key for c in got}) == ROWS
    assert {c.amount for c in got} == {0}
    r = await client.post(
        f"/v3/tables/{tid}/bulk-fetch-records", json={"recordIds": [o.job.record_id for o in late]}
    )
    values = [rec["cells"][fid]["value"] for rec in r.json()["results"]]
    assert len(values) == ROWS
    assert "late" not in values
    assert await jobs(app) == []


async def test_the_heartbeat_renews_leases_until_the_jobs_are_done(
    app: FastAPI, client: httpx.AsyncClient, provider: tuple[Provider, str], runners: list[Runner]
) -> None:
    prov, url = provider
    tid, fid = await call_column(client, url)
    holder = engine(app, runners, run_lease_seconds=0.3, run_concurrency=8)
    holder.start()
    await asyncio.to_thread(prov.wait_calls, BUSY)
    held = [j for j in await jobs(app) if j.lease_owner is not None]
    assert {j.lease_owner for j in held} == {holder.queue.owner}
    first = max(j.lease_until for j in held)
    deadline = time.monotonic() + 30
    while min(j.lease_until for j in held) <= first:  # a beat renews them all
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
        held = [j for j in await jobs(app) if j.lease_owner is not None]
    assert {j.lease_owner for j in held} == {holder.queue.owner}
    assert all(j.not_before == j.lease_until for j in held)
    prov.open()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": ROWS}}
    assert prov.calls == ROWS
    assert len(await charges(app, tid)) == ROWS


async def test_stop_releases_the_jobs_in_hand_at_once(
    app: FastAPI, client: httpx.AsyncClient, provider: tuple[Provider, str], runners: list[Runner]
) -> None:
    prov, url = provider
    tid, fid = await call_column(client, url)
    first = engine(app, runners, run_concurrency=4)
    first.start()
    await asyncio.to_thread(prov.wait_calls, workspace_cap(4))
    await first.stop(grace=0)
    left = await jobs(app)
    assert len(left) == ROWS
    assert {(j.lease_until, j.lease_owner) for j in left} == {(None, None)}
    assert max(j.not_before for j in left) <= now_ms()
    prov.open()
    engine(app, runners).start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": ROWS}}
    assert len(await charges(app, tid)) == ROWS


async def test_stop_lets_the_jobs_in_hand_finish_within_the_grace_time(
    app: FastAPI, client: httpx.AsyncClient, provider: tuple[Provider, str], runners: list[Runner]
) -> None:
    prov, url = provider
    tid, fid = await call_column(client, url)
    runner = engine(app, runners, run_concurrency=8)
    runner.start()
    await asyncio.to_thread(prov.wait_calls, BUSY)
    stopping = asyncio.create_task(runner.stop(grace=60))
    await asyncio.sleep(0)  # the stop has begun: it starts no more actions
    prov.open()
    await stopping
    # The actions executing were stored; the jobs not started were released.
    assert prov.calls == BUSY
    assert len(await charges(app, tid)) == BUSY
    left = await jobs(app)
    assert len(left) == ROWS - BUSY
    assert {(j.lease_until, j.lease_owner) for j in left} == {(None, None)}
    engine(app, runners).start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": ROWS}}
    assert prov.calls == ROWS
    assert len(await charges(app, tid)) == ROWS


def test_sigterm_releases_a_servers_jobs_and_exits(
    tmp_path: Path, provider: tuple[Provider, str], settings: Settings
) -> None:
    """A real ``claystack serve`` (its engine mid-run, the provider not answering) gets
    SIGTERM: it exits within its grace time and every job it held is claimable at once."""
    prov, url = provider
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    db_url, schema = settings.database_url, settings.database_schema
    if not db_url:
        db_url = f"sqlite:///{tmp_path / 'term.db'}"
    else:
        schema = f"{schema}_term"
        from .conftest import pg_execute

        pg_execute(f'CREATE SCHEMA "{schema}"')
    port = free_port()
    env |= {
        "CLAYSTACK_DATABASE_URL": db_url,
        "CLAYSTACK_DATABASE_SCHEMA": schema,
        "CLAYSTACK_PASSWORD_HASH_COST": "low",
        "CLAYSTACK_HTTP_ALLOW_PRIVATE": "true",
        "CLAYSTACK_RUN_CONCURRENCY": "8",
        "CLAYSTACK_SHUTDOWN_GRACE_SECONDS": "0.5",
    }
    cli = [sys.executable, "-c", "from claystack.cli import main; main()"]
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, [proc], timeout=120)
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            _call_column(c, url)
        prov.wait_calls(BUSY)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then raises the signal again to exit by it.
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 15
        left = asyncio.run(_read_jobs(db_url, schema))
        assert len(left) == ROWS
        assert {(j.lease_until, j.lease_owner) for j in left} == {(None, None)}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
        if settings.database_url:
            from .conftest import pg_execute

            pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


def _call_column(c: httpx.Client, url: str) -> None:
    table = c.post("/v3/tables", json={"name": "Term", "workspaceId": 1}).json()["table"]
    tid = table["id"]
    name = c.post(f"/v3/tables/{tid}/fields", json={"name": "n", "type": "text"})
    nid = name.json()["field"]["id"]
    ts = {
        "actionKey": "http-api-v2",
        "actionPackageId": "http-api-v2",
        "inputsBinding": [{"name": "url", "formulaText": f'"{url}/?q=" + {{{{{nid}}}}}'}],
    }
    call = {"name": "Call", "type": "action", "typeSettings": ts}
    r = c.post(f"/v3/tables/{tid}/fields", json=call)
    assert r.status_code == 200, r.text
    rows = [{"cells": {nid: f"r{i}"}} for i in range(ROWS)]
    assert c.post(f"/v3/tables/{tid}/records", json={"records": rows}).status_code == 200


async def _read_jobs(url: str, schema: str) -> list[Any]:
    db = Database(Settings(database_url=url).resolved_database_url, schema=schema)
    try:
        async with db.transaction(write=False) as conn:
            assert await conn.scalar(select(func.count()).select_from(RunJob)) == ROWS
            return list(await conn.execute(select(RunJob)))
    finally:
        await db.dispose()
