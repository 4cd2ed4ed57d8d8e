"""The ``claystack`` command line."""

from __future__ import annotations

from .main import app, main

__all__ = ["app", "main"]
