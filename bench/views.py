"""View benchmarks (spec part 2 §5) over real HTTP, on a 1,000,000-row table.

    s  POST /views/{gv}/search for a term in one row, median of 5     bar <= 500 ms
       (after the table's search index is built: the first search of a big table scans
       and starts the build in the background; its time and the build's are reported)
    f  PATCH /views/{gv}/filter (City EQUAL) then GET /records/ids,
       median of 3 (the ids call; 1/53 of the rows match)             bar <= 1 s
       (the PATCH makes the field's index; its time is reported)

Usage: ``.venv/bin/python bench/views.py [--database URL] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed import seed_rows  # noqa: E402
from _server import Server, loadavg, machine_info, tree_cpu_seconds  # noqa: E402
from foundation import check, create_table  # noqa: E402


def build_table(server: Server, rows: int) -> tuple[str, str]:
    """The foundation benchmark's 5-text-column table; its rows written by SQL (this
    benchmark reads them)."""
    with server.client() as c:
        table, view, fields = create_table(c, "bench views")
    f1, f2, f3, f4, f5 = fields
    url = server.database or f"sqlite:///{server.tmp / 'claystack.db'}"
    t0 = time.perf_counter()
    seed_rows(
        url,
        table,
        rows,
        lambda i: {
            f1: f"Person {i}",
            f2: f"person{i}@example.com",
            f3: f"Company {i % 997}",
            f4: f"https://example.com/p/{i}",
            f5: f"City {i % 53}",
        },
        schema=server.schema,
    )
    print(f"  seeded {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    return table, view


def _index_built(server: Server, table: str) -> bool:
    sql = "SELECT built_to >= target FROM search_tables WHERE table_id = "
    if server.database is None:
        import sqlite3

        db = sqlite3.connect(server.tmp / "claystack.db")
        try:
            row = db.execute(sql + "?", (table,)).fetchone()
        finally:
            db.close()
        return bool(row and row[0])
    import asyncio

    import asyncpg

    async def read() -> bool:
        conn = await asyncpg.connect(server.database)
        try:
            await conn.execute(f'SET search_path TO "{server.schema}"')
            return bool(await conn.fetchval(sql + "$1", table))
        finally:
            await conn.close()

    return asyncio.run(read())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    ap.add_argument("--quick", action="store_true", help="a 100,000-row table")
    args = ap.parse_args(argv)
    rows = 100_000 if args.quick else 1_000_000
    report: dict[str, object] = {
        "benchmark": "views",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "loadavg_start": loadavg(),
        "rows": rows,
    }
    with Server(args.database) as server:
        table, view = build_table(server, rows)
        with server.client() as c:
            fields = check(c.get(f"/v3/tables/{table}/fields")).json()
            city = next(f["id"] for f in fields if f["name"] == "Text 5")
            base = f"/v3/tables/{table}/views/{view}"
            t0, cpu0 = time.perf_counter(), tree_cpu_seconds(server.pid)
            check(c.post(base + "/search", json={"searchTerm": "PERSON999@example"}))
            report["first_search_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            while not _index_built(server, table):
                time.sleep(0.5)
            report["index_build_s"] = round(time.perf_counter() - t0, 1)
            report["index_build_server_cpu_s"] = round(tree_cpu_seconds(server.pid) - cpu0, 1)
            samples = []
            hits: list[object] = []
            cpu1 = tree_cpu_seconds(server.pid)
            for _ in range(5):
                t0 = time.perf_counter()
                r = check(c.post(base + "/search", json={"searchTerm": "PERSON999@example"}))
                samples.append(time.perf_counter() - t0)
                hits = r.json()["results"]
            report["search_server_cpu_ms_each"] = round(
                (tree_cpu_seconds(server.pid) - cpu1) * 1000 / 5, 1
            )
            report["search_ms"] = round(statistics.median(samples) * 1000, 1)
            report["search_samples_ms"] = [round(s * 1000, 1) for s in samples]
            report["search_hits"] = len(hits)
            flt = {"items": [{"fieldId": city, "type": "EQUAL", "value": "City 7"}]}
            t0, cpu0 = time.perf_counter(), tree_cpu_seconds(server.pid)
            check(c.patch(base + "/filter", json=flt))
            report["filter_patch_s"] = round(time.perf_counter() - t0, 2)
            report["filter_patch_server_cpu_s"] = round(tree_cpu_seconds(server.pid) - cpu0, 2)
            samples, count = [], 0
            cpu0 = tree_cpu_seconds(server.pid)
            for _ in range(3):
                t0 = time.perf_counter()
                r = check(c.get(base + "/records/ids"))
                samples.append(time.perf_counter() - t0)
                count = len(orjson.loads(r.content)["results"])
            report["filter_ids_server_cpu_s_each"] = round(
                (tree_cpu_seconds(server.pid) - cpu0) / 3, 3
            )
            report["filter_ids_s"] = round(statistics.median(samples), 3)
            report["filter_ids_samples_s"] = [round(s, 3) for s in samples]
            report["filter_ids_count"] = count
    report["loadavg_end"] = loadavg()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
