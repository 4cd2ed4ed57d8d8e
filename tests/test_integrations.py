"""The built-in integrations, run through the registry against real local HTTP servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from claystack.integrations import ActionError, ActionResult, RunContext
from claystack.server.config import Settings
from claystack.server.enrichment import context, formulas, registry
from claystack.server.enrichment.actions import _http
from claystack.server.enrichment.context import BuiltinContext

from .conftest import serve_in_thread

# -- a provider on 127.0.0.1 ------------------------------------------------------------


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "query": [[k, v] for k, v in request.query_params.multi_items()],
            "headers": dict(request.headers),
            "body": body.decode(),
            "data": {"email": "ada@example.com", "items": [{"name": "first"}], "none": None},
        }
    )


async def status(request: Request) -> Response:
    code = int(request.path_params["code"])
    headers = (
        {"Retry-After": request.query_params["after"]} if "after" in request.query_params else {}
    )
    return PlainTextResponse(f"status {code}\n  from  the provider", code, headers=headers)


async def slow(request: Request) -> Response:
    await asyncio.sleep(1.0)
    return JSONResponse({"late": True})


async def not_json(request: Request) -> Response:
    return PlainTextResponse("<html>hello</html>")


async def empty(request: Request) -> Response:
    return Response(status_code=204)


async def redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=302)


ANSWER = {"company": "Acme", "employees": 12}


async def chat(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer sk-test-secret":
        return JSONResponse({"error": "bad key sk-test-secret-wrong"}, 401)
    body = orjson.loads(await request.body())
    model = body["model"]
    if model == "busy":
        return JSONResponse({"error": "rate limited"}, 429, headers={"Retry-After": "3"})
    prompt = body["messages"][-1]["content"]
    system = body["messages"][0]["content"] if len(body["messages"]) > 1 else None
    if "response_format" in body:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["type"] == "object"
        content = "this is not json" if model == "sloppy" else orjson.dumps(ANSWER).decode()
    else:
        content = f"Answer to: {prompt}" + (f" (as {system})" if system else "")
    return JSONResponse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        }
    )


provider_app = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/status/{code:int}", status),
        Route("/slow", slow),
        Route("/notjson", not_json),
        Route("/empty", empty),
        Route("/redirect", redirect),
        Route("/v1/chat/completions", chat, methods=["POST"]),
    ]
)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with serve_in_thread(provider_app) as url:
        yield url


@pytest.fixture(scope="module", autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    await _http.aclose()


STRICT = Settings()
OPEN = Settings(http_allow_private=True)


def ctx(settings: Any = OPEN, credentials: dict[str, Any] | None = None) -> RunContext:
    """The context the engine gives a built-in action (with the server's settings)."""
    return BuiltinContext(
        workspace_id=1,
        table_id="t_1",
        field_id="f_out",
        record_id="r_1",
        credentials=credentials or {},
        limits=context.limits(settings),
        http_policy=_http.Policy.from_settings(settings),
        settings=settings,
    )


async def run(
    integration: str, inputs: dict[str, Any], context: RunContext, action: str | None = None
) -> ActionResult:
    found = registry.get(integration)
    assert found is not None
    act = found.action(action or integration)
    assert act is not None
    return await act.run(inputs, context)


async def fails(
    integration: str, inputs: dict[str, Any], context: RunContext, action: str | None = None
) -> ActionError:
    with pytest.raises(ActionError) as info:
        await run(integration, inputs, context, action)
    return info.value


# -- registry ------------------------------------------------------------------------------


def test_registry_lists_every_builtin() -> None:
    found = registry.integrations()
    expected = {
        "http-api-v2": {"http-api-v2"},
        "use-ai": {"use-ai"},
        "normalize-domain": {"normalize-domain"},
        "normalize": {
            "normalize-domain",
            "normalize-company-name",
            "validate-email",
            "normalize-phone",
            "parse-name",
        },
    }
    for key, actions in expected.items():
        assert key in found
        integration = found[key]
        assert integration.display_name
        assert isinstance(integration.credentials_schema, dict)
        assert {a.key for a in integration.actions} == actions
        for action in integration.actions:
            assert action.display_name and action.input_schema and action.output_schema
    assert found["http-api-v2"].actions[0].credits == 0
    assert found["use-ai"].credentials_schema["secret"] == ["api_key"]
    # Built-ins only: other tests of the same run register integrations of their own.
    assert all(found[k].credentials_schema["secret"] == [] for k in expected if k != "use-ai")


# -- http-api-v2 ---------------------------------------------------------------------------


async def test_http_field_paths(provider: str) -> None:
    result = await run(
        "http-api-v2", {"url": f"{provider}/echo", "fieldPaths": ["data.email"]}, ctx()
    )
    assert result.value == "ada@example.com" and result.has_data and result.credits == 0
    assert result.full_value["data"]["items"] == [{"name": "first"}]

    result = await run(
        "http-api-v2",
        {
            "url": f"{provider}/echo",
            "fieldPaths": ["data.items[0].name", "data.items.0.name", "nope.x"],
        },
        ctx(),
    )
    assert result.value == {
        "data.items[0].name": "first",
        "data.items.0.name": "first",
        "nope.x": None,
    }

    result = await run(
        "http-api-v2", {"url": f"{provider}/echo", "fieldPaths": ["data.none"]}, ctx()
    )
    assert result.value is None and not result.has_data

    result = await run("http-api-v2", {"url": f"{provider}/echo", "removeNull": True}, ctx())
    assert result.value["data"] == {"email": "ada@example.com", "items": [{"name": "first"}]}


async def test_http_request_is_built_from_templated_inputs(provider: str) -> None:
    cells = {"f_domain": "acme.com", "f_key": "k-123", "f_name": "Ada"}
    bindings = {
        "method": '"POST"',
        "url": f'"{provider}/echo"',
        "queryString": '[["domain", {{f_domain}}], ["tag", "a"], ["tag", "b"]]',
        "headers": '({"X-Api-Key": {{f_key}}})',
        "body": "({name: {{f_name}}, size: 3})",
    }
    inputs = {name: formulas.evaluate(text, cells) for name, text in bindings.items()}
    result = await run("http-api-v2", inputs, ctx())
    echoed = result.value
    assert echoed["method"] == "POST"
    assert echoed["query"] == [["domain", "acme.com"], ["tag", "a"], ["tag", "b"]]
    assert echoed["headers"]["x-api-key"] == "k-123"
    assert echoed["headers"]["content-type"] == "application/json"
    assert orjson.loads(echoed["body"]) == {"name": "Ada", "size": 3}

    result = await run(
        "http-api-v2",
        {
            "method": "put",
            "url": f"{provider}/echo?keep=1",
            "queryString": {"q": "x y"},
            "headers": [{"key": "Content-Type", "value": "text/plain"}],
            "body": "plain text",
        },
        ctx(),
    )
    assert result.value["method"] == "PUT"
    assert result.value["query"] == [["keep", "1"], ["q", "x y"]]
    assert result.value["body"] == "plain text"
    assert result.value["headers"]["content-type"] == "text/plain"

    result = await run(
        "http-api-v2",
        {"url": f"{provider}/echo", "queryString": "a=1&b=x%20y", "fieldPaths": '["query"]'},
        ctx(),
    )
    assert result.value == [["a", "1"], ["b", "x y"]]


async def test_http_429_is_retryable_with_retry_after(provider: str) -> None:
    error = await fails("http-api-v2", {"url": f"{provider}/status/429?after=7"}, ctx())
    assert error.retryable and error.retry_after == 7 and error.status == "ERROR"
    assert error.message == "HTTP 429: status 429 from the provider"
    assert error.max_retries == 3

    error = await fails(
        "http-api-v2", {"url": f"{provider}/status/429?after=7", "maxRetries": 5}, ctx()
    )
    assert error.retryable and error.max_retries == 5
    error = await fails(
        "http-api-v2", {"url": f"{provider}/status/429", "shouldRetry": False}, ctx()
    )
    assert not error.retryable and error.retry_after is None


async def test_http_5xx_retryable_4xx_final(provider: str) -> None:
    error = await fails("http-api-v2", {"url": f"{provider}/status/500"}, ctx())
    assert error.retryable and error.status == "ERROR" and error.message.startswith("HTTP 500:")
    error = await fails("http-api-v2", {"url": f"{provider}/status/404"}, ctx())
    assert not error.retryable and error.message.startswith("HTTP 404:")


async def test_http_timeout(provider: str) -> None:
    error = await fails("http-api-v2", {"url": f"{provider}/slow", "responseTimeout": 100}, ctx())
    assert error.status == "ERROR_TIMEOUT" and error.retryable


async def test_http_network_error_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    error = await fails("http-api-v2", {"url": f"http://127.0.0.1:{port}/"}, ctx())
    assert error.retryable and error.message.startswith("Network error")


async def test_http_invalid_json(provider: str) -> None:
    error = await fails("http-api-v2", {"url": f"{provider}/notjson", "fieldPaths": ["a"]}, ctx())
    assert error.status == "ERROR" and not error.retryable and "not valid JSON" in error.message
    result = await run("http-api-v2", {"url": f"{provider}/notjson"}, ctx())
    assert result.value == "<html>hello</html>"
    result = await run("http-api-v2", {"url": f"{provider}/empty"}, ctx())
    assert result.value is None and not result.has_data


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://100.64.0.1/",
        "http://localhost/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:a00:1::]/",
    ],
)
async def test_http_refuses_private_targets(url: str) -> None:
    error = await fails("http-api-v2", {"url": url}, ctx(STRICT))
    assert error.status == "ERROR_INVALID_INPUT" and not error.retryable
    assert "Refused" in error.message


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/", "//x"])
async def test_http_refuses_other_schemes(url: str) -> None:
    error = await fails("http-api-v2", {"url": url}, ctx(OPEN))
    assert error.status == "ERROR_INVALID_INPUT"


async def test_http_private_targets_allowed_by_settings(provider: str) -> None:
    inputs = {"url": f"{provider}/echo", "fieldPaths": ["method"]}
    error = await fails("http-api-v2", inputs, ctx(STRICT))
    assert "loopback" in error.message
    assert (await run("http-api-v2", inputs, ctx(OPEN))).value == "GET"
    allow_list = Settings(http_allowed_hosts="10.0.0.0/8, 127.0.0.1")
    assert (await run("http-api-v2", inputs, ctx(allow_list))).value == "GET"
    by_name = Settings(http_allowed_hosts="localhost")
    error = await fails("http-api-v2", inputs, ctx(by_name))  # 127.0.0.1 is not "localhost"
    assert "loopback" in error.message
    local = {**inputs, "url": inputs["url"].replace("127.0.0.1", "localhost")}
    assert (await run("http-api-v2", local, ctx(by_name))).value == "GET"


async def test_http_redirects_are_guarded(provider: str) -> None:
    allow_list = Settings(http_allowed_hosts="127.0.0.1")
    ok = f"{provider}/redirect?to=/echo"
    assert (
        await run("http-api-v2", {"url": ok, "fieldPaths": ["method"]}, ctx(allow_list))
    ).value == "GET"
    for target in (
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
    ):
        error = await fails(
            "http-api-v2", {"url": f"{provider}/redirect?to={target}"}, ctx(allow_list)
        )
        assert error.status == "ERROR_INVALID_INPUT", error.message


async def test_http_invalid_inputs() -> None:
    for inputs in (
        {},
        {"url": "http://x", "method": "FETCH"},
        {"url": "http://x", "headers": 5},
        {"url": "http://x", "queryString": [["a"]]},
        {"url": "http://x", "fieldPaths": [1]},
        {"url": "http://x", "responseTimeout": "soon"},
    ):
        error = await fails("http-api-v2", inputs, ctx())
        assert error.status == "ERROR_INVALID_INPUT", inputs


# -- use-ai --------------------------------------------------------------------------------


def ai_settings(provider: str, **extra: Any) -> Settings:
    return Settings(
        ai_base_url=f"{provider}/v1", ai_api_key="sk-test-secret", ai_model="gpt-4o-mini", **extra
    )


async def test_ai_plain_answer(provider: str) -> None:
    result = await run("use-ai", {"prompt": "Who is Ada?"}, ctx(ai_settings(provider)))
    assert result.value == "Answer to: Who is Ada?"
    assert result.full_value["model"] == "gpt-4o-mini"
    assert result.full_value["usage"]["total_tokens"] == 12
    assert result.credits == 1 and result.has_data

    result = await run(
        "use-ai",
        {"prompt": "Hi", "systemPrompt": "a pirate", "model": "gpt-4o-2024-08-06"},
        ctx(ai_settings(provider)),
    )
    assert result.value == "Answer to: Hi (as a pirate)"
    assert result.credits == 3  # priced as gpt-4o


async def test_ai_json_schema_answer(provider: str) -> None:
    schema = {"type": "object", "properties": {"company": {"type": "string"}}}
    result = await run(
        "use-ai", {"prompt": "Extract", "answerSchema": schema}, ctx(ai_settings(provider))
    )
    assert result.value == ANSWER and result.full_value["answer"] == ANSWER
    result = await run(
        "use-ai",
        {"prompt": "Extract", "answerSchema": orjson.dumps(schema).decode()},
        ctx(ai_settings(provider)),
    )
    assert result.value == ANSWER
    error = await fails(
        "use-ai",
        {"prompt": "Extract", "answerSchema": schema, "model": "sloppy"},
        ctx(ai_settings(provider)),
    )
    assert error.status == "ERROR" and "not valid JSON" in error.message


async def test_ai_prices_per_model(provider: str) -> None:
    settings = ai_settings(provider, ai_prices={"house-model": 7, "gpt-4o": 4})
    for model, credits in (("house-model", 7), ("gpt-4o", 4), ("gpt-5", 4), ("mystery", 1)):
        result = await run("use-ai", {"prompt": "x", "model": model}, ctx(settings))
        assert result.credits == credits, model


async def test_ai_errors_and_secrets(provider: str) -> None:
    error = await fails("use-ai", {"prompt": "x", "model": "busy"}, ctx(ai_settings(provider)))
    assert error.retryable and error.retry_after == 3

    wrong = Settings(ai_base_url=f"{provider}/v1", ai_api_key="sk-test-secret-wrong")
    error = await fails("use-ai", {"prompt": "x"}, ctx(wrong))
    assert not error.retryable and "sk-test" not in error.message

    error = await fails("use-ai", {"prompt": "x"}, ctx(Settings()))
    assert "No AI endpoint" in error.message
    error = await fails("use-ai", {"prompt": " "}, ctx(ai_settings(provider)))
    assert error.status == "ERROR_INVALID_INPUT"


async def test_ai_connected_account(provider: str) -> None:
    account = {"base_url": f"{provider}/v1", "api_key": "sk-test-secret", "model": "gpt-5-mini"}
    # an account's endpoint is a user's choice: guarded like http-api-v2
    error = await fails("use-ai", {"prompt": "x"}, ctx(STRICT, account))
    assert error.status == "ERROR_INVALID_INPUT" and "Refused" in error.message
    result = await run("use-ai", {"prompt": "x"}, ctx(OPEN, account))
    assert result.full_value["model"] == "gpt-5-mini" and result.credits == 2


# -- normalizers ---------------------------------------------------------------------------

NORMALIZED = [
    ("normalize-domain", {"url": "https://www.Example.co.uk/path?q=1"}, "example.co.uk"),
    ("normalize-domain", {"url": "bob@mail.acme.io"}, "acme.io"),
    ("normalize-domain", {"url": "blog.github.io"}, "github.io"),
    ("normalize-domain", {"domain": "ACME.com"}, "acme.com"),
    ("normalize-company-name", {"companyName": "Acme, Inc."}, "Acme"),
    ("normalize-company-name", {"companyName": "  Globex   Corporation LLC "}, "Globex"),
    ("normalize-company-name", {"companyName": "Initech GmbH"}, "Initech"),
    ("validate-email", {"email": "Bob.Smith@Example.COM"}, "Bob.Smith@example.com"),
    ("normalize-phone", {"phone": "(415) 555-2671", "defaultRegion": "us"}, "+14155552671"),
    ("normalize-phone", {"phone": "+44 20 7946 0958"}, "+442079460958"),
    (
        "parse-name",
        {"name": "Dr. Juan Q. Xavier de la Vega III"},
        {
            "title": "Dr.",
            "first": "Juan",
            "middle": "Q. Xavier",
            "last": "de la Vega",
            "suffix": "III",
        },
    ),
    ("parse-name", {"name": "Ada Lovelace"}, {"first": "Ada", "last": "Lovelace"}),
]


@pytest.mark.parametrize(("action", "inputs", "expected"), NORMALIZED)
async def test_normalizers(action: str, inputs: dict[str, Any], expected: Any) -> None:
    result = await run("normalize", inputs, ctx(), action)
    assert result.value == expected and result.has_data and result.credits == 0
    assert result.full_value


INVALID = [
    ("normalize-domain", {"url": "localhost"}),
    ("normalize-domain", {"url": "http://192.168.0.1/x"}),
    ("normalize-domain", {"url": "not a domain"}),
    ("validate-email", {"email": "bob@"}),
    ("validate-email", {"email": "no-at-sign"}),
    ("normalize-phone", {"phone": "12"}),
    ("normalize-phone", {"phone": "555-2671"}),  # no region, no country code
    ("normalize-phone", {"phone": "hello"}),
]


@pytest.mark.parametrize(("action", "inputs"), INVALID)
async def test_normalizers_reject_invalid_input(action: str, inputs: dict[str, Any]) -> None:
    error = await fails("normalize", inputs, ctx(), action)
    assert error.status == "ERROR_INVALID_INPUT" and not error.retryable


@pytest.mark.parametrize(
    ("action", "inputs"),
    [
        ("normalize-domain", {"url": ""}),
        ("normalize-company-name", {"companyName": "Inc."}),
        ("validate-email", {}),
        ("normalize-phone", {"phone": "  "}),
        ("parse-name", {"name": None}),
    ],
)
async def test_normalizers_no_data(action: str, inputs: dict[str, Any]) -> None:
    result = await run("normalize", inputs, ctx(), action)
    assert not result.has_data and result.value is None


async def test_normalize_domain_integration_key() -> None:
    result = await run("normalize-domain", {"url": "https://app.acme.com/x"}, ctx())
    assert result.value == "acme.com"
    assert result.full_value["subdomain"] == "app"
