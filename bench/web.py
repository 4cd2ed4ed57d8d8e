"""The web app's big-table timings (issue 15) in Debian's Chromium driven by Playwright.

For a table of 100,000 and one of 1,000,000 rows (rows written by SQL, ``bench/_seed.py``),
each opened ``--repeat`` times in a fresh tab of a logged-in browser whose cache holds the
app's scripts (as for anyone who opened the app before):

    first  navigation start → first rows visible (animation frame showing "lead 0")   bar <= 1 s
    dom    rows in the grid's DOM after the first rows and after the jump             bar <= 500
    jump   click on "Last row" → the last row visible                                 bar <= 300 ms
    read   the server's windowed read (GET /_claystack/ui/…/rows) of the first and the
           last 100 rows, median of 5, from a Python client

Usage: ``.venv/bin/python bench/web.py [--database URL] [--quick] [--repeat N]``
(``--quick``: the 100,000-row table only). Needs ``/usr/bin/chromium``; never downloads one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed import seed_rows  # noqa: E402
from _server import DEMO_EMAIL, DEMO_PASSWORD, WORKSPACE, Server, loadavg, machine_info  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
RESULTS = Path(__file__).resolve().parent / "results"
SHOWN = """(text) => [...document.querySelectorAll("[role=gridcell]")]
    .some((c) => c.textContent === text) && performance.now()"""


def make_table(server: Server, rows: int) -> str:
    with server.client() as c:
        body = {"name": f"Bench {rows:,}", "workspaceId": WORKSPACE}
        table = c.post("/v3/tables", json=body).json()["table"]
        made = []
        for name, kind in (("Name", "text"), ("Email", "email"), ("City", "text"), ("N", "number")):
            r = c.post(f"/v3/tables/{table['id']}/fields", json={"name": name, "type": kind})
            made.append(r.json()["field"]["id"])
    name, email, city, n = made
    t0 = time.perf_counter()
    url = server.database or f"sqlite:///{server.tmp / 'claystack.db'}"
    seed_rows(
        url,
        table["id"],
        rows,
        lambda i: {name: f"lead {i}", email: f"lead{i}@example.com", city: f"City {i % 53}", n: i},
        schema=server.schema,
    )
    print(f"  seeded {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    return str(table["id"])


def server_reads(server: Server, table_id: str, rows: int) -> dict[str, float]:
    out = {}
    with server.client() as c:
        view = c.get(f"/v3/tables/{table_id}").json()["table"]["firstViewId"]
        path = f"/_claystack/ui/tables/{table_id}/views/{view}/rows"
        for key, offset in (("read_first_ms", 0), ("read_last_ms", rows - 100)):
            samples = []
            for _ in range(5):
                t0 = time.perf_counter()
                r = c.get(path, params={"offset": offset, "limit": 100})
                samples.append(time.perf_counter() - t0)
                assert r.status_code == 200 and len(r.json()["results"]) == 100, r.text[:200]
            out[key] = round(statistics.median(samples) * 1000, 1)
    return out


def open_table(context: Any, base: str, table_id: str, rows: int) -> dict[str, float]:
    page = context.new_page()
    try:
        page.goto(base + f"/tables/{table_id}", wait_until="commit")
        first = float(page.wait_for_function(SHOWN, arg="lead 0", polling="raf").json_value())
        page.get_by_test_id("row-total").filter(has_text=f"{rows:,} rows").wait_for()
        dom_first = page.locator("[data-testid=grid] .ag-row").count()
        clicked = page.evaluate(
            """() => { document.querySelector("[aria-label='Last row']").click();
                       return performance.now(); }"""
        )
        shown = page.wait_for_function(SHOWN, arg=f"lead {rows - 1}", polling="raf")
        jump = float(shown.json_value()) - float(clicked)
        dom_last = page.locator("[data-testid=grid] .ag-row").count()
        return {"first_ms": first, "jump_ms": jump, "dom_rows": max(dom_first, dom_last)}
    finally:
        page.close()


def measure(browser: Any, base: str, table_id: str, rows: int, repeat: int) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(base + "/")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
    context.set_default_timeout(60_000)
    runs = [open_table(context, base, table_id, rows) for _ in range(repeat)]
    context.close()
    out: dict[str, Any] = {"runs": runs, "loadavg": loadavg()}
    for key in ("first_ms", "jump_ms"):
        out[key] = round(statistics.median(r[key] for r in runs), 1)
    out["dom_rows"] = max(r["dom_rows"] for r in runs)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    ap.add_argument("--quick", action="store_true", help="the 100,000-row table only")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    report: dict[str, Any] = {
        "benchmark": "web",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "loadavg_start": loadavg(),
    }
    with Server(args.database) as server:
        report["backend"] = server.backend
        tables = {rows: make_table(server, rows) for rows in sizes}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for rows, table_id in tables.items():
                result = measure(browser, server.base_url, table_id, rows, args.repeat)
                result.update(server_reads(server, table_id, rows))
                report[f"rows_{rows}"] = result
                print(
                    f"  {rows:>9,} rows: first rows {result['first_ms']:.0f} ms (bar 1000), "
                    f"jump to last {result['jump_ms']:.0f} ms (bar 300), "
                    f"{result['dom_rows']} rows in the DOM (bar 500); server window "
                    f"first {result['read_first_ms']} ms, last {result['read_last_ms']} ms; "
                    f"load {result['loadavg'][0]}",
                    flush=True,
                )
            browser.close()
    report["loadavg_end"] = loadavg()
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"web-{report['backend']}-{stamp}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
