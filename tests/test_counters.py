"""The counts the database keeps (storage/counters.py): after every kind of write, run status
and the stored per-field counts equal a full recount of the rows, and the credit rollup a
rebuild from the ledger; the check functions find and repair a drift."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import text
from typer.testing import CliRunner, Result

from claystack.cli.main import app as cli
from claystack.server.services import credits
from claystack.server.storage import counters

from .conftest import new_table
from .runs_fixtures import action, add_field, add_rows, run, wait_done
from .runs_fixtures import integrations as integrations  # noqa: F401 - fixtures
from .runs_fixtures import provider as provider  # noqa: F401
from .runs_fixtures import settings as settings  # noqa: F401


async def recount(app: FastAPI, table_id: str) -> dict[str, dict[str, int]]:
    """Final statuses counted from every row, and the check that the stored counts agree."""
    async with app.state.db.transaction(write=False) as conn:
        assert await counters.check_cell_counts(conn) == []
        assert await counters.check_credit_rollup(conn) == []
        rows = await conn.execute(
            text("SELECT meta FROM records WHERE table_id = :t"), {"t": table_id}
        )
        out: dict[str, dict[str, int]] = {}
        for (meta,) in rows:
            if isinstance(meta, str):
                meta = orjson.loads(meta)
            for fid, cell in (meta or {}).items():
                status = cell.get("status") if isinstance(cell, dict) else None
                if status:
                    out.setdefault(fid, {})[status] = out.setdefault(fid, {}).get(status, 0) + 1
        return out


async def settled(app: FastAPI, client: httpx.AsyncClient, table_id: str) -> dict[str, Any]:
    """Waits for the run to end; run status must then be exactly the recount."""
    status = await wait_done(client, table_id)
    assert status == {k: v for k, v in (await recount(app, table_id)).items() if k in status}
    return status


async def test_counts_follow_every_kind_of_write(
    app: FastAPI,
    client: httpx.AsyncClient,
    integrations: None,  # noqa: F811
) -> None:
    t = await new_table(client, name="Counted", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    ref = "{{" + name + "}}"
    upper = await add_field(
        client,
        tid,
        "Upper",
        {"type": "formula", "typeSettings": {"formulaText": f"{ref}.toUpperCase()"}},
    )
    ids = await add_rows(
        client, tid, [{"cells": {name: v}} for v in ("ada", "bob", "cy", "nodata")]
    )
    assert (await settled(app, client, tid))[upper] == {"SUCCESS": 4}

    # An action column: run through the engine's writer, charged to the ledger.
    person = await add_field(client, tid, "Person", action("find", {"q": ref}))
    r = await run(client, tid, {"fieldIds": [person], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    assert (await settled(app, client, tid))[person] == {"SUCCESS": 3, "SUCCESS_NO_DATA": 1}

    # An edit re-runs the formula that reads it (cascade); forced runs rewrite cells.
    r = await client.patch(
        f"/v3/tables/{tid}/records", json={"records": [{"id": ids[2], "cells": {name: "dee"}}]}
    )
    assert r.status_code == 200, r.text
    await settled(app, client, tid)
    r = await run(
        client,
        tid,
        {"fieldIds": [upper, person], "runRecords": {"recordIds": ids[:2]}, "forceRun": True},
    )
    assert r.status_code == 200, r.text
    await settled(app, client, tid)

    # Deletes: one row, several rows.
    assert (await client.delete(f"/v3/tables/{tid}/records/{ids[0]}")).status_code == 200
    r = await client.request("DELETE", f"/v3/tables/{tid}/records", json={"recordIds": ids[1:2]})
    assert r.status_code == 200, r.text
    assert (await settled(app, client, tid))[upper] == {"SUCCESS": 2}

    # Auto-run off: an edit marks the formula stale instead.
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    assert r.status_code == 200, r.text
    more = await add_rows(client, tid, [{"cells": {name: "eve"}}])
    r = await client.patch(
        f"/v3/tables/{tid}/records", json={"records": [{"id": ids[3], "cells": {name: "x"}}]}
    )
    assert r.status_code == 200, r.text
    await settled(app, client, tid)
    r = await run(client, tid, {"fieldIds": [upper], "runRecords": {"recordIds": more}})
    await settled(app, client, tid)

    # A copy of the table, a deleted field, then the table itself.
    r = await client.post(f"/v3/tables/{tid}/duplicate")
    assert r.status_code == 200, r.text
    copy = r.json()["table"]["id"]
    await settled(app, client, copy)
    assert (await client.delete(f"/v3/tables/{tid}/fields/{person}")).status_code == 200
    assert person not in await settled(app, client, tid)
    assert (await client.delete(f"/v3/tables/{tid}")).status_code == 200
    async with app.state.db.transaction(write=False) as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM cell_status_counts WHERE table_id = :t"), {"t": tid}
        )
    assert left == 0
    await recount(app, copy)


async def test_the_checks_find_and_repair_a_drift(app: FastAPI, client: httpx.AsyncClient) -> None:
    t = await new_table(client, name="Drift", fields=("n",))
    tid, n = t["id"], t["byName"]["n"]
    fid = await add_field(
        client, tid, "F", {"type": "formula", "typeSettings": {"formulaText": "{{" + n + "}} + 1"}}
    )
    await add_rows(client, tid, [{"cells": {n: i}} for i in range(5)])
    await wait_done(client, tid)
    async with app.state.db.transaction(write=True) as conn:
        await conn.execute(
            text(
                "UPDATE cell_status_counts SET n = n + 7 WHERE table_id = :t AND status = 'SUCCESS'"
            ),
            {"t": tid},
        )
        await conn.execute(text("UPDATE credit_rollup SET amount = amount - 1"))
    found = await check_counts(app)
    assert found.exit_code == 1 and "2 counts differ" in found.output
    async with app.state.db.transaction(write=True) as conn:
        cells = await counters.check_cell_counts(conn, tid, rebuild=True)
        assert cells == [{"key": [tid, fid, "SUCCESS"], "stored": [12], "recount": [5]}]
        assert await counters.check_credit_rollup(conn, 1, rebuild=True) != []
    async with app.state.db.transaction(write=False) as conn:
        assert await counters.check_cell_counts(conn) == []
        assert await counters.check_credit_rollup(conn) == []
    assert (await wait_done(client, tid))[fid] == {"SUCCESS": 5}
    async with app.state.db.transaction(write=True) as conn:
        await conn.execute(text("UPDATE credit_rollup SET entries = entries + 1"))
    assert (await check_counts(app, "--repair")).exit_code == 0
    result = await check_counts(app)
    assert result.exit_code == 0 and "counts are exact" in result.output


async def check_counts(app: FastAPI, *args: str) -> Result:
    """``claystack check-counts`` on the test database (in a thread: it runs its own loop)."""
    settings = app.state.settings
    argv = ["check-counts", "--database-url", settings.database_url, *args]
    env = {"CLAYSTACK_DATABASE_SCHEMA": settings.database_schema}
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, env=env)


async def test_reports_page_their_rows(app: FastAPI, client: httpx.AsyncClient) -> None:
    t = await new_table(client, name="Paged", fields=("n",))
    async with app.state.db.transaction(write=True) as conn:
        for i in range(5):
            await credits.charge(
                conn,
                workspace_id=1,
                amount=i,
                idempotency_key=f"page-{i}",
                user_id=None if i == 2 else 1,
                integration=("use-ai", "Zeta", "ä-int")[i % 3],
                action_key="use-ai",
                table_id=t["id"],
                field_id=f"f_{i}",
                record_id="r",
            )
    path = "/v3/credit-reporting/1/creditReportType/workspace"
    full = (await client.get(path)).json()
    assert "page" not in full
    pages: list[Any] = []
    offset: int | None = 0
    while offset is not None:
        r = await client.get(path, params={"limit": 1, "offset": offset})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["rows"]) <= 1 and body["page"]["total"] == len(full["rows"])
        assert {k: v for k, v in body.items() if k not in ("rows", "page")} == {
            k: v for k, v in full.items() if k != "rows"
        }
        pages += body["rows"]
        offset = body["page"]["nextOffset"]
    assert pages == full["rows"] and len(pages) == 5
    for bad in ({"limit": 0}, {"limit": "x"}, {"offset": -1}, {"limit": 10_001}):
        r = await client.get(path, params=bad)
        assert r.status_code == 400, r.text
        assert set(r.json()) == {"type", "message"}
    r = await client.get(f"/v3/realtime-credit-usage/1/table/{t['id']}/column", params={"limit": 5})
    assert r.status_code == 200 and len(r.json()) == 5
    r = await client.get(f"/v3/realtime-credit-usage/1/table/{t['id']}/column", params={"limit": 2})
    assert [c["fieldId"] for c in r.json()] == ["f_0", "f_1"]
    # The database orders a page as the unpaged report does (None last, code points).
    rows = (await client.get(path, params={"limit": 10})).json()["rows"]
    assert rows == full["rows"] and rows[-1]["userId"] is None
