"""Formula columns however they are created (spec part 2 §4.2), and run variants (§4.4):
the real app over HTTP with its run workers, on SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import new_table
from .runs_fixtures import add_rows, run, wait_done


async def values(client: httpx.AsyncClient, table_id: str, ids: list[str], fid: str) -> list[Any]:
    out = []
    for rid in ids:
        r = await client.get(f"/v3/tables/{table_id}/records/{rid}")
        assert r.status_code == 200, r.text
        out.append(r.json()["cells"].get(fid))
    return out


async def add_field(client: httpx.AsyncClient, table_id: str, body: dict[str, Any]) -> Any:
    r = await client.post(f"/v3/tables/{table_id}/fields", json=body)
    assert r.status_code == 200, r.text
    return r.json()["field"]


async def names_table(client: httpx.AsyncClient, **settings: Any) -> tuple[str, str, list[str]]:
    t = await new_table(client, name="People", fields=("Name",))
    tid, name = t["id"], t["byName"]["Name"]
    if settings:
        r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": settings})
        assert r.status_code == 200, r.text
    ids = await add_rows(client, tid, [{"cells": {name: n}} for n in ("ada", "grace", "alan")])
    return tid, name, ids


async def test_every_way_of_making_a_formula_fills_the_existing_rows(
    client: httpx.AsyncClient,
) -> None:
    tid, name, ids = await names_table(client)
    ref = "{{" + name + "}}"
    as_text = await add_field(
        client,
        tid,
        {
            "name": "Upper",
            "type": "text",
            "typeSettings": {"formulaText": ref + ".toUpperCase()", "formulaType": "text"},
        },
    )
    typed = await add_field(
        client,
        tid,
        {"name": "Length", "type": "formula", "typeSettings": {"formulaText": ref + ".length"}},
    )
    by_name = await add_field(
        client,
        tid,
        {"name": "Hello", "type": "text", "typeSettings": {"formulaText": '"hi " + {{Name}}'}},
    )
    legacy = await add_field(
        client, tid, {"name": "Legacy", "type": "formula", "typeSettings": {"formula": ref}}
    )
    plain = await add_field(client, tid, {"name": "Later", "type": "text"})
    r = await client.patch(
        f"/v3/tables/{tid}/fields/{plain['id']}",
        json={
            "typeSettings": {
                "formulaText": ref + ' + "!"',
                "formulaType": "text",
                "dataTypeSettings": {"type": "text"},
                "mappedResultPath": "x",
            }
        },
    )
    assert r.status_code == 200, r.text
    patched = r.json()["field"]
    for field in (as_text, typed, by_name, legacy, patched):
        assert field["type"] == "formula", field
        assert field["inputFieldIds"] == [name], field
    assert by_name["typeSettings"]["formulaText"] == '"hi " + ' + ref
    assert as_text["typeSettings"]["dataTypeSettings"] == {"type": "text"}

    # No run call: every existing row is computed.
    done = await wait_done(client, tid)
    for field in (as_text, typed, by_name, legacy, patched):
        assert done[field["id"]] == {"SUCCESS": 3}
    assert [c["value"] for c in await values(client, tid, ids, as_text["id"])] == [
        "ADA",
        "GRACE",
        "ALAN",
    ]
    assert [c["value"] for c in await values(client, tid, ids, typed["id"])] == [3, 5, 4]
    assert [c["value"] for c in await values(client, tid, ids, patched["id"])] == [
        "ada!",
        "grace!",
        "alan!",
    ]
    cell = (await values(client, tid, ids[:1], by_name["id"]))[0]
    assert cell == {"value": "hi ada", "metadata": {"status": "SUCCESS"}}

    # A referenced cell's change computes again; so does a changed formula.
    r = await client.patch(
        f"/v3/tables/{tid}/records", json={"records": [{"id": ids[0], "cells": {name: "lin"}}]}
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/v3/tables/{tid}/fields/{typed['id']}",
        json={"typeSettings": {"formulaText": ref + ".length * 10"}},
    )
    assert r.status_code == 200, r.text
    await wait_done(client, tid)
    assert (await values(client, tid, ids[:1], as_text["id"]))[0]["value"] == "LIN"
    assert [c["value"] for c in await values(client, tid, ids, typed["id"])] == [30, 50, 40]


async def test_a_waterfall_formula_takes_the_first_non_empty_value(
    client: httpx.AsyncClient,
) -> None:
    t = await new_table(client, name="W", fields=("A", "B"))
    tid, a, b = t["id"], t["byName"]["A"], t["byName"]["B"]
    ids = await add_rows(client, tid, [{"cells": {a: "x", b: "y"}}, {"cells": {b: "y"}}])
    steps = [{"formula": "{{" + a + "}}"}, {"formula": "{{B}}?.toUpperCase()"}]
    field = await add_field(
        client,
        tid,
        {"name": "First", "type": "text", "typeSettings": {"formulaWaterfall": steps}},
    )
    assert field["type"] == "formula" and field["inputFieldIds"] == [a, b]
    await wait_done(client, tid)
    assert [c["value"] for c in await values(client, tid, ids, field["id"])] == ["x", "Y"]


async def test_auto_run_off_marks_the_cells_stale_until_a_run(client: httpx.AsyncClient) -> None:
    tid, name, ids = await names_table(client, AUTO_RUN_ON=False)
    field = await add_field(
        client,
        tid,
        {"name": "Upper", "type": "formula", "typeSettings": {"formulaText": "{{Name}}.trim()"}},
    )
    for cell in await values(client, tid, ids, field["id"]):
        assert cell["metadata"] == {
            "status": None,
            "isStale": True,
            "staleReason": "TABLE_AUTO_RUN_OFF",
        }
    assert await wait_done(client, tid) == {}
    r = await run(client, tid, {"fieldIds": [field["id"]], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    assert await wait_done(client, tid) == {field["id"]: {"SUCCESS": 3}}
    cells = await values(client, tid, ids, field["id"])
    assert [c["metadata"] for c in cells] == [{"status": "SUCCESS"}] * 3
    # An edit of a referenced cell marks that row's formula cell stale, nothing else.
    r = await client.patch(
        f"/v3/tables/{tid}/records", json={"records": [{"id": ids[1], "cells": {name: "x"}}]}
    )
    assert r.status_code == 200, r.text
    cells = await values(client, tid, ids, field["id"])
    assert [c["metadata"].get("isStale", False) for c in cells] == [False, True, False]
    assert cells[1]["value"] == "grace" and cells[1]["metadata"]["status"] == "SUCCESS"
    r = await client.post(
        f"/v3/tables/{tid}/fields",
        json={"name": "Empty", "type": "formula", "typeSettings": {}},
    )
    assert r.status_code == 200, r.text
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": True}})
    await add_rows(client, tid, [{"cells": {name: "new"}}])
    done = await wait_done(client, tid)
    assert done == {field["id"]: {"SUCCESS": 4}}  # the empty formula queued nothing


async def test_bad_formulas_are_a_400_naming_the_problem(client: httpx.AsyncClient) -> None:
    tid, name, ids = await names_table(client)
    url = f"/v3/tables/{tid}/fields"

    async def refused(text: str, field_type: str = "formula") -> str:
        body = {"name": "Bad", "type": field_type, "typeSettings": {"formulaText": text}}
        r = await client.post(url, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["type"] == "BadRequest"
        return str(r.json()["message"])

    assert "SyntaxError" in await refused("{{Name}}.toUpperCase(")
    assert "SyntaxError" in await refused("(((", "text")
    assert '"Company"' in await refused("{{Company}} + 1")
    assert "empty reference" in await refused("{{}} + 1")
    assert "not closed" in await refused("{{Name + 1")
    assert "typeSettings.formulaText" in await refused("{{f_nope}}")
    table = (await client.get(f"/v3/tables/{tid}")).json()["table"]
    assert [f["name"] for f in table["fields"]][-1] == "Name"  # nothing half made

    field = await add_field(
        client, tid, {"name": "Ok", "type": "formula", "typeSettings": {"formulaText": "1"}}
    )
    r = await client.patch(
        f"{url}/{field['id']}", json={"typeSettings": {"formulaText": "{{Ok}} + 1"}}
    )
    assert r.status_code == 400 and "itself" in r.json()["message"]
    # Lenient where live is strict: a formula field without a formula is an empty column.
    empty = await add_field(client, tid, {"name": "Empty", "type": "formula"})
    assert empty["type"] == "formula" and "formulaText" not in empty["typeSettings"]


async def test_run_variants(client: httpx.AsyncClient) -> None:
    tid, name, ids = await names_table(client)
    field = await add_field(
        client, tid, {"name": "U", "type": "formula", "typeSettings": {"formulaText": "1"}}
    )
    await wait_done(client, tid)
    r = await run(client, tid, {"fieldIds": [field["id"]]})
    assert r.status_code == 400 and r.json()["message"].endswith('"runRecords" - Required')
    r = await run(client, tid, {"runRecords": {"recordIds": ids}})
    assert r.status_code == 400 and 'Field "fieldIds" - Required' in r.json()["message"]
    body = {
        "fieldIds": [field["id"], name],
        "runRecords": {"recordIds": ids, "tableId": tid},
        "callerName": "mcp",
        "skipActionFieldRuns": True,
        "skipTriggerSetting": True,
        "preview": False,
        "forceRun": True,
    }
    r = await run(client, tid, body)
    assert r.status_code == 200, r.text
    assert r.json()["recordCount"] == 3
    assert await wait_done(client, tid) == {field["id"]: {"SUCCESS": 3}}
    r = await run(client, tid, {"fieldIds": [name], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200 and r.json()["recordCount"] == 3  # a source field: no-op
    r = await run(client, tid, {**body, "runRecords": {"recordIds": ids, "tableId": "t_other"}})
    assert r.status_code == 400
