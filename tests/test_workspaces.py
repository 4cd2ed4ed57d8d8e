"""Workspaces, folders, workbooks and the resource tree, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from .conftest import UserFactory, new_table

WS = "/v3/workspaces/1"


async def folder(client: httpx.AsyncClient, name: str, parent: str | None = None, **kw: Any) -> str:
    r = await client.post(f"{WS}/folders", json={"name": name, "parentFolderId": parent, **kw})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def workbook(
    client: httpx.AsyncClient, name: str, parent: str | None = None, **kw: Any
) -> str:
    body = {"name": name, "workspaceId": 1, "parentFolderId": parent, **kw}
    r = await client.post("/v3/workbooks", json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def table(client: httpx.AsyncClient, name: str, wb: str, **kw: Any) -> str:
    r = await client.post(
        "/v3/tables", json={"name": name, "workspaceId": 1, "workbookId": wb, **kw}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["table"]["id"])


async def resources(client: httpx.AsyncClient, body: Any = None, ws: int = 1) -> list[Any]:
    r = await client.post(f"/v3/workspaces/{ws}/resources_v2/", json=body)
    assert r.status_code == 200, r.text
    return list(r.json()["resources"])


def ids(found: list[Any]) -> set[str]:
    return {r["id"] for r in found}


async def db_count(app: FastAPI, sql: str) -> int:
    async with app.state.db.transaction(write=False) as conn:
        return int((await conn.exec_driver_sql(sql)).scalar_one())


async def test_my_workspaces_lists_the_demo_workspace(client: httpx.AsyncClient) -> None:
    r = await client.get("/v3/my-workspaces")
    assert r.status_code == 200
    [ws] = r.json()["results"]
    assert ws["id"] == 1 and ws["name"] == "Demo Workspace" and ws["role"] == "owner"


async def test_other_user_sees_only_their_workspace(other_user: UserFactory) -> None:
    other, ws = await other_user()
    r = await other.get("/v3/my-workspaces")
    assert [w["id"] for w in r.json()["results"]] == [ws]


async def test_workspace_with_credits(client: httpx.AsyncClient) -> None:
    r = await client.get(WS)
    assert r.status_code == 200
    ws = r.json()["workspace"]
    assert ws["id"] == 1 and ws["credits"] == 10_000 and "featureFlags" in ws
    for bad in ("999", "abc", "0", "-1"):
        r = await client.get(f"/v3/workspaces/{bad}")
        assert r.status_code == 404
        assert r.json() == {"type": "NotFound", "message": "Workspace not found"}


async def test_folders_nest_and_validate_parent(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{WS}/folders", json={"name": "Top"})
    assert r.status_code == 200
    top = r.json()
    assert top["id"].startswith("fo_") and top["workspaceId"] == 1
    assert top["parentFolderId"] is None and top["name"] == "Top" and top["createdAt"]
    r = await client.post(f"{WS}/folders", json={"name": "Child", "parentFolderId": top["id"]})
    assert r.json()["parentFolderId"] == top["id"]
    r = await client.post(f"{WS}/folders", json={"name": "X", "parentFolderId": "fo_nope"})
    assert r.status_code == 404 and r.json()["message"] == "Folder not found"
    for body in ({}, {"name": ""}, {"name": 5}):
        assert (await client.post(f"{WS}/folders", json=body)).status_code == 400


async def test_delete_folder_cascades(client: httpx.AsyncClient, app: FastAPI) -> None:
    a = await folder(client, "A")
    b = await folder(client, "B", a)
    keep = await folder(client, "Keep")
    wb_a = await workbook(client, "in A", a)
    wb_b = await workbook(client, "in B", b)
    wb_keep = await workbook(client, "kept", keep)
    t_a = await table(client, "ta", wb_a)
    t_b = await table(client, "tb", wb_b)
    t_keep = await table(client, "tk", wb_keep)
    for t in (t_a, t_b, t_keep):
        r = await client.post(f"/v3/tables/{t}/records", json={"records": [{"cells": {}}] * 3})
        assert r.status_code == 200
    r = await client.delete(f"/v3/folders/{a}")
    assert r.status_code == 200
    assert r.json()["deleted"] == {
        "folderIds": sorted([a, b]),
        "workbookIds": sorted([wb_a, wb_b]),
        "tableIds": sorted([t_a, t_b]),
    }
    for t in (t_a, t_b):
        assert (await client.get(f"/v3/tables/{t}")).status_code == 404
    assert (await client.get(f"/v3/tables/{t_keep}/count")).json()["tableTotalRecordsCount"] == 3
    assert await db_count(app, "SELECT count(*) FROM records") == 3
    assert await db_count(app, "SELECT count(*) FROM folders") == 1
    assert ids(await resources(client, {"isGlobalSearch": True})) == {keep, wb_keep, t_keep}
    r = await client.delete(f"/v3/folders/{a}")
    assert r.status_code == 404 and r.json() == {"type": "NotFound", "message": "Folder not found"}


async def test_delete_resources_by_each_id_list(client: httpx.AsyncClient) -> None:
    f = await folder(client, "F")
    wb1 = await workbook(client, "W1", f)
    wb2 = await workbook(client, "W2")
    t1 = await table(client, "T1", wb2)
    t2 = await table(client, "T2", wb2)

    r = await client.request("DELETE", f"{WS}/resources/", json={"tableIds": [t1]})
    assert r.status_code == 200 and r.json()["deleted"]["tableIds"] == [t1]
    assert ids(await resources(client, {"isGlobalSearch": True})) == {f, wb1, wb2, t2}

    r = await client.request("DELETE", f"{WS}/resources", json={"workbookIds": [wb2]})
    assert r.json()["deleted"] == {"folderIds": [], "workbookIds": [wb2], "tableIds": [t2]}

    body = {"folderIds": [f], "isPermanentDelete": True}
    r = await client.request("DELETE", f"{WS}/resources/", json=body)
    assert r.json()["deleted"] == {"folderIds": [f], "workbookIds": [wb1], "tableIds": []}
    assert await resources(client, {"isGlobalSearch": True}) == []


async def test_delete_resources_unknown_id_deletes_nothing(client: httpx.AsyncClient) -> None:
    wb = await workbook(client, "W")
    t = await table(client, "T", wb)
    body = {"workbookIds": [wb], "tableIds": ["t_missing"]}
    r = await client.request("DELETE", f"{WS}/resources/", json=body)
    assert r.status_code == 404 and r.json()["type"] == "NotFound"
    assert ids(await resources(client, {"isGlobalSearch": True})) == {wb, t}
    r = await client.request("DELETE", f"{WS}/resources/")
    assert r.status_code == 200 and r.json()["deleted"]["workbookIds"] == []


async def test_resources_v2_tree(client: httpx.AsyncClient) -> None:
    f = await folder(client, "Folder")
    sub = await folder(client, "Sub", f)
    wb_top = await workbook(client, "Top book")
    wb_in = await workbook(client, "Inner book", f)
    t_top = await table(client, "Top table", wb_top)
    t_in = await table(client, "Inner table", wb_in)

    top = await resources(client, {})
    assert ids(top) == {f, wb_top}
    assert await resources(client, None) == top
    assert await resources(client, {"parentResource": None}) == top
    by_id = {r["id"]: r for r in top}
    assert by_id[f]["resourceType"] == "FOLDER" and by_id[wb_top]["resourceType"] == "WORKBOOK"
    for r in top:
        assert {"id", "name", "parentFolderId", "ownerId", "createdAt", "updatedAt"} <= r.keys()
        assert r["ownerId"] == 1

    inside = await resources(client, {"parentResource": {"type": "FOLDER", "id": f}})
    assert ids(inside) == {sub, wb_in}
    assert all(r["parentFolderId"] == f for r in inside)
    in_book = await resources(client, {"parentResource": {"type": "WORKBOOK", "id": wb_top}})
    assert [(r["resourceType"], r["id"]) for r in in_book] == [("TABLE", t_top)]
    lower = await resources(client, {"parentResource": {"type": "workbook", "id": wb_in}})
    assert ids(lower) == {t_in}

    everything = await resources(client, {"isGlobalSearch": True})
    assert ids(everything) == {f, sub, wb_top, wb_in, t_top, t_in}

    for body, status in (
        ({"parentResource": {"type": "FOLDER", "id": "fo_nope"}}, 404),
        ({"parentResource": {"type": "WORKBOOK", "id": "wb_nope"}}, 404),
        ({"parentResource": {"type": "TABLE", "id": t_top}}, 400),
        ({"parentResource": {"id": f}}, 400),
        ({"resourceTypes": ["SPREADSHEET"]}, 400),
        ({"filters": {"ownerIds": ["me"]}}, 400),
        ({"isGlobalSearch": "maybe"}, 400),
    ):
        r = await client.post(f"{WS}/resources_v2/", json=body)
        assert r.status_code == status, (body, r.text)


async def test_resources_v2_type_filter_both_formats(client: httpx.AsyncClient) -> None:
    f = await folder(client, "F")
    wb = await workbook(client, "W")
    t = await table(client, "T", wb)
    for body in (
        {"filters": {"resourceTypes": ["WORKBOOK"]}},
        {"resourceTypes": ["WORKBOOK"]},
        {"resourceTypes": ["workbook"]},
    ):
        assert ids(await resources(client, body)) == {wb}
    body = {"filters": {"resourceTypes": ["FOLDER", "TABLE"]}, "isGlobalSearch": True}
    assert ids(await resources(client, body)) == {f, t}
    body = {"resourceTypes": ["TABLE"], "isGlobalSearch": True}
    found = await resources(client, body)
    assert ids(found) == {t} and found[0]["resourceType"] == "TABLE"


async def test_resources_v2_owner_and_query(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    other, _ = await other_user(email="member@example.com", workspace=1, role="member")
    mine = await workbook(client, "Alpha leads")
    r = await other.post("/v3/workbooks", json={"name": "Beta leads", "workspaceId": 1})
    assert r.status_code == 200
    theirs, their_id = r.json()["id"], r.json()["ownerId"]
    assert their_id != 1

    assert ids(await resources(client, {"filters": {"ownerIds": [1]}})) == {mine}
    assert ids(await resources(client, {"filters": {"ownerIds": [their_id]}})) == {theirs}
    assert ids(await resources(client, {"filters": {"ownerIds": [1, their_id]}})) == {mine, theirs}
    assert ids(await resources(client, {"filters": {"q": "ALPHA"}})) == {mine}
    assert ids(await resources(client, {"filters": {"q": "leads"}})) == {mine, theirs}
    assert await resources(client, {"filters": {"q": "%"}}) == []
    assert await resources(client, {"filters": {"q": "_"}}) == []

    t = await table(client, "Alpha table", theirs)
    body = {"filters": {"q": "alpha", "ownerIds": [1]}, "isGlobalSearch": True}
    assert ids(await resources(client, body)) == {mine, t}

    r = await client.post("/v3/users/1/resources", json={"filters": {"resourceTypes": ["TABLE"]}})
    assert r.status_code == 200 and ids(r.json()["resources"]) == {t}
    r = await client.post(f"/v3/users/{their_id}/resources?workspaceId=1")
    assert ids(r.json()["resources"]) == {theirs}


async def test_search_matches_names_and_descriptions_at_every_level(
    client: httpx.AsyncClient,
) -> None:
    f = await folder(client, "Outer", description="has the needle")
    sub = await folder(client, "Needle inside", f)
    wb = await workbook(client, "Book", sub, description="another NEEDLE here")
    t = await table(client, "Plain", wb, description="needle in a table")
    t2 = await table(client, "needle table", wb)
    await table(client, "Nothing", wb, description="hay")
    r = await client.post(f"{WS}/resources/search", json={"query": "needle"})
    assert r.status_code == 200
    assert ids(r.json()["resources"]) == {f, sub, wb, t, t2}
    kinds = {x["id"]: x["resourceType"] for x in r.json()["resources"]}
    assert kinds[t] == "TABLE" and kinds[wb] == "WORKBOOK" and kinds[f] == "FOLDER"
    r = await client.post(f"{WS}/resources/search", json={"query": "zzz"})
    assert r.json() == {"resources": []}
    r = await client.post(f"{WS}/resources/search", json={})
    assert r.status_code == 400 and r.json()["message"].endswith('Field "query" - Required')


async def test_workbooks_create_list_delete(client: httpx.AsyncClient, app: FastAPI) -> None:
    f = await folder(client, "F")
    body = {"name": "Book", "workspaceId": "1", "settings": {"isAutoRun": False}}
    r = await client.post("/v3/workbooks", json={**body, "parentFolderId": f})
    assert r.status_code == 200
    wb = r.json()
    assert wb["id"].startswith("wb_") and wb["workspaceId"] == 1
    assert wb["settings"] == {"isAutoRun": False} and wb["parentFolderId"] == f
    for key in ("description", "ownerId", "createdAt", "updatedAt", "deletedAt"):
        assert key in wb
    r = await client.post("/v3/workbooks", json={"name": "Default", "workspaceId": 1})
    assert r.json()["settings"] == {"isAutoRun": True}
    other = r.json()["id"]

    r = await client.get(f"{WS}/workbooks")
    assert [w["id"] for w in r.json()] == [wb["id"], other]

    t1 = await table(client, "T1", wb["id"])
    t2 = await table(client, "T2", wb["id"])
    await client.post(f"/v3/tables/{t1}/records", json={"records": [{"cells": {}}]})
    r = await client.get(f"/v3/workbooks/{wb['id']}/tables")
    tables = r.json()
    assert [t["id"] for t in tables] == [t1, t2]
    assert tables[0]["parentFolderId"] == f and tables[0]["fields"] and tables[0]["views"]
    assert (await client.get(f"/v3/workbooks/{other}/tables")).json() == []

    r = await client.delete(f"/v3/workbooks/{wb['id']}")
    assert r.status_code == 200 and sorted(r.json()["deleted"]["tableIds"]) == sorted([t1, t2])
    assert (await client.get(f"/v3/tables/{t1}")).status_code == 404
    assert (await client.get(f"/v3/workbooks/{wb['id']}/tables")).status_code == 404
    assert await db_count(app, "SELECT count(*) FROM records") == 0
    assert [w["id"] for w in (await client.get(f"{WS}/workbooks")).json()] == [other]


async def test_workbook_validation(client: httpx.AsyncClient) -> None:
    for body, status in (
        ({"workspaceId": 1}, 400),
        ({"name": "x"}, 400),
        ({"name": "x", "workspaceId": "one"}, 400),
        ({"name": "x", "workspaceId": 999}, 404),
        ({"name": "x", "workspaceId": 1, "parentFolderId": "fo_nope"}, 404),
        ({"name": "x", "workspaceId": 1, "settings": "auto"}, 400),
    ):
        r = await client.post("/v3/workbooks", json=body)
        assert r.status_code == status, (body, r.text)
    assert (await client.get(f"{WS}/workbooks")).json() == []


async def test_permissions_and_owners(client: httpx.AsyncClient, other_user: UserFactory) -> None:
    await other_user(email="viewer@example.com", workspace=1, role="viewer")
    r = await client.get(f"{WS}/permissions")
    assert r.status_code == 200
    members = r.json()["results"]
    assert [(m["email"], m["role"]) for m in members] == [
        ("demo@claystack.dev", "owner"),
        ("viewer@example.com", "viewer"),
    ]
    assert all({"id", "userId", "name", "workspaceId"} <= m.keys() for m in members)
    assert (await client.get("/v3/owners")).json() == r.json()
    assert (await client.get("/v3/owners?workspaceId=1")).json() == r.json()
    r = await client.get("/v3/owners?workspaceId=2")
    assert r.status_code == 404


async def test_tables_in_listing_carry_their_workbook(client: httpx.AsyncClient) -> None:
    t = await new_table(client, "Solo")
    found = await resources(client, {"resourceTypes": ["TABLE"], "isGlobalSearch": True})
    assert found[0]["id"] == t["id"] and found[0]["workbookId"] == t["workbookId"]
