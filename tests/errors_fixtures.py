"""The error tests' shared set-up (tests/test_errors_*.py; test_limits.py and
test_openapi.py use it too): which routes are public, read-only or viewer-callable, the
``World`` of ids one workspace holds (and ``worlds``: the demo user's and another user's),
and the walk over every route the app has (``api_routes``, ``fill``, ``snapshot``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from .conftest import UserFactory, new_table

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
UNAUTHORIZED = {"type": "Unauthorized", "message": "You must be logged in"}
# Paths that need no login: login itself, logout (a no-op without a session), the emulator's
# own endpoints, webhook ingestion, and the signed export download and import upload.
PUBLIC = re.compile(
    r"^(/v3/auth/log(in|out)$|/_claystack/|/v3/sources/webhook/"
    r"|/v3/exports/\{exportId\}/file$|/v3/imports/upload$)"
)
# POSTs that only read: a viewer may call them.
READ_ONLY_POSTS = {
    "/v3/workspaces/{workspaceId}/resources_v2",
    "/v3/workspaces/{workspaceId}/resources/search",
    "/v3/tables/{tableId}/bulk-fetch-records",
    "/v3/tables/{tableId}/views/{viewId}/search",
    "/v3/users/{userId}/resources",
}
# POSTs a viewer may call: those, and starting an export (which writes only the job).
VIEWER_POSTS = READ_ONLY_POSTS | {
    "/v3/tables/{tableId}/export",
    "/v3/tables/{tableId}/views/{viewId}/export",
    "/v3/enrichment-search/{workspaceId}/query",
    "/v3/workspaces/{workspaceId}/enrichment-search/query-v2",
    "/v3/workspaces/{workspaceId}/actions/dynamicFields",
    "/v3/workspaces/{workspaceId}/wizard/evaluate-step",
    "/v3/actions/run-cpj-preview-enrichment",
    "/v3/actions/run-enrichment",
    "/v3/ai-generation/formula",
    "/v3/ai-generation/table-description",
    "/v3/ai-generation/stream-metaprompter",
    "/v3/{workspaceId}/ai-generation/chat-conversation",
}
# Every table route is also served under /v3/workspaces/{workspaceId} (spec part 2 §2).
READ_ONLY_POSTS |= {
    "/v3/workspaces/{workspaceId}" + p[3:] for p in READ_ONLY_POSTS if p.startswith("/v3/tables/")
}
VIEWER_POSTS |= READ_ONLY_POSTS | {
    "/v3/workspaces/{workspaceId}" + p[3:] for p in VIEWER_POSTS if p.startswith("/v3/tables/")
}
# Routes where an id in the path is the client's to choose: an unknown one creates the object
# (spec part 2 §6: POST …/records/{recordId} makes a blank row with the client's id).
CLIENT_CHOSEN = {
    ("POST", "/v3/tables/{tableId}/records/{recordId}", "recordId"),
    ("POST", "/v3/workspaces/{workspaceId}/tables/{tableId}/records/{recordId}", "recordId"),
}
# Routes acting on the caller's own user, in no workspace.
USER_LEVEL = ("/v3/me/",)
PARAM = re.compile(r"\{([A-Za-z_]+)(?::[a-z]+)?\}")
UNKNOWN = {
    "workspaceId": "987654",
    "folderId": "fo_0t00000000000000000",
    "workbookId": "wb_0t00000000000000000",
    "tableId": "t_0t00000000000000000",
    "fieldId": "f_0t00000000000000000",
    "viewId": "gv_0t00000000000000000",
    "recordId": "r_0t00000000000000000",
    "userId": "987654",
}


@dataclass
class World:
    """One of everything, in one workspace."""

    ws: int
    user: int
    folder: str
    workbook: str
    table: str
    field: str
    view: str
    record: str

    def params(self) -> dict[str, str]:
        return {
            "workspaceId": str(self.ws),
            "folderId": self.folder,
            "workbookId": self.workbook,
            "tableId": self.table,
            "fieldId": self.field,
            "viewId": self.view,
            "recordId": self.record,
            "userId": str(self.user),
        }

    def body(self, method: str, path: str) -> Any:
        """A body that would be valid for the route, so only the ids can fail."""
        bodies: dict[tuple[str, str], Any] = {
            ("POST", "/v3/workspaces/{workspaceId}/folders"): {"name": "x"},
            ("POST", "/v3/workbooks"): {"name": "x", "workspaceId": self.ws},
            ("POST", "/v3/tables"): {"name": "x", "workspaceId": self.ws},
            ("POST", "/v3/workspaces/{workspaceId}/resources/search"): {"query": "x"},
            ("POST", "/v3/tables/{tableId}/fields"): {"name": "x", "type": "text"},
            ("POST", "/v3/tables/{tableId}/views"): {"name": "x"},
            ("POST", "/v3/tables/{tableId}/records"): {"records": [{"cells": {}}]},
            ("PATCH", "/v3/tables/{tableId}/records"): {
                "records": [{"id": self.record, "cells": {}}]
            },
            ("PATCH", "/v3/tables/{tableId}/records/{recordId}"): {"cells": {}},
            ("POST", "/v3/tables/{tableId}/bulk-fetch-records"): {"recordIds": [self.record]},
            ("POST", "/v3/tables/{tableId}/views/{viewId}/search"): {"searchTerm": "x"},
            ("DELETE", "/v3/tables/{tableId}/records"): {"recordIds": [self.record]},
            ("POST", "/v3/sources/create-cpj-table"): {
                "workspaceId": self.ws,
                "cpjConfig": {"type": "people", "basicFields": [{"name": "Name"}]},
            },
            ("POST", "/v3/presets"): {"workspaceId": self.ws, "name": "x"},
            ("POST", "/v3/shared-tables"): {"tableId": self.table},
            ("POST", "/v3/workspaces/{workspaceId}/tools"): {"tableId": self.table},
            ("POST", "/v3/ai-generation/formula"): {"userPromptInput": "x", "workspaceId": self.ws},
            ("POST", "/v3/ai-generation/table-description"): {"tableId": self.table},
            ("POST", "/v3/ai-generation/stream-metaprompter"): {"prompt": "x"},
            ("POST", "/v3/actions/run-enrichment"): {
                "workspaceId": self.ws,
                "enrichmentType": "normalize-company-name",
                "inputs": {"companyName": "Acme Inc"},
            },
            ("POST", "/v3/imports"): {
                "workspaceId": self.ws,
                "config": {
                    "source": {"type": "S3_CSV", "key": "x", "filename": "x.csv"},
                    "destination": {"type": "TABLE", "tableId": self.table},
                    "map": {self.field: "{{name}}"},
                },
            },
        }
        alias = "/v3/workspaces/{workspaceId}/tables/"
        if path.startswith(alias):  # the workspace-scoped alias takes the same body
            path = "/v3/tables/" + path[len(alias) :]
        if (method, path) in bodies:
            return bodies[(method, path)]
        return {} if method in ("POST", "PATCH", "PUT") else None


async def build_world(client: httpx.AsyncClient, ws: int) -> World:
    r = await client.post(f"/v3/workspaces/{ws}/folders", json={"name": "F"})
    folder = r.json()["id"]
    r = await client.post("/v3/workbooks", json={"name": "W", "workspaceId": ws})
    workbook = r.json()["id"]
    table = await new_table(client, "T", fields=("name",), workspace=ws)
    r = await client.post(
        f"/v3/tables/{table['id']}/records",
        json={"records": [{"cells": {table["byName"]["name"]: "x"}}]},
    )
    record = r.json()["records"][0]["id"]
    assert (await client.post("/v3/shared-tables", json={"tableId": table["id"]})).is_success
    user = (await client.get("/v3/me")).json()["id"]
    return World(
        ws,
        user,
        folder,
        workbook,
        table["id"],
        table["byName"]["name"],
        table["firstViewId"],
        record,
    )


@dataclass
class Worlds:
    mine: World
    theirs: World
    other: httpx.AsyncClient


@pytest.fixture
async def worlds(client: httpx.AsyncClient, other_user: UserFactory) -> Worlds:
    other, ws = await other_user()
    return Worlds(await build_world(client, 1), await build_world(other, ws), other)


_OPERATIONS: list[tuple[str, str, dict[str, Any]]] = []
_SCHEMAS: dict[str, Any] = {}


def api_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, OpenAPI operation) of every route the app serves. Routes are the same
    for every app of a run, and the document is slow to build (~0.5 s of CPU): it is built
    once, and ``schemas`` keeps its components."""
    if not _OPERATIONS:
        doc = app.openapi()
        for path, operations in doc["paths"].items():
            for method, operation in operations.items():
                _OPERATIONS.append((method.upper(), path, operation))
        _SCHEMAS.update(doc["components"]["schemas"])
    return _OPERATIONS


def schemas(app: FastAPI) -> dict[str, Any]:
    """The document's ``components.schemas`` (see ``api_routes``)."""
    api_routes(app)
    return _SCHEMAS


def fill(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: quote(values[m.group(1)], safe=""), path)


def params_of(path: str) -> list[str]:
    return PARAM.findall(path)


def takes_body(operation: dict[str, Any]) -> bool:
    """A JSON body (the multipart upload is checked by its own tests)."""
    return "application/json" in operation.get("requestBody", {}).get("content", {})


async def send(client: httpx.AsyncClient, method: str, url: str, body: Any) -> httpx.Response:
    if body is None:
        return await client.request(method, url)
    return await client.request(method, url, json=body)


async def snapshot(app: FastAPI) -> dict[str, int]:
    out = {}
    async with app.state.db.transaction(write=False) as conn:
        for name in ("folders", "workbooks", "tables", "fields", "views", "records"):
            out[name] = (await conn.exec_driver_sql(f"SELECT count(*) FROM {name}")).scalar_one()
    return out
