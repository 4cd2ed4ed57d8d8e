"""Sources made by POST /v3/sources, their buffer and subscriptions, and the other source
routes of spec part 2 §8."""

from __future__ import annotations

from typing import Any

import httpx

from claystack.wire import (
    SourceEnvelope,
    SourceRuns,
    SourceTokenOut,
)

from .conftest import UserFactory, new_table


def _path(source: dict[str, Any]) -> str:
    return "/" + source["url"].split("/", 3)[3]


async def _rows(client: httpx.AsyncClient, table: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.get(f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records")
    return list(r.json()["results"])


async def test_buffered_source_becomes_rows_when_a_field_subscribes(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await new_table(client)
    r = await client.post(
        "/v3/sources",
        json={"workspaceId": 1, "tableId": table["id"], "name": "Inbound", "type": "webhook"},
    )
    assert r.status_code == 200, r.text
    body = SourceEnvelope.model_validate(r.json())
    source = r.json()["source"]
    assert body.id == source["id"] and source["sourceSubscriptions"] == []
    assert source["tableId"] is None and source["dataFieldId"] is None
    assert source["state"] == {"url": source["url"], "numSourceRecords": 0}
    # Not the table's until subscribed.
    assert (await client.get("/v3/sources", params={"tableId": table["id"]})).json() == []

    ids = []
    for payload in ({"email": "a@x.io"}, [{"email": "b@x.io"}, {"email": "c@x.io"}]):
        r = await anon.post(_path(source), json=payload)
        assert r.status_code == 200, r.text
        ids.append(r.json()["recordId"])
    got = (await client.get(f"/v3/sources/{source['id']}")).json()
    assert got["numSourceRecords"] == 2 and got["state"]["numSourceRecords"] == 2
    assert await _rows(client, table) == []

    r = await client.post(
        f"/v3/tables/{table['id']}/fields",
        json={
            "name": "Inbound",
            "type": "source",
            "typeSettings": {"sourceIds": [source["id"]], "canCreateRecords": True},
        },
    )
    assert r.status_code == 200, r.text
    field_id = r.json()["field"]["id"]
    rows = await _rows(client, table)
    # The ids the POSTs answered are the rows' ids; a JSON array was one record.
    assert [row["id"] for row in rows] == ids
    assert rows[0]["cells"][field_id]["value"] == {"email": "a@x.io"}
    assert rows[1]["cells"][field_id]["value"] == [{"email": "b@x.io"}, {"email": "c@x.io"}]
    got = (await client.get(f"/v3/sources/{source['id']}")).json()
    assert got["dataFieldId"] == field_id and got["tableId"] == table["id"]
    assert got["sourceSubscriptions"] == [{"tableId": table["id"], "fieldId": field_id}]
    assert got["numSourceRecords"] == 2
    listed = (await client.get("/v3/sources", params={"tableId": table["id"]})).json()
    assert [s["id"] for s in listed] == [source["id"]]

    # From now on a payload is a row at once.
    r = await anon.post(_path(source), json={"email": "d@x.io"})
    assert r.status_code == 200, r.text
    rows = await _rows(client, table)
    assert [row["id"] for row in rows][-1] == r.json()["recordId"] and len(rows) == 3

    # A second field naming the same (now subscribed) source takes nothing from it.
    r = await client.post(
        f"/v3/tables/{table['id']}/fields",
        json={"name": "Again", "type": "source", "typeSettings": {"sourceIds": [source["id"]]}},
    )
    assert r.status_code == 200 and len(await _rows(client, table)) == 3


async def test_creating_sources_checks_its_input(
    client: httpx.AsyncClient, other_user: UserFactory
) -> None:
    r = await client.post("/v3/sources", json={"workspaceId": 1, "type": "people", "name": "P"})
    assert r.status_code == 400 and r.json()["message"] == "Invalid subscriptions"
    r = await client.post("/v3/sources", json={"workspaceId": 1, "type": "ftp"})
    assert r.status_code == 400 and r.json()["type"] == "BadRequest"
    r = await client.post("/v3/sources", json={"workspaceId": 1, "name": " "})
    assert r.status_code == 400
    # No workspaceId: the caller's default.
    r = await client.post("/v3/sources", json={"name": "Default"})
    assert r.status_code == 200 and r.json()["workspaceId"] == 1

    other, other_ws = await other_user()
    r = await other.post("/v3/sources", json={"workspaceId": 1, "name": "X"})
    assert r.status_code == 404
    foreign = await new_table(other, workspace=other_ws)
    r = await client.post("/v3/sources", json={"workspaceId": 1, "tableId": foreign["id"]})
    assert r.status_code == 404
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    r = await viewer.post("/v3/sources", json={"workspaceId": 1, "name": "V"})
    assert r.status_code == 403

    # Another workspace's field cannot subscribe this workspace's source.
    source = (await client.post("/v3/sources", json={"workspaceId": 1})).json()
    r = await other.post(
        f"/v3/tables/{foreign['id']}/fields",
        json={"name": "Steal", "type": "source", "typeSettings": {"sourceIds": [source["id"]]}},
    )
    assert r.status_code == 200
    got = (await client.get(f"/v3/sources/{source['id']}")).json()
    assert got["tableId"] is None and got["sourceSubscriptions"] == []


async def test_rename_runs_response_type_and_token(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, other_user: UserFactory
) -> None:
    source = (await client.post("/v3/sources", json={"workspaceId": 1, "name": "A"})).json()
    sid = source["id"]
    r = await client.patch(f"/v3/sources/{sid}", json={"name": "Renamed"})
    assert r.status_code == 200 and r.json()["source"]["name"] == "Renamed"
    assert (await client.patch(f"/v3/sources/{sid}", json={"name": ""})).status_code == 400

    r = await client.get(f"/v3/sources/{sid}/runs")
    assert r.status_code == 400
    assert r.json()["message"].endswith("Field 'limit' - Expected number, received nan")
    await anon.post(_path(source), json={"a": 1})
    r = await client.get(f"/v3/sources/{sid}/runs", params={"limit": 5})
    runs = SourceRuns.model_validate(r.json()).runs
    assert len(runs) == 1 and runs[0].numRecords == 1

    r = await client.patch(
        f"/v3/sources/webhook/response-type/{sid}",
        json={"sourceId": sid, "responseType": "PLAIN_TEXT"},
    )
    assert r.json() == {"success": True, "responseType": "PLAIN_TEXT"}
    r = await client.patch(f"/v3/sources/webhook/response-type/{sid}", json={"responseType": "XML"})
    assert r.status_code == 400

    r = await client.post(f"/v3/sources/webhook/auth-token/{sid}", json={})
    token = SourceTokenOut.model_validate(r.json())
    assert token.headerName == "x-clay-webhook-auth"
    assert (await anon.post(_path(source), json={"a": 2})).status_code == 401
    r = await anon.post(_path(source), json={"a": 2}, headers={token.headerName: token.token})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain") and r.text == "OK"
    r = await client.patch(
        f"/v3/sources/webhook/response-type/{sid}", json={"sourceId": sid, "responseType": "JSON"}
    )
    r = await anon.post(_path(source), json={"a": 2}, headers={token.headerName: token.token})
    assert r.json()["success"] is True
    assert (await client.get(f"/v3/sources/{sid}")).json()["numSourceRecords"] == 3

    other, _ = await other_user()
    assert (await other.patch(f"/v3/sources/{sid}", json={"name": "x"})).status_code == 404
    r = await other.post(f"/v3/sources/webhook/auth-token/{sid}", json={})
    assert r.status_code == 404
    assert (await client.delete(f"/v3/sources/{sid}", params={"deleteRecords": True})).json() == {
        "success": True
    }
    assert (await anon.post(_path(source), json={"a": 3})).status_code == 404
