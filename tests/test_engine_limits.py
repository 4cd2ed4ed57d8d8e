"""What one workspace's formulas and actions can do to the engine: a formula that never
returns (a backtracking regular expression, which QuickJS's own time limit cannot stop) ends
its cells in ERROR while another workspace's run goes on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from claystack.server.config import Settings
from claystack.server.enrichment import registry
from claystack.server.enrichment.base import Action, ActionResult, Integration, RunContext

from .conftest import UserFactory, new_table
from .runs_fixtures import add_field, add_rows, cells, wait_done

LIMIT = 1.0  # a batch of three 9 MiB results takes ~0.3 s of CPU to build, which must fit
# The formulas that never return are killed at the limit and again at each of the retries
# that find their rows (``pool``): 7 kills in this file, each after up to twice the limit
# and the kill grace, a worker spinning all the while. A row that returns takes its worker
# ~5-25 ms of wall time on a loaded machine (and QuickJS's limit is CPU time): well within.
HOSTILE_LIMIT = 0.05
HOSTILE_GRACE = 0.1
# Executors: a workspace may hold 7 of them (fair.workspace_cap) and claim 16 jobs ahead
# (twice this); the backlog's 40 hanging action cells are more than both.
CONCURRENCY = 8
BACKLOG = 40
CELL = 10_000
HOSTILE = "/^(a+)+$/.test({{n}} || '')"
EVIL = "a" * 40 + "!"


@pytest.fixture
def limit() -> float:
    """The formula time limit; a test that sets it (``parametrize``) gets another app."""
    return LIMIT


@pytest.fixture
def settings(settings: Settings, limit: float) -> Settings:
    update: dict[str, Any] = {
        "run_poll_seconds": 0.05,
        "run_concurrency": CONCURRENCY,
        "formula_time_limit_seconds": limit,
        "max_cell_bytes": CELL,
    }
    if limit == HOSTILE_LIMIT:  # the default grace (0.5 s) for the 9 MiB results
        update["formula_kill_grace_seconds"] = HOSTILE_GRACE
    return settings.model_copy(update=update)


async def _echo(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return ActionResult(value=inputs.get("q"), full_value=inputs)


async def _grow(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    """``q`` "y"s, or with a "w" first, as many "é"s (two bytes each in UTF-8)."""
    q = str(inputs["q"])
    return ActionResult(value="é" * int(q[1:]) if q.startswith("w") else "y" * int(q))


@pytest.fixture
def echo() -> Iterator[None]:
    registry.register(
        Integration(
            key="test-echo",
            display_name="Echo",
            actions=(Action("echo", "Echo", _echo), Action("grow", "Grow", _grow)),
        )
    )
    yield
    registry.integrations().pop("test-echo", None)


def formula(text: str) -> dict[str, Any]:
    return {"type": "formula", "typeSettings": {"formulaText": text}}


def echo_action(q: str) -> dict[str, Any]:
    return {
        "type": "action",
        "typeSettings": {
            "actionPackageId": "test-echo",
            "actionKey": "echo",
            "inputsBinding": [{"name": "q", "formulaText": q}],
        },
    }


async def table_with(
    client: httpx.AsyncClient, values: list[str], column: str, workspace: int = 1
) -> tuple[str, str, str, list[str]]:
    """A table of rows ``n`` = ``values`` and a column (``{{n}}`` in ``column`` stands for
    that field) that runs as the rows arrive: the ids of table, ``n``, column and rows."""
    t = await new_table(client, name="T", fields=("n",), workspace=workspace)
    tid, n = t["id"], t["byName"]["n"]
    body = orjson.loads(orjson.dumps(column).replace(b"{{n}}", ("{{" + n + "}}").encode()))
    fid = await add_field(client, tid, "F", body)
    ids = await add_rows(client, tid, [{"cells": {n: v}} for v in values])
    return tid, n, fid, ids


async def small_run_elsewhere(other_user: UserFactory) -> float:
    """Seconds until a 5-row formula column of another workspace is done."""
    other, ws = await other_user()
    started = time.monotonic()
    values = [f"b{i}" for i in range(5)]
    tid, n, fid, ids = await table_with(other, values, formula("{{n}}.toUpperCase()"), ws)
    assert await wait_done(other, tid, workspace=ws, timeout=30) == {fid: {"SUCCESS": 5}}
    elapsed = time.monotonic() - started
    assert [c["value"] for c in await cells(other, tid, ids, fid)] == [f"B{i}" for i in range(5)]
    return elapsed


@pytest.mark.parametrize("limit", [HOSTILE_LIMIT])
async def test_a_formula_that_never_returns_ends_in_error_and_blocks_no_one(
    client: httpx.AsyncClient, other_user: UserFactory, limit: float
) -> None:
    tid, n, fid, ids = await table_with(client, ["aaa", EVIL, "aa", EVIL], formula(HOSTILE))
    assert await small_run_elsewhere(other_user) < 5
    assert await wait_done(client, tid, timeout=60) == {fid: {"SUCCESS": 2, "ERROR": 2}}
    got = await cells(client, tid, ids, fid)
    assert [c["value"] for c in got] == [True, None, True, None]
    for c in (got[1], got[3]):
        assert c["metadata"]["status"] == "ERROR"
        assert c["externalContent"]["error"].startswith(f"Formula timed out after {limit:g} s")

    # The workers were replaced: formulas still run.
    await add_rows(client, tid, [{"cells": {n: "aaaa"}}])
    assert await wait_done(client, tid, timeout=30) == {fid: {"SUCCESS": 3, "ERROR": 2}}


@pytest.mark.parametrize("limit", [HOSTILE_LIMIT])
async def test_an_input_binding_that_never_returns_ends_in_error_and_blocks_no_one(
    client: httpx.AsyncClient, other_user: UserFactory, echo: None, limit: float
) -> None:
    hostile = echo_action(HOSTILE + " ? 'yes' : 'no'")
    tid, n, fid, ids = await table_with(client, [EVIL, "aa", EVIL], hostile)
    assert await small_run_elsewhere(other_user) < 5
    counts = await wait_done(client, tid, timeout=60)
    assert counts == {fid: {"SUCCESS": 1, "ERROR_INVALID_INPUT": 2}}
    got = await cells(client, tid, ids, fid)
    assert got[1]["value"] == "yes"
    for c in (got[0], got[2]):
        error = c["externalContent"]["error"]
        assert error.startswith(f'Input "q": Formula timed out after {limit:g} s')


SLOW = "(() => { let x = 0; for (let i = 0; i < 3e4; i++) x += i; return {{n}} + x })()"


@pytest.fixture
def gate() -> Iterator[asyncio.Event]:
    """An action (``test-gate``/``wait``) that does not return until the event is set."""
    opened = asyncio.Event()

    async def wait(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
        await opened.wait()
        return ActionResult(value="done")

    registry.register(
        Integration(key="test-gate", display_name="Gate", actions=(Action("wait", "Wait", wait),))
    )
    yield opened
    opened.set()
    registry.integrations().pop("test-gate", None)


async def test_a_backlog_in_one_workspace_does_not_hold_up_another(
    client: httpx.AsyncClient, other_user: UserFactory, echo: None, gate: asyncio.Event
) -> None:
    """Workspace 1 has many slow formula columns and more action cells than the engine
    runs at once, all hanging; workspace 2's small runs of both kinds still finish."""
    t = await new_table(client, name="Backlog", fields=("n",))
    tid, n = t["id"], t["byName"]["n"]
    slow_formula = formula(SLOW.replace("{{n}}", "{{" + n + "}}"))
    slow = [await add_field(client, tid, f"S{i}", slow_formula) for i in range(6)]
    hanging = echo_action("{{n}}")
    hanging["typeSettings"].update(actionPackageId="test-gate", actionKey="wait")
    hang = await add_field(
        client,
        tid,
        "Hang",
        orjson.loads(orjson.dumps(hanging).replace(b"{{n}}", ("{{" + n + "}}").encode())),
    )
    await add_rows(client, tid, [{"cells": {n: f"a{i}"}} for i in range(BACKLOG)])

    other, ws = await other_user()
    started = time.monotonic()
    b_tid, _, up, ids = await table_with(
        other, [f"b{i}" for i in range(5)], formula("{{n}}.toUpperCase()"), ws
    )
    e_tid, _, echoed, e_ids = await table_with(
        other, [f"e{i}" for i in range(5)], echo_action("{{n}}"), ws
    )
    assert await wait_done(other, b_tid, workspace=ws, timeout=30) == {up: {"SUCCESS": 5}}
    assert await wait_done(other, e_tid, workspace=ws, timeout=30) == {echoed: {"SUCCESS": 5}}
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    assert [c["value"] for c in await cells(other, e_tid, e_ids, echoed)] == [
        f"e{i}" for i in range(5)
    ]

    # Workspace 1's backlog was there all along, and then finishes.
    r = await client.get(f"/v3/workspaces/1/tables/{tid}/fields/runstatus")
    pending = {
        fid: {c["status"]: c["count"] for c in rows}
        for fid, rows in r.json()["statusCountsByField"].items()
    }
    assert "SUCCESS" not in pending[hang], pending[hang]
    gate.set()
    done = await wait_done(client, tid, timeout=120)
    assert done == {hang: {"SUCCESS": BACKLOG}, **{f: {"SUCCESS": BACKLOG} for f in slow}}


async def test_a_result_larger_than_a_cell_ends_in_error_on_every_row(
    client: httpx.AsyncClient, echo: None
) -> None:
    """Whatever the batch: 9 MiB results, and results that only their UTF-8 encoding makes
    too big (6,000 "é": 12,002 bytes of JSON in 6,002 characters), in a column evaluated a
    batch at a time in one call into JavaScript and in one evaluated row by row (its type
    converts values: sweep_reader)."""
    text = "{{n}} === 'big' ? 'x'.repeat(9 * 1048576) : {{n}} === 'wide' ? 'é'.repeat(6000) : {{n}}"
    values = ["big", "big", "wide", "ok", "big", "wide"]
    tid, n, fid, ids = await table_with(client, values, formula(text))
    by_row = formula(text.replace("{{n}}", "{{" + n + "}}"))
    by_row["typeSettings"]["dataTypeSettings"] = {"type": "url"}
    row_fid = await add_field(client, tid, "By row", by_row)
    counts = await wait_done(client, tid, timeout=60)
    expected = {"ERROR": 5, "SUCCESS": 1}
    assert counts == {fid: expected, row_fid: expected}, await cells(client, tid, ids, fid)
    too_big = f"Formula result is larger than the cell limit of {CELL} bytes"
    for column in (fid, row_fid):
        for v, c in zip(values, await cells(client, tid, ids, column), strict=True):
            if v == "ok":
                assert c["value"] == "ok"
            else:
                assert c["externalContent"]["error"] == too_big, c

    grow = echo_action("{{n}}")
    grow["typeSettings"]["actionKey"] = "grow"
    values = ["10", str(CELL + 1), "20", f"w{CELL // 3}"]
    tid, n, fid, ids = await table_with(client, values, grow)
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 2, "ERROR": 2}}
    got = await cells(client, tid, ids, fid)
    assert [got[0]["value"], got[2]["value"]] == ["y" * 10, "y" * 20]
    for c in (got[1], got[3]):  # the second in UTF-8 only
        error = c["externalContent"]["error"]
        assert error == f"Action result is larger than the cell limit of {CELL} bytes"
