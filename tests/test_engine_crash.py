"""kill -9 of a real server in the middle of a run, then a restart on the same database:
every cell ends final, each exactly once in the credit ledger."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, PG_URL

ROWS = 500

SERVER = textwrap.dedent(
    """
    import sys

    import httpx
    import uvicorn

    from claystack.server.app import create_app
    from claystack.server.config import Settings
    from claystack.server.enrichment import registry
    from claystack.server.enrichment.base import Action, ActionResult, Integration

    port, data_dir, provider = int(sys.argv[1]), sys.argv[2], sys.argv[3]


    clients = []


    async def lookup(inputs, ctx):
        if not clients:
            clients.append(httpx.AsyncClient(timeout=30))
        r = await clients[0].get(provider, params={"q": inputs["q"]})
        r.raise_for_status()
        return ActionResult(value=r.json()["name"], full_value=r.json())


    registry.register(
        Integration(
            key="slow-people",
            display_name="Slow people",
            actions=(Action("find", "Find", lookup, credits=1),),
        )
    )
    settings = Settings(data_dir=data_dir, port=port, run_concurrency=8, run_poll_seconds=0.05)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    """
)


class Provider(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the engine's timeout) is expected here


class _Handler(BaseHTTPRequestHandler):
    server: Provider

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        q = parse_qs(urlparse(self.path).query).get("q", [""])[0]
        time.sleep(0.03)
        with self.server.lock:
            self.server.hits[q] += 1
        body = orjson.dumps({"name": q.upper()})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(script: Path, data_dir: Path, provider: Provider) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    url = f"http://127.0.0.1:{provider.server_address[1]}/person"
    with open(data_dir / "server.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(port), str(data_dir), url],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (data_dir / "server.log").read_text()
        try:
            httpx.get(f"{base}/v3/me", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


@contextmanager
def _client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        yield c


def _counts(c: httpx.Client, table_id: str) -> dict[str, int]:
    r = c.get(f"/v3/workspaces/1/tables/{table_id}/fields/runstatus")
    assert r.status_code == 200, r.text
    rows = next(iter(r.json()["statusCountsByField"].values()), [])
    return {row["status"]: row["count"] for row in rows}


@pytest.mark.skipif(bool(PG_URL), reason="runs its own SQLite server")
def test_kill_9_mid_run_then_restart_finishes_every_cell_once(
    tmp_path: Path, provider: Provider
) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    proc, base = _start(script, tmp_path, provider)
    try:
        with _client(base) as c:
            t = c.post("/v3/tables", json={"name": "Crash", "workspaceId": 1}).json()["table"]
            tid = t["id"]
            c.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
            name = c.post(f"/v3/tables/{tid}/fields", json={"name": "name", "type": "text"})
            name_id = name.json()["field"]["id"]
            settings = {
                "actionPackageId": "slow-people",
                "actionKey": "find",
                "inputsBinding": [{"name": "q", "formulaText": "{{" + name_id + "}}"}],
            }
            r = c.post(
                f"/v3/tables/{tid}/fields",
                json={"name": "Person", "type": "action", "typeSettings": settings},
            )
            fid = r.json()["field"]["id"]
            rows = [{"cells": {name_id: f"p{i}"}} for i in range(ROWS)]
            assert c.post(f"/v3/tables/{tid}/records", json={"records": rows}).status_code == 200
            before = c.get("/v3/workspaces/1").json()["workspace"]["credits"]
            body = {
                "fieldIds": [fid],
                "runRecords": {"viewIdTopRecords": {"viewId": t["firstViewId"]}},
            }
            assert c.patch(f"/v3/tables/{tid}/run", json=body).json()["recordCount"] == ROWS
            deadline = time.monotonic() + 60
            while _counts(c, tid).get("SUCCESS", 0) < ROWS // 5:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        proc.kill()  # SIGKILL: no shutdown code runs
        proc.wait()
        mid = _counts_from_db(tmp_path, tid, fid)
        assert 0 < mid.get("SUCCESS", 0) < ROWS, mid

        proc, base = _start(script, tmp_path, provider)
        with _client(base) as c:
            deadline = time.monotonic() + 90
            while (counts := _counts(c, tid)).get("SUCCESS", 0) < ROWS:
                assert set(counts) <= {"SUCCESS", "QUEUED", "RUNNING"}, counts
                assert time.monotonic() < deadline, counts
                time.sleep(0.05)
            assert counts == {"SUCCESS": ROWS}
            after = c.get("/v3/workspaces/1").json()["workspace"]["credits"]
            assert before - after == ROWS
    finally:
        proc.kill()
        proc.wait()

    db = sqlite3.connect(tmp_path / "claystack.db")
    try:
        charges = db.execute(
            "SELECT count(*), count(DISTINCT record_id), count(DISTINCT idempotency_key), "
            "sum(amount) FROM credit_ledger WHERE table_id = ?",
            (tid,),
        ).fetchone()
        jobs = db.execute("SELECT count(*) FROM run_jobs").fetchone()[0]
    finally:
        db.close()
    assert charges == (ROWS, ROWS, ROWS, -ROWS)
    assert jobs == 0
    # Every cell was served; only executions in flight at the kill were sent twice.
    assert set(provider.hits) == {f"p{i}" for i in range(ROWS)}
    assert sum(provider.hits.values()) - ROWS <= 2 * 8


def _counts_from_db(data_dir: Path, table_id: str, field_id: str) -> dict[str, int]:
    db = sqlite3.connect(data_dir / "claystack.db")
    try:
        rows = db.execute(
            "SELECT json_extract(meta, ?), count(*) FROM records WHERE table_id = ? GROUP BY 1",
            (f'$."{field_id}".status', table_id),
        ).fetchall()
    finally:
        db.close()
    return {str(s): n for s, n in rows}
