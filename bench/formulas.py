"""Formula throughput: one formula over many rows through ``evaluate_many`` (target ≥ 20,000/s).

.venv/bin/python -m bench.formulas [rows]
"""

from __future__ import annotations

import sys
import time

from claystack.server.enrichment import formulas

CASES = {
    "concat": '{{f_first}} + " " + {{f_last}}',
    "optional chaining": "{{f_person}}?.email?.toLowerCase() ?? null",
    "arithmetic": "Math.round({{f_n}} * 1.2 + 3) % 97",
}


def report(name: str, n: int, elapsed: float, extra: str = "") -> None:
    print(f"{name:<18} {n:>7} rows  {elapsed:6.2f} s  {n / elapsed:>9,.0f} cells/s  {extra}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rows = [
        {
            "f_first": f"Ada{i}",
            "f_last": "Lovelace",
            "f_person": {"email": f"Ada{i}@Example.com"} if i % 3 else None,
            "f_n": i,
        }
        for i in range(n)
    ]
    for name, text in CASES.items():
        started = time.perf_counter()
        out = formulas.evaluate_many(text, rows)
        elapsed = time.perf_counter() - started
        errors = sum(isinstance(v, formulas.FormulaError) for v in out)
        report(name, n, elapsed, f"{errors} errors")
    started = time.perf_counter()
    single = min(n, 20_000)
    for row in rows[:single]:
        formulas.evaluate(CASES["concat"], row)
    elapsed = time.perf_counter() - started
    report("evaluate() each", single, elapsed)


if __name__ == "__main__":
    main()
