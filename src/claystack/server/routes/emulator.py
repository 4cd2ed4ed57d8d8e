"""Emulator conveniences under ``/_claystack`` (not part of Clay's API)."""

from __future__ import annotations

from fastapi import Request

from ...wire import (
    Health,
    Readiness,
    ResetDone,
)
from ..deps import get_database, get_settings
from ..errors import NoMatchingURL, ServiceUnavailable
from . import JSONOut, ok, router

api = router("emulator")


@api.get("/_claystack/health", responses=ok(Health))
async def health(request: Request) -> JSONOut:
    """Liveness plus the backend in use."""
    from .. import lifecycle

    await lifecycle.ping(request.app)
    return JSONOut(
        Health.build(
            status="ok",
            database=get_database(request).engine.dialect.name,
            version=lifecycle.version(),
        )
    )


@api.get("/_claystack/ready", responses=ok(Readiness))
async def ready(request: Request) -> JSONOut:
    """Readiness for orchestrators: the database answers and its migrations are current
    (503 ``ServiceUnavailable`` otherwise, e.g. while another process is still migrating)."""
    from .. import lifecycle

    db = get_database(request)
    try:
        await lifecycle.ping(request.app)
        missing = await lifecycle.pending_migrations(request.app)
    except Exception as exc:  # any database failure means "not ready", never a 500
        raise ServiceUnavailable(f"Database unreachable: {type(exc).__name__}") from exc
    if missing:
        raise ServiceUnavailable(f"Migrations pending: {', '.join(sorted(missing))}")
    return JSONOut(
        Readiness.build(
            status="ready",
            database=db.engine.dialect.name,
            migrations=lifecycle.migration_heads(),
        )
    )


@api.post("/_claystack/reset", responses=ok(ResetDone))
async def reset(request: Request) -> JSONOut:
    """Wipes every table and re-seeds the demo user and workspace (only with
    ``CLAYSTACK_ENABLE_RESET=1``; otherwise a 404 that says how to enable it)."""
    from .. import lifecycle

    if not get_settings(request).enable_reset:
        raise NoMatchingURL(
            "Reset is disabled on this server; start it with CLAYSTACK_ENABLE_RESET=1 "
            "(or `claystack serve --enable-reset`) to allow POST /_claystack/reset"
        )
    seeded = await lifecycle.reset(request.app)
    return JSONOut(ResetDone.build(status="ok", seeded=seeded))
