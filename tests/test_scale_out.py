"""Scale-out on PostgreSQL (issue 14): two ``serve --workers 2`` started at the same moment
on a fresh database and two ``claystack worker``s. 4,000 webhook POSTs spread over both API
ports are all accepted and stored exactly once; 3,000 action cells, with one worker killed
-9 mid-run, all end SUCCESS and each is charged once (its lease lapses and the other worker
takes its jobs over)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from claystack.server.config import Settings
from claystack.server.storage.engine import Database
from claystack.server.storage.models import CreditEntry, Record, RunJob

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, PG_URL, pg_execute, serve_in_thread
from .fakes import free_port, wait_ready
from .sources_fixtures import add_source_body
from .test_processes import CLI, _env

HOOKS = 4_000
CELLS = 3_000

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="several processes share one database only on PostgreSQL"
)


class Provider:
    """A local provider answering at once; ``wait_calls(n)`` returns once n calls came."""

    def __init__(self) -> None:
        self.calls = 0
        self._arrived = threading.Condition()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        with self._arrived:
            self.calls += 1
            self._arrived.notify_all()
        body = b'{"q": "' + scope["query_string"] + b'"}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def wait_calls(self, n: int, timeout: float = 60) -> None:
        with self._arrived:
            assert self._arrived.wait_for(lambda: self.calls >= n, timeout), self.calls


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture
def fresh_schema() -> Iterator[str]:
    """A PostgreSQL schema with no tables: the processes migrate it as they start."""
    schema = "scale_" + uuid.uuid4().hex[:12]
    pg_execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stderr is not None:
            p.stderr.close()


@pytest.fixture
def clients() -> Iterator[list[httpx.Client]]:
    """Clients closed after the test, failed or not (an open one would fail a later test
    with a ResourceWarning)."""
    made: list[httpx.Client] = []
    yield made
    for c in made:
        c.close()


async def _post_hooks(urls: list[str], path: str) -> Counter[int]:
    """HOOKS POSTs, alternating between the API ports, 64 at a time."""
    limits = httpx.Limits(max_connections=32)
    clients = [httpx.AsyncClient(base_url=u, timeout=60, limits=limits) for u in urls]
    gate = asyncio.Semaphore(64)
    statuses: Counter[int] = Counter()

    async def one(i: int) -> None:
        # As a careful sender would: a keyed POST is sent again when the connection drops
        # (a keep-alive connection closed by the server as the request went out); the key
        # keeps the retry from storing a second row.
        headers = {"Idempotency-Key": f"hook-{i}"}
        async with gate:
            for attempt in range(3):
                try:
                    r = await clients[i % 2].post(path, json={"n": i}, headers=headers)
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            statuses[r.status_code] += 1

    try:
        await asyncio.gather(*(one(i) for i in range(HOOKS)))
    finally:
        for c in clients:
            await c.aclose()
    return statuses


async def _stored(schema: str, table_id: str) -> dict[str, Any]:
    db = Database(Settings(database_url=PG_URL).resolved_database_url, schema=schema)
    try:
        async with db.transaction(write=False) as conn:
            rows = await conn.scalar(
                select(func.count()).select_from(Record).where(Record.table_id == table_id)
            )
            charges = list(
                await conn.execute(
                    select(CreditEntry.record_id, CreditEntry.idempotency_key).where(
                        CreditEntry.table_id == table_id, CreditEntry.kind == "charge"
                    )
                )
            )
            jobs = await conn.scalar(select(func.count()).select_from(RunJob))
    finally:
        await db.dispose()
    return {"rows": rows, "charges": charges, "jobs": jobs}


def test_two_servers_and_two_workers_one_killed(
    fresh_schema: str, processes: list[subprocess.Popen[str]], clients: list[httpx.Client]
) -> None:
    env = _env(
        CLAYSTACK_DATABASE_URL=PG_URL,
        CLAYSTACK_DATABASE_SCHEMA=fresh_schema,
        CLAYSTACK_HTTP_ALLOW_PRIVATE="true",
        # A killed worker's jobs come back a second after its last heartbeat.
        CLAYSTACK_RUN_LEASE_SECONDS="1",
        CLAYSTACK_RUN_POLL_SECONDS="0.05",
        # Six processes beside the rest of the suite's: each within 10 connections, so
        # together they stay well under PostgreSQL's default max_connections of 100.
        CLAYSTACK_DATABASE_POOL_SIZE="5",
        CLAYSTACK_DATABASE_MAX_OVERFLOW="5",
    )
    ports = [free_port(), free_port()]
    # Both servers at the same moment, on a database with no tables yet.
    for port in ports:
        processes.append(
            _start(["serve", "--workers", "2", "--no-engine", "--port", str(port)], env)
        )
    workers = [_start(["worker", "--concurrency", "32"], env) for _ in range(2)]
    processes += workers
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    for url in urls:
        wait_ready(url, processes, timeout=400)
    a = httpx.Client(base_url=urls[0], timeout=60)
    b = httpx.Client(base_url=urls[1], timeout=60)
    clients += (a, b)
    for c in (a, b):
        r = c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text

    # Webhooks: every POST accepted, every row stored once.
    inbound = a.post("/v3/tables", json={"name": "Inbound", "workspaceId": 1}).json()["table"]
    r = b.patch(f"/v3/tables/{inbound['id']}", json=add_source_body())
    assert r.status_code == 200, r.text
    path = "/" + r.json()["source"]["url"].split("/", 3)[3]
    statuses = asyncio.run(_post_hooks(urls, path))
    assert statuses == {200: HOOKS}
    assert asyncio.run(_stored(fresh_schema, inbound["id"]))["rows"] == HOOKS
    count = b.get(f"/v3/tables/{inbound['id']}/count").json()["tableTotalRecordsCount"]
    assert count == HOOKS
    source = a.get(f"/v3/sources/{r.json()['source']['id']}").json()
    assert source["numSubmissions"] == HOOKS

    # Actions: one worker killed -9 mid-run; every cell SUCCESS, each charged once.
    provider = Provider()
    with serve_in_thread(provider) as purl:
        table = a.post("/v3/tables", json={"name": "Calls", "workspaceId": 1}).json()["table"]
        tid = table["id"]
        a.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
        nid = a.post(f"/v3/tables/{tid}/fields", json={"name": "n", "type": "text"})
        nid = nid.json()["field"]["id"]
        call = {
            "name": "Call",
            "type": "action",
            "typeSettings": {
                "actionKey": "http-api-v2",
                "actionPackageId": "http-api-v2",
                "inputsBinding": [{"name": "url", "formulaText": f'"{purl}/?q=" + {{{{{nid}}}}}'}],
            },
        }
        r = b.post(f"/v3/tables/{tid}/fields", json=call)
        assert r.status_code == 200, r.text
        fid = r.json()["field"]["id"]
        for start in range(0, CELLS, 1000):
            rows = [{"cells": {nid: f"r{i}"}} for i in range(start, start + 1000)]
            r = (a, b)[start // 1000 % 2].post(f"/v3/tables/{tid}/records", json={"records": rows})
            assert r.status_code == 200, r.text
        body = {"fieldIds": [fid], "runRecords": {"viewId": table["firstViewId"]}}
        assert b.patch(f"/v3/tables/{tid}/run", json=body).json()["recordCount"] == CELLS
        provider.wait_calls(CELLS // 3)
        workers[0].kill()
        assert workers[0].wait(timeout=30) == -9
        status = f"/v3/workspaces/1/tables/{tid}/fields/runstatus"
        deadline = time.monotonic() + 120
        counts: dict[str, int] = {}
        while counts != {"SUCCESS": CELLS}:
            assert time.monotonic() < deadline, counts
            by_field = (a, b)[int(time.monotonic()) % 2].get(status).json()["statusCountsByField"]
            counts = {c["status"]: c["count"] for c in by_field.get(fid, [])}
            assert set(counts) <= {"SUCCESS", "QUEUED", "RUNNING"}, counts
            time.sleep(0.1)
        assert workers[1].poll() is None
    stored = asyncio.run(_stored(fresh_schema, tid))
    assert stored["jobs"] == 0
    charged = Counter(record_id for record_id, _ in stored["charges"])
    assert len(stored["charges"]) == CELLS
    assert len(charged) == CELLS and max(charged.values()) == 1
    assert len({key for _, key in stored["charges"]}) == CELLS
    # The provider saw each cell at least once; only the killed worker's calls repeat.
    assert provider.calls >= CELLS
