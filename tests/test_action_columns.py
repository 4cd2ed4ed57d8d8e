"""Action columns as Clay's clients write them (spec part 2 §4.3, §13): package UUIDs,
``inputsBinding`` forms, validation at creation; the real app over HTTP, its run workers,
and a real provider on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from claystack.server.config import Settings
from claystack.server.enrichment import registry
from claystack.server.enrichment.base import Action, ActionResult, Integration, RunContext

from .conftest import new_table, serve_in_thread
from .runs_fixtures import add_rows, run, wait_done

HTTP_PACKAGE = "4299091f-3cd3-4d68-b198-0143575f471d"
AI_PACKAGE = "67ba01e9-1898-4e7d-afe7-7ebe24819a57"
LEADMAGIC = "edb58209-a62d-42be-992a-e41b87eeacc2"


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "query": dict(request.query_params),
            "headers": dict(request.headers),
            "body": body.decode(),
        }
    )


async def chat(request: Request) -> Response:
    """An OpenAI-style model that answers with the JSON Schema it was asked to follow."""
    body = orjson.loads(await request.body())
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema")
    content = orjson.dumps(schema).decode() if schema else "plain"
    return JSONResponse({"model": body["model"], "choices": [{"message": {"content": content}}]})


provider_app = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
    ]
)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with serve_in_thread(provider_app) as url:
        yield url


@pytest.fixture
def settings(settings: Settings, provider: str) -> Settings:
    return settings.model_copy(
        update={
            "run_poll_seconds": 0.05,
            "http_allow_private": True,
            "ai_base_url": f"{provider}/v1",
            "ai_model": "house-model",
        }
    )


async def _noop(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    return ActionResult(value=inputs)


@pytest.fixture
def crm() -> Iterator[None]:
    """An integration that needs a connected account."""
    registry.register(
        Integration(
            key="test-crm",
            display_name="CRM",
            actions=(
                Action(
                    "crm-find",
                    "Find",
                    _noop,
                    input_schema={"required": ["email"], "properties": {"email": {}}},
                ),
            ),
            credentials_schema={
                "type": "object",
                "properties": {"api_key": {"type": "string"}},
                "required": ["api_key"],
                "secret": ["api_key"],
            },
        )
    )
    yield
    registry.unregister("test-crm")


def action(key: str, package: str, bindings: list[dict[str, Any]], **extra: Any) -> Any:
    settings = {"actionKey": key, "actionPackageId": package, "inputsBinding": bindings}
    return {"type": "action", "typeSettings": {**settings, **extra}}


async def cell(client: httpx.AsyncClient, table_id: str, rid: str, fid: str) -> Any:
    r = await client.get(f"/v3/tables/{table_id}/records/{rid}")
    assert r.status_code == 200, r.text
    return r.json()["cells"].get(fid)


async def test_clay_http_column_runs_with_a_formula_map_and_unset_inputs(
    client: httpx.AsyncClient, provider: str
) -> None:
    t = await new_table(client, name="Companies", fields=("Name", "Domain"))
    tid, name = t["id"], t["byName"]["Name"]
    ids = await add_rows(client, tid, [{"cells": {name: "acme"}}, {"cells": {name: "globex"}}])
    bindings = [
        {"name": "url", "formulaText": provider + "/echo?company={{Name}}"},
        {"name": "method", "formulaText": '"POST"'},
        {"name": "headers", "formulaMap": {"X-Company": "{{Name}}", "X-Static": '"fixed"'}},
        {"name": "body", "formulaMap": {"name": "{{" + name + "}}.toUpperCase()"}},
        {"name": "queryString"},
        {"name": "fieldPaths", "optional": True},
        {"name": "followRedirects", "formulaText": "", "value": "ignored"},
        {"name": "retryOptions|maxRetries", "formulaText": "0"},
    ]
    body = {"name": "Homepage", **action("http-api-v2", HTTP_PACKAGE, bindings)}
    r = await client.post(f"/v3/tables/{tid}/fields", json=body)
    assert r.status_code == 200, r.text
    field = r.json()["field"]
    settings = field["typeSettings"]
    assert field["type"] == "action" and "settingsError" not in field
    assert settings["actionKey"] == "http-api-v2"
    assert settings["clayActionPackageId"] == HTTP_PACKAGE
    assert [b["name"] for b in settings["inputsBinding"]] == [b["name"] for b in bindings]
    assert settings["inputsBinding"][0]["formulaText"].endswith("company={{" + name + "}}")
    assert settings["inputsBinding"][4] == {"name": "queryString"}
    assert "value" not in settings["inputsBinding"][6]
    definition = field["actionDefinition"]
    assert definition["actionPackageId"] == HTTP_PACKAGE and definition["key"] == "http-api-v2"
    params = {p["name"]: p for p in definition["inputParameterSchema"]}
    assert params["url"]["optional"] is False and params["headers"]["optional"] is True
    assert field["inputFieldIds"] == [name]

    r = await run(client, tid, {"fieldIds": [field["id"]], "runRecords": {"recordIds": ids}})
    assert r.status_code == 200, r.text
    assert await wait_done(client, tid) == {field["id"]: {"SUCCESS": 2}}
    got = (await cell(client, tid, ids[1], field["id"]))["value"]
    assert got["method"] == "POST"
    assert got["query"] == {"company": "globex"}
    assert got["headers"]["x-company"] == "globex" and got["headers"]["x-static"] == "fixed"
    assert orjson.loads(got["body"]) == {"name": "GLOBEX"}


async def test_ai_alias_and_answer_schema_type(client: httpx.AsyncClient) -> None:
    t = await new_table(client, name="People", fields=("Name",))
    tid, name = t["id"], t["byName"]["Name"]
    (rid,) = await add_rows(client, tid, [{"cells": {name: "ada"}}])
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    twice = orjson.dumps(orjson.dumps(schema).decode()).decode()
    bindings = [
        {"name": "prompt", "formulaText": '"Who is " + {{Name}}'},
        {
            "name": "answerSchemaType",
            "formulaMap": {"jsonType": '"JSONSchema"', "jsonSchema": orjson.dumps(twice).decode()},
        },
        {"name": "useCase", "formulaText": '"use-ai"'},
        {"name": "reasoningLevel"},
    ]
    fields = {
        "Answer": bindings,
        "Fields": [
            bindings[0],
            {
                "name": "answerSchemaType",
                "formulaMap": {"jsonType": '"Fields"', "fields": '{"age": "number"}'},
            },
        ],
    }
    made = {}
    for fname, binds in fields.items():
        r = await client.post(
            f"/v3/tables/{tid}/fields",
            json={"name": fname, **action("ai", AI_PACKAGE, binds)},
        )
        assert r.status_code == 200, r.text
        made[fname] = r.json()["field"]
        assert made[fname]["typeSettings"]["actionKey"] == "use-ai"
        assert made[fname]["actionDefinition"]["actionPackageId"] == AI_PACKAGE
    ids = [f["id"] for f in made.values()]
    r = await run(client, tid, {"fieldIds": ids, "runRecords": {"recordIds": [rid]}})
    assert r.status_code == 200, r.text
    assert await wait_done(client, tid) == {fid: {"SUCCESS": 1} for fid in ids}
    assert (await cell(client, tid, rid, ids[0]))["value"] == schema
    got = (await cell(client, tid, rid, ids[1]))["value"]
    assert got == {"type": "object", "properties": {"age": {"type": "number"}}, "required": ["age"]}


async def test_unknown_actions_are_kept_and_fail_when_run(
    client: httpx.AsyncClient, crm: None
) -> None:
    t = await new_table(client, name="Leads", fields=("Email",))
    tid, email = t["id"], t["byName"]["Email"]
    (rid,) = await add_rows(client, tid, [{"cells": {email: "a@b.co"}}])
    bindings = [{"name": "email", "formulaText": "{{Email}}"}]
    r = await client.post(
        f"/v3/tables/{tid}/fields",
        json={"name": "Work email", **action("leadmagic-find-work-email", LEADMAGIC, bindings)},
    )
    assert r.status_code == 200, r.text
    unknown = r.json()["field"]
    assert unknown["settingsError"] == "UNKNOWN_ACTION"
    assert unknown["typeSettings"]["actionPackageId"] == LEADMAGIC
    r = await client.post(
        f"/v3/tables/{tid}/fields",
        json={"name": "CRM", **action("crm-find", "test-crm", bindings)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["field"]["settingsError"] == "MISSING_AUTH"
    r = await run(client, tid, {"fieldIds": [unknown["id"]], "runRecords": {"recordIds": [rid]}})
    assert r.status_code == 200, r.text
    assert await wait_done(client, tid) == {unknown["id"]: {"ERROR": 1}}
    r = await client.get(f"/v3/tables/{tid}/fields")
    listed = r.json() if isinstance(r.json(), list) else r.json().get("fields", [])
    for f in listed:
        if f["id"] == unknown["id"]:
            assert f["settingsError"] == "UNKNOWN_ACTION"


async def test_bad_bindings_are_a_400_naming_the_input(
    client: httpx.AsyncClient, crm: None
) -> None:
    t = await new_table(client, name="Leads", fields=("Host",))
    tid = t["id"]
    url = f"/v3/tables/{tid}/fields"

    async def refused(body: dict[str, Any]) -> str:
        r = await client.post(url, json={"name": "Bad", **body})
        assert r.status_code == 400, r.text
        assert r.json()["type"] == "BadRequest"
        return str(r.json()["message"])

    def http(*bindings: dict[str, Any], **extra: Any) -> Any:
        return action("http-api-v2", "http-api-v2", list(bindings), **extra)

    msg = await refused(http({"name": "url", "formulaText": "http://{{Hots}}"}))
    assert "inputsBinding.url" in msg and '"Hots"' in msg
    msg = await refused(http({"name": "url", "formulaText": "http://{{}}"}))
    assert "inputsBinding.url" in msg and "empty" in msg
    msg = await refused(http({"name": "url", "formulaText": "{{Host}}.trim("}))
    assert "inputsBinding.url" in msg and "SyntaxError" in msg
    msg = await refused(http({"name": "method", "formulaText": '"GET"'}))
    assert "inputsBinding.url" in msg and "Required" in msg
    msg = await refused(http({"name": "url"}))  # declared but unset
    assert "inputsBinding.url" in msg
    msg = await refused(
        http({"name": "headers", "formulaMap": {"X-A": "{{Nope}}"}}, authAccountId="aa_x")
    )
    assert "inputsBinding.headers.X-A" in msg
    msg = await refused(http({"name": "url", "formulaText": '"x"'}, authAccountId="aa_missing"))
    assert "authAccountId" in msg and "aa_missing" in msg
    ok = http({"name": "url", "formulaText": "http://{{Host}}.example.com/{{ Host }}"})
    r = await client.post(url, json={"name": "Good", **ok})
    assert r.status_code == 200, r.text
    host = t["byName"]["Host"]
    text = r.json()["field"]["typeSettings"]["inputsBinding"][0]["formulaText"]
    assert text == "http://{{" + host + "}}.example.com/{{" + host + "}}"
    table = (await client.get(f"/v3/tables/{tid}")).json()["table"]
    assert [f["name"] for f in table["fields"]][-2:] == ["Host", "Good"]


# -- issue 16 item 3: the same validation through the real CLI against a real server -------


def test_cli_fields_add_resolves_names_and_refuses_bad_inputs(
    database: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from claystack.cli import app
    from claystack.testing import ClaystackServer

    from .conftest import DEMO_EMAIL, DEMO_PASSWORD

    monkeypatch.setenv("CLAYSTACK_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("CLAYSTACK_URL", "CLAYSTACK_TOKEN", "CLAYSTACK_SESSION"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    url, schema = database
    with ClaystackServer(database_url=url, database_schema=schema) as server:
        server.reset()  # from the seeded state, whatever earlier files left in the database
        server.reset()

        def cli(*args: str, ok: bool = True) -> Any:
            result = runner.invoke(app, list(args), catch_exceptions=False)
            assert (result.exit_code == 0) == ok, result.output
            return result

        cli("login", "--url", server.base_url, "--email", DEMO_EMAIL, "--password", DEMO_PASSWORD)
        table = orjson.loads(cli("tables", "create", "Sites", "--field", "Host", "--json").stdout)
        host = table["fields"][-1]["id"]
        add = ("fields", "add", table["id"])
        made = orjson.loads(
            cli(
                *add, "Page", "--action", "http-api-v2", "--input", "url=http://{{Host}}", "--json"
            ).stdout
        )
        assert made["typeSettings"]["inputsBinding"] == [
            {"name": "url", "formulaText": "http://{{" + host + "}}"}
        ]
        assert made["inputFieldIds"] == [host]
        valued = orjson.loads(
            cli(
                *add, "Get", "--action", "http-api-v2", "-i", "url={{Host}}",
                "--value", "method=GET", "--json",
            ).stdout
        )  # fmt: skip
        assert {"name": "method", "formulaText": '"GET"'} in valued["typeSettings"]["inputsBinding"]
        twice = cli(*add, "X", "--action", "http-api-v2", "-i", "url=1", "-V", "url=a", ok=False)
        assert "given twice" in twice.stderr
        for inputs, expected in [
            (["url=http://{{Hots}}"], '"Hots"'),
            (["url=http://{{}}"], "empty reference"),
            (["url={{Host}}.trim("], "SyntaxError"),
            (["method=GET"], "inputsBinding.url"),
        ]:
            args = [a for i in inputs for a in ("--input", i)]
            result = cli(*add, "Bad", "--action", "http-api-v2", *args, ok=False)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and "BadRequest" in lines[0] and expected in lines[0], lines
