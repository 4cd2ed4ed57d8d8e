"""Moved to ``claystack.server.engine``; kept so that older imports keep working."""

from __future__ import annotations

from ..engine import Runner
from ..engine.queue import resolve_credentials
from ..engine.work import FINAL_OK, Charge, FormulaCell, Job, Outcome, Step, Task

__all__ = [
    "FINAL_OK",
    "Charge",
    "FormulaCell",
    "Job",
    "Outcome",
    "Runner",
    "Step",
    "Task",
    "resolve_credentials",
]
