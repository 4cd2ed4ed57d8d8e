"""How the engine builds an action's :class:`~claystack.integrations.RunContext`.

Plugins get the public context only. Built-in actions (the modules of
``claystack.server.enrichment.actions``) get :class:`BuiltinContext`, which adds the server's
settings and database: lookups and write-to-cell read and write claystack's own tables, and
the AI and HTTP actions read instance-wide defaults. They reach those through
:func:`builtin`, never through the public type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...integrations import Action, ActionError, Limits, RunContext
from .actions import _http

BUILTIN_PACKAGE = "claystack.server.enrichment.actions."


@dataclass(frozen=True)
class BuiltinContext(RunContext):
    settings: Any = None
    db: Any = None


def is_builtin(action: Action) -> bool:
    return str(getattr(action.run, "__module__", "")).startswith(BUILTIN_PACKAGE)


def limits(settings: Any) -> Limits:
    return Limits(
        timeout_seconds=float(settings.run_action_timeout_seconds),
        max_cell_bytes=int(settings.max_cell_bytes),
    )


def for_action(
    action: Action,
    *,
    workspace_id: int,
    table_id: str,
    field_id: str,
    record_id: str,
    credentials: Any,
    settings: Any,
    db: Any,
) -> RunContext:
    """The context one execution of ``action`` receives."""
    shared = _shared(action, settings)
    common: dict[str, Any] = {
        "workspace_id": workspace_id,
        "table_id": table_id,
        "field_id": field_id,
        "record_id": record_id,
        "credentials": credentials,
        "limits": shared[0],
        "http_policy": shared[1],
    }
    if shared[2]:
        return BuiltinContext(**common, settings=settings, db=db)
    return RunContext(**common)


_CELL = ("workspace_id", "table_id", "field_id", "record_id", "credentials")


def for_cells(
    action: Action,
    cells: Sequence[tuple[int, str, str, str, Any]],
    *,
    settings: Any,
    db: Any,
) -> list[RunContext]:
    """The contexts of many executions of ``action``, one per ``(workspace_id, table_id,
    field_id, record_id, credentials)``, as ``for_action`` gives them. The first is built;
    the others copy its fields: a frozen dataclass's ``__init__`` costs four times more,
    and an inline batch builds a thousand."""
    if not cells:
        return []
    ws, table_id, field_id, record_id, credentials = cells[0]
    first = for_action(
        action,
        workspace_id=ws,
        table_id=table_id,
        field_id=field_id,
        record_id=record_id,
        credentials=credentials,
        settings=settings,
        db=db,
    )
    out = [first]
    for cell in cells[1:]:
        ctx = object.__new__(type(first))
        ctx.__dict__.update(first.__dict__)
        ctx.__dict__.update(zip(_CELL, cell, strict=True))
        out.append(ctx)
    return out


_SHARED: dict[tuple[int, int], tuple[Any, Any, bool, Any, Any]] = {}


def _shared(action: Action, settings: Any) -> tuple[Any, Any, bool, Any, Any]:
    """What every context of ``action`` under ``settings`` shares (a claim builds
    thousands): limits, HTTP policy, whether it is built in."""
    key = (id(action), id(settings))
    found = _SHARED.get(key)
    # the objects themselves are kept too, so that their ids are never reused meanwhile
    if found is None or found[3] is not action or found[4] is not settings:
        if len(_SHARED) > 256:
            _SHARED.clear()
        found = _SHARED[key] = (
            limits(settings),
            _http.Policy.from_settings(settings),
            is_builtin(action),
            action,
            settings,
        )
    return found


def builtin(ctx: RunContext) -> BuiltinContext:
    """The built-in context; a plugin's context has no settings or database to give."""
    if not isinstance(ctx, BuiltinContext):
        raise TypeError("only built-in actions receive the server's settings and database")
    return ctx


def database(ctx: RunContext) -> Any:
    """The server's database, for the built-in actions that read or write its tables."""
    db = ctx.db if isinstance(ctx, BuiltinContext) else None
    if db is None:
        raise ActionError("Local actions need the server's database")
    return db
