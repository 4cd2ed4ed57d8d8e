"""``use-ai``: a chat completion against any OpenAI-compatible endpoint.

The endpoint, key and model come from the field's connected account (credential keys
``base_url``, ``api_key``, ``model``), else from the server settings (``CLAYSTACK_AI_*``).
An endpoint from a connected account is a workspace user's choice, so it goes through the
same request-forgery guard as ``http-api-v2``; the one in the settings is the operator's and
is trusted (a model server on localhost is common). Like ``http-api-v2``, transient failures
are retryable ``ActionError``s that the engine schedules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from yarl import URL

from ....integrations import Action, ActionError, ActionResult, Integration, RunContext
from ....wire.cells import CellStatus
from .. import bindings, context
from . import _calls, _http

# Credits per successful execution; a model matches its entry or the longest entry it starts
# with (``gpt-4o-2024-08-06`` → ``gpt-4o``). CLAYSTACK_AI_PRICES merges over this table.
PRICES: dict[str, int] = {
    "default": 1,
    "gpt-4o-mini": 1,
    "gpt-4.1-nano": 1,
    "gpt-4.1-mini": 1,
    "gpt-5-nano": 1,
    "gpt-5-mini": 2,
    "gpt-4o": 3,
    "gpt-4.1": 3,
    "gpt-5": 4,
    "o3-mini": 3,
    "o4-mini": 3,
    "o3": 8,
    "claude-3-5-haiku": 1,
    "claude-haiku-4-5": 2,
    "claude-sonnet-4": 5,
    "claude-opus-4": 20,
    "gemini-2.0-flash": 1,
    "gemini-2.5-flash": 1,
    "gemini-2.5-pro": 4,
}

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string", "description": "The user message (templated from cells)"},
        "systemPrompt": {"type": "string"},
        "model": {"type": "string", "description": "Overrides the account's or server's model"},
        "answerSchema": {
            "type": ["object", "string"],
            "description": "A JSON Schema: the answer is requested and parsed as JSON",
        },
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "maxTokens": {"type": "integer", "minimum": 1},
        "answerSchemaType": {
            "type": "object",
            "description": "Clay's {jsonType: JSONSchema|Fields, jsonSchema|fields}",
        },
    },
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "description": "value: the answer (text, or JSON with answerSchema); fullValue: "
    "{answer, model, usage, finishReason}",
}

CREDENTIALS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "base_url": {"type": "string", "format": "uri", "description": "e.g. https://api.x/v1"},
        "api_key": {"type": "string", "writeOnly": True, "description": "Secret"},
        "model": {"type": "string"},
    },
    "secret": ["api_key"],
}


def prices(settings: Any) -> dict[str, int]:
    overrides = getattr(settings, "ai_prices", None) or {}
    return {**PRICES, **{str(k): int(v) for k, v in dict(overrides).items()}}


def price(model: str, settings: Any = None) -> int:
    """Credits for one successful completion with ``model``."""
    table = prices(settings)
    if model in table:
        return table[model]
    matches = [name for name in table if name != "default" and model.startswith(name)]
    return table[max(matches, key=len)] if matches else table["default"]


def _secret(value: Any) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value or "")


def _endpoint(ctx: RunContext) -> tuple[str, str, str, _http.Policy | None]:
    creds: Mapping[str, Any] = ctx.credentials or {}
    settings = context.builtin(ctx).settings
    if creds.get("base_url"):
        base, policy = str(creds["base_url"]), ctx.http_policy or _http.Policy()
    else:
        base, policy = str(getattr(settings, "ai_base_url", "") or ""), None
    if not base:
        raise ActionError(
            "No AI endpoint: connect an account with a base_url or set CLAYSTACK_AI_BASE_URL"
        )
    key = _secret(creds.get("api_key")) or _secret(getattr(settings, "ai_api_key", ""))
    model = str(creds.get("model") or getattr(settings, "ai_model", "") or "")
    return base.rstrip("/"), key, model, policy


def _schema(raw: Any) -> dict[str, Any] | None:
    if raw is None or raw == "" or raw == {}:
        return None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ActionError(
                "answerSchema is not valid JSON", CellStatus.ERROR_INVALID_INPUT
            ) from None
    if not isinstance(raw, dict):
        raise ActionError(
            "answerSchema must be a JSON Schema object", CellStatus.ERROR_INVALID_INPUT
        )
    return raw


def quote(inputs: Mapping[str, Any], credentials: Mapping[str, Any], settings: Any) -> int:
    """The price of one completion before it runs: the model the run would use."""
    model = inputs.get("model") or credentials.get("model") or getattr(settings, "ai_model", "")
    return price(str(model), settings) if model else PRICES["default"]


def _decoded(raw: Any) -> Any:
    """JSON text decoded, twice when it was encoded twice."""
    for _ in range(2):
        if not isinstance(raw, str):
            break
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ActionError(
                "answerSchemaType is not valid JSON", CellStatus.ERROR_INVALID_INPUT
            ) from None
    return raw


def _answer_schema(spec: Any) -> Any:
    """Clay's ``answerSchemaType`` as a JSON Schema: ``{jsonType:"JSONSchema", jsonSchema}``
    or ``{jsonType:"Fields", fields}`` (fields as name → type, or a list of {name, type})."""
    spec = _decoded(spec)
    if not isinstance(spec, dict):
        return None
    kind = str(spec.get("jsonType") or "")
    if kind == "JSONSchema":
        return _decoded(spec.get("jsonSchema"))
    if kind == "Fields":
        fields = _decoded(spec.get("fields"))
        if isinstance(fields, list):
            fields = {
                str(f.get("name")): f.get("type", "string") for f in fields if isinstance(f, dict)
            }
        if not isinstance(fields, dict) or not fields:
            return None
        props = {
            name: t if isinstance(t, dict) else {"type": str(t or "string")}
            for name, t in fields.items()
        }
        return {"type": "object", "properties": props, "required": list(props)}
    return None


def _aliases(inputs: dict[str, Any]) -> dict[str, Any]:
    inputs = bindings.nest(inputs)
    if inputs.get("answerSchema") in (None, "", {}) and "answerSchemaType" in inputs:
        inputs["answerSchema"] = _answer_schema(inputs["answerSchemaType"])
    return inputs


def _chat_body(inputs: Mapping[str, Any], prompt: str, model: str, schema: Any) -> dict[str, Any]:
    """The chat completion request: the prompts, the answer's schema and the options."""
    messages = []
    if inputs.get("systemPrompt"):
        messages.append({"role": "system", "content": str(inputs["systemPrompt"])})
    messages.append({"role": "user", "content": prompt})
    body: dict[str, Any] = {"model": model, "messages": messages}
    if schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema},
        }
    if inputs.get("temperature") is not None:
        body["temperature"] = float(inputs["temperature"])
    if inputs.get("maxTokens") is not None:
        body["max_tokens"] = int(inputs["maxTokens"])
    return body


_BAD_BASE_URL = "The AI base URL must be http or https"


def _transient(
    message: str, status: str = CellStatus.ERROR, after: float | None = None
) -> ActionError:
    return ActionError(message, status, retryable=True, retry_after=after)


async def run(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    inputs = _aliases(inputs)
    prompt = inputs.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ActionError("prompt is required", CellStatus.ERROR_INVALID_INPUT)
    base, key, model, policy = _endpoint(ctx)
    model = str(inputs.get("model") or model)
    if not model:
        raise ActionError("No model: set it in the inputs, the account or CLAYSTACK_AI_MODEL")
    schema = _schema(inputs.get("answerSchema"))

    body = _chat_body(inputs, prompt, model, schema)
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    def scrub(text: str) -> str:
        return text.replace(key, "***") if key else text

    seconds = float(getattr(context.builtin(ctx).settings, "ai_timeout_seconds", 120.0) or 120.0)
    try:
        url = URL(f"{base}/chat/completions")
        _http.check_url(url)
    except (ValueError, _http.RefusedTarget):
        raise ActionError(_BAD_BASE_URL, CellStatus.ERROR_INVALID_INPUT) from None
    response = await _calls.send(
        "POST",
        url,
        policy,
        seconds=seconds,
        transient=_transient,
        scrub=scrub,
        invalid_url=_BAD_BASE_URL,
        content=orjson.dumps(body),
        headers={**headers, "Content-Type": "application/json"},
    )
    if response.status_code in (401, 403):
        raise ActionError(f"HTTP {response.status_code}: the AI endpoint refused the API key")
    _calls.check_status(response, _transient, scrub)
    excerpt = scrub(_http.short_text(response.content))
    try:
        reply = orjson.loads(response.content)
        choice = reply["choices"][0]
        content = choice["message"].get("content")
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        raise ActionError(f"Not a chat completion: {excerpt}") from None

    answer: Any = content
    if schema is not None and content is not None:
        try:
            answer = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise ActionError(
                f"The answer is not valid JSON: {_http.short_text(content, 120)}"
            ) from None
    used_model = str(reply.get("model") or model)
    full = {
        "answer": answer,
        "model": used_model,
        "usage": reply.get("usage"),
        "finishReason": choice.get("finish_reason"),
    }
    has_data = answer is not None and not (isinstance(answer, str) and not answer.strip())
    credits = price(model, context.builtin(ctx).settings)
    return ActionResult(value=answer, full_value=full, has_data=has_data, credits=credits)


integration = Integration(
    key="use-ai",
    display_name="Use AI",
    actions=(
        Action(
            key="use-ai",
            display_name="Use AI",
            run=run,
            input_schema=INPUT_SCHEMA,
            output_schema=OUTPUT_SCHEMA,
            credits=PRICES["default"],
            quote=quote,
        ),
    ),
    credentials_schema=CREDENTIALS_SCHEMA,
)
