"""Clay's AI helpers (spec part 2 §10): the configured model, or a deterministic answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Request
from starlette.responses import Response

from ...wire import (
    FormulaGenIn,
    FormulaGenOut,
    MetaprompterIn,
    TableDescriptionIn,
    TableDescriptionOut,
)
from ..deps import Conn, CurrentActor, get_settings, read_only
from ..services import ai_helpers
from . import JSONOut, ok, router

api = router("ai helpers")


@api.post("/v3/ai-generation/formula", responses=ok(FormulaGenOut))
@read_only
async def generate_formula(
    request: Request, conn: Conn, actor: CurrentActor, body: FormulaGenIn
) -> JSONOut:
    """A formula for ``userPromptInput`` over ``columnNamesToIds``: ``{formula, dataType}``.
    Without ``CLAYSTACK_AI_BASE_URL`` the formula is ``""``."""
    out = await ai_helpers.formula(conn, actor, body.model_dump(), get_settings(request))
    return JSONOut(out)


@api.post("/v3/ai-generation/table-description", responses=ok(TableDescriptionOut))
@read_only
async def describe_table(
    request: Request, conn: Conn, actor: CurrentActor, body: TableDescriptionIn
) -> JSONOut:
    """A short description of ``tableId`` (its name, columns and sources); saves nothing."""
    out = await ai_helpers.table_description(conn, actor, body.model_dump(), get_settings(request))
    return JSONOut(out)


@api.post(
    "/v3/ai-generation/stream-metaprompter",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
@read_only
async def metaprompter(
    request: Request, conn: Conn, actor: CurrentActor, body: MetaprompterIn
) -> Response:
    """``text/plain``, one JSON object a line: ``{suggestedUseCase, suggestedUseCaseReasoning}``,
    ``{suggestedModel, suggestModelReasoning}``, then ``{prompt}``."""
    text = await ai_helpers.metaprompt(conn, actor, body.model_dump(), get_settings(request))
    return Response(text, media_type="text/plain")


@api.post("/v3/{workspaceId}/ai-generation/chat-conversation", responses=ok(dict[str, Any]))
@read_only
async def chat_conversation(
    request: Request,
    conn: Conn,
    actor: CurrentActor,
    workspace_id: Annotated[str, Path(alias="workspaceId")],
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> JSONOut:
    """One answer of the configured model (``{message}`` → ``{message: {role, content}}``).
    Without ``CLAYSTACK_AI_BASE_URL`` this is 404 ``NoMatchingURL``, like any unknown URL."""
    settings = get_settings(request)
    return JSONOut(await ai_helpers.chat(conn, actor, workspace_id, body or {}, settings))
