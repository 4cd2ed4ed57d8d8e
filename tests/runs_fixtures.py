"""The enrichment-run tests' shared set-up (tests/test_runs_*.py, and the engine tests that
import it): a real local HTTP provider, the test integrations that call it, the settings
they run with, and the helpers that make columns and rows, run them and read the results.

The module-scoped fixtures (``provider``, ``integrations``) are per importing file: a
threaded HTTP server started in a few milliseconds and two registry entries."""

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
from claystack.server.enrichment.base import (
    Action,
    ActionError,
    ActionResult,
    Integration,
    RunContext,
)
from claystack.server.storage.models import CreditEntry

PENDING = {"QUEUED", "RUNNING", "RETRY", "AWAITING_CALLBACK"}
# The provider's Retry-After, in seconds: well above the engine's own backoff here (0.02 s,
# then 0.04 s), so a gap of at least this long between two calls shows it was waited out.
RETRY_AFTER = 0.2


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
            time.sleep(0.05)  # calls the engine starts at once would overlap
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
            "run_retry_base_seconds": 0.02,
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


def gaps(provider: Provider, key: str) -> list[float]:
    """Seconds between the provider's consecutive requests for ``key``."""
    times = provider.times[key]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
