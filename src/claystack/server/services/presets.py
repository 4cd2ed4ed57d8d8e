"""Saved presets (``pre__…``, spec part 2 §7 and §11): a workspace's named configurations of
an action, listed by type or category."""

from __future__ import annotations

from typing import Any

from ...wire import PresetOut
from ..errors import BadRequest, Forbidden
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import presets as repo
from . import workspaces
from .common import Actor, Scope, iso, now_ms


def _bad(field: str, text: str) -> BadRequest:
    return BadRequest(f'Invalid request parameter(s): Field "{field}" - {text}')


def _out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "category": row.category,
        "actionKey": row.action_key,
        "actionPackageId": row.action_package_id,
        "preset": row.preset,
        "workspaceId": row.workspace_id,
        "createdBy": row.created_by,
        "createdAt": iso(row.created_at),
    }


def _text(body: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _bad(key, "Required" if value is None else f"expected 1 to {limit} characters")
    return value.strip()


async def create(conn: Connection, actor: Actor, body: dict[str, Any]) -> PresetOut:
    """Saves a preset in ``workspaceId`` (else the caller's default workspace)."""
    scope = await workspaces.default_workspace(conn, actor, body.get("workspaceId"))
    if not scope.can_write:
        raise Forbidden("Your role in this workspace is read-only")
    name = _text(body, "name", 500, required=True)
    preset = body.get("preset") if body.get("preset") is not None else {}
    if not isinstance(preset, dict):
        raise _bad("preset", "expected an object")
    preset_id = new_id("pre_")
    await repo.add(
        conn,
        id=preset_id,
        workspace_id=scope.workspace_id,
        name=name,
        type=_text(body, "type", 60) or "action",
        category=_text(body, "category", 200),
        action_key=_text(body, "actionKey", 200),
        action_package_id=_text(body, "actionPackageId", 100),
        preset=preset,
        created_by=actor.user_id,
        created_at=now_ms(),
    )
    row = await repo.get_by_id(conn, preset_id)
    return PresetOut.build(**_out(row))


async def listed(
    conn: Connection,
    scope: Scope,
    *,
    types: list[str] | None = None,
    category: str | None = None,
) -> list[dict[str, Any]]:
    rows = await repo.list_for_workspace(conn, scope.workspace_id, types=types, category=category)
    return [_out(r) for r in rows]


async def categories(conn: Connection, scope: Scope) -> list[str]:
    rows = await repo.categories(conn, scope.workspace_id)
    return sorted(str(c) for c in rows)
