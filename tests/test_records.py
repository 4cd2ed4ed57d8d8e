"""Records: adding, reading, updating, deleting, listing, over HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import orjson

from .conftest import new_table

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form(body: Any) -> str:
    """Clay's legacy body: ``encodeURIComponent(JSON.stringify(obj)) + "="``."""
    return quote(orjson.dumps(body).decode(), safe="") + "="


async def count(client: httpx.AsyncClient, t: str) -> int:
    r = await client.get(f"/v3/tables/{t}/count")
    assert r.status_code == 200, r.text
    return int(r.json()["tableTotalRecordsCount"])


async def all_ids(
    client: httpx.AsyncClient, table: dict[str, Any], view: str | None = None
) -> list[str]:
    r = await client.get(
        f"/v3/tables/{table['id']}/views/{view or table['firstViewId']}/records/ids"
    )
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


async def add(client: httpx.AsyncClient, t: str, records: list[dict[str, Any]]) -> list[Any]:
    r = await client.post(f"/v3/tables/{t}/records", json={"records": records})
    assert r.status_code == 200, r.text
    return list(r.json()["records"])


async def test_add_keeps_client_ids_and_values(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name", "size", "flag", "data"))
    t, f = table["id"], table["byName"]
    rows = [
        {"id": "lead-1", "cells": {f["name"]: "Acme", f["size"]: 12, f["flag"]: True}},
        {"id": "any string: ünïcode/with spaces", "cells": {f["data"]: {"nested": [1, None]}}},
        {"cells": {f["name"]: None, f["size"]: 1.5}},
        {"cells": {}},
    ]
    out = await add(client, t, rows)
    assert [r["id"] for r in out[:2]] == ["lead-1", "any string: ünïcode/with spaces"]
    assert out[2]["id"].startswith("r_") and out[3]["id"].startswith("r_")
    first = out[0]
    assert first["tableId"] == t and first["createdAt"] and first["updatedAt"]
    assert first["cells"][f["name"]] == {"value": "Acme", "metadata": {}}
    assert first["cells"][f["size"]] == {"value": 12, "metadata": {}}
    assert first["cells"][f["flag"]] == {"value": True, "metadata": {}}
    assert first["cells"]["f_created_at"] == {"value": first["createdAt"], "metadata": {}}
    assert set(out[3]["cells"]) == {"f_created_at", "f_updated_at"}
    assert await count(client, t) == 4
    assert await all_ids(client, table) == [r["id"] for r in out]

    r = await client.get(f"/v3/tables/{t}/records/{quote(out[1]['id'], safe='')}")
    assert r.status_code == 200 and r.json()["cells"][f["data"]] == {
        "value": {"nested": [1, None]},
        "metadata": {},
    }
    r = await client.get(f"/v3/tables/{t}/records/{out[2]['id']}")
    assert r.json()["cells"][f["size"]] == {"value": 1.5, "metadata": {}}
    assert r.json()["cells"][f["name"]] == {"value": None, "metadata": {}}
    assert r.json() == {**out[2], "cells": r.json()["cells"]}


async def test_add_empty_and_blank(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    t = table["id"]
    r = await client.post(f"/v3/tables/{t}/records", json={"records": []})
    assert r.status_code == 200 and r.json() == {"records": []}
    out = await add(client, t, [{"cells": {}}, {}])
    assert len(out) == 2 and await count(client, t) == 2


async def test_same_client_id_in_two_tables(client: httpx.AsyncClient) -> None:
    a = (await new_table(client, "A"))["id"]
    b = (await new_table(client, "B"))["id"]
    await add(client, a, [{"id": "shared", "cells": {}}])
    await add(client, b, [{"id": "shared", "cells": {}}])
    assert (await client.get(f"/v3/tables/{b}/records/shared")).json()["tableId"] == b


async def test_patch_records_bulk(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name", "city"))
    t, f = table["id"], table["byName"]
    await add(
        client,
        t,
        [
            {"id": "a", "cells": {f["name"]: "A", f["city"]: "Paris"}},
            {"id": "b", "cells": {f["name"]: "B"}},
        ],
    )
    body = {
        "records": [
            {"id": "a", "cells": {f["city"]: "Rome"}},
            {"id": "b", "cells": {f["city"]: "Oslo"}},
        ]
    }
    r = await client.patch(f"/v3/tables/{t}/records", json=body)
    assert r.status_code == 200
    assert r.json()["extraData"] == {"message": "Record updates enqueued"}
    by_id = {x["id"]: x for x in r.json()["records"]}
    assert by_id["a"]["cells"][f["name"]] == {"value": "A", "metadata": {}}
    assert by_id["a"]["cells"][f["city"]] == {"value": "Rome", "metadata": {}}
    assert by_id["b"]["cells"][f["city"]] == {"value": "Oslo", "metadata": {}}
    r = await client.get(f"/v3/tables/{t}/records/a")
    assert r.json()["cells"][f["city"]] == {"value": "Rome", "metadata": {}}
    assert r.json()["updatedAt"] >= r.json()["createdAt"]

    r = await client.patch(f"/v3/tables/{t}/records", content=form(body), headers=FORM)
    assert r.status_code == 200, r.text


async def test_single_record_get_patch_delete(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name", "city"))
    t, f = table["id"], table["byName"]
    await add(client, t, [{"id": "r_1", "cells": {f["name"]: "A"}}, {"id": "r_2", "cells": {}}])

    r = await client.patch(f"/v3/tables/{t}/records/r_1", json={"cells": {f["city"]: "Lima"}})
    assert r.status_code == 200
    assert r.json()["cells"][f["city"]] == {"value": "Lima", "metadata": {}}
    assert r.json()["cells"][f["name"]] == {"value": "A", "metadata": {}}
    r = await client.patch(f"/v3/tables/{t}/records/r_1", json={f["name"]: "B"})
    assert r.status_code == 200
    assert r.json()["cells"][f["name"]] == {"value": "B", "metadata": {}}
    assert r.json()["cells"][f["city"]] == {"value": "Lima", "metadata": {}}
    r = await client.get(f"/v3/tables/{t}/records/r_1")
    assert r.json()["id"] == "r_1" and r.json()["cells"][f["name"]] == {
        "value": "B",
        "metadata": {},
    }

    r = await client.patch(f"/v3/tables/{t}/records/r_1", json={"f_nope": 1})
    assert r.status_code == 200 and "f_nope" not in r.json()["cells"]
    r = await client.patch(f"/v3/tables/{t}/records/r_1", json={"cells": {"f_updated_at": 1}})
    assert r.status_code == 400
    assert (await client.get(f"/v3/tables/{t}/records/r_1")).json()["cells"][f["name"]] == {
        "value": "B",
        "metadata": {},
    }

    r = await client.delete(f"/v3/tables/{t}/records/r_1")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert (await client.get(f"/v3/tables/{t}/records/r_1")).status_code == 404
    r = await client.delete(f"/v3/tables/{t}/records/r_1")
    assert r.status_code == 404 and r.json() == {"type": "NotFound", "message": "Record not found"}
    assert await count(client, t) == 1 and await all_ids(client, table) == ["r_2"]


async def test_delete_all_with_no_body(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    t = table["id"]
    await add(client, t, [{"cells": {}}] * 25)
    r = await client.delete(f"/v3/tables/{t}/records")
    assert r.status_code == 200 and r.json() == {"success": True, "deletedCount": 25}
    assert await count(client, t) == 0 and await all_ids(client, table) == []
    r = await client.delete(f"/v3/tables/{t}/records/")
    assert r.status_code == 200 and r.json()["deletedCount"] == 0


async def test_delete_by_record_ids(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    t = table["id"]
    await add(client, t, [{"id": f"r{i}", "cells": {}} for i in range(6)])
    body = {"recordIds": ["r1", "r3", "r_unknown"]}
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json=body)
    assert r.status_code == 200 and r.json()["deletedCount"] == 2
    assert await all_ids(client, table) == ["r0", "r2", "r4", "r5"]
    assert await count(client, t) == 4
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json={"recordIds": []})
    assert r.status_code == 200 and r.json()["deletedCount"] == 0
    r = await client.request(
        "DELETE", f"/v3/tables/{t}/records", content=form({"recordIds": ["r0"]}), headers=FORM
    )
    assert r.json()["deletedCount"] == 1 and await count(client, t) == 3


async def test_delete_all_form_encoded_with_view_and_omit(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("kind",))
    t, kind = table["id"], table["byName"]["kind"]
    await add(
        client, t, [{"id": f"r{i}", "cells": {kind: "keep" if i < 3 else "drop"}} for i in range(8)]
    )
    flt = {"items": [{"fieldId": kind, "operator": "equals", "value": "drop"}]}
    view = (
        await client.post(f"/v3/tables/{t}/views", json={"name": "drops", "filter": flt})
    ).json()["view"]

    body = {"deleteAll": True, "viewId": view["id"], "omitDeletingRecordIds": ["r7"]}
    r = await client.request("DELETE", f"/v3/tables/{t}/records", content=form(body), headers=FORM)
    assert r.status_code == 200, r.text
    assert r.json()["deletedCount"] == 4
    assert await all_ids(client, table) == ["r0", "r1", "r2", "r7"]
    assert await count(client, t) == 4

    body = {"deleteAll": True, "viewId": table["firstViewId"], "omitDeletingRecordIds": ["r1"]}
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json=body)
    assert r.json()["deletedCount"] == 3 and await all_ids(client, table) == ["r1"]

    r = await client.request("DELETE", f"/v3/tables/{t}/records", json={"deleteAll": True})
    assert r.json()["deletedCount"] == 1 and await count(client, t) == 0

    await add(client, t, [{"id": "x", "cells": {}}])
    bad = {"deleteAll": True, "viewId": "gv_nope"}
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json=bad)
    assert r.status_code == 404 and r.json()["message"] == "View not found"
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json={"deleteAll": False})
    assert r.status_code == 400
    assert await count(client, t) == 1


async def test_bulk_fetch(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("a", "b"))
    t, f = table["id"], table["byName"]
    await add(client, t, [{"id": f"r{i}", "cells": {f["a"]: i, f["b"]: -i}} for i in range(5)])
    body = {"recordIds": ["r3", "r_missing", "r1", "r3"]}
    r = await client.post(f"/v3/tables/{t}/bulk-fetch-records", json=body)
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["results"]] == ["r3", "r1"]
    assert r.json()["results"][0]["cells"][f["b"]] == {"value": -3, "metadata": {}}

    body = {"recordIds": ["r2"], "fieldIds": [f["a"]], "includeExternalContentFieldIds": []}
    r = await client.post(f"/v3/tables/{t}/bulk-fetch-records", json=body)
    assert r.json()["results"][0]["cells"] == {f["a"]: {"value": 2, "metadata": {}}}

    for bad in ({"recordIds": []}, {}, {"recordIds": "r1"}, {"recordIds": [1, 2]}):
        r = await client.post(f"/v3/tables/{t}/bulk-fetch-records", json=bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["type"] == "BadRequest"


async def test_view_records_paging(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("n",))
    t, n, gv = table["id"], table["byName"]["n"], table["firstViewId"]
    await add(client, t, [{"id": f"r{i:02d}", "cells": {n: f"{i:02d}"}} for i in range(12)])

    async def page(view: str, **params: Any) -> list[str]:
        r = await client.get(f"/v3/tables/{t}/views/{view}/records", params=params)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["results"]]

    assert await page(gv) == [f"r{i:02d}" for i in range(12)]
    assert await page(gv, limit=5) == [f"r{i:02d}" for i in range(5)]
    assert await page(gv, limit=5, offset=10) == ["r10", "r11"]
    assert await page(gv, offset=20) == []
    assert await page(gv, limit=0) == []

    body = {"name": "v", "sort": [{"fieldId": n, "direction": "DESC"}], "limit": 4, "offset": 1}
    view = (await client.post(f"/v3/tables/{t}/views", json=body)).json()["view"]["id"]
    assert await page(view) == ["r10", "r09", "r08", "r07"]
    assert await page(view, limit=2, offset=1) == ["r09", "r08"]
    assert await page(view, offset=3) == ["r07"]
    assert await page(view, offset=4) == []
    assert await all_ids(client, table, view) == ["r10", "r09", "r08", "r07"]

    for params in ({"limit": -1}, {"limit": "x"}, {"offset": -1}, {"limit": 10**6}):
        r = await client.get(f"/v3/tables/{t}/views/{gv}/records", params=params)
        assert r.status_code == 400, params
    r = await client.get(f"/v3/tables/{t}/views/gv_nope/records")
    assert r.status_code == 404


async def test_ids_follow_view_sort_and_filter(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name", "tier"))
    t, f = table["id"], table["byName"]
    rows = [
        ("r1", "delta", "gold"),
        ("r2", "alpha", "silver"),
        ("r3", "charlie", "gold"),
        ("r4", "bravo", None),
    ]
    await add(
        client, t, [{"id": i, "cells": {f["name"]: nm, f["tier"]: tier}} for i, nm, tier in rows]
    )

    async def view_ids(**config: Any) -> list[str]:
        r = await client.post(f"/v3/tables/{t}/views", json={"name": "v", **config})
        assert r.status_code == 200, r.text
        return await all_ids(client, table, r.json()["view"]["id"])

    asc = [{"fieldId": f["name"], "direction": "ASC"}]
    assert await view_ids(sort=asc) == ["r2", "r4", "r3", "r1"]

    def items(*conds: tuple[str, str, Any]) -> list[dict[str, Any]]:
        return [{"fieldId": f[c], "operator": op, "value": v} for c, op, v in conds]

    gold = {"items": items(("tier", "equals", "GOLD"))}
    assert await view_ids(filter=gold, sort=asc) == ["r3", "r1"]
    either = {
        "combinationMode": "OR",
        "items": items(("tier", "is_empty", None), ("name", "contains", "ph")),
    }
    assert await view_ids(filter=either) == ["r2", "r4"]
    assert await view_ids(filter={"items": items(("tier", "not_equals", "gold"))}) == ["r2", "r4"]
    assert await view_ids(filter={"items": items(("name", "not_contains", "a"))}) == []
    assert await view_ids(filter={"items": items(("tier", "is_not_empty", None))}) == [
        "r1",
        "r2",
        "r3",
    ]
    assert await view_ids(sort=[{"fieldId": "f_created_at", "direction": "DESC"}]) == [
        "r1",
        "r2",
        "r3",
        "r4",
    ]


async def test_record_write_validation_writes_nothing(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name",))
    t, name = table["id"], table["byName"]["name"]
    await add(client, t, [{"id": "exists", "cells": {name: "orig"}}])
    bad_posts: list[tuple[Any, int]] = [
        ({"records": [{"cells": {name: "ok"}}, {"cells": {"f_created_at": "x"}}]}, 400),
        ({"records": [{"cells": {name: "ok"}}, {"cells": "nope"}]}, 400),
        ({"records": [{"cells": {name: "ok"}}, {"cells": [1]}]}, 400),
        ({"records": [{"cells": {}}, "row"]}, 400),
        ({"records": [{"id": 5, "cells": {}}]}, 400),
        ({"records": [{"id": "", "cells": {}}]}, 400),
        ({"records": [{"id": "x" * 201, "cells": {}}]}, 400),
        ({"records": [{"id": "dup"}, {"id": "dup"}]}, 409),
        ({"records": [{"id": "new"}, {"id": "exists"}]}, 409),
        ({"records": {"cells": {}}}, 400),
        ({"rows": []}, 400),
        ([], 400),
    ]
    for body, status in bad_posts:
        r = await client.post(f"/v3/tables/{t}/records", json=body)
        assert r.status_code == status, (body, r.text)
        assert set(r.json()) <= {"type", "message", "details"}
        assert await count(client, t) == 1
    bad_patches: list[tuple[Any, int]] = [
        (
            {"records": [{"id": "exists", "cells": {name: "new"}}, {"id": "missing", "cells": {}}]},
            404,
        ),
        (
            {
                "records": [
                    {"id": "exists", "cells": {name: "new"}},
                    {"id": "exists", "cells": {"f_created_at": 1}},
                ]
            },
            400,
        ),
        ({"records": [{"id": "exists"}]}, 400),
        ({"records": [{"cells": {}}]}, 400),
        ({"records": "exists"}, 400),
    ]
    for body, status in bad_patches:
        r = await client.patch(f"/v3/tables/{t}/records", json=body)
        assert r.status_code == status, (body, r.text)
    r = await client.get(f"/v3/tables/{t}/records/exists")
    assert r.json()["cells"][name] == {"value": "orig", "metadata": {}}
    assert await all_ids(client, table) == ["exists"]

    # Unknown field ids in cells are dropped, as on Clay (spec part 2 §1), not refused.
    body = {"records": [{"id": "kept", "cells": {name: "ok", "f_unknown": 1}}]}
    r = await client.post(f"/v3/tables/{t}/records", json=body)
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/v3/tables/{t}/records", json={"records": [{"id": "kept", "cells": {"f_x": 1}}]}
    )
    assert r.status_code == 200, r.text
    cells = (await client.get(f"/v3/tables/{t}/records/kept")).json()["cells"]
    assert cells[name]["value"] == "ok" and "f_unknown" not in cells and "f_x" not in cells


async def test_sort_orders_numbers_as_numbers_and_blanks_last(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("score",))
    t, f = table["id"], table["byName"]["score"]
    values = {"r9": 9, "r10": 10, "r100": 100, "r2.5": 2.5, "rneg": -1, "rblank": None}
    await add(client, t, [{"id": rid, "cells": {f: v}} for rid, v in values.items()])
    await add(client, t, [{"id": "rmissing", "cells": {}}])
    for direction, expected in (
        ("ASC", ["rneg", "r2.5", "r9", "r10", "r100"]),
        ("DESC", ["r100", "r10", "r9", "r2.5", "rneg"]),
    ):
        body = {"name": direction, "sort": [{"fieldId": f, "direction": direction}]}
        view = (await client.post(f"/v3/tables/{t}/views", json=body)).json()["view"]["id"]
        found = await all_ids(client, table, view)
        assert found[:5] == expected and set(found[5:]) == {"rblank", "rmissing"}, direction
        r = await client.get(f"/v3/tables/{t}/views/{view}/records", params={"limit": 3})
        assert [x["id"] for x in r.json()["results"]] == expected[:3]
