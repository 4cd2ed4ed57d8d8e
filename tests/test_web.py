"""The web app's server side: its pages and assets, the offline /docs, the /_claystack/ui
reads, the CSRF check on cookie writes, and the committed build matching web/'s sources."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from claystack.server.routes.ui import WEB_DIR

from .conftest import DEMO_EMAIL, DEMO_PASSWORD, UserFactory, new_table

ROOT = Path(__file__).resolve().parents[1]
# Must list what web/scripts/source-hash.mjs lists.
SOURCES = [
    "index.html",
    "docs.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "src",
]


def source_hash(root: Path) -> str:
    files: list[str] = []
    for entry in SOURCES:
        path = root / entry
        if path.is_dir():
            files += [p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file()]
        else:
            files.append(entry)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update((root / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@pytest.mark.skipif(not (ROOT / "web").is_dir(), reason="no web/ sources (installed package)")
def test_committed_build_matches_the_sources() -> None:
    built = (WEB_DIR / "SOURCE_HASH").read_text().strip()
    assert built == source_hash(ROOT / "web"), (
        "src/claystack/web is stale: run scripts/build-web and commit the result"
    )


@pytest.mark.parametrize(
    "path", ["/", "/login", "/usage", "/tables/t_x", "/tables/t_x/views/gv_y", "/tables/t_x/"]
)
async def test_app_routes_serve_the_page_with_a_csp(anon: httpx.AsyncClient, path: str) -> None:
    r = await anon.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    # No inline scripts: every <script> has a src on this server.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
    assert scripts and all('src="/assets/' in attrs and not body.strip() for attrs, body in scripts)


async def test_assets_are_served_and_cached(anon: httpx.AsyncClient) -> None:
    page = (await anon.get("/")).text
    for src in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page):
        r = await anon.get(src)
        assert r.status_code == 200, src
        assert "immutable" in r.headers["cache-control"]
    r = await anon.get("/assets/nothing-here.js")
    assert r.status_code == 404
    assert r.json()["type"] == "NoMatchingURL"


async def test_docs_are_offline(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/docs")
    assert r.status_code == 200
    assert "content-security-policy" in r.headers
    assert "cdn" not in r.text.lower() and "https://" not in r.text
    assert re.search(r'src="/assets/docs-[^"]+\.js"', r.text)
    assert (await anon.get("/redoc")).status_code == 404


async def test_unknown_paths_stay_json(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/nope")
    assert r.status_code == 404
    assert r.json() == {"type": "NoMatchingURL", "message": "Invalid URL"}


async def fill(client: httpx.AsyncClient, n: int) -> dict[str, Any]:
    table = await new_table(client, "Window", ("Name", "Score"))
    name, score = table["byName"]["Name"], table["byName"]["Score"]
    records = [{"cells": {name: f"row {i}", score: str(i % 7)}} for i in range(n)]
    r = await client.post(f"/v3/tables/{table['id']}/records", json={"records": records})
    assert r.status_code == 200, r.text
    return table


async def test_rows_window(client: httpx.AsyncClient) -> None:
    table = await fill(client, 250)
    t, v = table["id"], table["firstViewId"]
    r = await client.get(f"/_claystack/ui/tables/{t}/views/{v}/rows?offset=240&limit=100")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 250 and body["offset"] == 240
    names = [row["cells"][table["byName"]["Name"]]["value"] for row in body["results"]]
    assert names == [f"row {i}" for i in range(240, 250)]
    # A filtered view counts what it shows.
    score = table["byName"]["Score"]
    flt = {
        "combinationMode": "AND",
        "items": [{"fieldId": score, "operator": "equals", "value": "3"}],
    }
    r = await client.patch(f"/v3/tables/{t}/views/{v}", json={"filter": flt})
    assert r.status_code == 200, r.text
    body = (await client.get(f"/_claystack/ui/tables/{t}/views/{v}/rows?limit=5")).json()
    assert body["total"] == len([i for i in range(250) if i % 7 == 3])
    assert len(body["results"]) == 5


async def test_rows_window_far_from_the_start(client: httpx.AsyncClient) -> None:
    """Past 1,000 rows a plain view seeks by index from the nearer end; rows deleted in
    between must not shift the window."""
    table = await fill(client, 2600)
    t, v = table["id"], table["firstViewId"]
    ids = (await client.get(f"/v3/tables/{t}/views/{v}/records/ids")).json()["results"]
    gone = ids[10:20] + ids[2000:2005]
    r = await client.request("DELETE", f"/v3/tables/{t}/records", json={"recordIds": gone})
    assert r.status_code == 200, r.text
    left = [i for i in ids if i not in gone]
    for offset in (1000, 1290, 2400, len(left) - 3, len(left)):
        r = await client.get(f"/_claystack/ui/tables/{t}/views/{v}/rows?offset={offset}&limit=50")
        assert r.status_code == 200, r.text
        assert [row["id"] for row in r.json()["results"]] == left[offset : offset + 50], offset


async def test_row_index_in_plain_sorted_and_filtered_views(client: httpx.AsyncClient) -> None:
    table = await fill(client, 30)
    t, v = table["id"], table["firstViewId"]
    ids = (await client.get(f"/v3/tables/{t}/views/{v}/records/ids")).json()["results"]
    base = f"/_claystack/ui/tables/{t}/views/{v}/rows"
    r = await client.get(f"{base}/{ids[17]}")
    assert r.status_code == 200, r.text
    assert r.json() == {"recordId": ids[17], "index": 17}
    score = table["byName"]["Score"]
    sort = {"items": [{"fieldId": score, "direction": "DESC"}]}
    assert (await client.patch(f"/v3/tables/{t}/views/{v}/sort", json=sort)).status_code == 200
    item = {"fieldId": score, "type": "NOT_EQUAL", "value": "6"}
    flt = {"combinationMode": "AND", "items": [item]}
    assert (await client.patch(f"/v3/tables/{t}/views/{v}/filter", json=flt)).status_code == 200
    shown = (await client.get(f"/v3/tables/{t}/views/{v}/records/ids")).json()["results"]
    for i in (0, 5, len(shown) - 1):
        assert (await client.get(f"{base}/{shown[i]}")).json()["index"] == i
    hidden = next(rid for rid in ids if rid not in shown)
    for rid in (hidden, "r_unknown"):
        r = await client.get(f"{base}/{rid}")
        assert r.status_code == 404 and r.json()["type"] == "NotFound"


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=x"])
async def test_rows_window_bad_input(client: httpx.AsyncClient, query: str) -> None:
    table = await new_table(client)
    r = await client.get(
        f"/_claystack/ui/tables/{table['id']}/views/{table['firstViewId']}/rows?{query}"
    )
    assert r.status_code == 400
    assert r.json()["type"] == "BadRequest"


async def test_rows_window_is_private(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, other_user: UserFactory
) -> None:
    table = await fill(client, 3)
    path = f"/_claystack/ui/tables/{table['id']}/views/{table['firstViewId']}/rows"
    assert (await anon.get(path)).status_code == 401
    other, _ = await other_user()
    foreign = await other.get(path)
    unknown = await other.get(path.replace(table["id"], "t_unknown"))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    r = await client.get(path.replace(table["firstViewId"], "gv_unknown"))
    assert r.status_code == 404 and r.json()["type"] == "NotFound"


async def test_formula_preview(client: httpx.AsyncClient, other_user: UserFactory) -> None:
    table = await fill(client, 20)
    name = table["byName"]["Name"]
    path = f"/_claystack/ui/tables/{table['id']}/views/{table['firstViewId']}/formula-preview"
    r = await client.post(path, json={"formulaText": f"{{{{{name}}}}}.toUpperCase()", "limit": 3})
    assert r.status_code == 200, r.text
    assert [p["value"] for p in r.json()["results"]] == ["ROW 0", "ROW 1", "ROW 2"]
    r = await client.post(path, json={"formulaText": "nope(", "limit": 2})
    assert r.status_code == 200
    assert all(p["value"] is None and p["error"] for p in r.json()["results"])
    # Nothing was saved.
    r = await client.get(f"/v3/tables/{table['id']}")
    assert len(r.json()["table"]["fields"]) == 4  # the two system fields, Name and Score
    assert (await client.post(path, json={"limit": 2})).status_code == 400
    # A viewer may preview: it writes nothing.
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    r = await viewer.post(path, json={"formulaText": f"{{{{{name}}}}}", "limit": 1})
    assert r.status_code == 200 and r.json()["results"][0]["value"] == "row 0"


async def test_cookie_writes_from_other_sites_are_refused(client: httpx.AsyncClient) -> None:
    body = {"name": "X", "workspaceId": 1}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver.evil.example"},
    ):
        r = await client.post("/v3/tables", json=body, headers=headers)
        assert r.status_code == 403, headers
        assert r.json() == {"type": "Forbidden", "message": "Cross-site request refused"}
    # A form a foreign page posts is refused too, and nothing was created.
    r = await client.post(
        "/v3/tables",
        content="%7B%22name%22%3A%22Y%22%2C%22workspaceId%22%3A1%7D=",
        headers={
            "Origin": "https://evil.example",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 403
    r = await client.post("/v3/workspaces/1/resources/search", json={"query": "X"})
    assert r.json()["resources"] == []
    # The app's own requests, and scripts sending the cookie without these headers, pass.
    for headers in (
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Referer": "http://testserver/tables/t_x"},
        {},
    ):
        r = await client.post("/v3/tables", json=body, headers=headers)
        assert r.status_code == 200, (headers, r.text)
    # Reads are never refused.
    r = await client.get("/v3/me", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200


async def test_token_requests_and_webhooks_are_not_checked(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    token = (await client.get("/v3/me")).json()["apiToken"]
    r = await anon.post(
        "/v3/tables",
        json={"name": "Token", "workspaceId": 1},
        headers={"Authorization": f"Bearer {token}", "Origin": "https://elsewhere.example"},
    )
    assert r.status_code == 200, r.text
    table = r.json()["table"]
    add = {
        "sourceSettings": {
            "addSource": {
                "name": "Hook",
                "source": {
                    "name": "Hook",
                    "type": "webhook",
                    "typeSettings": {"urlSlugText": "hook"},
                },
            }
        }
    }
    r = await client.patch(f"/v3/tables/{table['id']}", json=add)
    assert r.status_code == 200, r.text
    path = "/v3/" + r.json()["source"]["url"].split("/v3/", 1)[1]
    # A page elsewhere may post to a webhook, even from a browser holding a session.
    r = await client.post(path, json={"a": 1}, headers={"Origin": "https://forms.example"})
    assert r.status_code == 200, r.text


async def test_sdk_window_and_formula_preview(app: Any) -> None:
    from claystack import AsyncClient

    transport = httpx.ASGITransport(app=app)
    async with AsyncClient(
        "http://testserver/v3", email=DEMO_EMAIL, password=DEMO_PASSWORD, transport=transport
    ) as clay:
        table = await clay.tables.create(1, "SDK window")
        name = await clay.fields.create(table.id, "Name")
        await clay.records.add(table.id, [{name.id: f"n{i}"} for i in range(30)])
        total, rows = await clay.records.window(table.id, offset=25, limit=10)
        assert total == 30 and [r.cells[name.id].value for r in rows] == [
            f"n{i}" for i in range(25, 30)
        ]
        assert await clay.records.index(table.id, rows[2].id) == 27
        preview = await clay.records.preview_formula(table.id, f"{{{{{name.id}}}}} + '!'", limit=2)
        assert [p["value"] for p in preview] == ["n0!", "n1!"]
