"""What a case may seed, built on demand (``Ctx``): the ids a row's path and body name."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from claystack.server.services import accounts

from ..conftest import new_table
from ..test_imports import upload

# -- what a case may seed, built on demand -------------------------------------------------


@dataclass
class Ctx:
    """The ids a row's path and body name, created the first time one is asked for."""

    app: FastAPI
    client: httpx.AsyncClient
    anon: httpx.AsyncClient
    ids: dict[str, Any] = field(default_factory=dict)

    async def get(self, key: str) -> Any:
        if key not in self.ids:
            await getattr(self, "_make_" + key.split(".")[0])()
        return self.ids[key]

    async def _make_ws(self) -> None:
        self.ids["ws"] = "1"

    async def _make_t(self) -> None:
        table = await new_table(self.client, "Audit", fields=("name", "domain"))
        t, name, domain = table["id"], table["byName"]["name"], table["byName"]["domain"]
        r = await self.client.post(
            f"/v3/tables/{t}/records",
            json={
                "records": [
                    {"id": "r_audit", "cells": {name: "Ada", domain: "acme.com"}},
                    {"id": "r_bo", "cells": {name: "Bo"}},
                ]
            },
        )
        assert r.status_code == 200, r.text
        self.ids.update(
            t=t, f=name, f2=domain, v=table["firstViewId"], r="r_audit", wb=table["workbookId"]
        )

    _make_f = _make_f2 = _make_v = _make_r = _make_wb = _make_t

    async def _make_gv(self) -> None:  # a view of our own (deletable)
        t = await self.get("t")
        r = await self.client.post(f"/v3/tables/{t}/views", json={"name": "Mine"})
        assert r.status_code == 200, r.text
        self.ids["gv"] = r.json()["view"]["id"]

    async def _make_g(self) -> None:
        t, f = await self.get("t"), await self.get("f")
        r = await self.client.post(f"/v3/tables/{t}/fields/group", json={"fieldIds": [f]})
        assert r.status_code == 200, r.text
        self.ids["g"] = r.json()["groupId"]

    async def _make_s(self) -> None:
        r = await self.client.post(
            "/v3/tables", json={"workspaceId": 1, "template": "basic_source"}
        )
        assert r.status_code == 200, r.text
        source = r.json()["source"]
        self.ids.update(s=source["id"], st=source["tableId"], hook=source["url"].rsplit("/", 1)[1])

    _make_st = _make_hook = _make_s

    async def _make_folder(self) -> None:
        r = await self.client.post("/v3/workspaces/1/folders", json={"name": "F"})
        assert r.status_code == 200, r.text
        self.ids["folder"] = r.json()["id"]

    async def _make_export(self) -> None:
        t = await self.get("t")
        r = await self.client.post(f"/v3/tables/{t}/export", json={})
        assert r.status_code == 200, r.text
        self.ids["export"] = r.json()["id"]

    async def _make_key(self) -> None:
        self.ids["key"] = await upload(self.client, self.anon, b"name\nAda\n")

    async def _make_import(self) -> None:
        r = await self.client.post("/v3/imports", json=await import_body(self))
        assert r.status_code == 200, r.text
        self.ids["import"] = r.json()["id"]

    async def _make_aa(self) -> None:
        r = await self.client.post(
            "/v3/workspaces/1/app-accounts",
            json={"appAccountTypeId": "use-ai", "name": "AI", "credentials": {"model": "m"}},
        )
        assert r.status_code == 200, r.text
        self.ids["aa"] = r.json()["appAccount"]["id"]

    async def _make_share(self) -> None:
        t = await self.get("t")
        r = await self.client.post("/v3/shared-tables", json={"tableId": t})
        assert r.status_code == 200, r.text
        self.ids["share"] = r.json()["id"]

    async def _make_user(self) -> None:
        self.ids["user"] = str((await self.client.get("/v3/me")).json()["id"])

    async def _make_fn(self) -> None:  # a function table (part 2 §8)
        settings = {"BLOCK_TYPE": "SUBROUTINE", "SUBROUTINE_INPUTS": [{"inputName": "domain"}]}
        r = await self.client.post(
            "/v3/tables", json={"name": "Clean", "workspaceId": 1, "tableSettings": settings}
        )
        assert r.status_code == 200, r.text
        self.ids["fn"] = r.json()["table"]["id"]

    async def _make_otherws(self) -> None:  # a second workspace the demo user owns
        async with self.app.state.db.transaction(write=True) as conn:
            ws = await accounts.create_workspace(
                conn, name="Second", owner_id=int(await self.get("user")), credits=10
            )
        self.ids["otherws"] = str(ws)

    async def _make_pv(self) -> None:  # a preconfigured view (part 2 §5.1) of table t
        table = (await self.client.get(f"/v3/tables/{await self.get('t')}")).json()["table"]
        kinds = {v["typeSettings"].get("preconfiguredType"): v["id"] for v in table["views"]}
        assert "errored-rows" in kinds, kinds
        self.ids["pv"] = kinds["errored-rows"]

    async def _make_formula(self) -> None:  # a formula column over f, computed on every row
        t, f = await self.get("t"), await self.get("f")
        body = {"name": "Upper", "type": "formula", "typeSettings": {"formulaText": f"{{{{{f}}}}}"}}
        r = await self.client.post(f"/v3/tables/{t}/fields", json=body)
        assert r.status_code == 200, r.text
        self.ids["formula"] = fid = r.json()["field"]["id"]
        await wait_cell(self.client, f"/v3/tables/{t}/records/r_audit", fid)

    async def _make_act(self) -> None:  # an http-api-v2 action column, by Clay's package id
        body = {
            "name": "Call",
            "type": "action",
            "typeSettings": {
                "actionKey": "http-api-v2",
                "actionPackageId": HTTP,
                "inputsBinding": [{"name": "url", "formulaText": '"http://127.0.0.1:9/"'}],
            },
        }
        r = await self.client.post(f"/v3/tables/{await self.get('t')}/fields", json=body)
        assert r.status_code == 200, r.text
        self.ids["act"] = r.json()["field"]["id"]

    async def _make_sv(self) -> None:  # the source table's default view
        table = (await self.client.get(f"/v3/tables/{await self.get('st')}")).json()["table"]
        self.ids["sv"] = table["firstViewId"]

    async def _make_payload(self) -> None:  # one webhook payload into the source table
        hook = f"/v3/sources/webhook/{await self.get('hook')}"
        r = await self.anon.post(hook, json={"email": "ada@acme.com", "name": "Ada"})
        assert r.status_code == 200, r.text
        self.ids["payload"] = r.json().get("recordId")

    async def _make_tool(self) -> None:
        r = await self.client.post("/v3/workspaces/1/tools", json={"tableId": await self.get("fn")})
        assert r.status_code == 200, r.text
        self.ids["tool"] = r.json()["id"]

    async def _make_preset(self) -> None:
        body = {
            "name": "Find email",
            "type": "action",
            "category": "email",
            "actionKey": "http-api-v2",
            "actionPackageId": HTTP,
            "preset": {"inputsBinding": {"url": "{{Input_1}}"}},
        }
        r = await self.client.post("/v3/presets", json=body)
        assert r.status_code == 200, r.text
        self.ids["preset"] = r.json()["id"]

    async def _make_token(self) -> None:
        self.ids["token"] = (await self.client.get("/v3/me")).json()["apiToken"]

    async def _make_wb2(self) -> None:
        r = await self.client.post("/v3/workbooks", json={"name": "Other", "workspaceId": 1})
        assert r.status_code == 200, r.text
        self.ids["wb2"] = r.json()["id"]

    async def _make_buffered(self) -> None:  # a POST /v3/sources source holding one payload
        body = {"workspaceId": 1, "name": "Inbound", "type": "webhook", "typeSettings": {}}
        r = await self.client.post("/v3/sources", json=body)
        assert r.status_code == 200, r.text
        source = r.json()["source"]
        hook = await self.anon.post(urlsplit(source["url"]).path, json={"email": "a@b.c"})
        assert hook.status_code == 200, hook.text
        self.ids["buffered"] = source["id"]

    async def _make_newr(self) -> None:
        self.ids["newr"] = "r_1700000000000"  # the UI's client-minted id

    async def _make_signal(self) -> None:
        self.ids["signal"] = "sig_0t00000000000000000"

    async def _make_type(self) -> None:
        self.ids["type"] = "use-ai"

    async def fill(self, text: str) -> str:
        """``{t}`` → the id; ``{{@f}}`` → ``{{<the id>}}`` (a formula's reference)."""
        for name in re.findall(r"\{\{@(\w+)\}\}", text):
            text = text.replace("{{@" + name + "}}", "{{" + str(await self.get(name)) + "}}")
        for name in re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text):
            text = text.replace("{" + name + "}", str(await self.get(name)))
        return text

    async def fill_body(self, body: Any) -> Any:
        """Placeholders ``"{t}"`` in a body's strings (and keys) become the ids."""
        if isinstance(body, str):
            return await self.fill(body)
        if isinstance(body, list):
            return [await self.fill_body(b) for b in body]
        if isinstance(body, dict):
            return {await self.fill(k): await self.fill_body(v) for k, v in body.items()}
        return body


async def import_body(ctx: Ctx) -> dict[str, Any]:
    return await ctx.fill_body(
        {
            "workspaceId": 1,
            "config": {
                "source": {
                    "type": "S3_CSV",
                    "key": "{key}",
                    "filename": "a.csv",
                    "hasHeader": True,
                    "fieldDelimiter": ",",
                },
                "destination": {"type": "TABLE", "tableId": "{t}"},
                "map": {"{f}": "{{name}}"},
                "isImportWithoutRun": True,
            },
        }
    )


HTTP = "4299091f-3cd3-4d68-b198-0143575f471d"


async def wait_cell(client: httpx.AsyncClient, url: str, fid: str) -> dict[str, Any]:
    """The cell once no longer in flight (the formula sweep is asynchronous: polled, as the
    export jobs are)."""
    deadline = time.monotonic() + 30
    while True:
        cell: dict[str, Any] = (await client.get(url)).json()["cells"].get(fid) or {}
        if cell.get("metadata", {}).get("status") not in (None, "QUEUED", "RUNNING", "PENDING"):
            return cell
        assert time.monotonic() < deadline, cell
        await asyncio.sleep(0.02)
