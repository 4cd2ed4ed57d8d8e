from __future__ import annotations

from typing import Annotated

import typer

from . import (
    actions,
    auth,
    credits,
    fields,
    importing,
    jobs,
    processes,
    runs,
    serve,
    tables,
    views,
    webhooks,
    workspaces,
)
from ._console import console, err, fail
from ._errors import ErrorHandlingGroup
from .admin import check_counts, users_app, workspaces_app

app = typer.Typer(
    name="claystack",
    help="A self-hostable, Clay-compatible data-enrichment server, its SDK and CLI.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ErrorHandlingGroup,
)
__all__ = ["app", "console", "err", "fail", "main"]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as package_version

        try:
            found = package_version("claystack")
        except PackageNotFoundError:  # a bare checkout, not installed
            found = "unknown"
        console.print(f"claystack {found}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option("--url", envvar="CLAYSTACK_URL", help="API base URL (default: saved login)"),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="CLAYSTACK_TOKEN", help="API token instead of a session"),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """A self-hostable, Clay-compatible data-enrichment server, its SDK and CLI."""
    ctx.obj = {"url": url, "token": token}


app.command()(serve.serve)
app.command()(processes.worker)
app.command()(processes.migrate)
app.command("check-counts")(check_counts)
app.add_typer(users_app, name="users")
app.add_typer(workspaces_app, name="workspace")
for command in (
    auth.login,
    auth.logout,
    auth.whoami,
    workspaces.workspaces,
    workspaces.resources,
    importing.import_file,
    runs.run,
    credits.credits,
):
    app.command("import" if command is importing.import_file else command.__name__)(command)
app.add_typer(tables.tables_app, name="tables")
app.add_typer(fields.fields_app, name="fields")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(jobs.imports_app, name="imports")
app.add_typer(views.views_app, name="views")
app.add_typer(actions.actions_app, name="actions")
app.add_typer(actions.functions_app, name="functions")


def main() -> None:
    app()
