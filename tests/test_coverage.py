"""COVERAGE.md is generated from the spec and the app's routes, and cannot drift."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "claystack_coverage", ROOT / "scripts" / "coverage.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_coverage_md_is_current() -> None:
    gen = generator()
    expected = gen.render(
        gen.SPEC.read_text(encoding="utf-8"),
        gen.app_routes(),
        gen.LIVE.read_text(encoding="utf-8"),
    )
    current = (ROOT / "COVERAGE.md").read_text(encoding="utf-8")
    assert current == expected, "COVERAGE.md is out of date: run `python scripts/coverage.py`"


def test_every_foundation_endpoint_is_implemented() -> None:
    text = (ROOT / "COVERAGE.md").read_text(encoding="utf-8")
    sections = text.split("\n## ")
    for name in (
        "Auth and identity",
        "Workspaces, folders, resources, workbooks",
        "Tables, fields, views",
        "Records",
    ):
        [body] = [s for s in sections if s.startswith(name + "\n")]
        rows = [line for line in body.splitlines() if line.startswith("| ✅") or "❌" in line]
        assert len(rows) >= 3 and all("✅" in r for r in rows), name


SAMPLE = """
## 4. Before
| method | path | body |
|---|---|---|
| GET | `/v3/ignored` [seed] | |

## 5. Endpoints

### Things
| method | path | body → response |
|---|---|---|
| GET | `/v3/a/{x}` [seed] | text with `code` and [live] |
| PATCH/DELETE | `/v3/b/{id}/c` [live] | |
| GET | `/v3/d`, `/v3/e/{y}` [live] | |
| POST/PATCH | `/v3/f/{t}/views[/{gv}]` [live] | |
| GET | `/v3/g/{t}` [seed] and `/v3/g?tableId={t}` [live] | |
| POST | `/v3/hook/{slug}-{uuid}` [live] | |

### Other
| method | path [seed] | path [live] | response |
|---|---|---|---|
| GET | `/v3/h` | `/v3/i/{ws}/j?x[0]=1` | |
| GET | `/v3/k` | prose only, `not_a_path` | |

## 6. After
| GET | `/v3/also/ignored` | |
"""


def test_parser_and_matching() -> None:
    gen = generator()
    found = [(e.section, e.method, e.path, e.family) for e in gen.parse_spec(SAMPLE)]
    assert found == [
        ("Things", "GET", "/v3/a/{x}", "seed"),
        ("Things", "PATCH", "/v3/b/{id}/c", "live"),
        ("Things", "DELETE", "/v3/b/{id}/c", "live"),
        ("Things", "GET", "/v3/d", "live"),
        ("Things", "GET", "/v3/e/{y}", "live"),
        ("Things", "POST", "/v3/f/{t}/views[/{gv}]", "live"),
        ("Things", "PATCH", "/v3/f/{t}/views[/{gv}]", "live"),
        ("Things", "GET", "/v3/g/{t}", "seed"),
        ("Things", "GET", "/v3/g?tableId={t}", "live"),
        ("Things", "POST", "/v3/hook/{slug}-{uuid}", "live"),
        ("Other", "GET", "/v3/h", "seed"),
        ("Other", "GET", "/v3/i/{ws}/j?x[0]=1", "live"),
        ("Other", "GET", "/v3/k", "seed"),
    ]
    routes = {
        ("GET", "/v3/a/{anything}"),
        ("DELETE", "/v3/b/{bId}/c/"),
        ("PATCH", "/v3/f/{tableId}/views/{viewId}"),
        ("GET", "/v3/g"),
        ("POST", "/v3/hook/{hook}"),
        ("GET", "/v3/i/{workspaceId}/j"),
        ("GET", "/_ours/health"),
    }
    text = gen.render(SAMPLE, routes)
    status = {
        line.split("|")[2].strip() + " " + line.split("|")[3].strip(): "✅" in line
        for line in text.splitlines()
        if line.startswith("| ✅") or line.startswith("| ❌")
    }
    assert status == {
        "GET `/v3/a/{x}`": True,
        "PATCH `/v3/b/{id}/c`": False,
        "DELETE `/v3/b/{id}/c`": True,
        "GET `/v3/d`": False,
        "GET `/v3/e/{y}`": False,
        "POST `/v3/f/{t}/views[/{gv}]`": False,
        "PATCH `/v3/f/{t}/views[/{gv}]`": True,
        "GET `/v3/g/{t}`": False,
        "GET `/v3/g?tableId={t}`": True,
        "POST `/v3/hook/{slug}-{uuid}`": True,
        "GET `/v3/h`": False,
        "GET `/v3/i/{ws}/j?x[0]=1`": True,
        "GET `/v3/k`": False,
    }
    assert "**6 of 13 spec endpoints implemented** (seed 1/4, live 5/9, ours 0/0)" in text
    own = text.split("## Our own endpoints")[1]
    assert "| GET | `/_ours/health` |" in own and "/v3/a/" not in own


# -- the audit: every endpoint of both spec parts, called over HTTP ------------------------

# Hosted-only features of spec part 2 §11 without a path in the spec: a guess at their URLs
# must not be served either.
HOSTED = ("/v3/workspaces/{ws}/attributes", "/v3/workspaces/{ws}/credit-accrual")


async def _seed(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> dict[str, str]:
    """One of everything in workspace 1, by the ids the spec's placeholders name."""
    from .conftest import new_table
    from .test_imports import upload

    table = await new_table(client, "Audit", fields=("name", "domain"))
    t, name = table["id"], table["byName"]["name"]
    r = await client.post(
        f"/v3/tables/{t}/records",
        json={"records": [{"id": "r_audit", "cells": {name: "Ada"}}, {"cells": {name: "Bo"}}]},
    )
    assert r.status_code == 200, r.text
    group = (await client.post(f"/v3/tables/{t}/fields/group", json={"fieldIds": [name]})).json()
    src = await client.post("/v3/tables", json={"workspaceId": 1, "template": "basic_source"})
    source = src.json()["source"]
    folder = (await client.post("/v3/workspaces/1/folders", json={"name": "F"})).json()["id"]
    export = (await client.post(f"/v3/tables/{t}/export", json={})).json()["id"]
    key = await upload(client, anon, b"name\nAda\n")
    body = {
        "workspaceId": 1,
        "config": {
            "source": {"type": "S3_CSV", "key": key, "filename": "a.csv"},
            "destination": {"type": "TABLE", "tableId": t},
            "map": {name: "{{name}}"},
        },
    }
    imported = (await client.post("/v3/imports", json=body)).json()["id"]
    account = await client.post(
        "/v3/workspaces/1/app-accounts",
        json={"appAccountTypeId": "use-ai", "name": "AI", "credentials": {"model": "m"}},
    )
    share = (await client.post("/v3/shared-tables", json={"tableId": t})).json()["id"]
    me = (await client.get("/v3/me")).json()["id"]
    return {
        "ws": "1",
        "t": t,
        "f": name,
        "v": table["firstViewId"],
        "r": "r_audit",
        "wb": table["workbookId"],
        "g": group["groupId"],
        "s": source["id"],
        "hook": source["url"].rsplit("/", 1)[1],
        "aa": account.json()["appAccount"]["id"],
        "type": "use-ai",
        "folder": folder,
        "export": export,
        "import": imported,
        "share": share,
        "user": str(me),
    }


_BY_SEGMENT = {
    "folders": "folder",
    "workbooks": "wb",
    "exports": "export",
    "imports": "import",
    "shared-tables": "share",
    "users": "user",
    "workspaces": "ws",
    "tables": "t",
    "sources": "s",
    "records": "r",
    "views": "v",
    "fields": "f",
    "group": "g",
    "signals": "signal",
}
_NAMES = {
    "ws": "ws",
    "workspaceId": "ws",
    "t": "t",
    "tableId": "t",
    "f": "f",
    "v": "v",
    "gv": "v",
    "r": "r",
    "wb": "wb",
    "g": "g",
    "s": "s",
    "aa": "aa",
    "type": "type",
    "key": "type",
}


def _fill(path: str, ids: dict[str, str]) -> str:
    path = path.replace("{slug}-{uuid}", ids["hook"]).replace("…", "segments")
    path, _, query = path.partition("?")
    segments = path.split("/")
    for i, seg in enumerate(segments):
        if not seg.startswith("{"):
            continue
        name = seg.strip("{}")
        kind = _NAMES.get(name) or _BY_SEGMENT.get(segments[i - 1], "id")
        segments[i] = ids.get(kind, "x_0t00000000000000000")
    filled = "/".join(segments)
    if "{" in query and "…" not in query:
        for name, kind in _NAMES.items():
            query = query.replace("{" + name + "}", ids.get(kind, ""))
        filled += "?" + query
    return filled


BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v3/auth/login"): {"email": "demo@claystack.dev", "password": "claystack"},
    ("POST", "/v3/tables/{t}/records"): {"records": [{"cells": {}}]},
    ("PATCH", "/v3/tables/{t}/run"): {"fieldIds": [], "runRecords": {"recordIds": []}},
    ("POST", "/v3/ai-generation/formula"): {"userPromptInput": "upper case", "workspaceId": "1"},
    ("POST", "/v3/ai-generation/stream-metaprompter"): {"prompt": "Summarise the company"},
    ("POST", "/v3/actions/run-enrichment"): {
        "enrichmentType": "normalize-company-name",
        "inputs": {"companyName": "Acme Inc"},
    },
    ("POST", "/v3/presets"): {"name": "p", "type": "action"},
    ("POST", "/v3/sources/create-cpj-table"): {"workbookName": "P", "cpjConfig": {}},
}


def _body(method: str, spec_path: str, ids: dict[str, str]) -> Any:
    if (method, spec_path) in BODIES:
        return BODIES[(method, spec_path)]
    if spec_path.endswith("/table-description") or spec_path == "/v3/shared-tables":
        return {"tableId": ids["t"]}
    if spec_path.endswith("/tools") and method == "POST":
        return {"tableId": ids["t"]}
    return {} if method in ("POST", "PATCH", "PUT", "DELETE") else None


async def test_every_spec_endpoint_answers(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    """Each endpoint of both spec parts, called on a seeded workspace with a plausible
    request, is served: no 404 ``NoMatchingURL``, no 405, no 500, and no 401/403 for the
    workspace's owner (a 400 for a body the spec
    does not pin down, or a 404 ``NotFound`` for something just deleted, is an answer). Those
    the spec marks "nothing" stay 404 ``NoMatchingURL``. COVERAGE.md states the count."""
    gen = generator()
    endpoints = gen.parse_spec(gen.SPEC.read_text(encoding="utf-8"))
    endpoints += gen.parse_spec(gen.LIVE.read_text(encoding="utf-8"), part2=True)
    ids = await _seed(client, anon)
    calls = gen.audit_calls(endpoints)
    # Deletes last, so that everything else finds what it names; the table itself last of all,
    # then logging out.
    order = sorted(
        calls,
        key=lambda c: (c[1] == "/v3/auth/logout", c[0] == "DELETE", c[1].endswith("/tables/{t}")),
    )
    served, failures = 0, []
    for method, spec_path in order:
        answers = []
        for variant in calls[(method, spec_path)]:
            url = _fill(variant, ids)
            r = await client.request(method, url, json=_body(method, variant.split("?")[0], ids))
            is_json = r.headers.get("content-type", "").startswith("application/json")
            kind = r.json().get("type") if is_json and isinstance(r.json(), dict) else None
            missing = r.status_code == 405 or (r.status_code == 404 and kind == "NoMatchingURL")
            refused = r.status_code >= 500 or r.status_code in (401, 403)
            answers.append((missing or refused, (method, url, r.status_code, r.text[:200])))
        if (method, spec_path) in gen.NOTHING:
            assert all(bad for bad, _ in answers), answers
            continue
        if all(bad for bad, _ in answers):
            failures += [what for _, what in answers]
        else:
            served += 1
    assert failures == [], "\n".join(map(str, failures))
    for path in HOSTED:
        r = await client.get(_fill(path, ids))
        assert r.status_code == 404 and r.json()["type"] == "NoMatchingURL", path
    total = len([c for c in calls if c not in gen.NOTHING])
    line = f"**Audit: {served} of {total} spec endpoints answer over HTTP**"
    assert served == total
    assert line in (ROOT / "COVERAGE.md").read_text(encoding="utf-8"), line
