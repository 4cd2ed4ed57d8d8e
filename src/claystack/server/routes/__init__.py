"""HTTP routes, one module per resource. Handlers parse, call one service, return."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response


class JSONOut(Response):
    """JSON rendered by orjson; routes return it directly so no per-field encoding runs."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


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


def router(tag: str) -> APIRouter:
    return APIRouter(tags=[tag])
