"""Which SQL statements a test run sends, to check that a refactor changed none (issue 11
item 2: the services' SQL moved to ``storage/repositories``).

Record (a pytest plugin: every statement the driver receives, one line each)::

    SQL_STATEMENTS_OUT=/tmp/after.sql .venv/bin/pytest -p no:xdist -p bench.sql_statements \\
        tests/test_coverage.py tests/test_spec_shapes.py
    SQL_STATEMENTS_OUT=/tmp/before.sql PYTHONPATH=<main checkout>/src .venv/bin/pytest ...

Compare (ids and index-name hashes normalised; distinct statements, then counts)::

    .venv/bin/python bench/sql_statements.py /tmp/before.sql /tmp/after.sql
"""

from __future__ import annotations

import collections
import os
import re
import sys
from typing import Any

_IDS = (
    (re.compile(r"'(?:t|f|gv|wb|fo|s|r|aa|ej|ij|share|pre_|gr)_?[A-Za-z0-9]{6,}'"), "'<id>'"),
    (re.compile(r"\b([ft])_[A-Za-z0-9]{10,}"), r"\1_<id>"),
    (re.compile(r"ix_records_view_[0-9a-f]+"), "ix_records_view_<h>"),
    (re.compile(r"IN \(__\[POSTCOMPILE_[a-z_0-9]+\]\)"), "IN (...)"),
    (re.compile(r"\(\?(?:, \?)*\)"), "(?...)"),
    (re.compile(r"\$\d+"), "$n"),
)

if os.environ.get("SQL_STATEMENTS_OUT"):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _out = open(os.environ["SQL_STATEMENTS_OUT"], "a", encoding="utf-8")  # noqa: SIM115

    @event.listens_for(Engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        _out.write(" ".join(statement.split()) + "\n")
        _out.flush()


def load(path: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            text = line.strip()
            for pattern, repl in _IDS:
                text = pattern.sub(repl, text)
            counts[text] += 1
    return counts


def main(before_path: str, after_path: str) -> None:
    before, after = load(before_path), load(after_path)
    print(f"distinct statements: before {len(before)}, after {len(after)}")
    print(f"statements executed: before {before.total()}, after {after.total()}")
    for label, only in (("before", before.keys() - after), ("after", after.keys() - before)):
        print(f"only {label}: {len(only)}")
        for text in sorted(only):
            print("   ", text[:300])
    changed = [(t, before[t], after[t]) for t in before.keys() & after if before[t] != after[t]]
    print(f"same statement, different count: {len(changed)}")
    for text, b, a in sorted(changed, key=lambda c: -abs(c[1] - c[2])):
        print(f"    {b} -> {a}: {text[:160]}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
