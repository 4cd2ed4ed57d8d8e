"""The application's state: one typed object, built by ``create_app`` and replaced on
``app.state``, so every read of it is checked by mypy (Starlette's ``State`` takes any name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import Settings
from .security import AuthCache, Network
from .services.webhooks import WebhookIngest
from .storage.engine import Database

if TYPE_CHECKING:
    from .engine import Runner
    from .indexer import SearchIndexer
    from .jobs import JobRunner


@dataclass(slots=True)
class AppState:
    """What one app holds between requests. The first four are made in ``create_app``; the
    rest are set by ``lifecycle.start`` (and renewed by ``lifecycle.reset``)."""

    settings: Settings
    db: Database
    auth_cache: AuthCache
    webhooks: WebhookIngest
    trusted_proxies: tuple[Network, ...] = ()
    secret: str | None = None
    """The instance secret (cookies, signed URLs, webhook tokens), read once at start."""
    seeded: dict[str, Any] | None = None
    """The demo login created at start, if any."""
    runner: Runner | None = None
    """The run workers; None when ``run_workers`` is off."""
    jobs: JobRunner | None = None
    search_indexer: SearchIndexer | None = None

    def job_runner(self) -> JobRunner:
        if self.jobs is None:
            raise RuntimeError("the app has not started: no job runner yet")
        return self.jobs

    def indexer(self) -> SearchIndexer:
        if self.search_indexer is None:
            raise RuntimeError("the app has not started: no search indexer yet")
        return self.search_indexer

    def require_secret(self) -> str:
        if self.secret is None:
            raise RuntimeError("the app has not started: no instance secret yet")
        return self.secret


def state_of(app: Any) -> AppState:
    """The ``AppState`` of an app made by ``create_app``."""
    state = app.state
    if not isinstance(state, AppState):
        raise TypeError("not a claystack app: app.state is not an AppState")
    return state
