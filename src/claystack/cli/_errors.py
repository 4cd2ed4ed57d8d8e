"""The root command group: every command's failure ends as one ``error: …`` line and a
non-zero exit, and help shows plain metavars."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from ._console import fail

RELOGIN_HINT = "the session has expired or was revoked; run `claystack login`"
_METAVARS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "FILE"}


class ErrorHandlingGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_metavars(self)

    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)
        for param in params:  # the completion options are added after __init__
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params

    def invoke(self, ctx: Any) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except Exception as exc:
                _fail_on_sdk_error(exc, ctx)
                raise
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(141) from None  # as if killed by SIGPIPE, like other tools
        except (OSError, ValueError) as exc:
            fail(str(exc) or type(exc).__name__)
        except KeyboardInterrupt:
            fail("interrupted", 130)


def _fail_on_sdk_error(exc: Exception, ctx: Any) -> None:
    """One line for an SDK error (a ``ClayError``); returns on any other exception. An SDK
    error comes from a loaded SDK: the commands that never load it (serve, worker, the admin
    commands) do not pay ~0.5 s to import it here."""
    sdk = sys.modules.get("claystack.client._exceptions")
    if sdk is None or not isinstance(exc, sdk.ClayError):
        return
    if isinstance(exc, sdk.UnauthorizedError):
        if exc.message == "You must be logged in" and ctx.invoked_subcommand != "login":
            fail(f"{exc} ({RELOGIN_HINT})")
    fail(str(exc))


def _quiet_stdout() -> None:
    """The reader of our stdout went away (`claystack … | head`): later writes, including
    the flush at exit, go nowhere instead of printing a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _plain_metavars(command: Any) -> None:
    """Typer labels options ``<bool>``, ``<list[str]>``…; flags need no label, and a
    repeatable option is a TEXT given several times (its help says so)."""
    for param in command.params:
        if param.metavar is not None:
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif isinstance(param, TyperOption):
            bare = param.bare_type()
            if bare.startswith("list[") and bare.endswith("]"):
                bare = bare[5:-1]
            param.metavar = _METAVARS.get(bare, bare.upper())
        elif isinstance(param, TyperArgument):
            param.metavar = param.name.upper() if param.name else None
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    original = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _plain_metavars(sub)


def _no_type(ctx: Any) -> str | None:
    return None
