"""Webhook sources, limits and caps (each test with an app of its own): the rate limit and
its Retry-After, the hosted limits profile, the per-source submission cap, the table row
cap and the payload limit, also under concurrent POSTs and with idempotency keys."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from claystack.server.config import Settings

from .conftest import new_table
from .sources_fixtures import AppFactory, add_source, count, path_of
from .sources_fixtures import limited_app as limited_app  # noqa: F401 - a fixture


async def test_rate_limit_is_429_with_retry_after_and_writes_nothing(
    limited_app: AppFactory,
) -> None:
    async with limited_app(webhook_rate_per_second=0.5, webhook_rate_burst=3) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        answers = [await a.post(path_of(source), json={"i": i}) for i in range(5)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
        refused = answers[3]
        assert refused.json()["type"] == "TooManyRequests"
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        assert await count(c, table["id"]) == 3
        # The bucket is per workspace: another source of the same workspace shares it.
        other = await add_source(c, table["id"], "Other")
        assert (await a.post(path_of(other), json={})).status_code == 429


async def test_two_api_processes_share_one_rate_limit(
    limited_app: AppFactory, settings: Settings
) -> None:
    """On PostgreSQL the bucket is in the database: two apps (as two API processes would)
    let the burst through once between them, not once each."""
    if settings.is_sqlite:
        pytest.skip("SQLite serves one process; its limits stay in memory")
    limits = {"webhook_rate_per_second": 0.01, "webhook_rate_burst": 4}
    async with limited_app(**limits) as (_, a), limited_app(**limits) as (c, b):
        table = await new_table(c)
        path = path_of(await add_source(c, table["id"]))
        answers = [await (a, b)[i % 2].post(path, json={"i": i}) for i in range(8)]
        assert [r.status_code for r in answers] == [200] * 4 + [429] * 4
        assert {r.json()["type"] for r in answers[4:]} == {"TooManyRequests"}
        assert await count(c, table["id"]) == 4


async def test_hosted_limits_profile(limited_app: AppFactory) -> None:
    assert Settings().webhook_rate_per_second == 0
    hosted = Settings(limits_profile="hosted", webhook_max_table_rows=7)
    assert (hosted.webhook_rate_per_second, hosted.webhook_rate_burst) == (10, 20)
    assert hosted.webhook_max_submissions_per_source == 50_000
    assert hosted.webhook_max_payload_bytes == 100 * 1024
    assert hosted.webhook_max_table_rows == 7  # what is set explicitly wins
    async with limited_app(limits_profile="hosted") as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        answers = await asyncio.gather(*(a.post(path_of(source), json={}) for _ in range(40)))
        codes = [r.status_code for r in answers]
        assert codes.count(200) >= 20 and codes.count(429) >= 1 and set(codes) == {200, 429}
        assert await count(c, table["id"]) == codes.count(200)


async def test_submission_cap_per_source(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_submissions_per_source=3) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        codes = [(await a.post(path_of(source), json={"i": i})).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = await a.post(path_of(source), json={})
        assert r.json()["type"] == "TooManyRequests" and "retry-after" in r.headers
        assert await count(c, table["id"]) == 3
        # Deleting rows does not give submissions back: the cap is over the source's life.
        await c.request("DELETE", f"/v3/tables/{table['id']}/records")
        assert (await a.post(path_of(source), json={})).status_code == 429
        fresh = await add_source(c, table["id"], "Fresh")
        assert (await a.post(path_of(fresh), json={})).status_code == 200


async def test_table_row_cap(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_table_rows=3) as (c, a):
        table = await new_table(c, fields=("Name",))
        r = await c.post(
            f"/v3/tables/{table['id']}/records", json={"records": [{"cells": {}}, {"cells": {}}]}
        )
        assert r.status_code == 200
        source = await add_source(c, table["id"])
        codes = [(await a.post(path_of(source), json={"i": i})).status_code for i in range(3)]
        assert codes == [200, 429, 429]
        assert await count(c, table["id"]) == 3
        await c.request("DELETE", f"/v3/tables/{table['id']}/records")
        assert (await a.post(path_of(source), json={})).status_code == 200


async def test_concurrent_posts_near_a_cap_never_overshoot(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_submissions_per_source=25) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        answers = await asyncio.gather(*(a.post(path_of(source), json={"i": i}) for i in range(60)))
        codes = sorted(r.status_code for r in answers)
        assert codes.count(200) == 25 and codes.count(429) == 35
        assert await count(c, table["id"]) == 25


async def test_payload_limit_boundary(limited_app: AppFactory) -> None:
    limit = 1000
    async with limited_app(webhook_max_payload_bytes=limit) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        path = path_of(source)

        def body(size: int) -> bytes:
            return b'{"x": "' + b"y" * (size - 9) + b'"}'

        async def chunked(data: bytes) -> AsyncIterator[bytes]:  # no Content-Length
            for start in range(0, len(data), 100):
                yield data[start : start + 100]

        assert len(body(limit)) == limit
        assert (await a.post(path, content=body(limit))).status_code == 200
        r = await a.post(path, content=body(limit + 1))
        assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"
        assert str(limit) in r.json()["message"]
        assert (await a.post(path, content=chunked(body(limit)))).status_code == 200
        r = await a.post(path, content=chunked(body(limit + 1)))
        assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"
        # A Content-Length that understates the body does not get past the limit either.
        r = await a.post(path, content=chunked(body(5 * limit)), headers={"content-length": "10"})
        assert r.status_code in (400, 413)
        assert await count(c, table["id"]) == 2


async def test_retry_after_is_a_whole_number_of_seconds(limited_app: AppFactory) -> None:
    async with limited_app(
        webhook_rate_per_second=1000, webhook_rate_burst=1, webhook_max_submissions_per_source=3
    ) as (c, a):
        table = await new_table(c)
        source = await add_source(c, table["id"])
        refused = []
        for _ in range(40):
            r = await a.post(path_of(source), json={})
            if r.status_code == 429:
                refused.append(r)
        assert refused
        for r in refused:
            assert re.fullmatch(r"[1-9][0-9]*", r.headers["retry-after"]), r.headers
            assert r.json()["type"] == "TooManyRequests"
        assert await count(c, table["id"]) == 3


async def test_concurrent_posts_near_the_row_cap_never_overshoot(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_table_rows=10) as (c, a):
        table = await new_table(c)
        one = await add_source(c, table["id"], "One")
        two = await add_source(c, table["id"], "Two")
        answers = await asyncio.gather(
            *(a.post(path_of(one if i % 2 else two), json={"i": i}) for i in range(40))
        )
        codes = [r.status_code for r in answers]
        assert codes.count(200) == 10 and codes.count(429) == 30
        assert await count(c, table["id"]) == 10


async def test_idempotency_keys_across_sources_and_limits(limited_app: AppFactory) -> None:
    async with limited_app(webhook_max_submissions_per_source=2) as (c, a):
        table = await new_table(c)
        one = await add_source(c, table["id"], "One")
        two = await add_source(c, table["id"], "Two")
        key = {"Idempotency-Key": "evt-42"}
        # The same key in flight on two sources at once: one row on each.
        answers = await asyncio.gather(
            *(
                a.post(path_of(src), json={"n": n}, headers=key)
                for n in range(6)
                for src in (one, two)
            )
        )
        assert {r.status_code for r in answers} == {200}
        ids = {r.json()["recordId"] for r in answers}
        assert len(ids) == 2 and await count(c, table["id"]) == 2
        # At the submission cap a retry still answers its row; a new delivery is refused.
        assert (await a.post(path_of(one), json={})).status_code == 200
        assert (await a.post(path_of(one), json={})).status_code == 429
        again = await a.post(path_of(one), json={"n": 0}, headers=key)
        assert again.status_code == 200 and again.json()["recordId"] in ids
        assert again.headers["idempotent-replayed"] == "true"
        # A refused or malformed request does not use up its key.
        r = await a.post(path_of(two), content=b"{", headers={"Idempotency-Key": "evt-43"})
        assert r.status_code == 400
        r = await a.post(path_of(two), json={"ok": 1}, headers={"Idempotency-Key": "evt-43"})
        assert r.status_code == 200 and "idempotent-replayed" not in r.headers
        assert await count(c, table["id"]) == 4
