"""Local actions over claystack's own tables (spec part 2 §4.3): lookups and writes to
another table of the same workspace, through the real app over HTTP and its run workers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from claystack.server.config import Settings
from claystack.server.storage import counters
from claystack.server.storage.models import CreditEntry

from .conftest import UserFactory, new_table
from .runs_fixtures import add_rows, balance, run, wait_done

CLAY_TABLES = "4299091f-3cd3-4d68-b198-0143575f471d"
CLAY_SUBROUTINES = "b1ab3d5d-b0db-4b30-9251-3f32d8b103c1"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Claims of two jobs: a run of a few cells takes several, so a workspace's claims after
    # its first are the ones SQLite stores whole (``Runner._claim_inline``).
    return settings.model_copy(update={"run_poll_seconds": 0.05, "run_claim_batch": 2})


def lookup(key: str, table_id: str, column: str, value: str, op: str = "equal") -> Any:
    return {
        "type": "action",
        "typeSettings": {
            "actionKey": key,
            "actionPackageId": CLAY_TABLES,
            "inputsBinding": [
                {"name": "tableId", "formulaText": f'"{table_id}"'},
                {"name": "targetColumn", "formulaText": f'"{column}"'},
                {"name": "filterOperator", "formulaText": f'"{op}"'},
                {"name": "rowValue", "formulaText": value},
            ],
        },
    }


async def add_field(client: httpx.AsyncClient, table_id: str, name: str, body: Any) -> str:
    r = await client.post(f"/v3/tables/{table_id}/fields", json={"name": name, **body})
    assert r.status_code == 200, r.text
    return str(r.json()["field"]["id"])


async def values(client: httpx.AsyncClient, table_id: str, ids: list[str], fid: str) -> list[Any]:
    out = []
    for rid in ids:
        r = await client.get(f"/v3/tables/{table_id}/records/{rid}")
        assert r.status_code == 200, r.text
        out.append(r.json()["cells"].get(fid))
    return out


async def companies(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    t = await new_table(client, name="Companies", fields=("Domain", "Company", "Size"))
    tid, f = t["id"], t["byName"]
    await add_rows(
        client,
        tid,
        [
            {"cells": {f["Domain"]: "acme.com", f["Company"]: "Acme", f["Size"]: 10}},
            {"cells": {f["Domain"]: "Globex.com ", f["Company"]: "Globex", f["Size"]: 20}},
            {"cells": {f["Domain"]: "acme.com", f["Company"]: "Acme EU", f["Size"]: 5}},
        ],
    )
    return tid, f


async def test_lookup_columns_read_another_table(client: httpx.AsyncClient) -> None:
    target, cf = await companies(client)
    t = await new_table(client, name="People", fields=("Email", "Domain"))
    tid, pf = t["id"], t["byName"]
    ids = await add_rows(
        client,
        tid,
        [
            {"cells": {pf["Email"]: "a@acme.com", pf["Domain"]: "ACME.com"}},
            {"cells": {pf["Email"]: "b@globex.com", pf["Domain"]: "globex.com"}},
            {"cells": {pf["Email"]: "c@initech.com", pf["Domain"]: "initech.com"}},
        ],
    )
    one = await add_field(
        client, tid, "Company", lookup("lookup-row-in-other-table", target, "Domain", "{{Domain}}")
    )
    many = await add_field(
        client,
        tid,
        "All",
        lookup("lookup-multiple-rows", target, cf["Domain"], "{{Domain}}"),
    )
    first = await add_field(
        client,
        tid,
        "Name",
        {"type": "formula", "typeSettings": {"formulaText": "{{Company}}?.record?.Company"}},
    )
    before = await balance(client)
    r = await run(client, tid, {"fieldIds": [one, many], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    done = await wait_done(client, tid)
    assert done[one] == done[many] == {"SUCCESS": 2, "SUCCESS_NO_DATA": 1}
    got = await values(client, tid, ids, one)
    assert got[0]["value"]["Company"] == "Acme" and got[0]["value"]["Size"] == 10
    assert got[1]["value"]["Company"] == "Globex"
    assert got[2]["metadata"]["status"] == "SUCCESS_NO_DATA"
    rows = [c["value"] for c in await values(client, tid, ids, many)]
    assert [r["Company"] for r in rows[0]] == ["Acme", "Acme EU"]
    assert [c["value"] for c in await values(client, tid, ids[:2], first)] == ["Acme", "Globex"]
    assert await balance(client) == before  # local actions are free

    # The target changes: the next run sees it.
    r = await client.post(
        f"/v3/tables/{target}/records",
        json={"records": [{"cells": {cf["Domain"]: "initech.com", cf["Company"]: "Initech"}}]},
    )
    assert r.status_code == 200, r.text
    r = await run(client, tid, {"fieldIds": [one], "runRecords": {"recordIds": ids[2:]}})
    assert r.status_code == 200, r.text
    await wait_done(client, tid)
    assert (await values(client, tid, ids[2:], one))[0]["value"]["Company"] == "Initech"

    contains = await add_field(
        client,
        tid,
        "Like",
        lookup("lookup-multiple-rows-in-other-table", target, "Company", '"acme"', "contains"),
    )
    r = await run(client, tid, {"fieldIds": [contains], "runRecords": {"recordIds": ids[:1]}})
    await wait_done(client, tid)
    (cell,) = await values(client, tid, ids[:1], contains)
    assert [r["Company"] for r in cell["value"]] == ["Acme", "Acme EU"]


async def test_a_lookup_never_reads_another_workspace(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    stranger, ws = await other_user()
    theirs = await new_table(stranger, name="Secret", fields=("Domain",), workspace=ws)
    await add_rows(stranger, theirs["id"], [{"cells": {theirs["byName"]["Domain"]: "x.com"}}])
    t = await new_table(client, name="Mine", fields=("Domain",))
    tid, domain = t["id"], t["byName"]["Domain"]
    ids = await add_rows(client, tid, [{"cells": {domain: "x.com"}}])
    bad = [
        ("Theirs", lookup("lookup-row-in-other-table", theirs["id"], "Domain", "{{Domain}}")),
        ("Nowhere", lookup("lookup-row-in-other-table", "t_missing", "Domain", "{{Domain}}")),
    ]
    fids = [await add_field(client, tid, name, body) for name, body in bad]
    r = await run(client, tid, {"fieldIds": fids, "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    done = await wait_done(client, tid)
    assert all(done[f] == {"ERROR_INVALID_INPUT": 1} for f in fids)
    theirs_cell, missing_cell = [(await values(client, tid, ids, f))[0] for f in fids]
    assert theirs_cell["externalContent"]["error"] == f"Table not found: {theirs['id']}"
    assert missing_cell["externalContent"]["error"] == "Table not found: t_missing"


async def test_write_to_table_adds_one_row_per_cell(client: httpx.AsyncClient) -> None:
    log = await new_table(client, name="Log", fields=("Who", "What"))
    t = await new_table(client, name="Events", fields=("Name",))
    tid, name = t["id"], t["byName"]["Name"]
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}, {"cells": {name: "alan"}}])
    body = {
        "type": "action",
        "typeSettings": {
            "actionKey": "write-to-table",
            "actionPackageId": CLAY_SUBROUTINES,
            "inputsBinding": [
                {"name": "tableId", "formulaText": '"' + log["id"] + '"'},
                {"name": "fields", "formulaMap": {"Who": "{{Name}}", "What": '"signed up"'}},
            ],
        },
    }
    fid = await add_field(client, tid, "Logged", body)
    every = {"fieldIds": [fid], "runRecords": {"recordIds": ids}}
    assert (await run(client, tid, every)).status_code == 200
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 2}}
    r = await client.get(f"/v3/tables/{log['id']}/count")
    assert r.json()["tableTotalRecordsCount"] == 2
    # Run again after an edit: the same rows are updated, none added.
    r = await client.patch(
        f"/v3/tables/{tid}/records", json={"records": [{"id": ids[0], "cells": {name: "lin"}}]}
    )
    assert (await run(client, tid, {**every, "forceRun": True})).status_code == 200
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 2}}
    r = await client.get(f"/v3/tables/{log['id']}/count")
    assert r.json()["tableTotalRecordsCount"] == 2
    (cell,) = await values(client, tid, ids[:1], fid)
    written = cell["value"]["recordId"]
    r = await client.get(f"/v3/tables/{log['id']}/records/{written}")
    assert r.status_code == 200, r.text
    cells = r.json()["cells"]
    assert cells[log["byName"]["Who"]]["value"] == "lin"
    assert cells[log["byName"]["What"]]["value"] == "signed up"


async def test_execute_subroutine_runs_a_function_tables_columns(
    client: httpx.AsyncClient,
) -> None:
    settings = {
        "BLOCK_TYPE": "SUBROUTINE",
        "SUBROUTINE_INPUTS": [{"inputName": "domain"}, {"inputName": "suffix", "optional": True}],
    }
    r = await client.post(
        "/v3/tables", json={"name": "Clean", "workspaceId": 1, "tableSettings": settings}
    )
    assert r.status_code == 200, r.text
    fn = r.json()["table"]["id"]
    for name in ("domain", "suffix"):
        await add_field(client, fn, name, {"type": "text"})
    clean = '{{domain}}.trim().toLowerCase() + ({{suffix}} ?? "")'
    await add_field(
        client, fn, "Clean", {"type": "formula", "typeSettings": {"formulaText": clean}}
    )
    normalized = {
        "type": "action",
        "typeSettings": {
            "actionKey": "normalize-domain",
            "actionPackageId": "normalize",
            "inputsBinding": [{"name": "url", "formulaText": "{{Clean}}"}],
        },
    }
    await add_field(client, fn, "Domain", normalized)
    plain = (await new_table(client, name="Plain"))["id"]

    t = await new_table(client, name="Leads", fields=("Website",))
    tid = t["id"]
    ids = await add_rows(client, tid, [{"cells": {t["byName"]["Website"]: "  WWW.Acme.com "}}])

    def call(table_id: str, inputs: dict[str, str]) -> Any:
        return {
            "type": "action",
            "typeSettings": {
                "actionKey": "execute-subroutine",
                "actionPackageId": CLAY_SUBROUTINES,
                "inputsBinding": [
                    {"name": "subroutineId", "formulaText": f'"{table_id}"'},
                    {"name": "inputs", "formulaMap": inputs},
                ],
            },
        }

    ok = await add_field(client, tid, "Call", call(fn, {"domain": "{{Website}}"}))
    missing = await add_field(client, tid, "Missing", call(fn, {"suffix": '"x"'}))
    not_fn = await add_field(client, tid, "NotFn", call(plain, {"domain": "{{Website}}"}))
    fids = [ok, missing, not_fn]
    r = await run(client, tid, {"fieldIds": fids, "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    done = await wait_done(client, tid)
    assert done == {
        ok: {"SUCCESS": 1},
        missing: {"ERROR_INVALID_INPUT": 1},
        not_fn: {"ERROR_INVALID_INPUT": 1},
    }
    (cell,) = await values(client, tid, ids, ok)
    assert cell["value"]["Clean"] == "www.acme.com"
    assert cell["value"]["Domain"]
    (cell,) = await values(client, tid, ids, missing)
    assert cell["externalContent"]["error"] == 'Input "domain" is required'
    (cell,) = await values(client, tid, ids, not_fn)
    assert cell["externalContent"]["error"] == f"Table {plain} is not a subroutine"
    r = await client.get(f"/v3/tables/{fn}/count")
    assert r.json()["tableTotalRecordsCount"] == 0  # no row written to the function table


async def test_a_column_of_lookups_runs_as_one_batch_each_cell_an_action_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Lookups run inline, a claim's cells in one call: each executed cell still is one
    zero-credit action in the ledger, charged once per run, and blank inputs and missing
    matches end their own cells only."""
    target, _ = await companies(client)
    t = await new_table(client, name="People", fields=("Domain",))
    tid, pf = t["id"], t["byName"]
    domains = ["acme.com", "", "globex.com", "nope.com"]
    ids = await add_rows(client, tid, [{"cells": {pf["Domain"]: d}} for d in domains])
    fid = await add_field(
        client, tid, "Company", lookup("lookup-row-in-other-table", target, "Domain", "{{Domain}}")
    )
    every = {"fieldIds": [fid], "runRecords": {"recordIds": ids}}
    for attempt in (1, 2):
        r = await run(client, tid, {**every, "forceRun": True})
        assert r.status_code == 200, r.text
        done = await wait_done(client, tid)
        assert done[fid] == {"SUCCESS": 2, "SUCCESS_NO_DATA": 1, "ERROR_BLANK_TOKEN": 1}
        async with app.state.db.transaction(write=False) as conn:
            entries = list(
                await conn.execute(select(CreditEntry).where(CreditEntry.table_id == tid))
            )
        assert len(entries) == 3 * attempt  # the blank cell never ran
        assert {(e.amount, e.actions) for e in entries} == {(0, 1)}
        assert len({e.idempotency_key for e in entries}) == len(entries)
    got = await values(client, tid, ids, fid)
    assert [g["value"]["Company"] if g and g.get("value") else None for g in got] == [
        "Acme",
        None,
        "Globex",
        None,
    ]


async def test_claims_of_lookups_store_whole_and_hand_other_actions_on(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """On SQLite, a workspace whose claims run inline has each next claim planned, run and
    stored in the transaction that leases it, with no RUNNING mark to see; actions of such
    a claim that do not run inline are marked RUNNING and go to the executor. Cells, status
    counts and the ledger come out as a claim at a time makes them."""
    target, _ = await companies(client)
    log = await new_table(client, name="Log", fields=("Who",))
    t = await new_table(client, name="People", fields=("Domain",))
    tid, pf = t["id"], t["byName"]
    ids = await add_rows(
        client,
        tid,
        [{"cells": {pf["Domain"]: d}} for d in ["acme.com", "globex.com", "no.com"] * 3],
    )
    fid = await add_field(
        client, tid, "Company", lookup("lookup-row-in-other-table", target, "Domain", "{{Domain}}")
    )
    for attempt in (1, 2):
        body = {"fieldIds": [fid], "runRecords": {"recordIds": ids}, "forceRun": True}
        assert (await run(client, tid, body)).status_code == 200
        assert await wait_done(client, tid) == {fid: {"SUCCESS": 6, "SUCCESS_NO_DATA": 3}}
        async with app.state.db.transaction(write=False) as conn:
            entries = list(
                await conn.execute(select(CreditEntry).where(CreditEntry.table_id == tid))
            )
        assert len(entries) == 9 * attempt
        assert {(e.amount, e.actions) for e in entries} == {(0, 1)}
    write = {
        "type": "action",
        "typeSettings": {
            "actionKey": "write-to-table",
            "actionPackageId": CLAY_SUBROUTINES,
            "inputsBinding": [
                {"name": "tableId", "formulaText": '"' + log["id"] + '"'},
                {"name": "fields", "formulaMap": {"Who": "{{Domain}}"}},
            ],
        },
    }
    logged = await add_field(client, tid, "Logged", write)
    body = {"fieldIds": [fid, logged], "runRecords": {"recordIds": ids}, "forceRun": True}
    assert (await run(client, tid, body)).status_code == 200
    assert await wait_done(client, tid) == {
        fid: {"SUCCESS": 6, "SUCCESS_NO_DATA": 3},
        logged: {"SUCCESS": 9},
    }
    r = await client.get(f"/v3/tables/{log['id']}/count")
    assert r.json()["tableTotalRecordsCount"] == 9
    got = await values(client, tid, ids[:3], fid)
    assert got[0]["value"]["Company"] == "Acme" and got[1]["value"]["Company"] == "Globex"
    assert got[2]["metadata"]["status"] == "SUCCESS_NO_DATA"
    async with app.state.db.transaction(write=False) as conn:
        assert await counters.check_cell_counts(conn, tid) == []
        assert await counters.check_credit_rollup(conn) == []
