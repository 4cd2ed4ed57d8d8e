"""Enrichment runs end to end, AI and HTTP API columns: the AI column's answers and credits
from the price table against a local OpenAI-compatible model server, and the HTTP API column
with JavaScript formulas (tests/runs_fixtures.py)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from claystack.server.enrichment.actions import ai

from .conftest import new_table
from .runs_fixtures import (
    RETRY_AFTER,
    Provider,
    add_field,
    add_rows,
    balance,
    cells,
    gaps,
    ledger,
    run,
    wait_done,
)
from .runs_fixtures import integrations as integrations  # noqa: F401 - fixtures
from .runs_fixtures import provider as provider  # noqa: F401
from .runs_fixtures import settings as settings  # noqa: F401


def ai_column(prompt: str, **inputs: str) -> dict[str, Any]:
    bindings = [{"name": "prompt", "formulaText": prompt}]
    bindings += [{"name": k, "formulaText": v} for k, v in inputs.items()]
    return {
        "type": "action",
        "typeSettings": {
            "actionPackageId": "use-ai",
            "actionKey": "use-ai",
            "inputsBinding": bindings,
        },
    }


async def test_ai_column_values_and_credits_follow_the_price_table(
    app: FastAPI, client: httpx.AsyncClient, provider: Provider
) -> None:
    t = await new_table(client, name="AI", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    ask = '"Who is " + {{' + name + "}}"
    schema = '({type: "object", properties: {company: {type: "string"}, size: {type: "integer"}}})'
    columns = {
        "plain": ("gpt-4o-mini", ai_column(ask)),  # the server's default model
        "dated": ("gpt-4o-2024-08-06", ai_column(ask, model='"gpt-4o-2024-08-06"')),
        "house": ("house-model", ai_column(ask, model='"house-model"')),
        "schema": (
            "gpt-4o-mini",
            ai_column('"Company of " + {{' + name + "}}", answerSchema=schema),
        ),
        "busy": ("busy", ai_column(ask, model='"busy"')),
        "broken": ("broken", ai_column(ask, model='"broken"')),
    }
    fids = {
        label: await add_field(client, tid, label, body) for label, (_, body) in columns.items()
    }
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}, {"cells": {name: "globex"}}])
    before = await balance(client)
    r = await run(client, tid, {"fieldIds": list(fids.values()), "runRecords": {"recordIds": ids}})
    assert r.status_code == 200
    counts = await wait_done(client, tid, timeout=60)
    assert counts == {
        fid: {"ERROR": 2} if label == "broken" else {"SUCCESS": 2} for label, fid in fids.items()
    }
    # The model server's answers, whole, in each cell.
    for label, fid in fids.items():
        model = columns[label][0]
        for rid, who, cell in zip(
            ids, ("ada", "globex"), await cells(client, tid, ids, fid), strict=True
        ):
            if label == "broken":
                assert cell["value"] is None
                assert cell["externalContent"]["error"] == 'HTTP 500: {"error": "model crashed"}'
                continue
            prompt = f"Company of {who}" if label == "schema" else f"Who is {who}"
            answer: Any = f"About {prompt}"
            if label == "schema":
                answer = {"company": who.title(), "size": 12}
            assert cell["value"] == answer, (label, cell)
            assert cell["externalContent"]["fullValue"] == {
                "answer": answer,
                "model": model,
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": 3, "total_tokens": 9},
                "finishReason": "stop",
            }, (label, rid)
    # 429 (Retry-After: RETRY_AFTER) once, then answered after a wait; 500 every time, so
    # run_max_attempts calls per row.
    for who in ("ada", "globex"):
        assert provider.hits[f"/ai:busy:Who is {who}"] == 2
        assert gaps(provider, f"/ai:busy:Who is {who}")[0] >= RETRY_AFTER - 0.02, provider.times
        assert provider.hits[f"/ai:broken:Who is {who}"] == 3
    # Credits: the price of the model that answered, from the table (CLAYSTACK_AI_PRICES
    # merged over it), charged once per successful cell; failures charge nothing.
    price = {
        "plain": ai.PRICES["gpt-4o-mini"],
        "dated": ai.PRICES["gpt-4o"],
        "house": 7,
        "schema": ai.PRICES["gpt-4o-mini"],
        "busy": ai.PRICES["default"],
    }
    assert price["dated"] == 3 and price["plain"] == 1
    charges = await ledger(app, tid)
    label_of = {fid: label for label, fid in fids.items()}
    assert sorted((label_of[c.field_id], c.record_id, -c.amount) for c in charges) == sorted(
        (label, rid, p) for label, p in price.items() for rid in ids
    )
    assert {(c.integration, c.action_key, c.user_id) for c in charges} == {("use-ai", "use-ai", 1)}
    used = 2 * sum(price.values())
    assert await balance(client) == before - used
    # The integration's report (both path families) shows the same charges per field.
    report = (await client.get("/v3/integrations/use-ai/credits/report")).json()
    live = await client.get(
        "/v3/credit-reporting/1/creditReportType/integration", params={"integrations[0]": "use-ai"}
    )
    assert live.json() == report
    mine = {
        r["fieldId"]: (r["credits"], r["runs"])
        for r in report["breakdowns"]["field"]
        if r["tableId"] == tid
    }
    assert mine == {fids[label]: (2 * p, 2) for label, p in price.items()}


async def test_an_ai_model_dearer_than_the_balance_is_not_run(
    app: FastAPI, client: httpx.AsyncClient, provider: Provider
) -> None:
    """The engine holds a model's own price before the call, not the action's default."""
    t = await new_table(client, name="Dear AI", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    await client.patch(f"/v3/tables/{tid}", json={"tableSettings": {"AUTO_RUN_ON": False}})
    fid = await add_field(
        client, tid, "Gold", ai_column('"Who is " + {{' + name + "}}", model='"gold-model"')
    )
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}])
    before = await balance(client)
    assert 0 < before < 10**9
    r = await run(client, tid, {"fieldIds": [fid], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    assert await wait_done(client, tid) == {fid: {"ERROR_OUT_OF_CREDITS": 1}}
    assert provider.hits["/ai:gold-model:Who is ada"] == 0
    assert await ledger(app, tid) == [] and await balance(client) == before


async def test_http_api_column_and_javascript_formulas(
    client: httpx.AsyncClient, provider: Provider
) -> None:
    t = await new_table(client, name="HTTP", fields=("name",))
    tid, name = t["id"], t["byName"]["name"]
    ref = "{{" + name + "}}"
    http = await add_field(
        client,
        tid,
        "Lookup",
        {
            "type": "action",
            "typeSettings": {
                "actionPackageId": "http-api-v2",
                "actionKey": "http-api-v2",
                "inputsBinding": [
                    {"name": "url", "formulaText": f'"{provider.url}/person?q=" + {ref}'},
                    {"name": "fieldPaths", "formulaText": '["name"]'},
                ],
            },
        },
    )
    upper = await add_field(
        client,
        tid,
        "Upper",
        {"type": "formula", "typeSettings": {"formulaText": ref + '.toUpperCase() + "!"'}},
    )
    # An input that is not JavaScript is a plain-text template.
    plain = await add_field(
        client,
        tid,
        "Plain",
        {
            "type": "action",
            "typeSettings": {
                "actionPackageId": "http-api-v2",
                "actionKey": "http-api-v2",
                "inputsBinding": [
                    {"name": "url", "formulaText": provider.url + "/person?q=" + ref}
                ],
            },
        },
    )
    # Reads the action column's whole result; auto-run queues it once that result is in.
    chained = await add_field(
        client,
        tid,
        "Greeting",
        {"type": "formula", "typeSettings": {"formulaText": '"Hi " + {{' + http + "}}.name"}},
    )
    ids = await add_rows(client, tid, [{"cells": {name: "ada"}}, {"cells": {name: "grace"}}])
    assert await wait_done(client, tid) == {
        http: {"SUCCESS": 2},
        plain: {"SUCCESS": 2},
        upper: {"SUCCESS": 2},
        chained: {"SUCCESS": 2},
    }
    assert [c["value"] for c in await cells(client, tid, ids, plain)] == [
        {"name": "Ada"},
        {"name": "Grace"},
    ]
    assert [c["value"] for c in await cells(client, tid, ids, http)] == ["Ada", "Grace"]
    assert [c["value"] for c in await cells(client, tid, ids, upper)] == ["ADA!", "GRACE!"]
    (first, _) = await cells(client, tid, ids, http)
    assert first["externalContent"]["fullValue"] == {"name": "Ada"}
    assert [c["value"] for c in await cells(client, tid, ids, chained)] == ["Hi Ada", "Hi Grace"]
