"""kill -9 of a real server in the middle of a 250-row run, then a restart on the same
database (SQLite, or PostgreSQL with ``CLAYSTACK_TEST_DATABASE_URL``): every cell ends final
with the provider's answer, no cell that was final at the kill is called again, only the
calls in flight at the kill are repeated, and each priced cell is in the ledger once.

Two columns run over the rows: the built-in ``http-api-v2`` (free) and a priced plugin
integration; both call a local provider that logs every request it gets.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from claystack.server.config import Settings
from claystack.server.storage.engine import Database
from claystack.server.storage.models import CreditEntry, Record, RunJob

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, PG_URL, pg_execute, serve_in_thread
from .fakes import free_port, poller

# 250 rows (500 calls), claimed at most 2 x 16 jobs at a time, is 16 claims or more: the kill
# lands mid-run with cells final, running and queued in both columns, which is all the test
# needs (each row more costs both servers and the provider CPU, and checks nothing new).
ROWS = 250
CONCURRENCY = 16
PRICE = 3
FINAL = {"SUCCESS", "SUCCESS_NO_DATA", "ERROR"}

# The server: claystack's own app, plus a priced integration registered as a plugin would be.
SERVER = textwrap.dedent(
    """
    import os

    import orjson
    import uvicorn
    from yarl import URL

    from claystack.server.app import create_app
    from claystack.server.config import Settings
    from claystack.server.enrichment import registry
    from claystack.server.enrichment.actions import _http
    from claystack.server.enrichment.base import Action, ActionError, ActionResult, Integration

    provider = os.environ["CRASH_PROVIDER"]


    async def find(inputs, ctx):
        url = URL(provider + "/priced").with_query(q=inputs["q"])
        reply = await _http.request("GET", url, None)
        if reply.status_code != 200:
            raise ActionError(f"HTTP {reply.status_code}", retryable=True)
        data = orjson.loads(reply.content)
        return ActionResult(value=data["name"], full_value=data)


    registry.register(
        Integration(
            key="crash-people",
            display_name="Priced people",
            actions=(Action("find", "Find", find, credits=int(os.environ["CRASH_PRICE"])),),
        )
    )
    settings = Settings()
    uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")
    """
)


@dataclass
class Provider:
    """Answers ``/free?q=`` and ``/priced?q=`` with ``{"name": Q}`` after a few ms and logs
    each request as (path, q, generation); the test bumps ``generation`` at the kill."""

    url: str = ""
    generation: int = 1
    log: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    kill_at: int = 0
    victim: subprocess.Popen[bytes] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        q = parse_qs(scope["query_string"].decode()).get("q", [""])[0]
        with self.lock:
            self.log.append((scope["path"], q, self.generation))
            if self.victim is not None and len(self.log) == self.kill_at:
                self.victim.kill()  # SIGKILL while this call (and others) are in flight
        await asyncio.sleep(0.003)
        body = orjson.dumps({"name": q.upper(), "q": q})
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def calls(self, path: str, generation: int | None = None) -> Counter[str]:
        with self.lock:
            return Counter(q for p, q, g in self.log if p == path and generation in (None, g))


@pytest.fixture
def provider() -> Iterator[Provider]:
    app = Provider()
    with serve_in_thread(app, log_level="critical", backlog=1024) as app.url:
        yield app


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Settings]:
    """The crash server's database: a SQLite file here, or a fresh PostgreSQL schema."""
    if not PG_URL:
        yield Settings(data_dir=tmp_path)
        return
    schema = "crash_" + uuid.uuid4().hex[:12]
    pg_execute(f'CREATE SCHEMA "{schema}"')
    yield Settings(data_dir=tmp_path, database_url=PG_URL, database_schema=schema)
    pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


def _start(script: Path, db: Settings, provider: Provider) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    env |= {
        "CLAYSTACK_PORT": str(port),
        "CLAYSTACK_DATA_DIR": str(db.data_dir),
        "CLAYSTACK_DATABASE_URL": db.database_url,
        "CLAYSTACK_DATABASE_SCHEMA": db.database_schema,
        "CLAYSTACK_RUN_CONCURRENCY": str(CONCURRENCY),
        "CLAYSTACK_RUN_POLL_SECONDS": "0.05",
        # The dead server's jobs come back when their leases lapse (there is no recovery step).
        "CLAYSTACK_RUN_LEASE_SECONDS": "2",
        "CLAYSTACK_INITIAL_CREDITS": str(10 * PRICE * ROWS),
        "CLAYSTACK_HTTP_ALLOWED_HOSTS": "127.0.0.1",
        "CLAYSTACK_PASSWORD_HASH_COST": "low",
        "CRASH_PROVIDER": provider.url,
        "CRASH_PRICE": str(PRICE),
    }
    log_path = db.data_dir / "server.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    with poller() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            try:
                http.get(f"{base}/v3/me", timeout=1)
                return proc, base
            except httpx.TransportError:
                time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


@contextmanager
def _client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=60) as c:
        r = c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        yield c


def _counts(c: httpx.Client, table_id: str) -> dict[str, dict[str, int]]:
    r = c.get(f"/v3/workspaces/1/tables/{table_id}/fields/runstatus")
    assert r.status_code == 200, r.text
    return {
        fid: {row["status"]: row["count"] for row in rows}
        for fid, rows in r.json()["statusCountsByField"].items()
    }


def _db_state(db: Settings, table_id: str) -> dict[str, Any]:
    """Read straight from the database: each record's cell statuses (record id → field id →
    status), the table's ledger charges and the jobs left."""

    async def read() -> dict[str, Any]:
        database = Database(db.resolved_database_url, schema=db.database_schema)
        try:
            async with database.transaction(write=False) as conn:
                records = list(
                    await conn.execute(
                        select(Record.id, Record.cells, Record.meta).where(
                            Record.table_id == table_id
                        )
                    )
                )
                charges = list(
                    await conn.execute(
                        select(CreditEntry).where(
                            CreditEntry.table_id == table_id,
                            CreditEntry.kind == "charge",
                            CreditEntry.amount != 0,  # free executions count actions only
                        )
                    )
                )
                jobs = await conn.scalar(select(func.count()).select_from(RunJob))
        finally:
            await database.dispose()
        return {
            "status": {
                r.id: {f: (m or {}).get("status") for f, m in (r.meta or {}).items()}
                for r in records
            },
            "name": {r.id: next(iter(r.cells.values())) for r in records},
            "charges": charges,
            "jobs": jobs,
        }

    return asyncio.run(read())


def test_kill_9_mid_run_then_restart_finishes_every_cell_once(
    tmp_path: Path, database: Settings, provider: Provider
) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    proc, base = _start(script, database, provider)
    try:
        with _client(base) as c:
            t = c.post("/v3/tables", json={"name": "Crash", "workspaceId": 1}).json()["table"]
            tid = t["id"]
            c.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
            name = c.post(f"/v3/tables/{tid}/fields", json={"name": "name", "type": "text"})
            name_id = name.json()["field"]["id"]
            ref = "{{" + name_id + "}}"
            free_settings = {
                "actionPackageId": "http-api-v2",
                "actionKey": "http-api-v2",
                "inputsBinding": [
                    {"name": "url", "formulaText": f'"{provider.url}/free?q=" + {ref}'},
                    {"name": "fieldPaths", "formulaText": '["name"]'},
                ],
            }
            priced_settings = {
                "actionPackageId": "crash-people",
                "actionKey": "find",
                "inputsBinding": [{"name": "q", "formulaText": ref}],
            }
            free, priced = (
                c.post(
                    f"/v3/tables/{tid}/fields",
                    json={"name": label, "type": "action", "typeSettings": ts},
                ).json()["field"]["id"]
                for label, ts in (("Free", free_settings), ("Priced", priced_settings))
            )
            record_ids: list[str] = []
            for start in range(0, ROWS, 1000):
                end = min(start + 1000, ROWS)
                rows = [{"cells": {name_id: f"p{i}"}} for i in range(start, end)]
                r = c.post(f"/v3/tables/{tid}/records", content=orjson.dumps({"records": rows}))
                assert r.status_code == 200, r.text
                record_ids += [rec["id"] for rec in r.json()["records"]]
            before = c.get("/v3/workspaces/1").json()["workspace"]["credits"]
            # One run: its jobs are queued row by row, so both columns are mid-way at the kill.
            body = {"fieldIds": [free, priced], "runRecords": {"recordIds": record_ids}}
            assert c.patch(f"/v3/tables/{tid}/run", json=body).json()["recordCount"] == ROWS
            with provider.lock:  # kill -9 at a call some way into what is left
                provider.victim, provider.kill_at = proc, len(provider.log) + ROWS // 2
            assert provider.kill_at < 2 * ROWS - ROWS // 2, "the run went too fast to stop"
            assert proc.wait(timeout=60) == -9
        # Calls the dead server had sent may still reach the provider after this and count as
        # the second generation's: they are calls of cells RUNNING at the kill, which the
        # checks below allow to be called again.
        with provider.lock:
            provider.generation = 2
        mid = _db_state(database, tid)
        done_at_kill, running_at_kill = (
            {
                f: {r for r, cells in mid["status"].items() if cells.get(f) in wanted}
                for f in (free, priced)
            }
            for wanted in (FINAL, {"RUNNING"})
        )
        for f in (free, priced):
            assert 0 < len(done_at_kill[f]) < ROWS, (f, len(done_at_kill[f]))
        assert len(mid["charges"]) == len(done_at_kill[priced])
        # At most two claim batches of jobs are held (marked RUNNING) at once.
        assert sum(len(r) for r in running_at_kill.values()) <= 2 * CONCURRENCY

        proc, base = _start(script, database, provider)
        with _client(base) as c:
            deadline = time.monotonic() + 90
            while True:
                counts = _counts(c, tid)
                if counts == {free: {"SUCCESS": ROWS}, priced: {"SUCCESS": ROWS}}:
                    break
                for n in counts.values():
                    assert set(n) <= {"SUCCESS", "QUEUED", "RUNNING"}, counts
                assert time.monotonic() < deadline, counts
                time.sleep(0.05)
            after = c.get("/v3/workspaces/1").json()["workspace"]["credits"]
            assert before - after == PRICE * ROWS
            report = c.get(
                "/v3/credit-reporting/1/creditReportType/table", params={"tableIds[0]": tid}
            ).json()
            assert report["totals"]["used"] == PRICE * ROWS
            # Every execution is recorded, the free http-api-v2 column's too (issue 13 §9).
            assert report["totals"]["runs"] == 2 * ROWS
            assert [(r["tableId"], r["credits"], r["runs"]) for r in report["rows"]] == [
                (tid, PRICE * ROWS, 2 * ROWS)
            ]
            ids = c.get(f"/v3/tables/{tid}/views/{t['firstViewId']}/records/ids").json()
            assert len(ids["results"]) == ROWS
            got: dict[str, dict[str, Any]] = {}
            for start in range(0, ROWS, 1000):
                r = c.post(
                    f"/v3/tables/{tid}/bulk-fetch-records",
                    json={"recordIds": ids["results"][start : start + 1000]},
                )
                got |= {rec["id"]: rec["cells"] for rec in r.json()["results"]}
    finally:
        proc.kill()
        proc.wait()

    end = _db_state(database, tid)
    assert end["jobs"] == 0
    # Every cell holds the provider's answer for its own row.
    for rid, cells in got.items():
        q = end["name"][rid]
        assert cells[free]["value"] == q.upper(), (rid, cells[free])
        assert cells[free]["externalContent"]["fullValue"] == {"name": q.upper(), "q": q}
        assert cells[priced]["value"] == q.upper(), (rid, cells[priced])
        assert cells[priced]["metadata"]["status"] == "SUCCESS"
    # Each priced cell is charged exactly once, by the user who ran it.
    charges = end["charges"]
    assert len(charges) == ROWS
    assert sorted(e.record_id for e in charges) == sorted(end["name"])
    assert len({e.idempotency_key for e in charges}) == ROWS
    assert {(e.amount, e.field_id, e.integration, e.user_id) for e in charges} == {
        (-PRICE, priced, "crash-people", 1)
    }
    # The provider saw every row. A cell final at the kill was never called again; only
    # calls of cells RUNNING at the kill (in flight, or answered but not yet written) were
    # sent twice, and no QUEUED cell had been called.
    names = set(end["name"].values())
    by_record = {v: k for k, v in end["name"].items()}
    repeated = 0
    for f, path in ((free, "/free"), (priced, "/priced")):
        calls = provider.calls(path)
        assert set(calls) == names, path
        assert max(calls.values()) <= 2, calls.most_common(3)
        first = {by_record[q] for q in provider.calls(path, 1)}
        assert first - done_at_kill[f] <= running_at_kill[f], path
        again = {by_record[q] for q in provider.calls(path, 2)}
        assert not again & done_at_kill[f], path
        twice = {by_record[q] for q, n in calls.items() if n == 2}
        assert twice <= running_at_kill[f], path
        repeated += len(twice)
    assert repeated > 0  # the call that set off the kill, at least, was in flight
