"""Clay's AI helpers (spec part 2 §10): a formula from a sentence, a table's description, and
the metaprompter's suggestions for a use-ai column.

With ``CLAYSTACK_AI_BASE_URL`` set they ask that model (the same OpenAI-compatible call as the
``use-ai`` action); otherwise, or when the model's answer is unusable, they answer a
deterministic result so that clients work offline: an empty formula, a description built from
the table's name, columns and sources, and the task itself as the prompt.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from ...wire import FormulaGenOut, TableDescriptionOut
from ..enrichment import context
from ..enrichment.actions import _http, ai
from ..enrichment.base import ActionError
from ..errors import BadRequest, NoMatchingURL, NotFound, ServiceUnavailable
from ..storage.repositories import Connection
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import sources as sources_repo
from . import tables as tables_svc
from . import workspaces
from .common import Actor

DATA_TYPES = ("text", "number", "boolean", "url", "email", "date", "json")
_RESEARCH = re.compile(r"\b(web|website|search|research|linkedin|news|find|look up|browse)\b", re.I)

FORMULA_SYSTEM = (
    "You write Clay formulas: one JavaScript expression over cells written {{f_id}}. "
    'Answer JSON {"formula": "...", "dataType": "text|number|boolean|url|email|date|json"}.'
)
FORMULA_SCHEMA = {
    "type": "object",
    "properties": {"formula": {"type": "string"}, "dataType": {"type": "string"}},
    "required": ["formula", "dataType"],
}


async def _ask(settings: Any, prompt: str, system: str, schema: Any = None) -> Any:
    """The configured model's answer, or None when none is configured or it failed."""
    if not getattr(settings, "ai_base_url", ""):
        return None
    ctx = context.BuiltinContext(
        workspace_id=0,
        table_id="",
        field_id="",
        record_id="",
        limits=context.limits(settings),
        http_policy=_http.Policy.from_settings(settings),
        settings=settings,
    )
    inputs = {"prompt": prompt, "systemPrompt": system}
    if schema is not None:
        inputs["answerSchema"] = schema
    try:
        return (await ai.run(inputs, ctx)).value
    except ActionError:
        return None


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f'Invalid request parameter(s): Field "{key}" - Required')
    return value


async def formula(
    conn: Connection, actor: Actor, body: dict[str, Any], settings: Any
) -> FormulaGenOut:
    """``{formula, dataType}`` for ``userPromptInput``; ``formula`` is ``""`` offline."""
    await workspaces.default_workspace(conn, actor, body.get("workspaceId"))
    prompt = _text(body, "userPromptInput", required=True)
    columns = body.get("columnNamesToIds") or {}
    if not isinstance(columns, dict):
        raise BadRequest('Invalid request parameter(s): Field "columnNamesToIds" - Expected object')
    examples = body.get("rawExampleTableData") or []
    question = (
        f"Task: {prompt}\nColumns (name -> id): {orjson.dumps(columns).decode()}\n"
        f"Example rows: {orjson.dumps(examples[:5] if isinstance(examples, list) else []).decode()}"
    )
    answer = await _ask(settings, question, FORMULA_SYSTEM, FORMULA_SCHEMA)
    if isinstance(answer, dict) and isinstance(answer.get("formula"), str):
        kind = answer.get("dataType")
        return FormulaGenOut.build(
            formula=answer["formula"], dataType=kind if kind in DATA_TYPES else "text"
        )
    return FormulaGenOut.build(formula="", dataType="text")


async def _table_facts(conn: Connection, actor: Actor, table_id: Any) -> dict[str, Any]:
    if not isinstance(table_id, str) or not table_id:
        raise BadRequest('Invalid request parameter(s): Field "tableId" - Required')
    table = await tables_svc.resolve_table(conn, actor, table_id)
    name = table.row.name
    fields = await fields_repo.names_and_types(conn, table.id)
    sources = await sources_repo.names_and_types(conn, table.id)
    return {
        "name": name,
        "columns": [(f.name, f.type) for f in fields],
        "sources": [(s.name, s.type) for s in sources],
    }


def _describe(facts: dict[str, Any]) -> str:
    columns = facts["columns"]
    text = f'"{facts["name"]}" is a table with {len(columns)} column'
    text += "" if len(columns) == 1 else "s"
    if columns:
        text += ": " + ", ".join(f"{n} ({t})" for n, t in columns[:20])
        text += ", …" if len(columns) > 20 else ""
    text += "."
    if facts["sources"]:
        text += " Rows come from " + ", ".join(f"{n} ({t})" for n, t in facts["sources"]) + "."
    return text


async def table_description(
    conn: Connection, actor: Actor, body: dict[str, Any], settings: Any
) -> TableDescriptionOut:
    """``{description}`` of ``tableId``; nothing is saved."""
    facts = await _table_facts(conn, actor, body.get("tableId"))
    fallback = _describe(facts)
    answer = await _ask(
        settings,
        f"Describe this table in two sentences for a teammate.\n{fallback}",
        "You describe spreadsheets briefly and plainly.",
    )
    if isinstance(answer, str) and answer.strip():
        return TableDescriptionOut.build(description=answer.strip())
    return TableDescriptionOut.build(description=fallback)


async def metaprompt(conn: Connection, actor: Actor, body: dict[str, Any], settings: Any) -> str:
    """The metaprompter's answer: three JSON objects, one per line (``text/plain``)."""
    task = _text(body, "taskDescription") or _text(body, "prompt")
    if not task.strip():
        raise BadRequest('Invalid request parameter(s): Field "prompt" - Required')
    if body.get("tableId"):
        try:
            await _table_facts(conn, actor, body["tableId"])
        except NotFound:
            raise NotFound("Table not found") from None
    research = bool(_RESEARCH.search(task))
    use_case = "claygent" if research else "use-ai"
    model = str(getattr(settings, "ai_model", "") or "gpt-4o-mini")
    prompt = task.strip()
    answer = await _ask(
        settings,
        f"Rewrite this task as a clear, complete prompt for a language model:\n{task}",
        "You improve prompts. Answer with the prompt only.",
    )
    if isinstance(answer, str) and len(answer.strip()) > len(prompt):
        prompt = answer.strip()
    lines = [
        {
            "suggestedUseCase": use_case,
            "suggestedUseCaseReasoning": (
                "The task needs information from the web."
                if research
                else "The task can be answered from the row's own data."
            ),
        },
        {"suggestedModel": model, "suggestModelReasoning": "The model this server is set to use."},
        {"prompt": prompt},
    ]
    return "\n".join(orjson.dumps(line).decode() for line in lines) + "\n"


async def chat(
    conn: Connection, actor: Actor, workspace_id: str, body: dict[str, Any], settings: Any
) -> dict[str, Any]:
    """One answer of the configured model to ``message`` (or the last of ``messages``).
    Without a model the route does not exist (404 ``NoMatchingURL``), as the spec asks."""
    await workspaces.resolve_workspace(conn, actor, workspace_id)
    if not getattr(settings, "ai_base_url", ""):
        raise NoMatchingURL()
    text = body.get("message") or body.get("prompt")
    messages = body.get("messages")
    if not text and isinstance(messages, list) and messages:
        last = messages[-1]
        text = last.get("content") if isinstance(last, dict) else last
    if not isinstance(text, str) or not text.strip():
        raise BadRequest('Invalid request parameter(s): Field "message" - Required')
    answer = await _ask(settings, text, "You help people build Clay tables.")
    if answer is None:
        raise ServiceUnavailable("The configured AI model did not answer")
    return {"message": {"role": "assistant", "content": str(answer)}}
