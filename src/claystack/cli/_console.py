"""Where the CLI writes: data on stdout, progress and errors on stderr."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(soft_wrap=True)
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Prints ``error: <message>`` on one line and exits with ``code``."""
    # Server messages name fields like ``timeRange[startTime]``: not markup.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)
