"""Enrichment runs end to end: action and formula columns, runs, statuses, retries, credits,
auto-run and waterfalls, against a real local HTTP provider."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from claystack.server.config import Settings
from claystack.server.enrichment import registry
from claystack.server.enrichment.actions import ai
from claystack.server.enrichment.base import (
    Action,
    ActionError,
    ActionResult,
    Integration,
    RunContext,
)
from claystack.server.storage.models import CreditEntry

from .conftest import UserFactory, new_table

PENDING = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
# The provider's Retry-After, in seconds: well above the engine's own backoff here (0.05 s,
# then 0.1 s), so a gap of at least this long between two calls shows it was waited out.
RETRY_AFTER = 0.3


class Provider(ThreadingHTTPServer):
    """A local enrichment API. ``/person?q=`` answers ``{"name": Q}`` (``{}`` for "nodata");
    ``/flaky?q=`` answers 429 (Retry-After: ``RETRY_AFTER``) the first time per q,
    ``/limited?q=`` the first two times; ``/down`` answers 500; ``/slow`` answers only once
    ``release`` is set (when the module's tests end, long after the engine's timeout);
    ``/badjson`` answers 200 with a body that is not JSON. ``POST /v1/chat/completions`` is
    an OpenAI-compatible model server (see ``_chat``). ``hits`` counts requests per path and
    q (per model and prompt for the chat), ``times`` holds when each arrived."""

    daemon_threads = True
    # The engine connects many at once: with the default listen backlog (5) the rest would
    # wait for the kernel to retry their SYNs, a second later.
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        self.active = self.most_active = 0
        self.release = threading.Event()

    def hit(self, key: str) -> int:
        with self.lock:
            self.hits[key] += 1
            self.times.setdefault(key, []).append(time.monotonic())
            return self.hits[key]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the engine's timeout) is expected here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Provider

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        q = parse_qs(parsed.query).get("q", [""])[0]
        n = self.server.hit(f"{parsed.path}:{q}")
        status, body, headers = 200, {"name": q.title()}, {}
        if parsed.path == "/person" and q == "nodata":
            body = {}
        elif parsed.path == "/flaky" and n == 1 or parsed.path == "/limited" and n <= 2:
            status, body, headers = 429, {"error": "slow down"}, {"Retry-After": str(RETRY_AFTER)}
        elif parsed.path == "/badjson":
            self._send(200, b'{"name": "unterminated', {})
            return
        elif parsed.path == "/down":
            status, body = 500, {"error": "boom"}
        elif parsed.path == "/slow":
            self.server.release.wait(60)
        elif parsed.path == "/serial":
            with self.server.lock:
                self.server.active += 1
                self.server.most_active = max(self.server.most_active, self.server.active)
            time.sleep(0.1)
            with self.server.lock:
                self.server.active -= 1
        self._send(status, orjson.dumps(body), headers)

    def do_POST(self) -> None:
        request = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = request["model"]
        n = self.server.hit(f"/ai:{model}:{request['messages'][-1]['content']}")
        if self.headers.get("Authorization") != f"Bearer {AI_KEY}":
            self._send(401, b'{"error": "bad key"}', {})
        elif model == "busy" and n == 1:
            self._send(429, b'{"error": "rate limited"}', {"Retry-After": str(RETRY_AFTER)})
        elif model == "broken":
            self._send(500, b'{"error": "model crashed"}', {})
        else:
            self._send(200, orjson.dumps(_chat(request)), {})

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


AI_KEY = "sk-local-test"


def _chat(request: dict[str, Any]) -> dict[str, Any]:
    """A chat completion: the prompt echoed back, or with a ``response_format`` JSON
    Schema, an object of that schema (``company`` from the prompt's last word)."""
    prompt = request["messages"][-1]["content"]
    content = f"About {prompt}"
    if "response_format" in request:
        schema = request["response_format"]["json_schema"]["schema"]
        assert set(schema["properties"]) == {"company", "size"}
        content = orjson.dumps({"company": prompt.split()[-1].title(), "size": 12}).decode()
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": len(prompt), "completion_tokens": 3, "total_tokens": 9},
    }


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    server = Provider()
    # Polled for shutdown every 0.05 s, not 0.5 s: shutdown() waits for the next poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


# One TLS context for the actions' clients: a client made without one loads the CA bundle
# (~20 ms of CPU, holding up the event loop the engine and the test share).
_TLS = ssl.create_default_context()


def _fetch(base: str, path: str) -> Any:
    async def run(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
        async with httpx.AsyncClient(timeout=10, verify=_TLS) as http:
            r = await http.get(f"{base}{path}", params={"q": str(inputs.get("q", ""))})
        if r.status_code == 429:
            after = float(r.headers.get("retry-after", "1"))
            raise ActionError("rate limited", retryable=True, retry_after=after)
        if r.status_code >= 500:
            raise ActionError(f"provider answered {r.status_code}", retryable=True)
        data = r.json()
        return ActionResult(value=data.get("name"), full_value=data, has_data=bool(data))

    return run


@pytest.fixture(scope="module")
def integrations(provider: Provider) -> Iterator[None]:
    base = provider.url
    registry.register(
        Integration(
            key="test-people",
            display_name="Test people API",
            actions=(
                Action("find", "Find person", _fetch(base, "/person"), credits=1),
                Action("find-premium", "Find person (premium)", _fetch(base, "/person"), credits=3),
                Action("flaky", "Flaky", _fetch(base, "/flaky")),
                Action("down", "Down", _fetch(base, "/down"), credits=1),
                Action("slow", "Slow", _fetch(base, "/slow")),
                Action("costly", "Costly", _fetch(base, "/person"), credits=10**9),
                Action("limited", "Limited", _fetch(base, "/limited"), credits=2),
                Action("badjson", "Bad JSON", _fetch(base, "/badjson"), credits=2),
                Action("slow-priced", "Slow (priced)", _fetch(base, "/slow"), credits=2),
            ),
        )
    )
    registry.register(
        Integration(
            key="test-serial",
            display_name="One at a time",
            actions=(Action("find", "Find", _fetch(base, "/serial")),),
            max_concurrency=1,
        )
    )
    yield
    registry.integrations().pop("test-people", None)
    registry.integrations().pop("test-serial", None)


@pytest.fixture
def settings(settings: Settings, provider: Provider, request: pytest.FixtureRequest) -> Settings:
    """A test may change some: ``parametrize("settings", [{name: value}], indirect=True)``."""
    return settings.model_copy(
        update={
            "run_poll_seconds": 0.05,
            "run_retry_base_seconds": 0.05,
            "run_max_attempts": 3,
            "run_action_timeout_seconds": 2.0,
            "http_allow_private": True,
            "ai_base_url": f"{provider.url}/v1",
            "ai_api_key": SecretStr(AI_KEY),
            "ai_prices": {"house-model": 7, "gold-model": 10**9},
            **getattr(request, "param", {}),
        }
    )


def action(key: str, inputs: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "action",
        "typeSettings": {
            "actionPackageId": "test-people",
            "actionKey": key,
            "inputsBinding": [{"name": k, "formulaText": v} for k, v in inputs.items()],
            "dataTypeSettings": {"type": "json"},
            **extra,
        },
    }


async def add_field(
    client: httpx.AsyncClient, table_id: str, name: str, body: dict[str, Any]
) -> str:
    r = await client.post(f"/v3/tables/{table_id}/fields", json={"name": name, **body})
    assert r.status_code == 200, r.text
    return str(r.json()["field"]["id"])


async def add_rows(
    client: httpx.AsyncClient, table_id: str, rows: list[dict[str, Any]]
) -> list[str]:
    r = await client.post(f"/v3/tables/{table_id}/records", json={"records": rows})
    assert r.status_code == 200, r.text
    return [rec["id"] for rec in r.json()["records"]]


async def run(client: httpx.AsyncClient, table_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(f"/v3/tables/{table_id}/run", json=body)


async def wait_done(
    client: httpx.AsyncClient, table_id: str, workspace: int = 1, timeout: float = 30
) -> dict[str, dict[str, int]]:
    """Polls runstatus until no cell is pending; returns field → status → count."""
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/v3/workspaces/{workspace}/tables/{table_id}/fields/runstatus")
        assert r.status_code == 200, r.text
        counts = {
            fid: {c["status"]: c["count"] for c in rows}
            for fid, rows in r.json()["statusCountsByField"].items()
        }
        if not any(s in PENDING for c in counts.values() for s in c):
            return counts
        assert time.monotonic() < deadline, f"run still going: {counts}"
        await asyncio.sleep(0.05)


async def cells(client: httpx.AsyncClient, table_id: str, ids: list[str], fid: str) -> list[Any]:
    r = await client.post(f"/v3/tables/{table_id}/bulk-fetch-records", json={"recordIds": ids})
    assert r.status_code == 200, r.text
    return [rec["cells"].get(fid) for rec in r.json()["results"]]


async def ledger(app: FastAPI, table_id: str) -> list[Any]:
    """The table's credit charges. Free executions are in the ledger too, as zero-credit
    entries counting one action each (tests/test_actions_ledger.py); they are left out here."""
    async with app.state.db.transaction(write=False) as conn:
        return list(
            await conn.execute(
                select(CreditEntry)
                .where(CreditEntry.table_id == table_id, CreditEntry.amount != 0)
                .order_by(CreditEntry.id)
            )
        )


async def balance(client: httpx.AsyncClient, workspace: int = 1) -> int:
    r = await client.get(f"/v3/workspaces/{workspace}")
    return int(r.json()["workspace"]["credits"])


# -- fields --------------------------------------------------------------------------------


async def test_action_and_formula_field_settings_are_validated(
    client: httpx.AsyncClient, integrations: None
) -> None:
    t = await new_table(client, fields=("name",))
    name = t["byName"]["name"]
    url = f"/v3/tables/{t['id']}/fields"
    # Spec part 2 §4.3: resolved by actionKey whatever the package; unknown actions are kept.
    kept = [
        (action("find", {"q": "x"}) | {"typeSettings": {"actionKey": "find"}}, None),
        ({"type": "action", "typeSettings": {"actionPackageId": "no", "actionKey": "find"}}, None),
        (action("missing", {"q": "x"}), "UNKNOWN_ACTION"),
        ({"type": "formula", "typeSettings": {}}, None),
    ]
    for i, (body, error) in enumerate(kept):
        r = await client.post(url, json={"name": f"kept{i}", **body})
        assert r.status_code == 200, (i, r.text)
        assert r.json()["field"].get("settingsError") == error
    bad = [
        {
            "type": "action",
            "typeSettings": {**action("find", {})["typeSettings"], "inputsBinding": "x"},
        },
        {
            "type": "action",
            "typeSettings": {**action("find", {})["typeSettings"], "inputsBinding": [{"name": 1}]},
        },
        {
            "type": "action",
            "typeSettings": {"actionPackageId": "waterfall", "actionKey": "waterfall", "steps": []},
        },
        action("find", {"q": "{{f_unknown}}"}),
    ]
    for i, body in enumerate(bad):
        r = await client.post(url, json={"name": f"bad{i}", **body})
        assert r.status_code == 400, (i, r.text)
        assert r.json()["type"] == "BadRequest"
        assert r.json()["message"]
    cond = "{{" + name + "}}"
    r = await client.post(
        url,
        json={
            "name": "Person",
            **action("find", {"q": "{{" + name + "}}"}, conditionalRunFormulaText=cond),
        },
    )
    assert r.status_code == 200, r.text
    field = r.json()["field"]
    assert field["type"] == "action" and field["inputFieldIds"] == [name]
    r = await client.patch(f"{url}/{field['id']}", json={"typeSettings": {"actionKey": "nope"}})
    assert r.status_code == 400
    # Changing an action field's actionKey is a 400, as live (spec part 2 §4.2).
    r = await client.patch(
        f"{url}/{field['id']}", json={"typeSettings": {"actionKey": "find-premium"}}
    )
    assert r.status_code == 400, r.text
    r = await client.post(
        url, json={"name": "F", "type": "formula", "typeSettings": {"formulaText": cond}}
    )
    assert r.status_code == 200 and r.json()["field"]["inputFieldIds"] == [name]


# -- runs ----------------------------------------------------------------------------------


async def test_run_statuses_values_credits_and_force(
    app: FastAPI, client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    t = await new_table(client, name="People", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(client, tid, "Person", action("find", {"q": "{{" + name + "}}"}))
    ids = await add_rows(client, tid, [{"cells": {name: v}} for v in ("ada", "bob", "", "nodata")])
    before = await balance(client)
    r = await run(
        client,
        tid,
        {"fieldIds": [fid], "runRecords": {"viewIdTopRecords": {"viewId": t["firstViewId"]}}},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"recordCount": 4, "runMode": "INDIVIDUAL"}
    counts = await wait_done(client, tid)
    assert counts[fid] == {"SUCCESS": 2, "ERROR_BLANK_TOKEN": 1, "SUCCESS_NO_DATA": 1}
    ada, bob, blank, nodata = await cells(client, tid, ids, fid)
    assert ada["value"] == "Ada" and ada["metadata"]["status"] == "SUCCESS"
    assert ada["externalContent"]["fullValue"] == {"name": "Ada"}
    assert bob["value"] == "Bob"
    assert blank["metadata"]["status"] == "ERROR_BLANK_TOKEN" and blank["value"] is None
    assert name in blank["externalContent"]["error"]
    assert nodata["metadata"]["status"] == "SUCCESS_NO_DATA"
    charges = await ledger(app, tid)
    assert sorted(c.record_id for c in charges) == sorted([ids[0], ids[1], ids[3]])
    assert all(
        c.amount == -1
        and c.integration == "test-people"
        and c.action_key == "find"
        and c.field_id == fid
        and c.user_id == 1
        for c in charges
    )
    assert await balance(client) == before - 3

    # Without forceRun, SUCCESS cells are kept; the others run again.
    hits = provider.hits["/person:ada"]
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.json()["recordCount"] == 4
    await wait_done(client, tid)
    assert provider.hits["/person:ada"] == hits
    assert len(await ledger(app, tid)) == 4  # nodata ran and was charged again
    r = await run(
        client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids[:1]}, "forceRun": True}
    )
    await wait_done(client, tid)
    assert provider.hits["/person:ada"] == hits + 1
    assert len(await ledger(app, tid)) == 5
    assert await balance(client) == before - 5


async def test_run_condition_formula_column_and_out_of_credits(
    app: FastAPI, client: httpx.AsyncClient, integrations: None
) -> None:
    t = await new_table(client, name="Cond", fields=("name", "go"))
    tid, name, go = t["id"], t["byName"]["name"], t["byName"]["go"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ref = "{{" + name + "}}"
    cond = await add_field(
        client, tid, "Cond", action("find", {"q": ref}, conditionalRunFormulaText="{{" + go + "}}")
    )
    costly = await add_field(client, tid, "Costly", action("costly", {"q": ref}))
    formula = await add_field(
        client, tid, "Copy", {"type": "formula", "typeSettings": {"formulaText": ref}}
    )
    ids = await add_rows(
        client, tid, [{"cells": {name: "ada", go: True}}, {"cells": {name: "bob", go: False}}]
    )
    before = await balance(client)
    r = await run(
        client,
        tid,
        {"fieldIds": [cond, costly, formula], "runRecords": {"viewId": t["firstViewId"]}},
    )
    assert r.status_code == 200 and r.json()["recordCount"] == 2
    counts = await wait_done(client, tid)
    assert counts[cond] == {"SUCCESS": 1, "ERROR_RUN_CONDITION_NOT_MET": 1}
    assert counts[costly] == {"ERROR_OUT_OF_CREDITS": 2}
    assert counts[formula] == {"SUCCESS": 2}
    assert [c["value"] for c in await cells(client, tid, ids, formula)] == ["ada", "bob"]
    assert [c["metadata"]["status"] for c in await cells(client, tid, ids, cond)] == [
        "SUCCESS",
        "ERROR_RUN_CONDITION_NOT_MET",
    ]
    assert [c.action_key for c in await ledger(app, tid)] == ["find"]
    assert await balance(client) == before - 1


def gaps(provider: Provider, key: str) -> list[float]:
    """Seconds between the provider's consecutive requests for ``key``."""
    times = provider.times[key]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


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
    # Retry-After is waited out (the engine's own backoff here is 0.05 s, then 0.1 s).
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
# would also cut short the calls of a loaded machine that answer.
@pytest.mark.parametrize(
    "settings", [{"run_action_timeout_seconds": 0.2}], ids=["timeout 0.2 s"], indirect=True
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
    assert sl["externalContent"]["error"] == "The action took longer than 0.2s"
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
    slow = await column("slow", "/slow", responseTimeout="100")
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
    assert got[slow]["externalContent"]["error"] == "No response within 0.1s"
    assert await ledger(app, tid) == [] and await balance(client) == before


def ai_column(prompt: str, **inputs: str) -> dict[str, Any]:
    bindings = [{"name": "prompt", "formulaText": prompt}]
    bindings += [{"name": k, "formulaText": v} for k, v in inputs.items()]
    return {
        "type": "action",
        "typeSettings": {
            "actionPackageId": "use-ai",
            "actionKey": "use-ai",
            "inputsBinding": bindings,
        },
    }


async def test_ai_column_values_and_credits_follow_the_price_table(
    app: FastAPI, client: httpx.AsyncClient, provider: Provider
) -> None:
    t = await new_table(client, name="AI", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ask = '"Who is " + {{' + name + "}}"
    schema = '({type: "object", properties: {company: {type: "string"}, size: {type: "integer"}}})'
    columns = {
        "plain": ("gpt-4o-mini", ai_column(ask)),  # the server's default model
        "dated": ("gpt-4o-2024-08-06", ai_column(ask, model='"gpt-4o-2024-08-06"')),
        "house": ("house-model", ai_column(ask, model='"house-model"')),
        "schema": (
            "gpt-4o-mini",
            ai_column('"Company of " + {{' + name + "}}", answerSchema=schema),
        ),
        "busy": ("busy", ai_column(ask, model='"busy"')),
        "broken": ("broken", ai_column(ask, model='"broken"')),
    }
    fids = {
        label: await add_field(client, tid, label, body) for label, (_, body) in columns.items()
    }
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}, {"cells": {name: "globex"}}])
    before = await balance(client)
    r = await run(client, tid, {"fieldIds": list(fids.values()), "runRecords": {"recordIds": ids}})
    assert r.status_code == 200
    counts = await wait_done(client, tid, timeout=60)
    assert counts == {
        fid: {"ERROR": 2} if label == "broken" else {"SUCCESS": 2} for label, fid in fids.items()
    }
    # The model server's answers, whole, in each cell.
    for label, fid in fids.items():
        model = columns[label][0]
        for rid, who, cell in zip(
            ids, ("ada", "globex"), await cells(client, tid, ids, fid), strict=True
        ):
            if label == "broken":
                assert cell["value"] is None
                assert cell["externalContent"]["error"] == 'HTTP 500: {"error": "model crashed"}'
                continue
            prompt = f"Company of {who}" if label == "schema" else f"Who is {who}"
            answer: Any = f"About {prompt}"
            if label == "schema":
                answer = {"company": who.title(), "size": 12}
            assert cell["value"] == answer, (label, cell)
            assert cell["externalContent"]["fullValue"] == {
                "answer": answer,
                "model": model,
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": 3, "total_tokens": 9},
                "finishReason": "stop",
            }, (label, rid)
    # 429 (Retry-After: RETRY_AFTER) once, then answered after a wait; 500 every time, so
    # run_max_attempts calls per row.
    for who in ("ada", "globex"):
        assert provider.hits[f"/ai:busy:Who is {who}"] == 2
        assert gaps(provider, f"/ai:busy:Who is {who}")[0] >= RETRY_AFTER - 0.02, provider.times
        assert provider.hits[f"/ai:broken:Who is {who}"] == 3
    # Credits: the price of the model that answered, from the table (CLAYSTACK_AI_PRICES
    # merged over it), charged once per successful cell; failures charge nothing.
    price = {
        "plain": ai.PRICES["gpt-4o-mini"],
        "dated": ai.PRICES["gpt-4o"],
        "house": 7,
        "schema": ai.PRICES["gpt-4o-mini"],
        "busy": ai.PRICES["default"],
    }
    assert price["dated"] == 3 and price["plain"] == 1
    charges = await ledger(app, tid)
    label_of = {fid: label for label, fid in fids.items()}
    assert sorted((label_of[c.field_id], c.record_id, -c.amount) for c in charges) == sorted(
        (label, rid, p) for label, p in price.items() for rid in ids
    )
    assert {(c.integration, c.action_key, c.user_id) for c in charges} == {("use-ai", "use-ai", 1)}
    used = 2 * sum(price.values())
    assert await balance(client) == before - used
    # The integration's report (both path families) shows the same charges per field.
    report = (await client.get("/v3/integrations/use-ai/credits/report")).json()
    live = await client.get(
        "/v3/credit-reporting/1/creditReportType/integration", params={"integrations[0]": "use-ai"}
    )
    assert live.json() == report
    mine = {
        r["fieldId"]: (r["credits"], r["runs"])
        for r in report["breakdowns"]["field"]
        if r["tableId"] == tid
    }
    assert mine == {fids[label]: (2 * p, 2) for label, p in price.items()}


async def test_an_ai_model_dearer_than_the_balance_is_not_run(
    app: FastAPI, client: httpx.AsyncClient, provider: Provider
) -> None:
    """The engine holds a model's own price before the call, not the action's default."""
    t = await new_table(client, name="Dear AI", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(
        client, tid, "Gold", ai_column('"Who is " + {{' + name + "}}", model='"gold-model"')
    )
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}])
    before = await balance(client)
    assert 0 < before < 10**9
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    assert await wait_done(client, tid) == {fid: {"ERROR_OUT_OF_CREDITS": 1}}
    assert provider.hits["/ai:gold-model:Who is ada"] == 0
    assert await ledger(app, tid) == [] and await balance(client) == before


async def test_auto_run_on_and_off(client: httpx.AsyncClient, integrations: None) -> None:
    t = await new_table(client, name="Auto", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    assert t["tableSettings"]["AUTO_RUN_ON"] is True
    fid = await add_field(client, tid, "Person", action("find", {"q": "{{" + name + "}}"}))
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}, {"cells": {}}])
    counts = await wait_done(client, tid)
    assert counts == {fid: {"SUCCESS": 1}}
    first, blank = await cells(client, tid, ids, fid)
    assert first["value"] == "Ada" and blank is None
    r = await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    assert r.json()["table"]["tableSettings"]["AUTO_RUN_ON"] is False
    more = await add_rows(client, tid, [{"cells": {name: "bob"}}])
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1}}
    assert await cells(client, tid, more, fid) == [None]


async def test_waterfall_stops_at_first_data_and_charges_steps_that_ran(
    app: FastAPI, client: httpx.AsyncClient, integrations: None
) -> None:
    t = await new_table(client, name="Waterfall", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ref = "{{" + name + "}}"

    def step(key: str, q: str = ref) -> dict[str, Any]:
        return {
            "actionPackageId": "test-people",
            "actionKey": key,
            "inputsBinding": [{"name": "q", "formulaText": q}],
        }

    body = {
        "type": "action",
        "typeSettings": {
            "actionPackageId": "waterfall",
            "actionKey": "waterfall",
            "steps": [step("find", '"nodata"'), step("down"), step("find-premium"), step("find")],
        },
    }
    fid = await add_field(client, tid, "Best", body)
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}])
    await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1}}
    (cell,) = await cells(client, tid, ids, fid)
    assert cell["value"] == "Ada"
    full = cell["externalContent"]["fullValue"]
    assert full["step"] == {
        "index": 2,
        "actionPackageId": "test-people",
        "actionKey": "find-premium",
    }
    assert full["result"] == {"name": "Ada"}
    assert [s["status"] for s in full["steps"]] == ["SUCCESS_NO_DATA", "ERROR", "SUCCESS"]
    charges = await ledger(app, tid)
    assert [(c.action_key, c.amount) for c in charges] == [("find", -1), ("find-premium", -3)]
    assert len({c.idempotency_key for c in charges}) == 2


async def test_waterfall_passes_over_a_step_it_cannot_pay_for(
    app: FastAPI, client: httpx.AsyncClient, integrations: None
) -> None:
    """A waterfall starts when its cheapest paid step is affordable; a step dearer than the
    credits held is not called, the next one is. The estimate counts the first runnable step
    and, as the most it may cost, all of them."""
    t = await new_table(client, name="Budget", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    steps = [
        {
            "actionPackageId": "test-people",
            "actionKey": key,
            "inputsBinding": [{"name": "q", "formulaText": "{{" + name + "}}"}],
        }
        for key in ("costly", "find")
    ]
    settings = {"actionPackageId": "waterfall", "actionKey": "waterfall", "steps": steps}
    fid = await add_field(client, tid, "Best", {"type": "action", "typeSettings": settings})
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}])
    body = {"fieldIds": [fid], "runRecords": {"recordIds": ids}}
    est = (await client.patch(f"/v3/tables/{tid}/run/estimate", json=body)).json()
    (per,) = est["fields"]
    assert (per["cells"], per["credits"], per["maxCredits"]) == (1, 10**9, 10**9 + 1)
    await run(client, tid, body)
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1}}
    (cell,) = await cells(client, tid, ids, fid)
    full = cell["externalContent"]["fullValue"]
    assert [s["status"] for s in full["steps"]] == ["ERROR_OUT_OF_CREDITS", "SUCCESS"]
    assert full["step"]["actionKey"] == "find"
    assert [(c.action_key, c.amount) for c in await ledger(app, tid)] == [("find", -1)]


# -- run requests --------------------------------------------------------------------------


async def test_run_records_variants_and_bad_requests(
    client: httpx.AsyncClient, integrations: None, other_user: UserFactory
) -> None:
    t = await new_table(client, name="Variants", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(
        client,
        tid,
        "Copy",
        {"type": "formula", "typeSettings": {"formulaText": "{{" + name + "}}"}},
    )
    ids = await add_rows(client, tid, [{"cells": {name: f"n{i}"}} for i in range(6)])
    view = t["firstViewId"]

    async def ran(run_records: dict[str, Any]) -> tuple[int, set[str]]:
        r = await run(client, tid, {"fieldIds": [fid], "runRecords": run_records, "forceRun": True})
        assert r.status_code == 200, r.text
        await wait_done(client, tid)
        got = await cells(client, tid, ids, fid)
        return r.json()["recordCount"], {i for i, c in zip(ids, got, strict=True) if c}

    assert await ran({"viewIdTopRecords": {"viewId": view, "numRecords": 2}}) == (2, set(ids[:2]))
    assert await ran({"recordIds": [ids[2], "r_missing"]}) == (1, set(ids[:3]))
    assert await ran({"recordIds": [ids[3]], "tableId": tid}) == (1, set(ids[:4]))
    r = await client.post(
        f"/v3/tables/{tid}/views",
        json={"name": "Top", "limit": 1, "sort": [{"fieldId": name, "direction": "DESC"}]},
    )
    top = r.json()["view"]["id"]
    assert await ran({"viewId": top}) == (1, set(ids[:4]) | {ids[5]})
    assert await ran({"viewIdTopRecords": {"viewId": view}}) == (6, set(ids))

    r = await run(client, tid, {"fieldIds": [fid]})
    assert r.status_code == 400
    assert r.json() == {
        "type": "BadRequest",
        "message": 'Invalid request parameter(s): Field "runRecords" - Required',
    }
    for body, status in [
        ({"runRecords": {"recordIds": ids}}, 400),
        # A field that is not computed is a no-op, not a 400 (spec part 2 §4.4).
        ({"fieldIds": [name], "runRecords": {"recordIds": ids}}, 200),
        ({"fieldIds": ["f_nope"], "runRecords": {"recordIds": ids}}, 404),
        ({"fieldIds": [fid], "runRecords": {"recordIds": ids, "tableId": "t_other"}}, 400),
        ({"fieldIds": [fid], "runRecords": {"viewId": "gv_nope"}}, 404),
        (
            {
                "fieldIds": [fid],
                "runRecords": {"viewIdTopRecords": {"viewId": view, "numRecords": -1}},
            },
            400,
        ),
        ({"fieldIds": [fid], "runRecords": {"something": 1}}, 400),
    ]:
        r = await run(client, tid, body)
        assert r.status_code == status, (body, r.text)
    other, ws = await other_user()
    r = await run(other, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.status_code == 404 and r.json()["type"] == "NotFound"
    r = await other.get(f"/v3/workspaces/{ws}/tables/{tid}/fields/runstatus")
    assert r.status_code == 404
    r = await other.get(f"/v3/workspaces/1/tables/{tid}/fields/runstatus")
    assert r.status_code == 404


async def test_action_runs_by_top_n_record_ids_view_and_all_rows(
    app: FastAPI, client: httpx.AsyncClient, integrations: None, provider: Provider
) -> None:
    t = await new_table(client, name="Selections", fields=("name",))
    tid, name, view = t["id"], t["byName"]["name"], t["firstViewId"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(client, tid, "Person", action("find", {"q": "{{" + name + "}}"}))
    names = [f"sel{i}" for i in range(8)]
    ids = await add_rows(client, tid, [{"cells": {name: n}} for n in names])
    r = await client.post(
        f"/v3/tables/{tid}/views",
        json={"name": "Last two", "limit": 2, "sort": [{"fieldId": name, "direction": "DESC"}]},
    )
    last_two = r.json()["view"]["id"]
    before = await balance(client)
    ran: set[int] = set()

    async def step(run_records: dict[str, Any], count: int, new: set[int], **extra: Any) -> None:
        r = await run(client, tid, {"fieldIds": [fid], "runRecords": run_records, **extra})
        assert r.status_code == 200, r.text
        assert r.json()["recordCount"] == count
        ran.update(new)
        assert await wait_done(client, tid) == {fid: {"SUCCESS": len(ran)}}
        runs = 2 if extra.get("forceRun") else 1
        # Each row called the provider once per run that executed it, no other row did.
        calls = {i: provider.hits[f"/person:{n}"] for i, n in enumerate(names)}
        assert calls == {i: runs if i in ran else 0 for i in range(8)}, run_records
        got = await cells(client, tid, ids, fid)
        for i, cell in enumerate(got):
            if i not in ran:
                assert cell is None, (i, cell)
                continue
            answer = {"name": names[i].title()}
            assert cell == {
                "value": answer["name"],
                "metadata": {"status": "SUCCESS"},
                "externalContent": {"fullValue": answer},
            }, (i, cell)
        charges = await ledger(app, tid)
        assert sorted(c.record_id for c in charges) == sorted(
            ids[i] for i in ran for _ in range(runs)
        )
        assert await balance(client) == before - len(charges)

    await step({"viewIdTopRecords": {"viewId": view, "numRecords": 3}}, 3, {0, 1, 2})
    await step({"recordIds": [ids[5], ids[6]]}, 2, {5, 6})
    await step({"viewId": last_two}, 2, {7})  # sel7 and sel6; sel6 is kept
    await step({"viewIdTopRecords": {"viewId": view}}, 8, {3, 4})
    await step({"viewIdTopRecords": {"viewId": view}}, 8, set(), forceRun=True)
    # A single record read and a view page show the same cells.
    r = await client.get(f"/v3/tables/{tid}/records/{ids[4]}")
    assert r.json()["cells"][fid]["externalContent"]["fullValue"] == {"name": "Sel4"}
    r = await client.get(f"/v3/tables/{tid}/views/{last_two}/records")
    assert [rec["cells"][fid]["value"] for rec in r.json()["results"]] == ["Sel7", "Sel6"]


async def test_http_api_column_and_javascript_formulas(
    client: httpx.AsyncClient, provider: Provider
) -> None:
    t = await new_table(client, name="HTTP", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    ref = "{{" + name + "}}"
    http = await add_field(
        client,
        tid,
        "Lookup",
        {
            "type": "action",
            "typeSettings": {
                "actionPackageId": "http-api-v2",
                "actionKey": "http-api-v2",
                "inputsBinding": [
                    {"name": "url", "formulaText": f'"{provider.url}/person?q=" + {ref}'},
                    {"name": "fieldPaths", "formulaText": '["name"]'},
                ],
            },
        },
    )
    upper = await add_field(
        client,
        tid,
        "Upper",
        {"type": "formula", "typeSettings": {"formulaText": ref + '.toUpperCase() + "!"'}},
    )
    # An input that is not JavaScript is a plain-text template.
    plain = await add_field(
        client,
        tid,
        "Plain",
        {
            "type": "action",
            "typeSettings": {
                "actionPackageId": "http-api-v2",
                "actionKey": "http-api-v2",
                "inputsBinding": [
                    {"name": "url", "formulaText": provider.url + "/person?q=" + ref}
                ],
            },
        },
    )
    # Reads the action column's whole result; auto-run queues it once that result is in.
    chained = await add_field(
        client,
        tid,
        "Greeting",
        {"type": "formula", "typeSettings": {"formulaText": '"Hi " + {{' + http + "}}.name"}},
    )
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}, {"cells": {name: "grace"}}])
    assert await wait_done(client, tid) == {
        http: {"SUCCESS": 2},
        plain: {"SUCCESS": 2},
        upper: {"SUCCESS": 2},
        chained: {"SUCCESS": 2},
    }
    assert [c["value"] for c in await cells(client, tid, ids, plain)] == [
        {"name": "Ada"},
        {"name": "Grace"},
    ]
    assert [c["value"] for c in await cells(client, tid, ids, http)] == ["Ada", "Grace"]
    assert [c["value"] for c in await cells(client, tid, ids, upper)] == ["ADA!", "GRACE!"]
    (first, _) = await cells(client, tid, ids, http)
    assert first["externalContent"]["fullValue"] == {"name": "Ada"}
    assert [c["value"] for c in await cells(client, tid, ids, chained)] == ["Hi Ada", "Hi Grace"]


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
