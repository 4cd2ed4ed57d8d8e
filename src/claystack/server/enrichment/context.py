"""How the engine builds an action's :class:`~claystack.integrations.RunContext`.

Plugins get the public context only. Built-in actions (the modules of
``claystack.server.enrichment.actions``) get :class:`BuiltinContext`, which adds the server's
settings and database: lookups and write-to-cell read and write claystack's own tables, and
the AI and HTTP actions read instance-wide defaults. They reach those through
:func:`builtin`, never through the public type.
"""

from __future__ import annotations

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
    common: dict[str, Any] = {
        "workspace_id": workspace_id,
        "table_id": table_id,
        "field_id": field_id,
        "record_id": record_id,
        "credentials": credentials,
        "limits": limits(settings),
        "http_policy": _http.Policy.from_settings(settings),
    }
    if is_builtin(action):
        return BuiltinContext(**common, settings=settings, db=db)
    return RunContext(**common)


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
