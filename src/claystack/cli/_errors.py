"""Every command's failure ends as one ``error: …`` line and a non-zero exit."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

from ..client import ClayError, UnauthorizedError
from ._console import fail

RELOGIN_HINT = "the session has expired or was revoked; run `claystack login`"


class ErrorHandlingGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UnauthorizedError as exc:
            if exc.message == "You must be logged in" and ctx.invoked_subcommand != "login":
                fail(f"{exc} ({RELOGIN_HINT})")
            fail(str(exc))
        except ClayError as exc:
            fail(str(exc))
        except (OSError, ValueError) as exc:
            fail(str(exc) or type(exc).__name__)
        except KeyboardInterrupt:
            fail("interrupted", 130)
