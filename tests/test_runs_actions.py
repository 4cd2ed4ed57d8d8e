"""Enrichment runs end to end, action columns: field settings, runs and their statuses,
values and credits, run conditions, auto-run, waterfalls and the run request's record
selections, against a real local HTTP provider (tests/runs_fixtures.py)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from .conftest import UserFactory, new_table
from .runs_fixtures import (
    Provider,
    action,
    add_field,
    add_rows,
    balance,
    cells,
    ledger,
    run,
    wait_done,
)
from .runs_fixtures import integrations as integrations  # noqa: F401 - fixtures
from .runs_fixtures import provider as provider  # noqa: F401
from .runs_fixtures import settings as settings  # noqa: F401

# -- fields --------------------------------------------------------------------------------


async def test_action_and_formula_field_settings_are_validated(
    client: httpx.AsyncClient, integrations: None
) -> None:
    t = await new_table(client, fields=("name",))
    name = t["byName"]["name"]
    url = f"/v3/tables/{t['id']}/fields"
    # Spec part 2 §4.3: resolved by actionKey whatever the package; unknown actions are kept.
    kept = [
        (action("find", {"q": "x"}) | {"typeSettings": {"actionKey": "find"}}, None),
        ({"type": "action", "typeSettings": {"actionPackageId": "no", "actionKey": "find"}}, None),
        (action("missing", {"q": "x"}), "UNKNOWN_ACTION"),
        ({"type": "formula", "typeSettings": {}}, None),
    ]
    for i, (body, error) in enumerate(kept):
        r = await client.post(url, json={"name": f"kept{i}", **body})
        assert r.status_code == 200, (i, r.text)
        assert r.json()["field"].get("settingsError") == error
    bad = [
        {
            "type": "action",
            "typeSettings": {**action("find", {})["typeSettings"], "inputsBinding": "x"},
        },
        {
            "type": "action",
            "typeSettings": {**action("find", {})["typeSettings"], "inputsBinding": [{"name": 1}]},
        },
        {
            "type": "action",
            "typeSettings": {"actionPackageId": "waterfall", "actionKey": "waterfall", "steps": []},
        },
        action("find", {"q": "{{f_unknown}}"}),
    ]
    for i, body in enumerate(bad):
        r = await client.post(url, json={"name": f"bad{i}", **body})
        assert r.status_code == 400, (i, r.text)
        assert r.json()["type"] == "BadRequest"
        assert r.json()["message"]
    cond = "{{" + name + "}}"
    r = await client.post(
        url,
        json={
            "name": "Person",
            **action("find", {"q": "{{" + name + "}}"}, conditionalRunFormulaText=cond),
        },
    )
    assert r.status_code == 200, r.text
    field = r.json()["field"]
    assert field["type"] == "action" and field["inputFieldIds"] == [name]
    r = await client.patch(f"{url}/{field['id']}", json={"typeSettings": {"actionKey": "nope"}})
    assert r.status_code == 400
    # Changing an action field's actionKey is a 400, as live (spec part 2 §4.2).
    r = await client.patch(
        f"{url}/{field['id']}", json={"typeSettings": {"actionKey": "find-premium"}}
    )
    assert r.status_code == 400, r.text
    r = await client.post(
        url, json={"name": "F", "type": "formula", "typeSettings": {"formulaText": cond}}
    )
    assert r.status_code == 200 and r.json()["field"]["inputFieldIds"] == [name]


# -- runs ----------------------------------------------------------------------------------


async def test_run_statuses_values_credits_and_force(
    app: FastAPI, client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    t = await new_table(client, name="People", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(client, tid, "Person", action("find", {"q": "{{" + name + "}}"}))
    ids = await add_rows(client, tid, [{"cells": {name: v}} for v in ("ada", "bob", "", "nodata")])
    before = await balance(client)
    r = await run(
        client,
        tid,
        {"fieldIds": [fid], "runRecords": {"viewIdTopRecords": {"viewId": t["firstViewId"]}}},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"recordCount": 4, "runMode": "INDIVIDUAL"}
    counts = await wait_done(client, tid)
    assert counts[fid] == {"SUCCESS": 2, "ERROR_BLANK_TOKEN": 1, "SUCCESS_NO_DATA": 1}
    ada, bob, blank, nodata = await cells(client, tid, ids, fid)
    assert ada["value"] == "Ada" and ada["metadata"]["status"] == "SUCCESS"
    assert ada["externalContent"]["fullValue"] == {"name": "Ada"}
    assert bob["value"] == "Bob"
    assert blank["metadata"]["status"] == "ERROR_BLANK_TOKEN" and blank["value"] is None
    assert name in blank["externalContent"]["error"]
    assert nodata["metadata"]["status"] == "SUCCESS_NO_DATA"
    charges = await ledger(app, tid)
    assert sorted(c.record_id for c in charges) == sorted([ids[0], ids[1], ids[3]])
    assert all(
        c.amount == -1
        and c.integration == "test-people"
        and c.action_key == "find"
        and c.field_id == fid
        and c.user_id == 1
        for c in charges
    )
    assert await balance(client) == before - 3

    # Without forceRun, SUCCESS cells are kept; the others run again.
    hits = provider.hits["/person:ada"]
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.json()["recordCount"] == 4
    await wait_done(client, tid)
    assert provider.hits["/person:ada"] == hits
    assert len(await ledger(app, tid)) == 4  # nodata ran and was charged again
    r = await run(
        client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids[:1]}, "forceRun": True}
    )
    await wait_done(client, tid)
    assert provider.hits["/person:ada"] == hits + 1
    assert len(await ledger(app, tid)) == 5
    assert await balance(client) == before - 5


async def test_run_condition_formula_column_and_out_of_credits(
    app: FastAPI, client: httpx.AsyncClient, integrations: None
) -> None:
    t = await new_table(client, name="Cond", fields=("name", "go"))
    tid, name, go = t["id"], t["byName"]["name"], t["byName"]["go"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ref = "{{" + name + "}}"
    cond = await add_field(
        client, tid, "Cond", action("find", {"q": ref}, conditionalRunFormulaText="{{" + go + "}}")
    )
    costly = await add_field(client, tid, "Costly", action("costly", {"q": ref}))
    formula = await add_field(
        client, tid, "Copy", {"type": "formula", "typeSettings": {"formulaText": ref}}
    )
    ids = await add_rows(
        client, tid, [{"cells": {name: "ada", go: True}}, {"cells": {name: "bob", go: False}}]
    )
    before = await balance(client)
    r = await run(
        client,
        tid,
        {"fieldIds": [cond, costly, formula], "runRecords": {"viewId": t["firstViewId"]}},
    )
    assert r.status_code == 200 and r.json()["recordCount"] == 2
    counts = await wait_done(client, tid)
    assert counts[cond] == {"SUCCESS": 1, "ERROR_RUN_CONDITION_NOT_MET": 1}
    assert counts[costly] == {"ERROR_OUT_OF_CREDITS": 2}
    assert counts[formula] == {"SUCCESS": 2}
    assert [c["value"] for c in await cells(client, tid, ids, formula)] == ["ada", "bob"]
    assert [c["metadata"]["status"] for c in await cells(client, tid, ids, cond)] == [
        "SUCCESS",
        "ERROR_RUN_CONDITION_NOT_MET",
    ]
    assert [c.action_key for c in await ledger(app, tid)] == ["find"]
    assert await balance(client) == before - 1


async def test_auto_run_on_and_off(client: httpx.AsyncClient, integrations: None) -> None:
    t = await new_table(client, name="Auto", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    assert t["tableSettings"]["AUTO_RUN_ON"] is True
    fid = await add_field(client, tid, "Person", action("find", {"q": "{{" + name + "}}"}))
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}, {"cells": {}}])
    counts = await wait_done(client, tid)
    assert counts == {fid: {"SUCCESS": 1}}
    first, blank = await cells(client, tid, ids, fid)
    assert first["value"] == "Ada" and blank is None
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    assert r.json()["table"]["tableSettings"]["AUTO_RUN_ON"] is False
    more = await add_rows(client, tid, [{"cells": {name: "bob"}}])
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1}}
    assert await cells(client, tid, more, fid) == [None]


async def test_waterfall_stops_at_first_data_and_charges_steps_that_ran(
    app: FastAPI, client: httpx.AsyncClient, integrations: None
) -> None:
    t = await new_table(client, name="Waterfall", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ref = "{{" + name + "}}"

    def step(key: str, q: str = ref) -> dict[str, Any]:
        return {
            "actionPackageId": "test-people",
            "actionKey": key,
            "inputsBinding": [{"name": "q", "formulaText": q}],
        }

    body = {
        "type": "action",
        "typeSettings": {
            "actionPackageId": "waterfall",
            "actionKey": "waterfall",
            "steps": [step("find", '"nodata"'), step("down"), step("find-premium"), step("find")],
        },
    }
    fid = await add_field(client, tid, "Best", body)
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}])
    await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1}}
    (cell,) = await cells(client, tid, ids, fid)
    assert cell["value"] == "Ada"
    full = cell["externalContent"]["fullValue"]
    assert full["step"] == {
        "index": 2,
        "actionPackageId": "test-people",
        "actionKey": "find-premium",
    }
    assert full["result"] == {"name": "Ada"}
    assert [s["status"] for s in full["steps"]] == ["SUCCESS_NO_DATA", "ERROR", "SUCCESS"]
    charges = await ledger(app, tid)
    assert [(c.action_key, c.amount) for c in charges] == [("find", -1), ("find-premium", -3)]
    assert len({c.idempotency_key for c in charges}) == 2


async def test_waterfall_passes_over_a_step_it_cannot_pay_for(
    app: FastAPI, client: httpx.AsyncClient, integrations: None
) -> None:
    """A waterfall starts when its cheapest paid step is affordable; a step dearer than the
    credits held is not called, the next one is. The estimate counts the first runnable step
    and, as the most it may cost, all of them."""
    t = await new_table(client, name="Budget", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    steps = [
        {
            "actionPackageId": "test-people",
            "actionKey": key,
            "inputsBinding": [{"name": "q", "formulaText": "{{" + name + "}}"}],
        }
        for key in ("costly", "find")
    ]
    settings = {"actionPackageId": "waterfall", "actionKey": "waterfall", "steps": steps}
    fid = await add_field(client, tid, "Best", {"type": "action", "typeSettings": settings})
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}])
    body = {"fieldIds": [fid], "runRecords": {"recordIds": ids}}
    est = (await client.patch(f"/v3/tables/{tid}/run/estimate", json=body)).json()
    (per,) = est["fields"]
    assert (per["cells"], per["credits"], per["maxCredits"]) == (1, 10**9, 10**9 + 1)
    await run(client, tid, body)
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1}}
    (cell,) = await cells(client, tid, ids, fid)
    full = cell["externalContent"]["fullValue"]
    assert [s["status"] for s in full["steps"]] == ["ERROR_OUT_OF_CREDITS", "SUCCESS"]
    assert full["step"]["actionKey"] == "find"
    assert [(c.action_key, c.amount) for c in await ledger(app, tid)] == [("find", -1)]


# -- run requests --------------------------------------------------------------------------


async def test_run_records_variants_and_bad_requests(
    client: httpx.AsyncClient, integrations: None, other_user: UserFactory
) -> None:
    t = await new_table(client, name="Variants", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(
        client,
        tid,
        "Copy",
        {"type": "formula", "typeSettings": {"formulaText": "{{" + name + "}}"}},
    )
    ids = await add_rows(client, tid, [{"cells": {name: f"n{i}"}} for i in range(6)])
    view = t["firstViewId"]

    async def ran(run_records: dict[str, Any]) -> tuple[int, set[str]]:
        r = await run(client, tid, {"fieldIds": [fid], "runRecords": run_records, "forceRun": True})
        assert r.status_code == 200, r.text
        await wait_done(client, tid)
        got = await cells(client, tid, ids, fid)
        return r.json()["recordCount"], {i for i, c in zip(ids, got, strict=True) if c}

    assert await ran({"viewIdTopRecords": {"viewId": view, "numRecords": 2}}) == (2, set(ids[:2]))
    assert await ran({"recordIds": [ids[2], "r_missing"]}) == (1, set(ids[:3]))
    assert await ran({"recordIds": [ids[3]], "tableId": tid}) == (1, set(ids[:4]))
    r = await client.post(
        f"/v3/tables/{tid}/views",
        json={"name": "Top", "limit": 1, "sort": [{"fieldId": name, "direction": "DESC"}]},
    )
    top = r.json()["view"]["id"]
    assert await ran({"viewId": top}) == (1, set(ids[:4]) | {ids[5]})
    assert await ran({"viewIdTopRecords": {"viewId": view}}) == (6, set(ids))

    r = await run(client, tid, {"fieldIds": [fid]})
    assert r.status_code == 400
    assert r.json() == {
        "type": "BadRequest",
        "message": 'Invalid request parameter(s): Field "runRecords" - Required',
    }
    for body, status in [
        ({"runRecords": {"recordIds": ids}}, 400),
        # A field that is not computed is a no-op, not a 400 (spec part 2 §4.4).
        ({"fieldIds": [name], "runRecords": {"recordIds": ids}}, 200),
        ({"fieldIds": ["f_nope"], "runRecords": {"recordIds": ids}}, 404),
        ({"fieldIds": [fid], "runRecords": {"recordIds": ids, "tableId": "t_other"}}, 400),
        ({"fieldIds": [fid], "runRecords": {"viewId": "gv_nope"}}, 404),
        (
            {
                "fieldIds": [fid],
                "runRecords": {"viewIdTopRecords": {"viewId": view, "numRecords": -1}},
            },
            400,
        ),
        ({"fieldIds": [fid], "runRecords": {"something": 1}}, 400),
    ]:
        r = await run(client, tid, body)
        assert r.status_code == status, (body, r.text)
    other, ws = await other_user()
    r = await run(other, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.status_code == 404 and r.json()["type"] == "NotFound"
    r = await other.get(f"/v3/workspaces/{ws}/tables/{tid}/fields/runstatus")
    assert r.status_code == 404
    r = await other.get(f"/v3/workspaces/1/tables/{tid}/fields/runstatus")
    assert r.status_code == 404


async def test_action_runs_by_top_n_record_ids_view_and_all_rows(
    app: FastAPI, client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    t = await new_table(client, name="Selections", fields=("name",))
    tid, name, view = t["id"], t["byName"]["name"], t["firstViewId"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(client, tid, "Person", action("find", {"q": "{{" + name + "}}"}))
    names = [f"sel{i}" for i in range(8)]
    ids = await add_rows(client, tid, [{"cells": {name: n}} for n in names])
    r = await client.post(
        f"/v3/tables/{tid}/views",
        json={"name": "Last two", "limit": 2, "sort": [{"fieldId": name, "direction": "DESC"}]},
    )
    last_two = r.json()["view"]["id"]
    before = await balance(client)
    ran: set[int] = set()

    async def step(run_records: dict[str, Any], count: int, new: set[int], **extra: Any) -> None:
        r = await run(client, tid, {"fieldIds": [fid], "runRecords": run_records, **extra})
        assert r.status_code == 200, r.text
        assert r.json()["recordCount"] == count
        ran.update(new)
        assert await wait_done(client, tid) == {fid: {"SUCCESS": len(ran)}}
        runs = 2 if extra.get("forceRun") else 1
        # Each row called the provider once per run that executed it, no other row did.
        calls = {i: provider.hits[f"/person:{n}"] for i, n in enumerate(names)}
        assert calls == {i: runs if i in ran else 0 for i in range(8)}, run_records
        got = await cells(client, tid, ids, fid)
        for i, cell in enumerate(got):
            if i not in ran:
                assert cell is None, (i, cell)
                continue
            answer = {"name": names[i].title()}
            assert cell == {
                "value": answer["name"],
                "metadata": {"status": "SUCCESS"},
                "externalContent": {"fullValue": answer},
            }, (i, cell)
        charges = await ledger(app, tid)
        assert sorted(c.record_id for c in charges) == sorted(
            ids[i] for i in ran for _ in range(runs)
        )
        assert await balance(client) == before - len(charges)

    await step({"viewIdTopRecords": {"viewId": view, "numRecords": 3}}, 3, {0, 1, 2})
    await step({"recordIds": [ids[5], ids[6]]}, 2, {5, 6})
    await step({"viewId": last_two}, 2, {7})  # sel7 and sel6; sel6 is kept
    await step({"viewIdTopRecords": {"viewId": view}}, 8, {3, 4})
    await step({"viewIdTopRecords": {"viewId": view}}, 8, set(), forceRun=True)
    # A single record read and a view page show the same cells.
    r = await client.get(f"/v3/tables/{tid}/records/{ids[4]}")
    assert r.json()["cells"][fid]["externalContent"]["fullValue"] == {"name": "Sel4"}
    r = await client.get(f"/v3/tables/{tid}/views/{last_two}/records")
    assert [rec["cells"][fid]["value"] for rec in r.json()["results"]] == ["Sel7", "Sel6"]
