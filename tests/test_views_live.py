"""Spec part 2 §3.3, §4.1 and §5 details: system views' server-side filters, moving
columns, search, the flat schema and the waterfall group."""

from __future__ import annotations

import httpx
import orjson
from fastapi import FastAPI

from .conftest import new_table


async def _meta(app: FastAPI, record_id: str, meta: dict[str, object]) -> None:
    """Sets a row's run metadata as the engine would leave it."""
    async with app.state.db.transaction(write=True) as conn:
        sql = "UPDATE records SET meta = {} WHERE id = {}"
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(
                sql.format("$1::jsonb", "$2"), (orjson.dumps(meta).decode(), record_id)
            )
        else:
            await conn.exec_driver_sql(
                sql.format("?", "?"), (orjson.dumps(meta).decode(), record_id)
            )


async def test_system_views_filter_on_the_server(client: httpx.AsyncClient, app: FastAPI) -> None:
    table = await new_table(client, fields=("name",))
    t, name = table["id"], table["byName"]["name"]
    await client.patch(f"/v3/tables/{t}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    body = {
        "name": "Clean",
        "type": "action",
        "typeSettings": {
            "actionKey": "normalize-company-name",
            "actionPackageId": "normalize",
            "inputsBinding": [{"name": "companyName", "formulaText": "{{" + name + "}}"}],
        },
    }
    r = await client.post(f"/v3/tables/{t}/fields", json=body)
    assert r.status_code == 200, r.text
    action = r.json()["field"]["id"]
    rows = [{"id": f"r{i}", "cells": {name: f"Co {i}"}} for i in range(4)]
    await client.post(f"/v3/tables/{t}/records", json={"records": rows})
    await _meta(app, "r0", {action: {"status": "ERROR_BAD_REQUEST"}})
    await _meta(app, "r1", {action: {"status": "ERROR_RUN_CONDITION_NOT_MET"}})
    await _meta(app, "r2", {action: {"status": "SUCCESS"}})
    views = {v["typeSettings"].get("preconfiguredType"): v["id"] for v in table["views"]}

    async def ids(kind: str) -> list[str]:
        r = await client.get(f"/v3/tables/{t}/views/{views[kind]}/records/ids")
        assert r.status_code == 200, r.text
        return list(r.json()["results"])

    assert await ids("errored-rows") == ["r0"]
    assert await ids("fully-enriched-rows") == ["r2"]
    assert await ids("all-rows") == ["r0", "r1", "r2", "r3"]
    r = await client.get(f"/v3/tables/{t}/views/{views['errored-rows']}/records")
    assert [x["id"] for x in r.json()["results"]] == ["r0"]
    r = await client.delete(f"/v3/tables/{t}/views/{views['errored-rows']}")
    assert r.status_code == 400
    r = await client.get(f"/v3/tables/{t}/views/{views['errored-rows']}")
    assert r.status_code == 200 and r.json()["id"] == r.json()["view"]["id"]


async def test_moving_columns_and_search(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("a", "b", "c", "d"))
    t, gv, f = table["id"], table["firstViewId"], table["byName"]
    base = f"/v3/tables/{t}/views/{gv}"

    def order(view: dict[str, object]) -> list[str]:
        fields = view["fields"]
        assert isinstance(fields, dict)
        return [k for k in sorted(fields, key=lambda k: fields[k]["order"]) if k.startswith("f_0")]

    r = await client.patch(
        f"{base}/reorder-fields", json={"fieldIds": [f["a"], f["c"]], "afterFieldId": f["d"]}
    )
    assert r.status_code == 400 and r.json()["message"] == "Fields are not adjacent in the view."
    body = {"fieldIds": [f["b"], f["a"]], "afterFieldId": f["d"]}
    r = await client.patch(f"{base}/reorder-fields", json=body)
    assert r.status_code == 200, r.text
    assert order(r.json()) == [f["c"], f["d"], f["a"], f["b"]]
    r = await client.patch(f"{base}/fields/{f['b']}", json={"beforeFieldId": f["c"], "width": 90})
    assert order(r.json()) == [f["b"], f["c"], f["d"], f["a"]]
    assert r.json()["fields"][f["b"]]["width"] == 90
    r = await client.patch(f"{base}/fields/{f['b']}", json={"afterFieldId": "f_nope"})
    assert r.status_code == 404

    rows = [{"cells": {f["a"]: 'Quote "x"', f["b"]: 42, f["c"]: "ÉCOLE"}}]
    await client.post(f"/v3/tables/{t}/records", json={"records": rows})
    for term, field in (('quote "X', "a"), ("42", "b"), ("école", "c")):
        r = await client.post(f"{base}/search", json={"searchTerm": term})
        assert [h["fieldId"] for h in r.json()["results"]] == [f[field]], term
    r = await client.post(f"{base}/search", json={"searchTerm": f["a"][:8]})
    assert r.json() == {"results": []}  # a field id inside the row's JSON is no match


async def test_schema_v2_and_waterfall(client: httpx.AsyncClient) -> None:
    table = await new_table(client, "People", fields=("Email", "Company"))
    t, f = table["id"], table["byName"]
    await client.post(
        f"/v3/tables/{t}/records",
        json={"records": [{"cells": {f["Email"]: "a@b.co", f["Company"]: ""}}]},
    )
    r = await client.get(f"/v3/tables/{t}/views/{table['firstViewId']}/table-schema-v2")
    schema = r.json()
    assert (
        schema["tableSchema"][f["Email"]]
        == {
            "type": "basic",
            "name": "Email",
            "dataType": "text",
            "semanticType": "email",
            "children": None,
        }
        or schema["tableSchema"][f["Email"]]["semanticType"] == "email"
    )
    [example] = schema["exampleRecords"]
    assert example[f["Email"]] == "a@b.co" and f["Company"] not in example
    assert {"f_created_at", "f_updated_at"} <= example.keys()

    step = {
        "actionKey": "normalize-company-name",
        "actionPackageId": "normalize",
        "inputsBinding": [{"name": "companyName", "formulaText": "{{" + f["Company"] + "}}"}],
        "attributePath": "name",
        "name": "Clean step",
    }
    body = {"waterfallFieldName": "Best", "hideFromViews": True, "waterfallConfigs": [step]}
    r = await client.post(f"/v3/tables/{t}/waterfall/v2", json=body)
    assert r.status_code == 200, r.text
    [(gid, group)] = r.json()["fieldGroupMap"].items()
    assert gid.startswith("gr_") and group["name"] == "Best"
    members = group["groupDetails"]["fields"]
    assert [m["isOutputField"] for m in members] == [False, True]
    fields = {x["name"]: x for x in (await client.get(f"/v3/tables/{t}/fields")).json()}
    assert fields["Best"]["groupId"] == gid and fields["Clean step"]["type"] == "action"
    assert fields["Best"]["typeSettings"]["formulaWaterfall"] == [
        {"formula": "{{" + fields["Clean step"]["id"] + "}}?.name"}
    ]
    view = (await client.get(f"/v3/tables/{t}/views/{table['firstViewId']}")).json()
    assert view["fields"][fields["Clean step"]["id"]]["isVisible"] is False
    r = await client.post(f"/v3/tables/{t}/waterfall/v2", json=body)
    assert r.status_code == 409 and r.json()["type"] == "FieldNameAlreadyExists"
    r = await client.request(
        "DELETE", f"/v3/tables/{t}/fields/group/{gid}", json={"deleteFields": True}
    )
    assert r.status_code == 200
    names = {x["name"] for x in (await client.get(f"/v3/tables/{t}/fields")).json()}
    assert "Best" not in names and "Clean step" not in names


async def test_filters_agree_with_the_cells_whatever_the_row_text(
    client: httpx.AsyncClient,
) -> None:
    """EQUAL and CONTAIN first test the row's JSON text on SQLite; the answer must be the
    cells' own, for any case, numbers, booleans, escaped and non-ASCII text."""
    table = await new_table(client, fields=("a", "b"))
    t, gv, f = table["id"], table["firstViewId"], table["byName"]
    values = ["City 7", "city 70", "CITY 7", 'say "City 7"', "a\\b", "Zoë", 7, 7.5, True, None]
    rows = [{"cells": {f["a"]: v, f["b"]: str(i)}} for i, v in enumerate(values)]
    r = await client.post(f"/v3/tables/{t}/records", json={"records": rows})
    assert r.status_code == 200, r.text
    cases = [
        ("EQUAL", "city 7", ["0", "2"]),
        ("CONTAIN", "City 7", ["0", "1", "2", "3"]),
        ("EQUAL", "7", ["6"]),
        ("CONTAIN", "7.5", ["7"]),
        ("CONTAIN", "zoë", ["5"]),
        ("CONTAIN", "a\\b", ["4"]),
        ("NOT_EQUAL", "city 7", ["1", "3", "4", "5", "6", "7", "8", "9"]),
    ]
    for kind, value, want in cases:
        flt = {"items": [{"fieldId": f["a"], "type": kind, "value": value}]}
        assert (await client.patch(f"/v3/tables/{t}/views/{gv}/filter", json=flt)).is_success
        r = await client.get(f"/_claystack/ui/tables/{t}/views/{gv}/rows?limit=100")
        got = [row["cells"][f["b"]]["value"] for row in r.json()["results"]]
        assert got == want, (kind, value, got)
