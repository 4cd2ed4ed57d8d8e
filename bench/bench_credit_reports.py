"""Credit reports over a large ledger: time per report over in-process HTTP.

    python bench/bench_credit_reports.py [--entries 200000] [--database-url postgresql://…]

Fills the ledger of workspace 1 with charges spread over 90 days, 20 users, 5 integrations,
50 tables × 4 fields (inserted in bulk: this measures reading, not charging), then times
each report type for all time and for one week. Rows are inserted in time order, as the
append-only ledger writes them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from claystack.server import lifecycle
from claystack.server.app import create_app
from claystack.server.config import Settings
from claystack.server.storage.models import CreditEntry

DAY = 86_400_000


async def main(entries: int, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app(Settings(database_url=url, data_dir=Path(tmp), enable_reset=True))
        async with app.router.lifespan_context(app):
            await lifecycle.reset(app)
            rng = random.Random(1)
            now = int(time.time() * 1000)
            rows = [
                {
                    "workspace_id": 1,
                    "amount": -rng.choice((0, 1, 2, 5)),
                    "kind": "charge",
                    "user_id": rng.randrange(1, 21),
                    "integration": f"int-{rng.randrange(5)}",
                    "action_key": "a",
                    "table_id": f"t_{rng.randrange(50)}",
                    "field_id": f"f_{rng.randrange(4)}",
                    "record_id": f"r_{i}",
                    "idempotency_key": f"k{i}",
                    "created_at": now - rng.randrange(90 * DAY),
                }
                for i in range(entries)
            ]
            rows.sort(key=lambda r: r["created_at"])  # append-only: ids follow time
            async with app.state.db.transaction(write=True) as conn:
                for start in range(0, len(rows), 5000):
                    await conn.execute(insert(CreditEntry), rows[start : start + 5000])
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                r = await client.post(
                    "/v3/auth/login", json={"email": "demo@claystack.dev", "password": "claystack"}
                )
                r.raise_for_status()
                week = f"timeRange[startTime]={now - 7 * DAY}&timeRange[endTime]={now}"
                for label, path in (
                    ("workspace, all time", "/v3/workspaces/1/credits"),
                    ("workspace, one week", f"/v3/workspaces/1/credits?{week}"),
                    ("integration, one week", f"/v3/integrations/int-1/credits/report?{week}"),
                    ("table, all time", "/v3/credit-reporting/1/creditReportType/table"),
                    ("field, all time", "/v3/credit-reporting/1/creditReportType/field"),
                    ("user, all time", "/v3/users/1/credits"),
                ):
                    started = time.perf_counter()
                    r = await client.get(path)
                    elapsed = time.perf_counter() - started
                    r.raise_for_status()
                    body = r.json()
                    print(
                        f"{label:24} {elapsed * 1000:8.0f} ms  rows={len(body['rows']):6}"
                        f"  runs={body['totals']['runs']}"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.database_url))
