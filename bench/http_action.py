"""``http-api-v2`` action throughput without the engine: N calls, C at a time, against a
local provider (a separate uvicorn process) that answers in 20 ms.

    .venv/bin/python -m bench.http_action [calls] [concurrency]
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import httpx

from claystack.server.config import Settings
from claystack.server.enrichment import registry
from claystack.server.enrichment.actions import _http
from claystack.server.enrichment.base import RunContext

PROVIDER = """
import asyncio, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def answer(request):
    await asyncio.sleep(0.02)
    return JSONResponse({"data": {"email": request.query_params.get("q", "") + "@example.com"}})

app = Starlette(routes=[Route("/lookup", answer)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(calls: int, concurrency: int) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", PROVIDER, str(port)])
    try:
        url = f"http://127.0.0.1:{port}/lookup"
        for _ in range(200):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        integration = registry.get("http-api-v2")
        assert integration is not None
        action = integration.actions[0]
        ctx = RunContext(1, "t", "f", "r", {}, Settings(http_allow_private=True))
        limit = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with limit:
                inputs = {"url": url, "queryString": {"q": f"u{i}"}, "fieldPaths": ["data.email"]}
                result = await action.run(inputs, ctx)
                assert result.value == f"u{i}@example.com"

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(calls)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"http-api-v2: {calls} calls, concurrency {concurrency}, 20 ms provider: "
            f"{elapsed:.2f} s, {calls / elapsed:,.0f} calls/s "
            f"(ceiling {concurrency / 0.02:,.0f}/s), {cpu / calls * 1e6:,.0f} µs CPU per call"
        )
        await _http.aclose()
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    c = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    asyncio.run(main(n, c))
