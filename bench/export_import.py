"""Export and import jobs over real HTTP (issue 12 §3.5, §3.6).

Starts ``claystack serve`` in its own process (``bench/_server.py``) on a fresh SQLite file
or, with ``--database postgresql://…``, a fresh schema; this script is the client.

    x  export 1,000,000 rows (5 text cells) as a job, then download the CSV     rows/s
       and the server's RSS peak while it runs                              bar <= 400 MB
    i  import a 100,000-row CSV through the signed upload and the job     bar >= 20,000 rows/s

Usage: ``.venv/bin/python bench/export_import.py [--database URL] [--rows N] [--import-rows N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402 - the sibling module, importable when run as a script
    WORKSPACE,
    Server,
    loadavg,
    machine_info,
    proc_cpu_seconds,
)
from foundation import build_table, check  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def wait_job(c: Any, path: str, timeout: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = check(c.get(path)).json()
        if job["status"] != "ACTIVE":
            if job["status"] != "FINISHED":
                raise RuntimeError(f"{path} ended {job['status']}: {job}")
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} still ACTIVE after {timeout} s")
        time.sleep(0.1)


def bench_export(server: Server, rows: int, tmp: Path) -> dict[str, Any]:
    table_id, _ = build_table(server, "Export", rows, connections=4)
    server.sampler.max_kb = 0  # type: ignore[union-attr] - the peak of the export alone
    load = loadavg()
    cpu0 = proc_cpu_seconds(server.pid)
    with server.client() as c:
        t0 = time.perf_counter()
        job = check(c.post(f"/v3/tables/{table_id}/export")).json()
        done = wait_job(c, f"/v3/exports/{job['id']}")
        export_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        size = 0
        with httpx.stream("GET", done["downloadUrl"], timeout=600) as r:  # no login
            check(r)
            for chunk in r.iter_bytes(1 << 20):
                size += len(chunk)
        download_s = time.perf_counter() - t1
    mem = server.memory()
    out = {
        "rows": done["recordsExportedCount"],
        "export_s": round(export_s, 2),
        "export_rows_per_s": round(rows / export_s),
        "download_s": round(download_s, 2),
        "file_mb": round(size / 1e6, 1),
        "server_cpu_s": round(proc_cpu_seconds(server.pid) - cpu0, 2),
        "rss_peak_mb": round(max(mem["rss_max_sampled_mb"], 0), 1),
        "vm_hwm_mb": round(mem["vm_hwm_mb"], 1),
        "loadavg_before": load,
    }
    print(
        f"  export: {rows:,} rows in {export_s:.1f} s ({out['export_rows_per_s']:,} rows/s), "
        f"download {out['file_mb']} MB in {download_s:.1f} s, RSS peak {out['rss_peak_mb']} MB "
        f"(VmHWM {out['vm_hwm_mb']} MB over the whole run)",
        flush=True,
    )
    return out


def bench_import(server: Server, rows: int, tmp: Path) -> dict[str, Any]:
    path = tmp / "import.csv"
    with open(path, "w", encoding="latin-1", newline="") as f:
        f.write("Name;Email;Company;Website;City\n")
        for i in range(rows):
            f.write(
                f"Zoë {i};zoe{i}@example.com;Café {i % 997};https://example.com/p/{i};"
                f"Zürich {i % 53}\n"
            )
    with server.client() as c:
        table = check(c.post("/v3/tables", json={"name": "Import", "workspaceId": WORKSPACE}))
        table_id = table.json()["table"]["id"]
        columns = ["Name", "Email", "Company", "Website", "City"]
        mapping = {}
        for name in columns:
            body = {"name": name, "type": "text", "typeSettings": {}}
            fid = check(c.post(f"/v3/tables/{table_id}/fields", json=body)).json()["field"]["id"]
            mapping[fid] = "{{" + name + "}}"
        load = loadavg()
        cpu0 = proc_cpu_seconds(server.pid)
        t0 = time.perf_counter()
        form = check(c.post("/v3/imports/signed-s3-post-url", json={"filename": "i.csv"})).json()
        with open(path, "rb") as fh:  # no login: the form's signature is the authority
            up = httpx.post(
                form["url"], data=form["fields"], files={"file": ("i.csv", fh)}, timeout=600
            )
        check(up)
        upload_s = time.perf_counter() - t0
        config = {
            "source": {"type": "S3_CSV", "key": form["fields"]["key"], "hasHeader": True},
            "destination": {"type": "TABLE", "tableId": table_id},
            "map": mapping,
            "isImportWithoutRun": False,
        }
        t1 = time.perf_counter()
        job = check(c.post("/v3/imports", json={"workspaceId": WORKSPACE, "config": config}))
        done = wait_job(c, f"/v3/imports/{job.json()['id']}")
        import_s = time.perf_counter() - t1
        got = check(c.get(f"/v3/tables/{table_id}/count")).json()["tableTotalRecordsCount"]
    if got != rows or done["state"]["numRowsSoFar"] != rows:
        raise RuntimeError(f"imported {got} rows, wanted {rows}: {done}")
    out = {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "upload_s": round(upload_s, 2),
        "import_s": round(import_s, 2),
        "import_rows_per_s": round(rows / import_s),
        "end_to_end_rows_per_s": round(rows / (upload_s + import_s)),
        "server_cpu_s": round(proc_cpu_seconds(server.pid) - cpu0, 2),
        "loadavg_before": load,
    }
    print(
        f"  import: {rows:,} rows (Latin-1, ';') uploaded in {upload_s:.2f} s, imported in "
        f"{import_s:.1f} s ({out['import_rows_per_s']:,} rows/s; "
        f"{out['end_to_end_rows_per_s']:,} rows/s with the upload)",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="postgresql://… (default: a fresh SQLite file)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to export")
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows to import")
    parser.add_argument("--only", default="x,i", help="x (export), i (import)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    results: dict[str, Any] = {"machine": machine_info(), "started": dt.datetime.now(dt.UTC)}
    with Server(args.database) as server:
        print(f"server {server.base_url} ({server.backend}), load {loadavg()}", flush=True)
        if "i" in only:
            results["import"] = bench_import(server, args.import_rows, server.tmp)
        if "x" in only:
            results["export"] = bench_export(server, args.rows, server.tmp)
        results["backend"] = server.backend
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    out = RESULTS / f"export_import-{results['backend']}-{stamp}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
