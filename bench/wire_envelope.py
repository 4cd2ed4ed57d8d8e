"""What a wire-model envelope costs a long answer: a credit report of N rows rendered from
its dict (as before) and from ``CreditReport.build(**report)`` (as ``routes/credits.py``
answers now), rows staying dicts. In process: wall and CPU per render, output checked equal.

Usage: ``.venv/bin/python bench/wire_envelope.py [--rows 50 5000] [--calls 500]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from typing import Any

from claystack.wire import CreditReport, dumps


def _report(n: int) -> dict[str, Any]:
    rows = [
        {
            "date": "2026-12-01",
            "userId": 1,
            "integration": "http-api-v2",
            "action": "http-api-v2",
            "tableId": "t_0000000000000001",
            "fieldId": "f_0000000000000001",
            "credits": i,
            "actions": 1,
        }
        for i in range(n)
    ]
    return {
        "workspaceId": 1,
        "balance": 10,
        "timeRange": {"startTime": None, "endTime": None},
        "totals": {"credits": n},
        "rows": rows,
        "page": {"total": n, "nextOffset": None},
    }


def _per_call(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    wall0 = time.perf_counter()
    for _ in range(calls):
        fn()
    wall = (time.perf_counter() - wall0) / calls
    cpu = (resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0) / calls
    return wall * 1e6, cpu * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[50, 5000])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for n in args.rows:
        report = _report(n)
        assert dumps(report) == dumps(CreditReport.build(**report))
        wall_d, cpu_d = _per_call(lambda r=report: dumps(r), args.calls)
        wall_m, cpu_m = _per_call(
            lambda r=report: dumps(CreditReport.build(**r)),
            args.calls,
        )
        print(
            f"{n:>6} rows  dict {wall_d:8.1f} µs wall {cpu_d:8.1f} µs CPU  |  "
            f"CreditReport.build {wall_m:8.1f} µs wall {cpu_m:8.1f} µs CPU"
        )


if __name__ == "__main__":
    main()
