"""HTTP routes, one module per resource. Handlers parse, call one service, return."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...wire import dumps
from ..errors import ClayError
from ..middleware import parse_json_body
from ..state import state_of


class JSONOut(Response):
    """The one serialisation of an answer: a wire model (or dict) rendered by orjson with
    ``wire.dumps``; routes return it directly so no per-field encoding runs."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def ok(model: Any) -> dict[int | str, dict[str, Any]]:
    """Documents a 200 body for OpenAPI without re-validating what the service returned."""
    return {200: {"model": model}}


# Models of bodies that a route parses itself (hot paths); app._openapi publishes them.
RAW_BODY_MODELS: list[type[BaseModel]] = []


def raw_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a request body the route reads without FastAPI."""
    RAW_BODY_MODELS.append(model)
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


class _OrjsonRequest(Request):
    """Bodies parsed by orjson, which (unlike the standard library) refuses lone UTF-16
    surrogates: text that could be neither stored nor sent back is a 400 here, not a 500."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(self, await self.body())
        return self._json


def read_json(request: Request, raw: bytes) -> Any:
    """A request body as JSON, within the server's nesting limit."""
    return parse_json_body(request.scope, raw, state_of(request.app).settings.max_json_depth)


class _Route(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(_OrjsonRequest(request.scope, request.receive))
            except HTTPException as exc:
                # FastAPI turns any error of ``Request.json()`` into a generic 400.
                if isinstance(exc.__cause__, ClayError):
                    raise exc.__cause__ from None
                raise

        return handle


def router(tag: str) -> APIRouter:
    return APIRouter(tags=[tag], route_class=_Route)


TABLE_PREFIX = "/v3/tables/{tableId}"


def workspace_aliases(routes: Iterable[BaseRoute]) -> APIRouter:
    """The same handlers as every ``/v3/tables/{tableId}…`` route, mounted again under
    ``/v3/workspaces/{workspaceId}/tables/{tableId}…`` behind a check that ``{ws}`` owns the
    table (spec part 2 §2). New table routes get their alias without further code."""
    from ..deps import workspace_owns_table

    alias = APIRouter(route_class=_Route)
    for route in list(routes):
        if not isinstance(route, APIRoute) or not route.path.startswith(TABLE_PREFIX):
            continue
        alias.add_api_route(
            "/v3/workspaces/{workspaceId}" + route.path[3:],
            route.endpoint,
            methods=route.methods,
            responses=route.responses,
            dependencies=[Depends(workspace_owns_table), *route.dependencies],
            summary=route.summary,
            description=route.description,
            tags=[*route.tags, "workspace-scoped"],
            name=f"{route.name}_in_workspace",
            openapi_extra=route.openapi_extra,
            operation_id=f"{route.unique_id}_in_workspace",
        )
    return alias
