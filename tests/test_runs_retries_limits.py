"""Enrichment runs end to end, when the provider fails or is slow: retries (Retry-After
waited out), errors, timeouts, the HTTP API column's retry settings, and an integration's
concurrency and rate limits, against a real local HTTP provider (tests/runs_fixtures.py)."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from claystack.server.enrichment import registry
from claystack.server.enrichment.base import Action, Integration

from .conftest import new_table
from .runs_fixtures import (
    RETRY_AFTER,
    Provider,
    _fetch,
    action,
    add_field,
    add_rows,
    balance,
    cells,
    gaps,
    ledger,
    run,
    wait_done,
)
from .runs_fixtures import integrations as integrations  # noqa: F401 - fixtures
from .runs_fixtures import provider as provider  # noqa: F401
from .runs_fixtures import settings as settings  # noqa: F401


async def test_retries_and_errors(
    app: FastAPI, client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    t = await new_table(client, name="Flaky", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ref = "{{" + name + "}}"
    flaky = await add_field(client, tid, "Flaky", action("flaky", {"q": ref}))
    limited = await add_field(client, tid, "Limited", action("limited", {"q": ref}))
    down = await add_field(client, tid, "Down", action("down", {"q": ref}))
    bad = await add_field(client, tid, "Bad JSON", action("badjson", {"q": ref}))
    ids = await add_rows(client, tid, [{"cells": {name: "retry-me"}}])
    before = await balance(client)
    fids = [flaky, limited, down, bad]
    r = await run(client, tid, {"fieldIds": fids, "runRecords": {"recordIds": ids}})
    assert r.status_code == 200
    counts = await wait_done(client, tid, timeout=60)
    assert counts == {
        flaky: {"SUCCESS": 1},
        limited: {"SUCCESS": 1},
        down: {"ERROR": 1},
        bad: {"ERROR": 1},
    }
    assert provider.hits["/flaky:retry-me"] == 2
    assert provider.hits["/limited:retry-me"] == 3  # two 429s, then the answer
    assert provider.hits["/down:retry-me"] == 3  # run_max_attempts
    assert provider.hits["/badjson:retry-me"] == 1  # not retryable
    # Retry-After is waited out (the engine's own backoff here is 0.02 s, then 0.04 s).
    assert all(g >= RETRY_AFTER - 0.02 for g in gaps(provider, "/flaky:retry-me")), provider.times
    assert all(g >= RETRY_AFTER - 0.02 for g in gaps(provider, "/limited:retry-me")), provider.times
    (f,) = await cells(client, tid, ids, flaky)
    assert f["value"] == "Retry-Me"
    (lim,) = await cells(client, tid, ids, limited)
    assert lim["value"] == "Retry-Me" and lim["externalContent"] == {
        "fullValue": {"name": "Retry-Me"}
    }
    (d,) = await cells(client, tid, ids, down)
    assert d["externalContent"]["error"] == "provider answered 500" and d["value"] is None
    (b,) = await cells(client, tid, ids, bad)
    assert b["metadata"]["status"] == "ERROR" and "JSONDecodeError" in b["externalContent"]["error"]
    # Only the success is charged, once, however many attempts it took; failures cost nothing.
    charges = await ledger(app, tid)
    assert [(c.field_id, c.amount) for c in charges] == [(limited, -2)]
    assert await balance(client) == before - 2


# The action timeout, waited out run_max_attempts times; alone in its test, as a shorter one
# would also cut short the calls of a loaded machine that answer. The provider counts an
# attempt once it reads the request: a timeout of a few event-loop stalls on a loaded machine
# could end an attempt before it is sent (0.1 s did, once in a CI run).
@pytest.mark.parametrize(
    "settings", [{"run_action_timeout_seconds": 0.3}], ids=["timeout 0.3 s"], indirect=True
)
async def test_timeouts(
    app: FastAPI, client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    t = await new_table(client, name="Slow", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    slow = await add_field(client, tid, "Slow", action("slow-priced", {"q": "{{" + name + "}}"}))
    ids = await add_rows(client, tid, [{"cells": {name: "retry-me"}}])
    before = await balance(client)
    r = await run(client, tid, {"fieldIds": [slow], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200
    assert await wait_done(client, tid, timeout=60) == {slow: {"ERROR_TIMEOUT": 1}}
    assert provider.hits["/slow:retry-me"] == 3  # run_max_attempts
    (sl,) = await cells(client, tid, ids, slow)
    assert sl["externalContent"]["error"] == "The action took longer than 0.3s"
    # A priced action that timed out costs nothing.
    assert await ledger(app, tid) == [] and await balance(client) == before


async def test_http_api_provider_failures_retry_as_configured(
    app: FastAPI, client: httpx.AsyncClient, provider: Provider
) -> None:
    t = await new_table(client, name="HTTP failures", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ref = "{{" + name + "}}"

    async def column(label: str, path: str, **inputs: str) -> str:
        bindings = [
            {"name": "url", "formulaText": f'"{provider.url}{path}?q={label}-" + {ref}'},
            {"name": "fieldPaths", "formulaText": '["name"]'},
        ] + [{"name": k, "formulaText": v} for k, v in inputs.items()]
        ts = {"actionPackageId": "http-api-v2", "actionKey": "http-api-v2"}
        return await add_field(
            client,
            tid,
            label,
            {"type": "action", "typeSettings": {**ts, "inputsBinding": bindings}},
        )

    limited = await column("limited", "/limited")
    down = await column("down", "/down")
    once = await column("once", "/down", maxRetries="1")
    never = await column("never", "/down", shouldRetry="false")
    bad = await column("bad", "/badjson")
    slow = await column("slow", "/slow", responseTimeout="300")  # see test_timeouts
    ids = await add_rows(client, tid, [{"cells": {name: "hx"}}])
    before = await balance(client)
    fids = [limited, down, once, never, bad, slow]
    r = await run(client, tid, {"fieldIds": fids, "runRecords": {"recordIds": ids}})
    assert r.status_code == 200
    assert await wait_done(client, tid, timeout=60) == {
        limited: {"SUCCESS": 1},
        down: {"ERROR": 1},
        once: {"ERROR": 1},
        never: {"ERROR": 1},
        bad: {"ERROR": 1},
        slow: {"ERROR_TIMEOUT": 1},
    }
    assert {k: provider.hits[k] for k in provider.hits if k.endswith("-hx")} == {
        "/limited:limited-hx": 3,
        "/down:down-hx": 3,  # run_max_attempts (3) is below the default maxRetries + 1
        "/down:once-hx": 2,  # maxRetries: 1
        "/down:never-hx": 1,  # shouldRetry: false
        "/badjson:bad-hx": 1,
        "/slow:slow-hx": 3,
    }
    assert all(g >= RETRY_AFTER - 0.02 for g in gaps(provider, "/limited:limited-hx")), (
        provider.times
    )
    got = dict(zip(fids, [c for f in fids for c in await cells(client, tid, ids, f)], strict=True))
    assert got[limited]["value"] == "Limited-Hx"
    assert got[limited]["externalContent"]["fullValue"] == {"name": "Limited-Hx"}
    for fid in (down, once, never):
        assert got[fid]["value"] is None and got[fid]["metadata"]["status"] == "ERROR"
        assert got[fid]["externalContent"]["error"] == 'HTTP 500: {"error":"boom"}'
    assert got[bad]["externalContent"]["error"] == (
        'Response is not valid JSON: {"name": "unterminated'
    )
    assert got[slow]["externalContent"]["error"] == "No response within 0.3s"
    assert await ledger(app, tid) == [] and await balance(client) == before


async def test_integration_concurrency_limit(
    client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    t = await new_table(client, name="Serial", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    body = action("find", {"q": "{{" + name + "}}"})
    body["typeSettings"]["actionPackageId"] = "test-serial"
    fid = await add_field(client, tid, "Serial", body)
    await add_rows(client, tid, [{"cells": {name: f"s{i}"}} for i in range(5)])
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 5}}
    assert provider.most_active == 1


async def test_integration_rate_limit(
    client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    """At 10 calls/s (a burst of 10, then one each 0.1 s) the 15th call cannot start before
    0.5 s have passed; without the limit the 15 run at once."""
    registry.register(
        Integration(
            key="test-rated",
            display_name="Five a second",
            actions=(Action("find", "Find", _fetch(provider.url, "/person")),),
            rate_per_second=10,
        )
    )
    try:
        t = await new_table(client, name="Rated", fields=("name",))
        tid, name = t["id"], t["byName"]["name"]
        body = action("find", {"q": "{{" + name + "}}"})
        body["typeSettings"]["actionPackageId"] = "test-rated"
        fid = await add_field(client, tid, "Rated", body)
        started = time.monotonic()
        await add_rows(client, tid, [{"cells": {name: f"rated{i}"}} for i in range(15)])
        assert await wait_done(client, tid) == {fid: {"SUCCESS": 15}}
    finally:
        registry.integrations().pop("test-rated", None)
    # Each row's first call: on a loaded machine a call can outlast the module's 2 s action
    # timeout and be made again, which the limit also paces but which is not this test's.
    arrivals = sorted(min(ts) for key, ts in provider.times.items() if "rated" in key)
    assert len(arrivals) == 15, {k: len(v) for k, v in provider.times.items() if "rated" in k}
    assert arrivals[-1] - started >= 0.5 - 0.02, [round(t - started, 3) for t in arrivals]
