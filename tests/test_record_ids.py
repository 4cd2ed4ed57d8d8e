from __future__ import annotations

import httpx

from .conftest import new_table


async def test_ids_in_insertion_order_and_view_order(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name",))
    t, f = table["id"], table["byName"]["name"]
    names = ["delta", "alpha", "charlie", "bravo"]
    r = await client.post(
        f"/v3/tables/{t}/records",
        json={"records": [{"id": f"r_{n}", "cells": {f: n}} for n in names]},
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/v3/tables/{t}/views/{table['firstViewId']}/records/ids")
    assert r.json() == {"results": [f"r_{n}" for n in names]}

    r = await client.post(
        f"/v3/tables/{t}/views",
        json={"name": "sorted", "sort": [{"fieldId": f, "direction": "DESC"}], "limit": 3},
    )
    view = r.json()["view"]
    r = await client.get(f"/v3/tables/{t}/views/{view['id']}/records/ids")
    assert r.json() == {"results": ["r_delta", "r_charlie", "r_bravo"]}


async def test_ids_of_empty_table(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    r = await client.get(f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records/ids")
    assert r.status_code == 200
    assert r.json() == {"results": []}
