"""Webhook sources, the no-lost-rows promise across processes: 16 senders against
``claystack serve`` in its own process, and two servers (apps) on one database sharing
tokens, keys, caps and group commits."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx

from claystack.server.config import Settings

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, login, new_table
from .fakes import free_port, poller
from .sources_fixtures import (
    AppFactory,
    _settled,
    add_source,
    add_source_body,
    count,
    path_of,
    rows,
)
from .sources_fixtures import limited_app as limited_app  # noqa: F401 - a fixture

# -- over real HTTP, concurrently ----------------------------------------------------------


SENDERS = 16
PER_SENDER = 40


def _edge_cases_over_http(port: int, path: str) -> list[int]:
    """Statuses, each checked to carry ``{type, message}``, of: a chunked body over the
    100 KB limit, a Content-Length over it, a body exactly at it, an unknown URL, a
    non-JSON body, and a bad slug. Only the body at the limit may write a row."""
    limit = 100 * 1024
    at_limit = b'{"n": -1, "x": "' + b"y" * (limit - 18) + b'"}'
    assert len(at_limit) == limit
    statuses = []

    def answer(conn: http.client.HTTPConnection) -> int:
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200 or set(body) == {"type", "message"}, body
        return resp.status

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", path)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    try:
        for _ in range(11):
            chunk = b"y" * 10_000
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before the whole body is sent
    statuses.append(answer(conn))
    conn.close()
    for target, body in (
        (path, at_limit + b" "),
        (path, at_limit),
        (path[:-12] + "000000000000", b"{}"),
        (path, b"{nope"),
        ("/v3/sources/webhook/garbage", b"{}"),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", target, body, {"Content-Type": "application/json"})
        statuses.append(answer(conn))
        conn.close()
    return statuses


def test_concurrent_senders_over_real_http(database: Any, tmp_path: Path) -> None:
    """16 senders against ``claystack serve`` in its own process: every 2xx has its row,
    no row lacks a 2xx, the count matches, and retried keys add nothing."""
    url, schema = database
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    env.update(
        CLAYSTACK_DATA_DIR=str(tmp_path),
        CLAYSTACK_DATABASE_URL=url,
        CLAYSTACK_DATABASE_SCHEMA=schema,
        CLAYSTACK_PASSWORD_HASH_COST="low",
        CLAYSTACK_ENABLE_RESET="true",
    )
    cmd = [sys.executable, "-c", "from claystack.cli import main; main()", "serve"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a start on a loaded machine
        with poller() as poll:
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    poll.get(base + "/_claystack/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as c:
            # From the seeded state, whatever earlier files left in the database.
            assert c.post("/_claystack/reset").status_code == 200
            r = c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            table = c.post("/v3/tables", json={"name": "Load", "workspaceId": 1}).json()["table"]
            r = c.patch(f"/v3/tables/{table['id']}", json=add_source_body())
            source = r.json()["source"]
        path = path_of(source)
        answers: list[tuple[int, int, str | None]] = []
        lock = threading.Lock()

        def post(conn: http.client.HTTPConnection, n: int, keyed: bool) -> None:
            headers = {"Content-Type": "application/json"}
            if keyed:
                headers["Idempotency-Key"] = f"k{n}"
            conn.request("POST", path, b'{"n": %d}' % n, headers)
            resp = conn.getresponse()
            answer = json.loads(resp.read())
            with lock:
                answers.append((n, resp.status, answer.get("recordId")))

        def sender(s: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for i in range(PER_SENDER):
                n = s * PER_SENDER + i
                # Every third payload carries a key; each keyed payload is also sent by
                # the next sender, racing the first delivery.
                post(conn, n, keyed=n % 3 == 0)
                prev = ((s - 1) % SENDERS) * PER_SENDER + i
                if prev % 3 == 0:
                    post(conn, prev, keyed=True)
            conn.close()

        threads = [threading.Thread(target=sender, args=(s,)) for s in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        with httpx.Client(base_url=base, timeout=60) as c:
            c.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            got = c.get(
                f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records",
                params={"limit": 10_000},
            ).json()["results"]
            total = c.get(f"/v3/tables/{table['id']}/count").json()["tableTotalRecordsCount"]
            edge_answers = _edge_cases_over_http(port, path)
            after = c.get(f"/v3/tables/{table['id']}/count").json()["tableTotalRecordsCount"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    assert edge_answers == [413, 413, 200, 404, 400, 404]
    assert after == total + 1

    stored = {r["id"]: r["cells"][source["fieldId"]]["value"]["n"] for r in got}
    assert all(status == 200 for _, status, _ in answers)
    ids_by_n: dict[int, set[str | None]] = {}
    for n, _, rid in answers:
        ids_by_n.setdefault(n, set()).add(rid)
    assert all(len(ids) == 1 for ids in ids_by_n.values())
    acked = {next(iter(ids)): n for n, ids in ids_by_n.items()}
    assert acked == stored
    assert total == len(stored) == SENDERS * PER_SENDER


async def test_token_change_in_another_process_applies_at_once(limited_app: AppFactory) -> None:
    """Two servers on one database: a token rotated or added on one is enforced by the
    other at once, although the other has the webhook URL cached."""
    async with (
        limited_app(webhook_cache_seconds=60) as (c, _),
        limited_app(webhook_cache_seconds=60) as (_, other),
    ):
        await login(c, DEMO_EMAIL, DEMO_PASSWORD)  # the second start reset the database
        table = await new_table(c)
        source = await add_source(c, table["id"], generateAuthToken=True)
        path, old = path_of(source), source["authToken"]
        auth = {"x-clay-webhook-auth": old}
        assert (await other.post(path, json={"n": 1}, headers=auth)).status_code == 200
        new = (await c.post(f"/v3/sources/{source['id']}/auth-token")).json()["authToken"]
        r = await other.post(path, json={"n": 2}, headers=auth)
        assert r.status_code == 401 and r.json()["type"] == "Unauthorized"
        r = await other.post(path, json={"n": 3}, headers={"x-clay-webhook-auth": new})
        assert r.status_code == 200

        plain = await add_source(c, table["id"], "Plain")
        assert (await other.post(path_of(plain), json={"n": 4})).status_code == 200
        await c.post(f"/v3/sources/{plain['id']}/auth-token")
        r = await other.post(path_of(plain), json={"n": 5})
        assert r.status_code == 401
        assert await count(c, table["id"]) == 3


async def test_batches_across_tables_and_processes_keep_every_count(
    limited_app: AppFactory, settings: Settings
) -> None:
    """Concurrent POSTs to three sources on two tables (on PostgreSQL from two servers on
    one database): a group commit holds rows of several sources and tables (on PostgreSQL
    one statement writes them all), and every row, row count, counter and auto-run adds
    up; a cell over ``max_cell_bytes`` fails alone, with its 413."""
    async with AsyncExitStack() as stack:
        c, anon = await stack.enter_async_context(limited_app(max_cell_bytes=200))
        other = anon
        if not settings.is_sqlite:  # SQLite serves one process
            _, other = await stack.enter_async_context(limited_app(max_cell_bytes=200))
            await login(c, DEMO_EMAIL, DEMO_PASSWORD)  # the second start reset the database
        one, two = await new_table(c, "One"), await new_table(c, "Two")
        a = await add_source(c, one["id"], "A")
        b = await add_source(c, two["id"], "B")
        a2 = await add_source(c, one["id"], "A2")
        formula = {"formulaText": "{{" + a["fieldId"] + "}}?.n"}
        r = await c.post(
            f"/v3/tables/{one['id']}/fields",
            json={"name": "N", "type": "formula", "typeSettings": formula},
        )
        assert r.status_code == 200, r.text
        n_field = r.json()["field"]["id"]
        sends = [(sender, src) for _ in range(15) for sender in (anon, other) for src in (a, b, a2)]
        big = {"blob": "x" * 300}
        answers = await asyncio.gather(
            *(sender.post(path_of(src), json={"n": i}) for i, (sender, src) in enumerate(sends)),
            anon.post(path_of(b), json=big),
            other.post(path_of(a), json=big),
        )
        assert [r.status_code for r in answers[: len(sends)]] == [200] * len(sends)
        for r in answers[len(sends) :]:
            assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge", r.text
        assert len({r.json()["recordId"] for r in answers[: len(sends)]}) == len(sends)
        assert await count(c, one["id"]) == 60 and await count(c, two["id"]) == 30
        for table, n in ((one, 60), (two, 30)):
            got = (await c.get(f"/v3/tables/{table['id']}")).json()["table"]
            assert got["rowCount"] == n, got
        for src in (a, b, a2):
            source = (await c.get(f"/v3/sources/{src['id']}")).json()
            assert source["numSourceRecords"] == 30 and source["numSubmissions"] == 30
        # Only A's rows fill the formula's input: 30 cells run, on either server.
        assert (await _settled(c, one["id"]))[n_field] == {"SUCCESS": 30}
        stored = await rows(c, one)
        by_id = {r["id"]: r for r in stored}
        for r, (_, src) in zip(answers, sends, strict=False):
            if src is a:
                row = by_id[r.json()["recordId"]]
                assert row["cells"][n_field]["value"] == row["cells"][a["fieldId"]]["value"]["n"]


async def test_the_group_commit_waits_only_for_senders_it_expects(limited_app: AppFactory) -> None:
    """With a long batch wait: a lone sender is never held (its batches hold one), and a
    burst as large as the last batch goes out as soon as it is queued, not at the end of
    the wait. (A broken wait would hold each of these for a minute; the deadline says so.)"""
    async with limited_app(webhook_batch_wait_ms=60_000) as (c, anon):
        table = await new_table(c)
        src = await add_source(c, table["id"])

        async def post(n: int) -> str:
            r = await anon.post(path_of(src), json={"n": n})
            assert r.status_code == 200, r.text
            return str(r.json()["recordId"])

        async def burst(start: int) -> set[str]:
            return set(await asyncio.gather(*(post(start + i) for i in range(4))))

        for n in range(3):
            await asyncio.wait_for(post(n), 30)
        ids = await asyncio.wait_for(burst(10), 30)
        # One more, which the writer holds for the others it expects; they come later.
        lone = asyncio.create_task(post(20))
        for _ in range(3):
            assert (await c.get("/v3/me")).status_code == 200
        ids |= await asyncio.wait_for(burst(30), 30)
        ids.add(await asyncio.wait_for(lone, 30))
        assert len(ids) == 9 and await count(c, table["id"]) == 12


async def test_two_processes_share_keys_and_caps(limited_app: AppFactory) -> None:
    """Two servers on one database: a key in flight on both makes one row, and the
    submission cap holds for their sum."""
    async with (
        limited_app(webhook_max_submissions_per_source=5) as (c, anon),
        limited_app(webhook_max_submissions_per_source=5) as (_, other),
    ):
        await login(c, DEMO_EMAIL, DEMO_PASSWORD)  # the second start reset the database
        table = await new_table(c)
        keyed = await add_source(c, table["id"], "Keyed")
        key = {"Idempotency-Key": "same"}
        answers = await asyncio.gather(
            *(sender.post(path_of(keyed), json={}, headers=key) for sender in [anon, other] * 8)
        )
        assert {r.status_code for r in answers} == {200}
        assert len({r.json()["recordId"] for r in answers}) == 1

        capped = await add_source(c, table["id"], "Capped")
        answers = await asyncio.gather(
            *(sender.post(path_of(capped), json={}) for sender in [anon, other] * 10)
        )
        codes = [r.status_code for r in answers]
        assert codes.count(200) == 5 and codes.count(429) == 15
        assert await count(c, table["id"]) == 6
