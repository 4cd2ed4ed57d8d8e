"""View benchmarks (spec part 2 §5) over real HTTP, on a 1,000,000-row table.

    s  POST /views/{gv}/search for a term in one row, median of 5     bar <= 500 ms
    f  PATCH /views/{gv}/filter (City EQUAL) then GET /records/ids,
       median of 3 (the ids call; 1/53 of the rows match)             bar <= 1 s

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
from _server import Server, loadavg, machine_info  # noqa: E402
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
            samples = []
            hits: list[object] = []
            for _ in range(5):
                t0 = time.perf_counter()
                r = check(c.post(base + "/search", json={"searchTerm": "PERSON999@example"}))
                samples.append(time.perf_counter() - t0)
                hits = r.json()["results"]
            report["search_ms"] = round(statistics.median(samples) * 1000, 1)
            report["search_samples_ms"] = [round(s * 1000, 1) for s in samples]
            report["search_hits"] = len(hits)
            flt = {"items": [{"fieldId": city, "type": "EQUAL", "value": "City 7"}]}
            check(c.patch(base + "/filter", json=flt))
            samples, count = [], 0
            for _ in range(3):
                t0 = time.perf_counter()
                r = check(c.get(base + "/records/ids"))
                samples.append(time.perf_counter() - t0)
                count = len(orjson.loads(r.content)["results"])
            report["filter_ids_s"] = round(statistics.median(samples), 3)
            report["filter_ids_samples_s"] = [round(s, 3) for s in samples]
            report["filter_ids_count"] = count
    report["loadavg_end"] = loadavg()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
