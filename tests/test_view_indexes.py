"""The indexes of big views (storage/search_index.py): a search answered from the trigram
index and an ``EQUAL`` filter answered from a per-field index give the same rows as the
scans they replace, and stay right through edits, deletes and new rows; on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from claystack.server.config import Settings
from claystack.server.services import tables as tables_svc
from claystack.server.storage import search_index
from claystack.server.storage.models import Record
from claystack.server.storage.repositories import view_rows

from .conftest import PG_URL, new_table

# The indexes are for big tables (10,000 rows by default): here the threshold is lowered so
# that a few hundred rows take the same paths, the search index built in several chunks.
MIN_ROWS = 200
N = MIN_ROWS + 50


@pytest.fixture
def settings(settings: Settings) -> Settings:
    lowered = {"view_index_min_rows": MIN_ROWS, "view_index_build_chunk": 64}
    return settings.model_copy(update=lowered)


def _note(i: int) -> Any:
    special: dict[int, Any] = {
        0: "Zürich Straße",
        1: 3.5,
        2: True,
        3: "MixedCase NeedleInTheMiddle",
        4: {"nested": "Deep Value"},
        5: "ÉCOLE élève",
    }
    return special.get(i, f"note {i * 7}")


async def _big_table(client: httpx.AsyncClient) -> dict[str, Any]:
    table = await new_table(client, "Big", fields=("name", "city", "note"))
    f = table["byName"]
    rows = [
        {
            "id": f"r{i}",
            "cells": {f["name"]: f"Person {i}", f["city"]: f"City {i % 53}", f["note"]: _note(i)},
        }
        for i in range(N)
    ]
    r = await client.post(f"/v3/tables/{table['id']}/records", json={"records": rows})
    assert r.status_code == 200, r.text
    return table


async def _state(app: FastAPI, table_id: str) -> str:
    async with app.state.db.transaction(write=False) as conn:
        return await search_index.state(conn, table_id)


async def _candidates(app: FastAPI, table_id: str, needle: str) -> set[str]:
    """Ids of the rows the index says may hold ``needle``."""
    async with app.state.db.transaction(write=False) as conn:
        sub = search_index.candidates(conn.dialect.name, table_id, needle)
        assert sub is not None
        rows = await conn.execute(select(Record.id).where(Record.seq.in_(sub)))
        return {r.id for r in rows}


TERMS = (
    "dleInTheMid",  # inside a word
    "NEEDLEINTHEMIDDLE",  # another case
    "erson 19",
    "zürich",  # not ASCII: SQLite scans, PostgreSQL uses its index
    "ÉCOLE",
    "3.5",
    "true",
    "deep val",
    "city 52",
    "no such text",
    "rs",  # too short for trigrams
)


async def test_search_index_answers_as_the_scan(client: httpx.AsyncClient, app: FastAPI) -> None:
    table = await _big_table(client)
    t, f = table["id"], table["byName"]
    base = f"/v3/tables/{t}/views/{table['firstViewId']}"

    async def search(term: str) -> list[dict[str, str]]:
        r = await client.post(f"{base}/search", json={"searchTerm": term})
        assert r.status_code == 200, r.text
        return list(r.json()["results"])

    scanned = {term: await search(term) for term in TERMS}
    assert scanned["dleInTheMid"] == [{"fieldId": f["note"], "recordId": "r3"}]
    assert scanned["NEEDLEINTHEMIDDLE"] == scanned["dleInTheMid"]
    assert [h["recordId"] for h in scanned["erson 19"]] == [
        "r19",
        *(f"r{i}" for i in range(190, 200)),
    ]
    assert scanned["3.5"] == [{"fieldId": f["note"], "recordId": "r1"}]
    assert scanned["true"] == [{"fieldId": f["note"], "recordId": "r2"}]
    assert scanned["deep val"] == [{"fieldId": f["note"], "recordId": "r4"}]
    assert len(scanned["city 52"]) == len(range(52, N, 53))
    assert scanned["no such text"] == []
    # The searches asked for the index; it is built in the background.
    await app.state.search_indexer.idle()
    assert await _state(app, t) == "ready"
    for term in TERMS:
        assert await search(term) == scanned[term], term
    assert await _candidates(app, t, "dleinthemid") == {"r3"}

    # A CONTAINS filter reads the rows the index names, with the same answer.
    view = table["firstViewId"]
    flt = {"items": [{"fieldId": f["note"], "type": "CONTAINS", "value": "NeedleInThe"}]}
    r = await client.patch(f"{base}/filter", json=flt)
    assert r.status_code == 200, r.text
    r = await client.get(f"{base}/records/ids")
    assert r.json()["results"] == ["r3"]
    plan = await _plan(app, t, view)
    assert app.state.db.engine.dialect.name != "sqlite" or "records_search" in plan
    flt = {"items": [{"fieldId": f["name"], "type": "CONTAINS", "value": "erson 19"}]}
    await client.patch(f"{base}/filter", json=flt)
    r = await client.get(f"{base}/records/ids")
    assert r.json()["results"] == [h["recordId"] for h in scanned["erson 19"]]
    await client.patch(f"{base}/filter", json={})
    # Edits after indexing: the new text is found, the old one is gone.
    r = await client.patch(
        f"/v3/tables/{t}/records",
        json={
            "records": [
                {"id": "r3", "cells": {f["note"]: "plain now"}},
                {"id": "r8", "cells": {f["note"]: "Fresh QQZX text"}},
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert await search("needleinthe") == []
    assert await _candidates(app, t, "needleinthe") == set()
    assert await search("qqzx") == [{"fieldId": f["note"], "recordId": "r8"}]
    # Deleted rows leave the index; new rows join it.
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json={"recordIds": ["r8", "r19"]})
    assert r.status_code == 200, r.text
    assert await search("qqzx") == []
    assert await _candidates(app, t, "qqzx") == set()
    assert [h["recordId"] for h in await search("erson 19")][:1] == ["r190"]
    r = await client.post(
        f"/v3/tables/{t}/records",
        json={"records": [{"id": "late", "cells": {f["name"]: "Late QQZX Arrival"}}]},
    )
    assert r.status_code == 200, r.text
    assert await search("QQZX arr") == [{"fieldId": f["name"], "recordId": "late"}]
    assert await _candidates(app, t, "qqzx arr") == {"late"}
    # Emptying the table takes it off the list (its rows' delete skips the index).
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json={"deleteAll": True})
    assert r.status_code == 200, r.text
    assert await _state(app, t) == "absent"
    assert await search("QQZX arr") == []
    await client.post(
        f"/v3/tables/{t}/records",
        json={"records": [{"id": "again", "cells": {f["name"]: "QQZX arrives again"}}]},
    )
    assert await search("QQZX arr") == [{"fieldId": f["name"], "recordId": "again"}]


async def test_small_tables_get_no_index(client: httpx.AsyncClient, app: FastAPI) -> None:
    table = await new_table(client, "Small", fields=("name",))
    t, f = table["id"], table["byName"]
    await client.post(
        f"/v3/tables/{t}/records", json={"records": [{"cells": {f["name"]: "Tiny Needle"}}]}
    )
    r = await client.post(
        f"/v3/tables/{t}/views/{table['firstViewId']}/search", json={"searchTerm": "NEEDLE"}
    )
    assert len(r.json()["results"]) == 1
    await app.state.search_indexer.idle()
    assert await _state(app, t) == "absent"


async def _plan(app: FastAPI, table_id: str, view_id: str) -> str:
    """SQLite's plan for the view's ids ('' on PostgreSQL, whose planner may rightly scan a
    table this small)."""
    async with app.state.db.transaction(write=False) as conn:
        if conn.dialect.name != "sqlite":
            return ""
        config = await tables_svc.view_config(conn, table_id, view_id)
        stmt = view_rows.ids_select(table_id, config).compile(conn)
        plan = await conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(stmt), tuple(stmt.params.values())
        )
        return str(plan.all())


async def _index_exists(app: FastAPI, name: str) -> bool:
    """Whether the (valid) index is there, once the indexer has done what it was asked: on
    PostgreSQL filter indexes are made and dropped after commit, outside the transaction."""
    await app.state.search_indexer.idle()
    async with app.state.db.transaction(write=False) as conn:
        sql = (
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n"
            if conn.dialect.name == "sqlite"
            else "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :n AND c.relnamespace = current_schema()::regnamespace "
            "AND i.indisvalid"
        )
        return (await conn.execute(text(sql), {"n": name})).first() is not None


@pytest.mark.parametrize("value", ["City 7", "CITY 7"])
async def test_equal_filter_index(client: httpx.AsyncClient, app: FastAPI, value: str) -> None:
    table = await _big_table(client)
    t, f = table["id"], table["byName"]
    base = f"/v3/tables/{t}/views/{table['firstViewId']}"
    flt = {"items": [{"fieldId": f["city"], "type": "EQUAL", "value": value}]}
    r = await client.patch(f"{base}/filter", json=flt)
    assert r.status_code == 200, r.text
    index = search_index.filter_index_name(t, f["city"])
    assert await _index_exists(app, index)

    async def ids() -> list[str]:
        r = await client.get(f"{base}/records/ids")
        assert r.status_code == 200, r.text
        return list(r.json()["results"])

    expected = [f"r{i}" for i in range(N) if i % 53 == 7]
    assert await ids() == expected
    plan = await _plan(app, t, table["firstViewId"])
    assert app.state.db.engine.dialect.name != "sqlite" or f"INDEX {index}" in plan
    await client.patch(
        f"/v3/tables/{t}/records",
        json={"records": [{"id": "r5", "cells": {f["city"]: "city 7"}}]},
    )
    await client.request("DELETE", f"/v3/tables/{t}/records", json={"recordIds": ["r7"]})
    assert await ids() == ["r5", *expected[1:]]
    r = await client.get(f"{base}/records", params={"limit": 3})
    assert [x["id"] for x in r.json()["results"]] == ["r5", *expected[1:3]]
    # EMPTY (a scan) after edits.
    await client.patch(
        f"/v3/tables/{t}/records",
        json={
            "records": [
                {"id": "r9", "cells": {f["city"]: ""}},
                {"id": "r11", "cells": {f["city"]: None}},
            ]
        },
    )
    r = await client.patch(
        f"{base}/filter", json={"items": [{"fieldId": f["city"], "type": "EMPTY"}]}
    )
    assert r.status_code == 200, r.text
    assert await ids() == ["r9", "r11"]
    # Other operators on the same field still scan, and agree.
    r = await client.patch(
        f"{base}/filter",
        json={"items": [{"fieldId": f["city"], "type": "CONTAINS", "value": "ty 52"}]},
    )
    assert r.status_code == 200, r.text
    assert await ids() == [f"r{i}" for i in range(52, N, 53)]
    # The index goes with its field, and with its table.
    name = search_index.filter_index_name(t, f["city"])
    r = await client.delete(f"/v3/tables/{t}/fields/{f['city']}")
    assert r.status_code == 200, r.text
    assert not await _index_exists(app, name)
    await client.patch(
        f"{base}/filter",
        json={"items": [{"fieldId": f["name"], "type": "EQUAL", "value": "person 12"}]},
    )
    assert await ids() == ["r12"]
    name = search_index.filter_index_name(t, f["name"])
    assert await _index_exists(app, name)
    r = await client.delete(f"/v3/tables/{t}")
    assert r.status_code == 200, r.text
    assert not await _index_exists(app, name)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL builds filter indexes CONCURRENTLY")
async def test_an_invalid_index_left_by_a_failed_build_is_built_again(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    table = await _big_table(client)
    t, f = table["id"], table["byName"]
    name = search_index.filter_index_name(t, f["city"])
    # A concurrent build that fails (here: a unique index over duplicates) leaves an
    # invalid index of that name, which "CREATE INDEX … IF NOT EXISTS" alone would keep.
    async with app.state.db.engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(DBAPIError):
            await auto.execute(
                text(
                    f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON records (table_id) "
                    f"WHERE table_id = '{t}'"
                )
            )
    assert not await _index_exists(app, name)
    base = f"/v3/tables/{t}/views/{table['firstViewId']}"
    flt = {"items": [{"fieldId": f["city"], "type": "EQUAL", "value": "City 7"}]}
    r = await client.patch(f"{base}/filter", json=flt)
    assert r.status_code == 200, r.text
    assert await _index_exists(app, name)
    r = await client.get(f"{base}/records/ids")
    assert r.json()["results"] == [f"r{i}" for i in range(N) if i % 53 == 7]
