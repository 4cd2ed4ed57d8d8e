from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Path, Query, Request
from starlette.responses import Response

from ...wire import (
    BulkFetchIn,
    DeletedRecords,
    DeleteRecordsIn,
    IdList,
    Record,
    RecordList,
    RecordsIn,
    RecordsOut,
    RecordsPatch,
    RecordsPatchOut,
    RunStatus,
    Success,
    TableCount,
)
from ..deps import Conn, TableDep, TableReadDep, Work, get_settings, read_only
from ..errors import InvalidParameter, PayloadTooLarge
from ..services import records, runs
from . import JSONOut, ok, raw_body, read_json, router

api = router("records")
RecordId = Annotated[str, Path(alias="recordId")]
ViewId = Annotated[str, Path(alias="viewId")]


def _check_batch(request: Request, size: int) -> None:
    limit = get_settings(request).max_records_per_request
    if size > limit:
        raise PayloadTooLarge(f"At most {limit} records per request; split the batch")


def _cell_cap(request: Request) -> int:
    return get_settings(request).max_cell_bytes


async def _records_body(request: Request) -> list[dict[str, Any]]:
    """``{"records": [{id?, cells}]}`` parsed with orjson: this body can be 1,000 rows, and
    the service checks each row's id and cells anyway."""
    raw = await request.body()
    body = read_json(request, raw) if raw.strip() else {}
    if not isinstance(body, dict) or "records" not in body:
        raise InvalidParameter("records", "Required")
    rows = body["records"]
    if not isinstance(rows, list):
        raise InvalidParameter("records", "expected a list")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidParameter(f"records.{i}", "expected object")
    _check_batch(request, len(rows))
    return rows


@api.get("/v3/tables/{tableId}/count", responses=ok(TableCount))
async def count(table: TableDep) -> JSONOut:
    """The number of rows in the table."""
    n = table.row.row_count
    return JSONOut(TableCount.build(tableTotalRecordsCount=n, count=n))


@api.get("/v3/tables/{tableId}/fieldrun", responses=ok(RunStatus))
async def field_run(conn: Conn, table: TableDep) -> JSONOut:
    """How many cells of each column are in each status (the run status body)."""
    return JSONOut(await runs.run_status(conn, table))


@api.post(
    "/v3/tables/{tableId}/records", responses=ok(RecordsOut), openapi_extra=raw_body(RecordsIn)
)
async def add_records(
    table: TableDep,
    rows: Annotated[list[dict[str, Any]], Depends(_records_body)],
    uow: Work,
    request: Request,
) -> JSONOut:
    """Adds rows; client-given ``id``s are kept, otherwise ``r_…`` ids are minted. With the
    table's ``AUTO_RUN_ON``, its enrichment columns are queued for the new rows."""
    # ``table`` comes first so a missing session or a foreign table answers before the body.
    out = await records.add_records(uow, table, rows, max_cell_bytes=_cell_cap(request))
    return JSONOut(RecordsOut.build(records=out))


@api.patch("/v3/tables/{tableId}/records", responses=ok(RecordsPatchOut))
async def update_records(
    body: RecordsPatch,
    request: Request,
    uow: Work,
    table: TableDep,
) -> JSONOut:
    """Merges cell values into existing rows. With the table's ``AUTO_RUN_ON``, formula
    columns reading the changed cells are queued again."""
    _check_batch(request, len(body.records))
    updated = await records.update_records(
        uow, table, [(r.id, r.cells) for r in body.records], max_cell_bytes=_cell_cap(request)
    )
    return JSONOut(
        RecordsPatchOut.build(records=updated, extraData={"message": "Record updates enqueued"})
    )


@api.post("/v3/tables/{tableId}/records/{recordId:path}", responses=ok(Record))
async def put_record(
    record_id: RecordId,
    uow: Work,
    table: TableDep,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> JSONOut:
    """A blank row with the client's id (``r_<millis>``); an existing id answers that row."""
    out = await records.ensure_record(uow, table, record_id)
    return JSONOut(out)


@api.get("/v3/tables/{tableId}/records/{recordId:path}", responses=ok(Record))
async def get_record(record_id: RecordId, conn: Conn, table: TableDep) -> JSONOut:
    """One row."""
    return JSONOut(await records.get_record(conn, table, record_id))


@api.patch("/v3/tables/{tableId}/records/{recordId:path}", responses=ok(Record))
async def patch_record(
    record_id: RecordId,
    uow: Work,
    table: TableDep,
    body: Annotated[dict[str, Any], Body()],
    request: Request,
) -> JSONOut:
    """Updates one row from ``{cells:{…}}`` or the flat ``{f_…: value}``."""
    cells = body["cells"] if isinstance(body.get("cells"), dict) else body
    updated = await records.update_records(
        uow, table, [(record_id, cells)], max_cell_bytes=_cell_cap(request)
    )
    return JSONOut(Record.build(**updated[0]))


@api.delete("/v3/tables/{tableId}/records/{recordId:path}", responses=ok(Success))
async def delete_record(record_id: RecordId, uow: Work, table: TableDep) -> JSONOut:
    """Deletes one row."""
    await records.delete_record(uow, table, record_id)
    return JSONOut(Success.build(success=True))


@api.delete("/v3/tables/{tableId}/records", responses=ok(DeletedRecords))
async def delete_records(
    uow: Work, table: TableDep, body: Annotated[DeleteRecordsIn | None, Body()] = None
) -> JSONOut:
    """No body deletes every row; ``recordIds`` deletes those; ``deleteAll`` with
    ``viewId`` deletes the rows the view shows except ``omitDeletingRecordIds`` (an empty
    ``recordIds`` beside ``deleteAll`` is ignored)."""
    if body is None or (body.recordIds is None and not body.deleteAll):
        if body is not None and body.model_fields_set - {"omitDeletingRecordIds"}:
            raise InvalidParameter(None, 'give "recordIds" or "deleteAll"')
        count = await records.delete_records(
            uow, table, omit_ids=body.omitDeletingRecordIds if body else ()
        )
    elif body.recordIds or (body.recordIds is not None and not body.deleteAll):
        count = await records.delete_records(uow, table, record_ids=body.recordIds)
    else:
        count = await records.delete_records(
            uow, table, view_id=body.viewId, omit_ids=body.omitDeletingRecordIds
        )
    return JSONOut(DeletedRecords.build(success=True, deletedCount=count))


@api.post("/v3/tables/{tableId}/bulk-fetch-records", responses=ok(RecordList))
@read_only
async def bulk_fetch(body: BulkFetchIn, conn: Conn, table: TableReadDep) -> JSONOut:
    """Rows by id, in the order asked; unknown ids are left out."""
    found = await records.bulk_fetch(
        conn, table, body.recordIds, body.fieldIds, body.includeExternalContentFieldIds
    )
    return JSONOut(RecordList.build(results=found))


@api.get("/v3/tables/{tableId}/views/{viewId}/records", responses=ok(RecordList))
async def list_view_records(
    view_id: ViewId,
    conn: Conn,
    table: TableDep,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONOut:
    """A page of the rows a view shows, in its order."""
    rows = await records.list_records(conn, table, view_id, limit=limit, offset=offset)
    return JSONOut(RecordList.build(results=rows))


@api.get("/v3/tables/{tableId}/views/{viewId}/records/ids", responses=ok(IdList))
async def record_ids(view_id: ViewId, conn: Conn, table: TableDep) -> Response:
    """Every id the view shows, in view order, unpaginated."""
    ids = await records.record_ids_json(conn, table, view_id)
    return Response(b'{"results":' + ids + b"}", media_type="application/json")
