"""Formula columns run as sweeps (``formula_runs``): queueing, run status while queued,
batches in row order, runs that overlap a sweep, deleted fields, downstream auto-run, and
values the database refuses. The engine is started by hand so the queue can be seen first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from claystack.server.config import Settings
from claystack.server.engine import Runner, sweep_reader
from claystack.server.enrichment.pool import FormulaPool
from claystack.server.storage import counters, migrate
from claystack.server.storage.engine import Database
from claystack.server.storage.models import FormulaRun, Record, RunJob

from .conftest import PG_URL, new_table
from .runs_fixtures import add_field, add_rows, cells, run, wait_done

BATCH = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"run_workers": False, "run_poll_seconds": 0.05, "run_formula_batch": BATCH}
    )


@pytest.fixture(scope="module")
def formula_pools() -> Iterator[list[FormulaPool]]:
    """The formula worker processes of the last test's runner, kept for the next as a reset
    keeps the app's (a worker process takes ~0.1 s of CPU to start)."""
    pools: list[FormulaPool] = []
    yield pools
    for pool in pools:
        pool.close()


@pytest.fixture
async def engine(app: FastAPI, formula_pools: list[FormulaPool]) -> AsyncIterator[Runner]:
    """The app's workers, not started until a test calls ``start()``."""
    runner = Runner(
        app.state.db, app.state.settings, formula_pools.pop() if formula_pools else None
    )
    yield runner
    await runner.stop(keep_pool=True)
    formula_pools.append(runner.pool)


async def sweeps(app: FastAPI) -> list[Any]:
    async with app.state.db.transaction(write=False) as conn:
        return list(await conn.execute(select(FormulaRun)))


async def status_counts(client: httpx.AsyncClient, table_id: str) -> dict[str, dict[str, int]]:
    r = await client.get(f"/v3/workspaces/1/tables/{table_id}/fields/runstatus")
    assert r.status_code == 200, r.text
    return {
        fid: {c["status"]: c["count"] for c in rows}
        for fid, rows in r.json()["statusCountsByField"].items()
    }


def formula(text: str) -> dict[str, Any]:
    return {"type": "formula", "typeSettings": {"formulaText": text}}


async def manual_table(
    client: httpx.AsyncClient, rows: int | list[Any], text: str = "{{n}}.toUpperCase()"
) -> tuple[str, str, str, list[str]]:
    """A table with auto-run off, rows of ``n`` (``v0``, ``v1``… or the values given), and a
    formula column that has not run (``{{n}}`` in ``text`` stands for that field)."""
    t = await new_table(client, name="Sweep", fields=("n",))
    tid, n = t["id"], t["byName"]["n"]
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    assert r.status_code == 200, r.text
    values = [f"v{i}" for i in range(rows)] if isinstance(rows, int) else rows
    ids = await add_rows(client, tid, [{"cells": {n: v}} for v in values])
    fid = await add_field(client, tid, "F", formula(text.replace("{{n}}", "{{" + n + "}}")))
    return tid, n, fid, ids


async def queued_table(
    client: httpx.AsyncClient, rows: int | list[Any], text: str = "{{n}}.toUpperCase()"
) -> tuple[str, str, str, list[str]]:
    """``manual_table`` with its formula column queued for every row."""
    tid, n, fid, ids = await manual_table(client, rows, text)
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    return tid, n, fid, ids


async def test_a_formula_run_is_one_sweep_with_queued_cells(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    tid, n, fid, ids = await manual_table(client, 10)
    every = {"fieldIds": [fid], "runRecords": {"viewId": (await first_view(client, tid))}}
    r = await run(client, tid, every)
    assert r.status_code == 200, r.text
    assert r.json()["recordCount"] == 10
    (sweep,) = await sweeps(app)
    assert (sweep.field_id, sweep.pending) == (fid, 10)
    async with app.state.db.transaction(write=False) as conn:
        assert list(await conn.execute(select(RunJob))) == []  # no job per cell
    assert await status_counts(client, tid) == {fid: {"QUEUED": 10}}
    assert {c["metadata"]["status"] for c in await cells(client, tid, ids, fid)} == {"QUEUED"}

    # Running cells that are still queued again neither counts them twice nor moves the sweep.
    r = await run(client, tid, {**every, "forceRun": True})
    assert r.status_code == 200, r.text
    assert [(s.pending, s.after_seq) for s in await sweeps(app)] == [(10, sweep.after_seq)]

    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 10}}
    assert [c["value"] for c in await cells(client, tid, ids, fid)] == [f"V{i}" for i in range(10)]
    assert await sweeps(app) == []

    # Done cells are kept unless forced.
    r = await run(client, tid, every)
    assert r.status_code == 200, r.text
    assert await sweeps(app) == []
    r = await run(client, tid, {**every, "forceRun": True})
    assert [s.pending for s in await sweeps(app)] == [10]
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 10}}


async def first_view(client: httpx.AsyncClient, table_id: str) -> str:
    r = await client.get(f"/v3/tables/{table_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["table"]["firstViewId"])


async def test_statuses_of_a_sweep_over_several_batches(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    values: list[Any] = ["a", "", "boom", "b", None, "c", "d", "e"]
    throws = '{{n}} === "boom" ? (() => { throw new Error("no " + {{n}}) })() : {{n}}'
    tid, n, fid, ids = await manual_table(client, values, throws)
    # Every row but the last: the last must stay as it was.
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids[:-1]}})
    assert r.status_code == 200, r.text
    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 4, "SUCCESS_NO_DATA": 2, "ERROR": 1}}
    got = await cells(client, tid, ids, fid)
    assert [c and c["value"] for c in got] == ["a", "", None, "b", None, "c", "d", None]
    assert got[2]["metadata"]["status"] == "ERROR"
    assert got[2]["externalContent"]["error"] == "Error: no boom"
    # Made with auto-run off, the column's cells are stale until a run (spec part 2 §4.2).
    assert got[-1]["value"] is None and got[-1]["metadata"]["status"] is None
    assert got[-1]["metadata"]["staleReason"] == "TABLE_AUTO_RUN_OFF"
    assert await sweeps(app) == []


async def test_cells_queued_behind_a_sweep_move_it_back(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    tid, n, fid, ids = await manual_table(client, 8)
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids[3:]}})
    assert r.status_code == 200, r.text
    (before,) = await sweeps(app)
    assert await engine.sweeper.sweep(tid, fid, batches=1)  # rows 3, 4 and 5
    (after,) = await sweeps(app)
    assert after.pending == 2 and after.after_seq > before.after_seq

    # A run of rows the sweep has passed moves it back to them.
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids[:3]}})
    assert r.status_code == 200, r.text
    (back,) = await sweeps(app)
    assert back.pending == 5 and back.after_seq < before.after_seq

    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 8}}
    assert [c["value"] for c in await cells(client, tid, ids, fid)] == [f"V{i}" for i in range(8)]
    assert await sweeps(app) == []


async def test_a_deleted_formula_field_ends_its_sweep(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    tid, n, fid, ids = await queued_table(client, 5)
    r = await client.delete(f"/v3/tables/{tid}/fields/{fid}")
    assert r.status_code == 200, r.text
    assert await status_counts(client, tid) == {}
    engine.start()
    for _ in range(200):
        if not await sweeps(app):
            break
        await asyncio.sleep(0.02)
    assert await sweeps(app) == []


async def names_table(client: httpx.AsyncClient) -> tuple[str, str, str, str, str]:
    """Fields first and last; formula Full joins them and formula Shout reads Full."""
    t = await new_table(client, name="Names", fields=("first", "last"))
    tid, first, last = t["id"], t["byName"]["first"], t["byName"]["last"]
    full = await add_field(
        client, tid, "Full", formula("{{" + first + '}} + " " + {{' + last + "}}")
    )
    shout = await add_field(client, tid, "Shout", formula("{{" + full + "}}.toUpperCase()"))
    return tid, first, last, full, shout


async def test_auto_run_feeds_a_formula_into_downstream_formulas(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    tid, first, last, full, shout = await names_table(client)
    rows = [{"cells": {first: f"Ada{i}", last: "Lovelace"}} for i in range(7)]
    rows.append({"cells": {first: "Grace"}})  # an input is blank: nothing queued
    ids = await add_rows(client, tid, rows)
    counts = await status_counts(client, tid)
    assert counts == {full: {"QUEUED": 7}}
    engine.start()
    assert await wait_done(client, tid) == {full: {"SUCCESS": 7}, shout: {"SUCCESS": 7}}
    assert [c and c["value"] for c in await cells(client, tid, ids, shout)] == [
        f"ADA{i} LOVELACE" for i in range(7)
    ] + [None]


async def test_a_value_the_database_refuses_fails_only_its_cell(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    nul = '{{n}} === "v4" ? "a" + String.fromCharCode(0) : {{n}}'
    tid, n, fid, ids = await queued_table(client, 7, nul)
    engine.start()
    done = await wait_done(client, tid)
    got = await cells(client, tid, ids, fid)
    others = [c["value"] for i, c in enumerate(got) if i != 4]
    assert others == ["v0", "v1", "v2", "v3", "v5", "v6"]
    if PG_URL:  # PostgreSQL cannot store NUL in JSON text
        assert done == {fid: {"SUCCESS": 6, "ERROR": 1}}
        assert got[4]["externalContent"]["error"] == "The formula's value could not be stored"
    else:
        assert done == {fid: {"SUCCESS": 7}}
        assert got[4]["value"] == "a\x00"


async def test_upgrading_turns_queued_formula_jobs_into_sweeps(tmp_path: Path) -> None:
    """A database left by the version that queued a run_jobs row per formula cell."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrate.upgrade(db, "0004_app_accounts")
        async with db.transaction(write=True) as conn:
            await conn.exec_driver_sql(
                "INSERT INTO workspaces (id, name, created_at, updated_at) VALUES (7, 'Old', 0, 0)"
            )
            await conn.exec_driver_sql(
                "INSERT INTO tables (id, workspace_id, name, type, settings, field_group_map, "
                "row_count, created_at, updated_at) "
                "VALUES ('t_old', 7, 'Old', 'spreadsheet', '{}', '{}', 0, 0, 0)"
            )
            for i, (kind, fid) in enumerate(
                [("formula", "f_a"), ("formula", "f_a"), ("formula", "f_b"), ("action", "f_c")]
            ):
                await conn.exec_driver_sql(
                    "INSERT INTO run_jobs (key, kind, workspace_id, table_id, field_id, "
                    "record_id, user_id, attempts, not_before, created_at) "
                    f"VALUES ('k{i}', '{kind}', 7, 't_old', '{fid}', 'r_{i}', 3, 0, 0, {i})"
                )
        await migrate.upgrade(db)
        async with db.transaction(write=False) as conn:
            runs = [
                (r.field_id, r.workspace_id, r.user_id, r.after_seq, r.pending)
                for r in await conn.execute(select(FormulaRun).order_by(FormulaRun.field_id))
            ]
            kinds = list(await conn.scalars(select(RunJob.kind)))
        assert runs == [("f_a", 7, 3, 0, 2), ("f_b", 7, 3, 0, 1)]
        assert kinds == ["action"]
    finally:
        await db.engine.dispose()


async def edit(client: httpx.AsyncClient, table_id: str, rid: str, cells: dict[str, Any]) -> None:
    r = await client.patch(
        f"/v3/tables/{table_id}/records", json={"records": [{"id": rid, "cells": cells}]}
    )
    assert r.status_code == 200, r.text


async def test_editing_an_input_recomputes_the_formulas_that_follow_it(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    tid, first, last, full, shout = await names_table(client)
    ids = await add_rows(
        client,
        tid,
        [{"cells": {first: "Ada", last: "Lovelace"}}, {"cells": {first: "Grace", last: "Hopper"}}],
    )
    late = (await add_rows(client, tid, [{"cells": {first: "Alan"}}]))[0]
    engine.start()
    assert await wait_done(client, tid) == {full: {"SUCCESS": 2}, shout: {"SUCCESS": 2}}
    untouched = (await client.get(f"/v3/tables/{tid}/records/{ids[1]}")).json()["cells"]

    await edit(client, tid, ids[0], {last: "Byron"})
    await edit(client, tid, late, {last: "Turing"})  # its inputs are all there now
    await edit(client, tid, ids[1], {first: "Grace"})  # the same value: nothing to do
    assert await wait_done(client, tid) == {full: {"SUCCESS": 3}, shout: {"SUCCESS": 3}}
    assert [c["value"] for c in await cells(client, tid, [*ids, late], shout)] == [
        "ADA BYRON",
        "GRACE HOPPER",
        "ALAN TURING",
    ]
    now = (await client.get(f"/v3/tables/{tid}/records/{ids[1]}")).json()["cells"]
    assert [now[full], now[shout]] == [untouched[full], untouched[shout]]

    # With auto-run off an edit changes the cell only.
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    assert r.status_code == 200, r.text
    await edit(client, tid, ids[0], {last: "King"})
    assert await status_counts(client, tid) == {full: {"SUCCESS": 3}, shout: {"SUCCESS": 3}}
    assert await sweeps(app) == []


async def test_formulas_that_read_each_other_stop(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    t = await new_table(client, name="Cycle", fields=("n",))
    tid, n = t["id"], t["byName"]["n"]
    one = await add_field(client, tid, "One", formula("{{" + n + "}} * 10"))
    two = await add_field(client, tid, "Two", formula("{{" + one + "}} + 1"))
    # One now reads Two as well: a cycle One → Two → One.
    r = await client.patch(
        f"/v3/tables/{tid}/fields/{one}",
        json={"typeSettings": {"formulaText": "{{" + n + "}} * 10 + ({{" + two + "}} ?? 0)"}},
    )
    assert r.status_code == 200, r.text
    (rid,) = await add_rows(client, tid, [{"cells": {n: 1}}])
    r = await run(client, tid, {"fieldIds": [one], "runRecords": {"recordIds": [rid]}})
    assert r.status_code == 200, r.text
    engine.start()
    assert await wait_done(client, tid) == {one: {"SUCCESS": 1}, two: {"SUCCESS": 1}}
    await edit(client, tid, rid, {n: 2})
    assert await wait_done(client, tid) == {one: {"SUCCESS": 1}, two: {"SUCCESS": 1}}
    # Nothing keeps going round: stopped (what it had in hand finished or dropped, a batch
    # stored with its cascade in one transaction), the engine leaves nothing queued to do.
    await engine.stop(keep_pool=True)
    assert await sweeps(app) == []
    assert await status_counts(client, tid) == {one: {"SUCCESS": 1}, two: {"SUCCESS": 1}}
    (a,) = await cells(client, tid, [rid], one)
    (b,) = await cells(client, tid, [rid], two)
    assert (a["value"], b["value"]) == (31, 11)


async def test_a_run_of_several_action_columns_is_queued_row_by_row(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The engine takes jobs in id order, so a run's columns fill each row in turn."""
    tid, n, _, ids = await manual_table(client, 4)
    domain = {
        "type": "action",
        "typeSettings": {
            "actionPackageId": "normalize-domain",
            "actionKey": "normalize-domain",
            "inputsBinding": [{"name": "url", "formulaText": "{{" + n + "}}"}],
        },
    }
    a = await add_field(client, tid, "A", domain)
    b = await add_field(client, tid, "B", domain)
    r = await run(client, tid, {"fieldIds": [b, a], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    async with app.state.db.transaction(write=False) as conn:
        jobs = list(await conn.execute(select(RunJob).order_by(RunJob.id)))
    assert [(j.record_id, j.field_id) for j in jobs] == [(rid, f) for rid in ids for f in (b, a)]


@pytest.mark.parametrize("whole", [False, True], ids=["cells", "whole"])
async def test_a_row_changed_while_its_batch_was_evaluated_is_evaluated_again(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner, whole: bool
) -> None:
    """Either way of evaluating a batch: row by row, or whole in one call into JavaScript."""
    tid, n, fid, ids = await queued_table(client, 3)
    (sweep,) = await sweeps(app)
    read = engine.sweeper.reader.read_whole if whole else engine.sweeper.reader.read_cells
    batch = await read(tid, fid, sweep.after_seq, BATCH, sweep)
    assert batch is not None and batch.count == 3
    assert (batch.stored is not None) == whole
    await edit(client, tid, ids[1], {n: "edited"})  # lands between the read and the write
    await engine.sweeper.writer.store(sweep, sweep.after_seq, batch, True)
    got = await cells(client, tid, ids, fid)
    assert [c["metadata"]["status"] for c in got] == ["SUCCESS", "QUEUED", "SUCCESS"]
    (moved,) = await sweeps(app)
    async with app.state.db.transaction(write=False) as conn:
        second = await conn.scalar(select(Record.seq).where(Record.id == ids[1]))
    assert moved.pending == 1 and moved.after_seq == second - 1

    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 3}}
    assert [c["value"] for c in await cells(client, tid, ids, fid)] == ["V0", "EDITED", "V2"]


async def test_writes_do_not_wait_for_a_slow_formula(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = "(() => { const t = Date.now(); while (Date.now() - t < 300) {} return {{n}} })()"
    tid, n, fid, ids = await queued_table(client, 1, slow)
    evaluating = asyncio.Event()
    evaluate_rows = engine.pool.evaluate_rows

    async def seen(text: str, rows: str) -> str | None:  # the pool's own, observed
        evaluating.set()
        return await evaluate_rows(text, rows)

    monkeypatch.setattr(engine.pool, "evaluate_rows", seen)
    engine.start()
    await evaluating.wait()  # the batch (its one row takes 0.3 s) is being evaluated
    await add_rows(client, tid, [{"cells": {n: "new"}}])
    (first,) = await cells(client, tid, ids[:1], fid)
    assert first["metadata"]["status"] == "QUEUED"  # the write did not wait for the batch
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1}}


async def test_run_status_follows_every_change_to_the_rows(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    """Run status reuses its scan of the rows until the table's data changes: each kind of
    change must show at once, with nothing pending."""
    throws = '{{n}} === "boom" ? (() => { throw new Error("boom") })() : {{n}}'
    tid, n, fid, ids = await manual_table(client, 6, throws)
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": True}})
    assert r.status_code == 200, r.text
    await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 6}}
    assert await status_counts(client, tid) == {fid: {"SUCCESS": 6}}  # from the kept scan

    r = await client.delete(f"/v3/tables/{tid}/records/{ids[0]}")
    assert r.status_code == 200, r.text
    assert await status_counts(client, tid) == {fid: {"SUCCESS": 5}}
    r = await client.request("DELETE", f"/v3/tables/{tid}/records", json={"recordIds": ids[1:2]})
    assert r.status_code == 200, r.text
    assert await status_counts(client, tid) == {fid: {"SUCCESS": 4}}
    await edit(client, tid, ids[2], {n: "boom"})
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 3, "ERROR": 1}}
    await add_rows(client, tid, [{"cells": {n: "more"}}])
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 4, "ERROR": 1}}
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids[3:4]}})
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 4, "ERROR": 1}}
    # A new formula computes every row at once while auto-run is on (spec part 2 §4.2).
    other = await add_field(client, tid, "Other", formula("{{" + n + "}} + 1"))
    done = {fid: {"SUCCESS": 4, "ERROR": 1}, other: {"SUCCESS": 5}}
    assert await wait_done(client, tid) == done
    r = await client.delete(f"/v3/tables/{tid}/fields/{fid}")
    assert r.status_code == 200, r.text
    assert await status_counts(client, tid) == {other: {"SUCCESS": 5}}
    await run(client, tid, {"fieldIds": [other], "runRecords": {"recordIds": ids[2:]}})
    assert await wait_done(client, tid) == {other: {"SUCCESS": 5}}


async def test_writers_of_one_table_at_once_never_fail(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    """Row adds (auto-run), edits, deletes, forced runs and the sweeper on one table, all at
    once: every request succeeds (on PostgreSQL no two writers deadlock) and the run ends
    with every remaining row computed."""
    tid, n, fid, ids = await manual_table(client, 30)
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": True}})
    assert r.status_code == 200, r.text
    engine.start()
    failures: list[str] = []

    def check(r: httpx.Response) -> None:
        if r.status_code >= 400:
            failures.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")

    async def adder() -> None:
        for i in range(15):
            rows = [{"cells": {n: f"a{i}-{k}"}} for k in range(5)]
            check(await client.post(f"/v3/tables/{tid}/records", json={"records": rows}))

    async def editor() -> None:
        for i in range(30):
            body = {"records": [{"id": ids[i % 10], "cells": {n: f"e{i}"}}]}
            check(await client.patch(f"/v3/tables/{tid}/records", json=body))

    async def deleter() -> None:
        for rid in ids[20:]:
            check(await client.delete(f"/v3/tables/{tid}/records/{rid}"))

    async def runner() -> None:
        for _ in range(10):
            body = {"fieldIds": [fid], "runRecords": {"recordIds": ids[:20]}, "forceRun": True}
            check(await client.patch(f"/v3/tables/{tid}/run", json=body))

    await asyncio.gather(adder(), editor(), deleter(), runner())
    assert failures == []
    counts = await wait_done(client, tid, timeout=60)
    assert counts == {fid: {"SUCCESS": 20 + 75}}
    r = await client.get(f"/v3/tables/{tid}/count")
    assert r.json() == {"tableTotalRecordsCount": 95, "count": 95}
    got = await cells(client, tid, ids[:10], fid)
    assert [c["value"] for c in got] == [f"E{i}" for i in range(20, 30)]


async def test_a_new_formula_column_is_a_fill_that_writes_no_row_until_computed(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner
) -> None:
    """A new formula column on an auto-run table queues its cells as the sweep's range
    (``fill_until``), not as a QUEUED mark in each row; they read as QUEUED all the same,
    are counted once whatever else queues them meanwhile, and the counts stay exact."""
    t = await new_table(client, name="Fill", fields=("n",))
    tid, n = t["id"], t["byName"]["n"]
    ids = await add_rows(client, tid, [{"cells": {n: f"v{i}"}} for i in range(5)])
    async with app.state.db.transaction(write=False) as conn:
        before = {r.id: r.updated_at for r in await conn.execute(select(Record))}
    fid = await add_field(client, tid, "F", formula("{{" + n + "}}.toUpperCase()"))
    (sweep,) = await sweeps(app)
    assert (sweep.pending, sweep.fill_until is not None) == (5, True)
    async with app.state.db.transaction(write=False) as conn:
        rows = list(await conn.execute(select(Record)))
    assert all(fid not in (r.meta or {}) for r in rows)  # no row written
    assert {r.id: r.updated_at for r in rows} == before
    assert await status_counts(client, tid) == {fid: {"QUEUED": 5}}
    assert {c["metadata"]["status"] for c in await cells(client, tid, ids, fid)} == {"QUEUED"}

    # A row added meanwhile, a run over every row and a changed formula: each cell once.
    ids += await add_rows(client, tid, [{"cells": {n: "v5"}}])
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/v3/tables/{tid}/fields/{fid}",
        json={"typeSettings": {"formulaText": "{{" + n + '}} + "!"'}},
    )
    assert r.status_code == 200, r.text
    assert [s.pending for s in await sweeps(app)] == [6]
    assert await status_counts(client, tid) == {fid: {"QUEUED": 6}}
    assert {c["metadata"]["status"] for c in await cells(client, tid, ids, fid)} == {"QUEUED"}

    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 6}}
    assert [c["value"] for c in await cells(client, tid, ids, fid)] == [f"v{i}!" for i in range(6)]
    assert await sweeps(app) == []

    # Changed once computed, the formula marks the cells that have a status.
    await engine.stop()
    r = await client.patch(
        f"/v3/tables/{tid}/fields/{fid}",
        json={"typeSettings": {"formulaText": "{{" + n + "}}.length"}},
    )
    assert r.status_code == 200, r.text
    assert [s.pending for s in await sweeps(app)] == [6]
    assert await status_counts(client, tid) == {fid: {"QUEUED": 6}}
    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 6}}
    assert [c["value"] for c in await cells(client, tid, ids, fid)] == [2] * 6
    async with app.state.db.transaction(write=False) as conn:
        assert await counters.check_cell_counts(conn, tid) == []


async def test_a_batch_evaluated_whole_stops_at_its_size_budget(
    client: httpx.AsyncClient, app: FastAPI, engine: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_reader, "_WHOLE_BYTES", 1)  # one row's cells are more than that
    tid, n, fid, ids = await queued_table(client, 3)
    (sweep,) = await sweeps(app)
    batch = await engine.sweeper.reader.read_whole(tid, fid, sweep.after_seq, BATCH, sweep)
    assert batch is not None and (batch.count, batch.end) == (1, False)
    await engine.sweeper.writer.store(sweep, sweep.after_seq, batch, batch.end)
    assert [s.pending for s in await sweeps(app)] == [2]
    engine.start()
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 3}}
    assert [c["value"] for c in await cells(client, tid, ids, fid)] == ["V0", "V1", "V2"]
