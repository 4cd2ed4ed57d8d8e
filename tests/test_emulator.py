"""The emulator's own endpoints: health, and reset to the seeded state."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.storage import migrate
from claystack.server.storage.engine import Database

from .conftest import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    PG_URL,
    UserFactory,
    login,
    make_client,
    new_table,
    pg_execute,
)


async def test_health(anon: httpx.AsyncClient, app: FastAPI) -> None:
    r = await anon.get("/_claystack/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["version"]
    assert body["database"] == app.state.db.engine.dialect.name


@pytest.fixture
async def no_reset(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings.model_copy(update={"enable_reset": False}))
    async with application.router.lifespan_context(application):
        async with make_client(application) as c:
            yield c


async def test_reset_is_absent_unless_enabled(no_reset: httpx.AsyncClient) -> None:
    await login(no_reset, DEMO_EMAIL, DEMO_PASSWORD)
    table = await new_table(no_reset)
    r = await no_reset.post("/_claystack/reset")
    assert r.status_code == 404
    assert r.json() == {"type": "NoMatchingURL", "message": "Invalid URL"}
    assert (await no_reset.get(f"/v3/tables/{table['id']}")).status_code == 200
    assert (await no_reset.get("/_claystack/health")).status_code == 200


async def test_reset_restores_the_seeded_state(
    app: FastAPI, anon: httpx.AsyncClient, client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    seeded_ws = (await client.get("/v3/workspaces/1")).json()
    seeded_me = (await client.get("/v3/me")).json()
    other, other_ws = await other_user()
    table = await new_table(client, fields=("name",))
    await client.post(f"/v3/tables/{table['id']}/records", json={"records": [{"cells": {}}] * 10})
    await client.post("/v3/workspaces/1/folders", json={"name": "F"})

    r = await anon.post("/_claystack/reset")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"

    # Every session ended, and the other user is gone.
    assert (await client.get("/v3/me")).status_code == 401
    assert (await other.get("/v3/my-workspaces")).status_code == 401
    r = await anon.post(
        "/v3/auth/login", json={"email": "other@example.com", "password": "other-password"}
    )
    assert r.status_code == 401

    await login(client, DEMO_EMAIL, DEMO_PASSWORD)
    ws_now = (await client.get("/v3/workspaces/1")).json()["workspace"]
    for key in ("id", "name", "credits", "role"):
        assert ws_now[key] == seeded_ws["workspace"][key], key
    me = (await client.get("/v3/me")).json()
    assert (me["id"], me["email"], me["defaultWorkspaceId"]) == (
        seeded_me["id"],
        seeded_me["email"],
        1,
    )
    assert [w["id"] for w in (await client.get("/v3/my-workspaces")).json()["results"]] == [1]
    r = await client.post("/v3/workspaces/1/resources_v2/", json={"isGlobalSearch": True})
    assert r.json() == {"resources": []}
    assert (await client.get(f"/v3/tables/{table['id']}")).status_code == 404
    assert (await client.get(f"/v3/workspaces/{other_ws}")).status_code == 404
    async with app.state.db.transaction(write=False) as conn:
        for name in ("records", "tables", "folders", "workbooks", "sessions"):
            count = (await conn.exec_driver_sql(f"SELECT count(*) FROM {name}")).scalar_one()
            assert count == (1 if name == "sessions" else 0), name

    # New ids start afresh: the next user and workspace get the ids a fresh server gives.
    again, ws = await other_user(email="again@example.com")
    assert ws == 2
    assert (await again.get("/v3/me")).json()["id"] == 2


async def test_ready_when_migrations_are_current(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/_claystack/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["migrations"]


async def test_pending_migrations_are_reported(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrate.upgrade(db, "0005_formula_runs")
        assert await migrate.pending(db) == migrate.head_revisions()
        await migrate.upgrade(db)
        assert await migrate.pending(db) == set()
    finally:
        await db.dispose()


@pytest.mark.skipif(not PG_URL, reason="the advisory lock is PostgreSQL's")
async def test_processes_starting_together_migrate_a_fresh_database_once() -> None:
    schema = "t_" + uuid.uuid4().hex[:12]
    await asyncio.to_thread(pg_execute, f'CREATE SCHEMA "{schema}"')
    url = Settings(database_url=PG_URL).resolved_database_url
    dbs = [Database(url, schema=schema) for _ in range(4)]
    try:
        await asyncio.gather(*(migrate.upgrade(db) for db in dbs))
        assert await migrate.pending(dbs[0]) == set()
    finally:
        for db in dbs:
            await db.dispose()
        await asyncio.to_thread(pg_execute, f'DROP SCHEMA "{schema}" CASCADE')
