"""The run engine: background workers that execute queued cells (see ``runner``)."""

from __future__ import annotations

from .runner import Runner

__all__ = ["Runner"]
