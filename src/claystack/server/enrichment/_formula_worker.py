"""A formula worker process (see ``pool``): run as a script, so that it imports nothing but
``formulas`` and starts in a fraction of a second.

It evaluates ``(text, payloads, time_limit, max_result_bytes)`` requests from its socket and
sends the results back in chunks of ``CHUNK_ROWS``, each ``(results, last)``; an error is a
``(kind, message)`` tuple, which no JSON value is. A chunk ends early at the first row that
hit the time limit. ``payloads`` given as one JSON text is a formula column's batch
(``formulas.evaluate_rows``), answered in one message.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection
from typing import Any

if __package__:
    from . import formulas
else:  # run as a script: this directory is on sys.path
    import formulas  # type: ignore[no-redef]

CHUNK_ROWS = 500


def serve(conn: Connection) -> None:
    conn.send("ready")
    while True:
        try:
            text, payloads, limit, max_bytes = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(payloads, str):  # a formula column's batch: see formulas.evaluate_rows
            rows = formulas.evaluate_rows(
                text, payloads, time_limit=limit, max_result_bytes=max_bytes
            )
            conn.send((rows, True))
            continue
        if not payloads:
            conn.send(([], True))
            continue
        for start in range(0, len(payloads), CHUNK_ROWS):
            part = formulas.evaluate_many_json(
                text,
                payloads[start : start + CHUNK_ROWS],
                time_limit=limit,
                max_timeouts=1,
                max_result_bytes=max_bytes,
            )
            out: list[Any] = []
            stop = False
            for value in part:
                if isinstance(value, formulas.FormulaError):
                    out.append((value.kind, value.message))
                    if value.kind == "timeout":
                        stop = True
                        break
                else:
                    out.append(value)
            last = stop or start + CHUNK_ROWS >= len(payloads)
            conn.send((out, last))
            if last:
                break


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
