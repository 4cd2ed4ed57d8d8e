"""Queued work wakes the engine through the unit of work's after-commit hook: with a poll
interval of an hour, only the hook can make these runs finish."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from claystack.server.config import Settings

from .conftest import new_table


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_poll_seconds": 3600.0})


async def _wait_done(client: httpx.AsyncClient, table_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/v3/workspaces/1/tables/{table_id}/fields/runstatus")
        counts = {
            fid: {c["status"]: c["count"] for c in rows}
            for fid, rows in r.json()["statusCountsByField"].items()
        }
        if counts and not any(s in ("QUEUED", "RUNNING") for c in counts.values() for s in c):
            return counts
        assert time.monotonic() < deadline, f"the engine was not woken: {counts}"
        await asyncio.sleep(0.05)


async def test_a_new_formula_column_wakes_the_engine(client: httpx.AsyncClient) -> None:
    table = await new_table(client, fields=("name",))
    tid, name = table["id"], table["byName"]["name"]
    r = await client.post(f"/v3/tables/{tid}/records", json={"records": [{"cells": {name: "ada"}}]})
    assert r.status_code == 200
    r = await client.post(
        f"/v3/tables/{tid}/fields",
        json={
            "name": "Upper",
            "type": "formula",
            "typeSettings": {"formulaText": "{{" + name + "}}.toUpperCase()"},
        },
    )
    assert r.status_code == 200, r.text
    fid = r.json()["field"]["id"]
    assert await _wait_done(client, tid) == {fid: {"SUCCESS": 1}}


async def test_a_webhook_row_wakes_the_engine_for_its_auto_run(client: httpx.AsyncClient) -> None:
    table = await new_table(client)
    tid = table["id"]
    r = await client.patch(
        f"/v3/tables/{tid}",
        json={"sourceSettings": {"addSource": {"source": {"type": "webhook", "name": "In"}}}},
    )
    source = r.json()["source"]
    r = await client.post(
        f"/v3/tables/{tid}/fields",
        json={
            "name": "Who",
            "type": "formula",
            "typeSettings": {"formulaText": "{{" + source["dataFieldId"] + "}}.name"},
        },
    )
    fid = r.json()["field"]["id"]
    url = "/v3/sources/webhook/" + source["url"].rsplit("/", 1)[1]
    r = await client.post(url, json={"name": "Grace"})
    assert r.status_code == 200, r.text
    assert await _wait_done(client, tid) == {fid: {"SUCCESS": 1}}
