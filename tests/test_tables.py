"""Tables, fields and views, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import new_table

TABLE_KEYS = {
    "id",
    "workspaceId",
    "workbookId",
    "name",
    "description",
    "type",
    "parentFolderId",
    "tableSettings",
    "fieldGroupMap",
    "firstViewId",
    "fields",
    "views",
    "ownerId",
    "createdAt",
    "updatedAt",
}


async def get_table(client: httpx.AsyncClient, t: str) -> dict[str, Any]:
    r = await client.get(f"/v3/tables/{t}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["extraData"] == {}
    return dict(body["table"])


async def test_create_without_workbook_makes_one(client: httpx.AsyncClient) -> None:
    r = await client.post("/v3/tables", json={"name": "Leads", "workspaceId": 1})
    assert r.status_code == 200
    body = r.json()
    table, made = body["table"], body["extraData"]["newlyCreatedWorkbook"]
    assert TABLE_KEYS <= table.keys()
    assert table["id"].startswith("t_") and table["type"] == "spreadsheet"
    assert made["id"].startswith("wb_") and made["name"] == "Leads"
    assert table["workbookId"] == made["id"] and table["workspaceId"] == 1
    assert (
        table["tableSettings"]["AUTO_RUN_ON"] is True and "AUTO_RUN_MODE" in table["tableSettings"]
    )
    assert [f["id"] for f in table["fields"]] == ["f_created_at", "f_updated_at"]
    # Spec part 2 §3.1/§5.1: the basic template adds the system views after "Default view".
    view, *system = table["views"]
    assert view["id"] == table["firstViewId"] and view["id"].startswith("gv_")
    assert view["name"] == "Default view" and view["typeSettings"] == {}
    assert set(view["fields"]) == {"f_created_at", "f_updated_at"}
    assert [(v["name"], v["typeSettings"]["preconfiguredType"]) for v in system] == [
        ("All rows", "all-rows"),
        ("Errored rows", "errored-rows"),
        ("Fully enriched rows", "fully-enriched-rows"),
    ]


async def test_create_in_workbook(client: httpx.AsyncClient) -> None:
    r = await client.post("/v3/workspaces/1/folders", json={"name": "F"})
    folder = r.json()["id"]
    r = await client.post(
        "/v3/workbooks", json={"name": "W", "workspaceId": 1, "parentFolderId": folder}
    )
    wb = r.json()["id"]
    body = {"name": "T", "workspaceId": "1", "workbookId": wb, "type": "people"}
    r = await client.post("/v3/tables", json=body)
    assert r.status_code == 200
    assert r.json()["extraData"] == {"initialRecordIds": [], "initialRecords": []}
    table = r.json()["table"]
    assert table["workbookId"] == wb and table["parentFolderId"] == folder
    assert table["type"] == "people"
    r = await client.get(f"/v3/workbooks/{wb}/tables")
    assert [t["id"] for t in r.json()] == [table["id"]]


async def test_create_validation_writes_nothing(client: httpx.AsyncClient) -> None:
    for body, status in (
        ({"name": "", "workspaceId": 1}, 400),
        ({"name": "x", "workspaceId": 1, "type": "bogus"}, 400),
        ({"name": "x", "workspaceId": 1, "template": "fancy"}, 400),
        ({"name": "x", "workspaceId": 1, "workbookId": "wb_nope"}, 404),
        ({"name": "x", "workspaceId": 77}, 404),
        ({"name": ["x"], "workspaceId": 1}, 400),
    ):
        r = await client.post("/v3/tables", json=body)
        assert r.status_code == status, (body, r.text)
    r = await client.post("/v3/workspaces/1/resources_v2/", json={"isGlobalSearch": True})
    assert r.json() == {"resources": []}


async def test_get_patch_and_merge(client: httpx.AsyncClient) -> None:
    t = (await new_table(client))["id"]
    before = await get_table(client, t)
    r = await client.patch(f"/v3/tables/{t}", json={"name": "Renamed"})
    assert r.status_code == 200 and r.json()["table"]["name"] == "Renamed"
    r = await client.patch(f"/v3/tables/{t}", json={"description": "about"})
    assert r.json()["table"]["description"] == "about" and r.json()["table"]["name"] == "Renamed"
    r = await client.patch(f"/v3/tables/{t}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    settings = r.json()["table"]["tableSettings"]
    assert settings["AUTO_RUN_ON"] is False
    assert settings["AUTO_RUN_MODE"] == before["tableSettings"]["AUTO_RUN_MODE"]
    r = await client.patch(f"/v3/tables/{t}", json={"tableSettings": {"custom": 1}})
    assert r.json()["table"]["tableSettings"] == {**settings, "custom": 1}
    r = await client.patch(f"/v3/tables/{t}", json={"fieldGroupMap": {"g": ["f_created_at"]}})
    assert r.json()["table"]["fieldGroupMap"] == {"g": ["f_created_at"]}

    current = await get_table(client, t)
    for body in (
        {},
        {"tableSettings": {}},
        {"fieldGroupMap": {}},
        {"tableSettings": {}, "fieldGroupMap": {}},
    ):
        r = await client.patch(f"/v3/tables/{t}", json=body)
        assert r.status_code == 200
        assert r.json()["table"] == current
    r = await client.patch(f"/v3/tables/{t}")
    assert r.status_code == 200 and r.json()["table"] == current

    for body in ({"name": ""}, {"name": 5}, {"tableSettings": []}, {"description": {}}):
        r = await client.patch(f"/v3/tables/{t}", json=body)
        assert r.status_code == 400, (body, r.text)
    assert await get_table(client, t) == current


async def test_delete_table(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("a",))
    t = table["id"]
    await client.post(f"/v3/tables/{t}/records", json={"records": [{"cells": {}}] * 5})
    r = await client.delete(f"/v3/tables/{t}")
    assert r.status_code == 200 and r.json() == {"success": True}
    for path in ("", "/count", f"/views/{table['firstViewId']}/records/ids"):
        r = await client.get(f"/v3/tables/{t}{path}")
        assert r.status_code == 404 and r.json() == {
            "type": "NotFound",
            "message": "Table not found",
        }
    assert (await client.delete(f"/v3/tables/{t}")).status_code == 404
    r = await client.get(f"/v3/workbooks/{table['workbookId']}/tables")
    assert r.json() == []


async def test_fields_crud(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    t, view = table["id"], table["firstViewId"]
    r = await client.post(f"/v3/tables/{t}/fields", json={"name": "Company", "type": "text"})
    assert r.status_code == 200
    field = r.json()["field"]
    assert field["id"].startswith("f_") and field["tableId"] == t and field["name"] == "Company"
    assert field["type"] == "text" and field["typeSettings"] == {} and field["inputFieldIds"] == []
    assert field["createdAt"] and field["updatedAt"]
    f = field["id"]

    body = {"name": "Size", "type": "number", "typeSettings": {"decimals": 0}}
    r = await client.post(f"/v3/tables/{t}/fields", json=body)
    size = r.json()["field"]
    assert size["typeSettings"] == {"decimals": 0}
    body = {"name": "Label", "type": "formula", "typeSettings": {"formulaText": "{{" + f + "}}"}}
    r = await client.post(f"/v3/tables/{t}/fields", json=body)
    assert r.status_code == 200 and r.json()["field"]["inputFieldIds"] == [f]
    label = r.json()["field"]["id"]

    r = await client.post(f"/v3/tables/{t}/fields", json={"name": "Company", "type": "text"})
    assert r.status_code == 409 and r.json()["type"] == "FieldNameAlreadyExists"
    r = await client.post(f"/v3/tables/{t}/fields", json={"name": "Created At", "type": "text"})
    assert r.status_code == 409 and r.json()["type"] == "FieldNameAlreadyExists"
    r = await client.patch(f"/v3/tables/{t}/fields/{size['id']}", json={"name": "Company"})
    assert r.status_code == 409 and r.json()["type"] == "FieldNameAlreadyExists"

    r = await client.patch(f"/v3/tables/{t}/fields/{size['id']}", json={"name": "Headcount"})
    assert r.status_code == 200 and r.json()["field"]["name"] == "Headcount"
    patch = {"typeSettings": {"currency": "EUR"}, "type": "currency"}
    r = await client.patch(f"/v3/tables/{t}/fields/{size['id']}", json=patch)
    assert r.json()["field"]["type"] == "currency"
    # PATCH replaces typeSettings whole (spec part 2 §4.2).
    assert r.json()["field"]["typeSettings"] == {"currency": "EUR"}

    current = await get_table(client, t)
    names = [x["name"] for x in current["fields"]]
    assert names == ["Created At", "Updated At", "Company", "Headcount", "Label"]
    assert set(current["views"][0]["fields"]) == {x["id"] for x in current["fields"]}

    r = await client.delete(f"/v3/tables/{t}/fields/{f}")
    assert r.status_code == 400 and "Label" in r.json()["message"]
    await client.post(
        f"/v3/tables/{t}/records", json={"records": [{"id": "r1", "cells": {f: "Acme"}}]}
    )
    assert (await client.delete(f"/v3/tables/{t}/fields/{label}")).status_code == 200
    r = await client.delete(f"/v3/tables/{t}/fields/{f}")
    assert r.status_code == 200 and r.json() == {"success": True}
    current = await get_table(client, t)
    assert f not in {x["id"] for x in current["fields"]}
    assert f not in current["views"][0]["fields"]
    r = await client.get(f"/v3/tables/{t}/records/r1")
    assert f not in r.json()["cells"]
    r = await client.get(f"/v3/tables/{t}/views/{view}/records")
    assert f not in r.json()["results"][0]["cells"]
    assert (await client.delete(f"/v3/tables/{t}/fields/{f}")).status_code == 404
    assert (await client.patch(f"/v3/tables/{t}/fields/{f}", json={})).status_code == 404


async def test_field_validation(client: httpx.AsyncClient) -> None:
    t = (await new_table(client))["id"]
    for body, status in (
        ({"name": "x"}, 400),
        ({"type": "text"}, 400),
        ({"name": "x", "type": "spreadsheet"}, 400),
        ({"name": "", "type": "text"}, 400),
        ({"name": "   ", "type": "text"}, 400),
        ({"name": "x", "type": "text", "typeSettings": "s"}, 400),
        ({"name": "x", "type": "formula", "typeSettings": {"formulaText": "{{f_missing}}"}}, 400),
    ):
        r = await client.post(f"/v3/tables/{t}/fields", json=body)
        assert r.status_code == status, (body, r.text)
    assert len((await get_table(client, t))["fields"]) == 2


async def test_system_fields_are_fixed(client: httpx.AsyncClient) -> None:
    t = (await new_table(client))["id"]
    table = await get_table(client, t)
    system = {f["id"]: f for f in table["fields"]}
    assert system["f_created_at"]["type"] == "date" and system["f_created_at"]["isSystem"]
    assert system["f_updated_at"]["name"] == "Updated At"
    r = await client.delete(f"/v3/tables/{t}/fields/f_created_at")
    assert r.status_code == 400
    r = await client.patch(f"/v3/tables/{t}/fields/f_updated_at", json={"type": "text"})
    assert r.status_code == 400
    r = await client.post(
        f"/v3/tables/{t}/records", json={"records": [{"cells": {"f_created_at": "x"}}]}
    )
    assert r.status_code == 400
    r = await client.get(f"/v3/tables/{t}/count")
    assert r.json() == {"tableTotalRecordsCount": 0, "count": 0}


async def test_views_crud(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name", "score"))
    t, name, score = table["id"], table["byName"]["name"], table["byName"]["score"]
    body = {
        "name": "Top",
        "limit": 2,
        "filter": {
            "combinationMode": "AND",
            "items": [{"fieldId": name, "operator": "contains", "value": "a"}],
        },
        "sort": [{"fieldId": score, "direction": "desc"}],
    }
    r = await client.post(f"/v3/tables/{t}/views", json=body)
    assert r.status_code == 200
    view = r.json()["view"]
    assert view["id"].startswith("gv_") and view["name"] == "Top" and view["order"] == 4
    assert view["limit"] == 2 and view["offset"] is None
    assert view["sort"] == [{"fieldId": score, "direction": "DESC"}]
    assert view["filter"]["items"][0]["operator"] == "contains"
    assert set(view["fields"]) == {"f_created_at", "f_updated_at", name, score}

    r = await client.patch(f"/v3/tables/{t}/views/{view['id']}", json={"name": "Top 3", "limit": 3})
    assert r.status_code == 200
    patched = r.json()["view"]
    assert patched["name"] == "Top 3" and patched["limit"] == 3 and patched["sort"] == view["sort"]
    hide = {"fields": {name: {"isVisible": False, "width": 120}}}
    r = await client.patch(f"/v3/tables/{t}/views/{view['id']}", json=hide)
    assert r.json()["view"]["fields"][name].items() >= {"isVisible": False, "width": 120}.items()
    assert r.json()["view"]["fields"][score]["isVisible"] is True
    r = await client.patch(
        f"/v3/tables/{t}/views/{view['id']}", json={"limit": None, "filter": None}
    )
    assert r.json()["view"]["limit"] is None and r.json()["view"]["filter"] is None

    current = await get_table(client, t)
    ids = [v["id"] for v in current["views"]]
    assert ids[0] == table["firstViewId"] and ids[-1] == view["id"] and len(ids) == 5

    r = await client.delete(f"/v3/tables/{t}/views/{table['firstViewId']}")
    assert r.status_code == 200
    assert (await get_table(client, t))["firstViewId"] == ids[1]
    r = await client.delete(f"/v3/tables/{t}/views/{table['firstViewId']}")
    assert r.status_code == 404 and r.json() == {"type": "NotFound", "message": "View not found"}
    # System views are undeletable (§5.1); a table without them keeps its last view.
    r = await client.delete(f"/v3/tables/{t}/views/{ids[1]}")
    assert r.status_code == 400 and "system view" in r.json()["message"]
    r = await client.post("/v3/tables", json={"workspaceId": 1, "template": "no_views"})
    bare = r.json()["table"]
    assert [v["name"] for v in bare["views"]] == ["Default view"]
    r = await client.delete(f"/v3/tables/{bare['id']}/views/{bare['firstViewId']}")
    assert r.status_code == 400


async def test_view_validation(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name",))
    t, name = table["id"], table["byName"]["name"]
    gv = table["firstViewId"]
    bad = [
        {"name": "v", "limit": -1},
        {"name": "v", "limit": "ten"},
        {"name": "v", "offset": -5},
        {"name": "v", "sort": [{"fieldId": "f_nope"}]},
        {"name": "v", "sort": [{"fieldId": name, "direction": "SIDEWAYS"}]},
        {"name": "v", "sort": "name"},
        {"name": "v", "filter": {"items": [{"fieldId": name, "operator": "like"}]}},
        {"name": "v", "filter": {"items": [{"fieldId": "f_nope"}]}},
        {"name": "v", "filter": {"combinationMode": "XOR", "items": []}},
        {"name": "v", "filter": {"items": "x"}},
        {"limit": 1},
    ]
    for body in bad:
        r = await client.post(f"/v3/tables/{t}/views", json=body)
        assert r.status_code == 400, (body, r.text)
        patch = {k: v for k, v in body.items() if k != "name"}
        if "name" in body:
            r = await client.patch(f"/v3/tables/{t}/views/{gv}", json=patch)
            assert r.status_code == 400, (patch, r.text)
    r = await client.patch(f"/v3/tables/{t}/views/{gv}", json={"fields": {"f_nope": {}}})
    assert r.status_code == 400
    assert len((await get_table(client, t))["views"]) == 4
