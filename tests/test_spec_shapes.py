"""Every row of both spec parts, called with the body a real client sends, answers 2xx (or the
error the spec documents) in the shape the spec documents: the keys it names, array or object,
the wrapper and its top-level copy where part 2 §1 asks for both, id prefixes, status names.

One case per row (method and path as the spec writes them), so a failure names the row. Each
case seeds only what its path and body name (``Ctx``), on the freshly reset demo workspace.
``tests/test_coverage.py`` only checks that every row is served; this file checks what a
client reads. The shapes, the seeding context, the checks and the rows of both parts are in
tests/spec_shapes/; the tests that walk them are here.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from .spec_shapes.checks import Row
from .spec_shapes.ctx import Ctx, import_body
from .spec_shapes.rows_part1 import ROWS_PART1
from .spec_shapes.rows_part2 import ROWS_PART2
from .spec_shapes.shapes import error

ROWS = ROWS_PART1 + ROWS_PART2


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            r, id=r.id, marks=[pytest.mark.xfail(strict=True, reason=r.xfail)] if r.xfail else []
        )
        for r in ROWS
    ],
)
async def test_spec_row(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, row: Row
) -> None:
    ctx = Ctx(app, client, anon)
    for name in row.needs.split():
        await ctx.get(name)
    path = row.path.split(" (", 1)[0]
    url = await ctx.fill(path)
    if row.body == "import-body":
        body: Any = await import_body(ctx)
    else:
        body = await ctx.fill_body(row.body)
    headers = {k: await ctx.fill(v) for k, v in row.headers}
    caller = anon if row.anon else client
    if row.method == "GET" or body is None:
        r = await caller.request(row.method, url, headers=headers)
    elif row.form:
        headers["content-type"] = "application/x-www-form-urlencoded"
        r = await caller.request(
            row.method, url, content=quote(json.dumps(body)) + "=", headers=headers
        )
    else:
        r = await caller.request(row.method, url, json=body, headers=headers)
    assert r.status_code == row.status, f"{r.status_code}: {r.text[:500]}"
    if row.check is not None:
        out = row.check(r, ctx)
        if out is not None:
            await out


def test_every_spec_row_has_a_case() -> None:
    """Each (method, path) of both spec parts is called by some case above."""
    from .test_coverage import generator

    gen = generator()
    endpoints = gen.parse_spec(gen.SPEC.read_text(encoding="utf-8"))
    endpoints += gen.parse_spec(gen.LIVE.read_text(encoding="utf-8"), part2=True)
    ours = {(r.method, gen.shape(r.path.split(" (", 1)[0].split("?", 1)[0])) for r in ROWS}

    def called(method: str, path: str) -> bool:
        want = gen.shape(path.split("[", 1)[0])
        return any(
            m == method
            and len(s) == len(want)
            and all(a == b or "*" in (a, b) for a, b in zip(s, want, strict=True))
            for m, s in ours
        )

    missing = []
    for method, spec_path in gen.audit_calls(endpoints):
        variants = gen.Endpoint("", method, spec_path, "").variants()
        if not any(called(method, v) for v in variants):
            missing.append(f"{method} {spec_path}")
    assert missing == []


# Part 2 §1: "A path {ws} must own the resource, else 404" — every row whose path names both a
# workspace and something in it, called with another workspace of the same user.
OWNED = re.compile(r"\{(t|wb|aa|s|f|v|g|r)\}")
FOREIGN = [
    r
    for r in ROWS
    if "{ws}" in r.path and OWNED.search(r.path.split(" (", 1)[0]) and r.status == 200
]


@pytest.mark.parametrize("row", FOREIGN, ids=[r.id for r in FOREIGN])
async def test_foreign_workspace_is_404(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, row: Row
) -> None:
    ctx = Ctx(app, client, anon)
    for name in row.needs.split():
        await ctx.get(name)
    url = await ctx.fill(row.path.split(" (", 1)[0].replace("{ws}", "{otherws}"))
    body = None if row.method == "GET" else await ctx.fill_body(row.body)
    r = await client.request(row.method, url, json=body)
    assert r.status_code == 404, r.text
    error(r.json(), "NotFound")
