"""The emulator's own endpoints."""

from __future__ import annotations

from typing import Any

from .._base import M, Namespace, Op, api, req


class Emulator(Namespace[M]):
    """claystack's own conveniences (not part of Clay's API)."""

    @api("GET /_claystack/health")
    def health(self) -> Op[dict[str, Any]]:
        """Liveness, the database backend and the server version."""
        return dict((yield req("GET", "/_claystack/health", auth=False, root=True)))

    @api("POST /_claystack/reset")
    def reset(self) -> Op[dict[str, Any]]:
        """Back to the freshly seeded state (servers started with reset enabled). Every
        session ends; a client holding email and password logs in again by itself."""
        return dict((yield req("POST", "/_claystack/reset", auth=False, root=True)))
