"""The public plugin API (``claystack.integrations``): what a plugin imports, what its
``RunContext`` carries (and does not), the batch hook, and the documented example."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from claystack.integrations import (
    Action,
    ActionError,
    ActionResult,
    CellStatus,
    Integration,
    Limits,
    RunContext,
)
from claystack.server.config import Settings
from claystack.server.engine import batching
from claystack.server.enrichment import registry

from .conftest import new_table
from .runs_fixtures import wait_done

DOCS = Path(__file__).resolve().parents[1] / "docs" / "integrations.md"
SEEN: list[RunContext] = []
BATCHES: list[int] = []


async def _shout(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    raise AssertionError("run_batch is set: the engine must not call run")


async def _shout_batch(
    inputs_list: Sequence[dict[str, Any]], ctxs: Sequence[RunContext]
) -> list[ActionResult | ActionError]:
    BATCHES.append(len(inputs_list))
    SEEN.extend(ctxs)
    out: list[ActionResult | ActionError] = []
    for inputs in inputs_list:
        q = str(inputs.get("q") or "")
        out.append(ActionResult(q.upper()) if q != "bad" else ActionError("no", "ERROR"))
    return out


LOUD = Integration(
    key="loud",
    display_name="Loud",
    actions=(Action("shout", "Shout", _shout, run_batch=_shout_batch, credits=0),),
)


@pytest.fixture(autouse=True)
def loud() -> Iterator[None]:
    registry.register(LOUD)
    SEEN.clear()
    BATCHES.clear()
    yield
    registry.unregister(LOUD.key)


def test_the_context_carries_no_settings_secrets_or_database() -> None:
    names = {f.name for f in dataclasses.fields(RunContext)}
    assert names == {
        "workspace_id",
        "table_id",
        "field_id",
        "record_id",
        "credentials",
        "limits",
        "logger",
        "http_policy",
    }
    assert CellStatus.SUCCESS == "SUCCESS" and CellStatus("ERROR_TIMEOUT").pending is False
    assert CellStatus.QUEUED.pending


async def test_execute_batch_loops_over_run_without_a_hook() -> None:
    async def run(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
        if inputs["q"] == "bad":
            raise ActionError("bad input", CellStatus.ERROR_INVALID_INPUT)
        return ActionResult(inputs["q"] * 2)

    action = Action("twice", "Twice", run)
    ctx = RunContext(1, "t_1", "f_1", "r_1")
    a, b = await action.execute_batch([{"q": "ab"}, {"q": "bad"}], [ctx, ctx])
    assert isinstance(a, ActionResult) and a.value == "abab"
    assert isinstance(b, ActionError) and b.status == "ERROR_INVALID_INPUT"


async def test_the_documented_example_works() -> None:
    text = DOCS.read_text()
    section = text[text.index("## Writing an integration") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    scope: dict[str, Any] = {}
    exec(code.group(1).replace("{...}", "{}"), scope)
    integration = scope["integration"]
    assert isinstance(integration, Integration) and integration.key == "my-provider"
    action = integration.action("lookup")
    ctx = RunContext(1, "t_1", "f_1", "r_1", credentials={"api_key": "k"})
    with pytest.raises(ActionError) as raised:
        await action.run({}, ctx)
    assert raised.value.status == CellStatus.ERROR_INVALID_INPUT
    assert (await action.run({"domain": "acme.com"}, ctx)).value == "…"


async def test_a_plugin_gets_the_public_context_through_its_batch_hook(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    t = await new_table(client, name="Loud", fields=("q",))
    tid, q = t["id"], t["byName"]["q"]
    body = {
        "name": "Shout",
        "type": "action",
        "typeSettings": {
            "actionPackageId": "loud",
            "actionKey": "shout",
            "inputsBinding": [{"name": "q", "formulaText": "{{" + q + "}}"}],
        },
    }
    r = await client.post(f"/v3/tables/{tid}/fields", json=body)
    assert r.status_code == 200, r.text
    shout = r.json()["field"]["id"]
    rows = [{"cells": {q: v}} for v in ("hey", "bad")]
    assert (await client.post(f"/v3/tables/{tid}/records", json={"records": rows})).is_success
    counts = await wait_done(client, tid)
    assert counts[shout] == {"SUCCESS": 1, "ERROR": 1}
    records = (await client.get(f"/v3/tables/{tid}/views/{t['firstViewId']}/records")).json()
    assert "HEY" in {rec["cells"][shout]["value"] for rec in records["results"]}
    assert BATCHES and len(SEEN) == 2
    for ctx in SEEN:
        assert type(ctx) is RunContext  # not the built-ins' context with settings and database
        assert ctx.limits == Limits(settings.run_action_timeout_seconds, settings.max_cell_bytes)
        assert ctx.workspace_id == 1 and ctx.table_id == tid and ctx.field_id == shout


async def test_concurrent_cells_of_a_batching_action_share_one_call() -> None:
    ctxs = [RunContext(1, "t_1", "f_1", f"r_{i}") for i in range(3)]
    runs = [batching.run(LOUD.actions[0], {"q": q}, c) for q, c in zip("ab", ctxs, strict=False)]
    runs.append(batching.run(LOUD.actions[0], {"q": "bad"}, ctxs[2]))
    done = await asyncio.gather(*runs, return_exceptions=True)
    assert BATCHES == [3]
    assert [getattr(d, "value", None) for d in done[:2]] == ["A", "B"]
    assert isinstance(done[2], ActionError) and done[2].message == "no"
