"""The webhook-source tests' shared set-up (tests/test_sources_*.py, test_limits.py,
test_scale_out.py): the addSource body, the helpers that add a source and read its rows,
the ``hook`` fixture (a table with a source) and ``limited_app`` (an app of a test's own
with other webhook settings). No module-scoped fixture: nothing here is shared between
tests."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, login, make_client, new_table

URL_RE = re.compile(
    r"^http://testserver/v3/sources/webhook/pull-in-data-from-a-webhook-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def add_source_body(
    name: str = "Webhook", workspace: int = 1, **type_settings: Any
) -> dict[str, Any]:
    settings = {"urlSlugText": "Pull in data from a Webhook", **type_settings}
    return {
        "tableSettings": {},
        "fieldGroupMap": {},
        "sourceSettings": {
            "addSource": {
                "name": name,
                "source": {
                    "name": name,
                    "workspaceId": workspace,
                    "type": "webhook",
                    "typeSettings": settings,
                },
            }
        },
    }


async def add_source(
    client: httpx.AsyncClient, table_id: str, name: str = "Webhook", **type_settings: Any
) -> dict[str, Any]:
    r = await client.patch(f"/v3/tables/{table_id}", json=add_source_body(name, **type_settings))
    assert r.status_code == 200, r.text
    body = r.json()
    source: dict[str, Any] = body["source"]
    source["table"] = body["table"]
    return source


def path_of(source: dict[str, Any]) -> str:
    return "/" + source["url"].split("/", 3)[3]


async def count(client: httpx.AsyncClient, table_id: str) -> int:
    r = await client.get(f"/v3/tables/{table_id}/count")
    return int(r.json()["tableTotalRecordsCount"])


async def rows(client: httpx.AsyncClient, table: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.get(f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records")
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


@pytest.fixture
async def hook(client: httpx.AsyncClient) -> dict[str, Any]:
    table = await new_table(client, "Inbound", ("Note",))
    source = await add_source(client, table["id"])
    source["tableObj"] = table
    return source


AppFactory = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, httpx.AsyncClient]]]


@pytest.fixture
def limited_app(settings: Settings) -> AppFactory:
    """An app with other webhook settings: yields (logged-in client, anonymous client)."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
        base = settings.model_dump(
            include={
                "database_url",
                "database_schema",
                "data_dir",
                "enable_reset",
                "port",
                # The suite's: at the standard cost, each app's dummy hash, demo user and
                # login would take ~0.2 s of CPU each.
                "password_hash_cost",
            }
        )
        application = create_app(Settings(**base, **overrides))
        async with application.router.lifespan_context(application):
            await lifecycle.reset(application)
            async with make_client(application) as c, make_client(application) as a:
                await login(c, DEMO_EMAIL, DEMO_PASSWORD)
                yield c, a

    return make


async def _settled(client: httpx.AsyncClient, table_id: str) -> dict[str, dict[str, int]]:
    """Run-status counts (field → status → count) once no cell is pending."""
    deadline = time.monotonic() + 30
    while True:
        r = await client.get(f"/v3/workspaces/1/tables/{table_id}/fields/runstatus")
        counts = {
            fid: {c["status"]: c["count"] for c in rows}
            for fid, rows in r.json()["statusCountsByField"].items()
        }
        pending = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
        if not any(s in pending for c in counts.values() for s in c):
            return counts
        assert time.monotonic() < deadline, counts
        await asyncio.sleep(0.05)
