"""Spec part 2, table side, as a live client uses it: over real HTTP against a uvicorn
server, through the workspace-scoped routes and the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from claystack import Client
from claystack.server.app import create_app
from claystack.server.config import Settings

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, serve_in_thread


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    """A real server (its own event loop runs the app's lifespan) on the test database."""
    with serve_in_thread(create_app(settings), lifespan="on") as url:
        yield url


def _ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, (r.request.method, r.request.url, r.text)
    return r.json()


def test_workspace_scoped_table_views_fields_and_duplicate(live: str) -> None:
    http = httpx.Client(base_url=live, timeout=60)
    _ok(http.post("/v3/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
    ws = "/v3/workspaces/1"

    # §2: workbook and table through the workspace routes; §3.1 defaults.
    wb = _ok(http.post(f"{ws}/workbooks", json={"name": "Live"}))
    assert wb["id"].startswith("wb_") and wb["workspaceId"] == 1
    created = _ok(http.post(f"{ws}/tables", json={"workbookId": wb["id"], "workspaceId": 77}))
    table = created["table"]
    t = table["id"]
    assert table["name"] == "Untitled table" and table["workspaceId"] == 1
    assert created["extraData"] == {"initialRecordIds": [], "initialRecords": []}
    assert [v["name"] for v in table["views"]] == [
        "Default view",
        "All rows",
        "Errored rows",
        "Fully enriched rows",
    ]
    gv = table["firstViewId"]
    tw = f"{ws}/tables/{t}"
    _ok(http.patch(tw, json={"name": "Leads"}))
    ids = {}
    for name, kind in (("Name", "text"), ("City", "text"), ("Score", "number")):
        ids[name] = _ok(http.post(f"{tw}/fields", json={"name": name, "type": kind}))["field"]["id"]
    rows = [
        ("Acme", "Oslo", 3),
        ("Globex", "Rome", 9),
        ("Initech", "Lisbon", 5),
        ("acme labs", "Paris", 1),
    ]
    cells = [{ids["Name"]: n, ids["City"]: {"value": c}, ids["Score"]: s} for n, c, s in rows]
    added = _ok(http.post(f"{tw}/records", json={"records": [{"cells": c} for c in cells]}))
    by_name = {r["cells"][ids["Name"]]["value"]: r["id"] for r in added["records"]}
    assert _ok(http.get(f"{tw}/count")) == {"tableTotalRecordsCount": 4, "count": 4}
    one = _ok(http.get(f"/v3/tables/{t}/records/{by_name['Globex']}"))
    assert one["cells"][ids["City"]] == {"value": "Rome", "metadata": {}}  # §13: unwrapped
    listed = _ok(http.get(f"{ws}/tables"))["results"]
    assert t in {x["id"] for x in listed} and "fields" not in listed[0]
    assert [x["id"] for x in _ok(http.get(f"{ws}/workbooks/{wb['id']}/tables"))] == [t]
    book = _ok(http.get(f"/v3/1/workbooks/{wb['id']}"))
    assert book["orderedWorkbookTables"] == [{"id": t, "name": "Leads"}]
    for url in (f"/v3/workspaces/987654/tables/{t}", f"/v3/workspaces/987654/tables/{t}/count"):
        r = http.get(url)
        assert r.status_code == 404 and r.json() == {
            "type": "NotFound",
            "message": "Table not found",
        }

    # §5 through the SDK: filter, sort, hide, search.
    with Client(live + "/v3", email=DEMO_EMAIL, password=DEMO_PASSWORD) as client:
        view = client.views.set_filter(
            t, gv, [{"fieldId": ids["City"], "type": "NOT_EQUAL", "value": "rome"}]
        )
        assert view.filter["items"][0]["type"] == "NOT_EQUAL"
        client.views.set_sort(t, gv, [{"fieldId": ids["Score"], "direction": "DESC"}])
        shown = _ok(http.get(f"{tw}/views/{gv}/records/ids"))["results"]
        assert shown == [by_name["Initech"], by_name["Acme"], by_name["acme labs"]]
        hits = client.views.search(t, gv, "ACME")
        assert {(h["recordId"], h["fieldId"]) for h in hits} == {
            (by_name["Acme"], ids["Name"]),
            (by_name["acme labs"], ids["Name"]),
        }
        view = client.views.set_columns(t, gv, {ids["Name"]: {"isVisible": False}})
        assert view.fields[ids["Name"]]["isVisible"] is False
        assert client.views.search(t, gv, "acme") == []
        view = client.views.set_column(t, gv, ids["Score"], before=ids["Name"])
        order = sorted(view.fields, key=lambda f: view.fields[f]["order"])
        assert order.index(ids["Score"]) + 1 == order.index(ids["Name"])
        assert all(isinstance(c["order"], str) for c in view.fields.values())
        copy = client.views.duplicate(t, gv)
        assert copy.name == "Default view (copy)" and copy.filter == view.filter

        # §4.1: group and bulk-delete fields.
        extra = [client.fields.create(t, n).id for n in ("Tmp A", "Tmp B")]
        group = client.fields.group(t, extra, name="Scratch")
        assert group.startswith("gr_")
        grouped = {f.id: f.groupId for f in client.fields.list(t)}
        assert grouped[extra[0]] == grouped[extra[1]] == group
        client.fields.delete_many(t, extra)
        left = client.fields.list(t)
        assert not set(extra) & {f.id for f in left}
        assert client.tables.get(t).fieldGroupMap[group]["groupDetails"]["fields"] == []

        # §3.2: duplicate with a formula and an action column; references remapped.
        formula = client.fields.create_formula(t, "Loud", "{{" + ids["Name"] + "}}.toUpperCase()")
        action = client.fields.create_action(
            t,
            "Clean",
            "normalize-company-name",
            {"companyName": "{{" + ids["Name"] + "}}"},
            package_id="normalize",
            run_condition="{{" + ids["Score"] + "}} > 2",
        )
    dup = _ok(http.post(f"{tw}/duplicate", json={}))
    fmap, vmap = dup["oldFieldIdToNewFieldIdMap"], dup["oldViewIdToNewViewIdMap"]
    new = {f["name"]: f for f in dup["table"]["fields"]}
    assert dup["table"]["id"] != t and dup["table"]["workbookId"] == wb["id"]
    assert new["Loud"]["id"] == fmap[formula.id] != formula.id
    assert (
        new["Loud"]["typeSettings"]["formulaText"] == "{{" + fmap[ids["Name"]] + "}}.toUpperCase()"
    )
    clean = new["Clean"]["typeSettings"]
    assert clean["inputsBinding"][0]["formulaText"] == "{{" + fmap[ids["Name"]] + "}}"
    assert clean["conditionalRunFormulaText"] == "{{" + fmap[ids["Score"]] + "}} > 2"
    assert new["Clean"]["id"] == fmap[action.id]
    new_view = next(v for v in dup["table"]["views"] if v["id"] == vmap[gv])
    assert new_view["filter"]["items"][0]["fieldId"] == fmap[ids["City"]]
    assert set(new_view["fields"]) == set(fmap.values()) | {"f_created_at", "f_updated_at"}
    assert _ok(http.get(f"/v3/tables/{dup['table']['id']}/count"))["count"] == 0

    # §3.4 graph of the original: Input and ConditionalRun edges.
    graph = _ok(http.get(f"{tw}/graph"))
    edges = {(e["sourceNodeId"], e["targetNodeId"], e["type"]) for e in graph["edges"]}
    assert (ids["Name"], formula.id, "Input") in edges
    assert (ids["Name"], action.id, "Input") in edges
    assert (ids["Score"], action.id, "ConditionalRun") in edges
    assert ("root", ids["Name"], "Input") in edges
    http.close()
