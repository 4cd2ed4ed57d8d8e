"""The web app: its page at ``/`` and the client-side routes, its built assets, the offline
``/docs`` page, and the few ``/_claystack/ui/…`` reads it needs beyond Clay's API."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import Path, Query
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from ...wire import (
    FormulaPreviewIn,
    FormulaPreviewOut,
    RowIndexOut,
    RowsWindow,
)
from ..deps import Conn, TableReadDep, read_only
from ..errors import NotFound
from ..services import ui
from . import JSONOut, ok, router

WEB_DIR = FsPath(__file__).resolve().parents[2] / "web"

# No inline or remote scripts; styles may be inline (the grid sets widths and positions).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

api = router("ui")
pages = router("ui-pages")


def _page(name: str) -> Response:
    path = WEB_DIR / name
    if not path.is_file():
        raise NotFound("The web app is not built: run scripts/build-web")
    return FileResponse(path, media_type="text/html", headers=_PAGE_HEADERS)


class _Assets(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def assets() -> StaticFiles:
    """The built scripts and styles; their names carry a content hash, so they never change."""
    return _Assets(directory=WEB_DIR / "assets", check_dir=False)


@pages.get("/", include_in_schema=False)
@pages.get("/login", include_in_schema=False)
@pages.get("/usage", include_in_schema=False)
@pages.get("/workspaces/{rest:path}", include_in_schema=False)
@pages.get("/tables/{rest:path}", include_in_schema=False)
async def app_page() -> Response:
    return _page("index.html")


@pages.get("/docs", include_in_schema=False)
async def docs_page() -> Response:
    return _page("docs.html")


ViewId = Annotated[str, Path(alias="viewId")]
RowsOffset = Annotated[int, Query(ge=0)]
RowsLimit = Annotated[int, Query(ge=1, le=1000)]


@api.get("/_claystack/ui/tables/{tableId}/views/{viewId}/rows", responses=ok(RowsWindow))
async def rows(
    view_id: ViewId,
    conn: Conn,
    table: TableReadDep,
    offset: RowsOffset = 0,
    limit: RowsLimit = 100,
) -> JSONOut:
    """A window of the rows a view shows, in its order, with how many it shows in all
    (what a virtualised grid needs to size its scrollbar and fetch what is in sight)."""
    return JSONOut(await ui.rows_window(conn, table, view_id, offset=offset, limit=limit))


@api.get(
    "/_claystack/ui/tables/{tableId}/views/{viewId}/rows/{recordId}", responses=ok(RowIndexOut)
)
async def row_index(
    view_id: ViewId,
    record_id: Annotated[str, Path(alias="recordId", max_length=200)],
    conn: Conn,
    table: TableReadDep,
) -> JSONOut:
    """Where a row stands in the view (``index`` 0 is its first row); 404 when the view
    does not show it. The grid scrolls to a search match with it."""
    return JSONOut(await ui.row_index(conn, table, view_id, record_id))


@api.post(
    "/_claystack/ui/tables/{tableId}/views/{viewId}/formula-preview",
    responses=ok(FormulaPreviewOut),
)
@read_only
async def formula_preview(
    body: FormulaPreviewIn,
    view_id: ViewId,
    conn: Conn,
    table: TableReadDep,
) -> JSONOut:
    """A formula's values over the view's first rows, computed and not saved (the live
    preview of the column editor)."""
    result = await ui.formula_preview(conn, table, view_id, body.formulaText, body.limit)
    return JSONOut(result)
