"""Processes beside ``serve``: ``claystack worker`` (the engine alone), ``claystack migrate``,
``serve --workers N`` and ``--no-engine``; several of them on one PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from claystack.cli import app as cli_app

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, PG_URL, pg_execute, serve_in_thread
from .fakes import free_port, wait_ready

CLI = [sys.executable, "-c", "from claystack.cli import main; main()"]


def claystack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env=env or _env()
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    env.update({"CLAYSTACK_PASSWORD_HASH_COST": "low", **extra})
    return env


def test_sqlite_is_one_process(tmp_path: Path) -> None:
    # In this process: both refuse before starting anything (test_leases and the PostgreSQL
    # test below start them as processes).
    url = f"sqlite:///{tmp_path / 'one.db'}"
    runner = CliRunner()
    many = runner.invoke(cli_app, ["serve", "--workers", "2", "--database-url", url, "--port", "0"])
    assert many.exit_code != 0
    assert "SQLite serves one process" in many.stderr + many.stdout
    worker = runner.invoke(cli_app, ["worker", "--database-url", url])
    assert worker.exit_code != 0
    assert "needs PostgreSQL" in worker.stderr + worker.stdout
    assert not (tmp_path / "one.db").exists()


def test_migrate_applies_and_reports(tmp_path: Path) -> None:
    # In this process: migrating is what is tested, not the process (it returns when done).
    args = ["migrate", "--database-url", f"sqlite:///{tmp_path / 'm.db'}"]
    done = CliRunner().invoke(cli_app, args, catch_exceptions=False)
    assert done.exit_code == 0, done.stderr
    assert "migrations current" in done.stdout
    assert (tmp_path / "m.db").exists()


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b'{"ok": true, "path": "' + scope["path"].encode() + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def pg_schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("several processes share a PostgreSQL database")
    schema = "procs_" + uuid.uuid4().hex[:12]
    pg_execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_api_processes_and_a_worker_share_one_database(pg_schema: str) -> None:
    env = _env(
        CLAYSTACK_DATABASE_URL=PG_URL,
        CLAYSTACK_DATABASE_SCHEMA=pg_schema,
        CLAYSTACK_HTTP_ALLOW_PRIVATE="true",
    )
    ports = [free_port(), free_port()]
    procs: list[subprocess.Popen[str]] = []
    try:
        # Two multi-process servers start at the same moment on a fresh database.
        for port in ports:
            procs.append(
                subprocess.Popen(
                    [*CLI, "serve", "--workers", "2", "--no-engine", "--port", str(port)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in urls:
            wait_ready(url, procs)
        with serve_in_thread(_echo) as provider:
            a = httpx.Client(base_url=urls[0], timeout=30)
            b = httpx.Client(base_url=urls[1], timeout=30)
            for c in (a, b):
                r = c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
                assert r.status_code == 200, r.text
            table = a.post("/v3/tables", json={"name": "Scale", "workspaceId": 1}).json()["table"]
            tid = table["id"]
            name = a.post(f"/v3/tables/{tid}/fields", json={"name": "n", "type": "text"})
            nid = name.json()["field"]["id"]
            call = {
                "name": "Call",
                "type": "action",
                "typeSettings": {
                    "actionKey": "http-api-v2",
                    "actionPackageId": "http-api-v2",
                    "inputsBinding": [
                        {"name": "url", "formulaText": f'"{provider}/p/" + {{{{{nid}}}}}'},
                        {"name": "method", "formulaText": '"GET"'},
                    ],
                },
            }
            r = b.post(f"/v3/tables/{tid}/fields", json=call)
            assert r.status_code == 200, r.text
            fid = r.json()["field"]["id"]
            rows = [{"cells": {nid: f"r{i}"}} for i in range(40)]
            assert a.post(f"/v3/tables/{tid}/records", json={"records": rows}).status_code == 200
            worker = subprocess.Popen(
                [*CLI, "worker", "--concurrency", "8"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            procs.append(worker)
            body = {"fieldIds": [fid], "runRecords": {"viewId": table["firstViewId"]}}
            assert b.patch(f"/v3/tables/{tid}/run", json=body).status_code == 200
            deadline = time.monotonic() + 120
            counts: dict[str, int] = {}
            status = f"/v3/workspaces/1/tables/{tid}/fields/runstatus"
            while time.monotonic() < deadline:
                by_field = a.get(status).json()["statusCountsByField"]
                counts = {c["status"]: c["count"] for c in by_field.get(fid, [])}
                if counts == {"SUCCESS": 40}:
                    break
                time.sleep(0.05)
            assert counts == {"SUCCESS": 40}, counts
            worker.terminate()
            assert worker.wait(timeout=60) == 0
            a.close()
            b.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
            if p.stderr is not None:
                p.stderr.close()
