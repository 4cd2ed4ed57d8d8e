"""Garbage-collector settings for a long-running server process (``claystack serve``, each of
its ``--workers`` processes, and ``claystack worker``).

A server allocates many short-lived dicts per request (a 1,000-row batch is thousands), and
with the default thresholds every few hundred allocations start a collection that rescans
the long-lived objects start-up built (modules, the wire models, routes, SQLAlchemy's
metadata). Freezing those once start-up is done, and collecting the young generation less
often, about doubled the rows a CPU-second inserts (in process, PostgreSQL, 1,000-row
batches: 33,000 → 60,000-71,000). Tests do not call this: they build many apps in one process.
"""

from __future__ import annotations

import gc


def tune() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
