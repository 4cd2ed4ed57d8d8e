"""The unit of work (storage/uow.py): table versions, the record writers' check, and
after-commit hooks, on the app's real database."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from claystack.server.errors import NotFound
from claystack.server.services import tables as tables_svc
from claystack.server.storage import bulk
from claystack.server.storage.models import Record, Table
from claystack.server.storage.uow import UndeclaredWrite

from .conftest import new_table


async def _version(app: FastAPI, table_id: str) -> int:
    async with app.state.db.transaction(write=False) as conn:
        return int(await conn.scalar(select(Table.data_version).where(Table.id == table_id)))


async def test_after_commit_hooks_run_once_committed_and_never_on_rollback(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("name",))
    db = app.state.db
    seen: list[Any] = []

    async def count_rows() -> None:  # an async hook, reading in a transaction of its own
        async with db.transaction(write=False) as conn:
            seen.append(await conn.scalar(select(Table.row_count).where(Table.id == table["id"])))

    with pytest.raises(RuntimeError, match="boom"):
        async with db.unit_of_work() as uow:
            await uow.write_tables([table["id"]], row_count=Table.row_count + 5)
            uow.after_commit(lambda: seen.append("rolled back"))
            raise RuntimeError("boom")
    assert seen == []

    async with db.unit_of_work() as uow:
        await uow.write_tables([table["id"]], row_count=Table.row_count + 5)
        uow.after_commit(count_rows)
        uow.after_commit(lambda: seen.append("second"))
        assert seen == []  # not before the commit
    assert seen == [5, "second"]


async def test_a_failing_hook_leaves_the_write_and_the_other_hooks(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    table = await new_table(client)
    seen: list[str] = []

    def fails() -> None:
        raise ValueError("hook failed")

    async with app.state.db.unit_of_work() as uow:
        await uow.write_tables([table["id"]], name="Renamed")
        uow.after_commit(fails)
        uow.after_commit(lambda: seen.append("ran"))
    assert seen == ["ran"]
    assert "after-commit hook failed" in caplog.text
    r = await client.get(f"/v3/tables/{table['id']}")
    assert r.json()["table"]["name"] == "Renamed"


async def test_write_tables_moves_each_version_once_per_unit_of_work(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    a = (await new_table(client))["id"]
    b = (await new_table(client))["id"]
    before = {t: await _version(app, t) for t in (a, b)}
    async with app.state.db.unit_of_work() as uow:
        await uow.write_tables([b, a])
        await uow.write_tables([a])  # declared already: no second bump
        await uow.write_tables([a, b], updated_at=1)  # more columns, still one bump each
    assert {t: await _version(app, t) for t in (a, b)} == {a: before[a] + 1, b: before[b] + 1}


async def test_record_writers_refuse_a_table_that_was_not_declared(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("name",))
    field = table["byName"]["name"]
    r = await client.post(
        f"/v3/tables/{table['id']}/records", json={"records": [{"cells": {field: "x"}}]}
    )
    assert r.status_code == 200
    with pytest.raises(UndeclaredWrite):
        async with app.state.db.unit_of_work() as uow:
            await tables_svc.drop_cells(uow, table["id"], field)
    async with app.state.db.transaction(write=False) as conn:
        cells = await conn.scalar(select(Record.cells).where(Record.table_id == table["id"]))
    assert cells == {field: "x"}
    with pytest.raises(UndeclaredWrite):
        async with app.state.db.unit_of_work(write=False) as uow:
            await uow.write_tables([table["id"]])


async def test_inserted_rows_move_the_version_before_commit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    table = await new_table(client)
    before = await _version(app, table["id"])
    r = await client.post(f"/v3/tables/{table['id']}/records", json={"records": [{}, {}]})
    assert r.status_code == 200
    assert await _version(app, table["id"]) == before + 1
    # Rows only inserted, the version left to the unit of work: it moves at commit.
    async with app.state.db.unit_of_work() as uow:
        uow.rows_inserted(table["id"])
    assert await _version(app, table["id"]) == before + 2


async def _rows_of(app: FastAPI, table_id: str) -> int:
    async with app.state.db.transaction(write=False) as conn:
        return int(await conn.scalar(select(func.count()).where(Record.table_id == table_id)))


async def test_rows_go_with_their_table_and_never_outlive_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("name",))
    gone = await new_table(client, name="Gone")
    for t in (table, gone):
        r = await client.post(f"/v3/tables/{t['id']}/records", json={"records": [{}, {}, {}]})
        assert r.status_code == 200
    assert (await client.delete(f"/v3/tables/{gone['id']}")).status_code == 200
    assert await _rows_of(app, gone["id"]) == 0
    assert await _rows_of(app, table["id"]) == 3

    # Rows for a table deleted meanwhile: refused (PostgreSQL finds the table missing
    # when it locks it, SQLite's foreign key at the insert), none stored.
    with pytest.raises((NotFound, IntegrityError, sqlite3.IntegrityError)):
        async with app.state.db.unit_of_work() as uow:
            await bulk.insert_records(uow, gone["id"], [("r_x", {})], 0, lambda: None)
            await uow.write_tables([gone["id"]], row_count=Table.row_count + 1)
    assert await _rows_of(app, gone["id"]) == 0


async def test_a_source_change_reaches_its_cached_url_at_once(client: httpx.AsyncClient) -> None:
    """The cached lookup of the URL (``webhook_cache_seconds``) goes in a hook the change
    registers: the next POST answers the new way."""
    table = await new_table(client)
    r = await client.patch(
        f"/v3/tables/{table['id']}",
        json={"sourceSettings": {"addSource": {"source": {"type": "webhook", "name": "In"}}}},
    )
    source = r.json()["source"]
    url = "/v3/sources/webhook/" + source["url"].rsplit("/", 1)[1]
    r = await client.post(url, json={"a": 1})  # now cached
    assert r.headers["content-type"].startswith("application/json")
    r = await client.patch(
        f"/v3/sources/webhook/response-type/{source['id']}", json={"responseType": "PLAIN_TEXT"}
    )
    assert r.status_code == 200, r.text
    r = await client.post(url, json={"a": 2})
    assert r.status_code == 200 and r.text == "OK"
    assert (await client.delete(f"/v3/sources/{source['id']}")).status_code == 200
    assert (await client.post(url, json={"a": 3})).status_code == 404
