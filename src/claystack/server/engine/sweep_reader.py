"""A sweep's next batch: a formula column's QUEUED cells read in row order, and evaluated in
the formula worker processes, either whole (one JSON text into JavaScript and back) or row
by row. No lock is held while a batch is evaluated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...wire.cells import CellStatus
from ..config import Settings
from ..enrichment import evaluation, formulas
from ..enrichment.pool import FormulaPool
from ..storage.engine import Database
from ..storage.repositories import fields as fields_repo
from ..storage.repositories import sweeps
from .work import FormulaCell, cell_values, dumps

_WHOLE_BYTES = 4 * 1024 * 1024  # cells of a batch evaluated whole, at most (about)


@dataclass(slots=True)
class Batch:
    """A batch read and evaluated: ``cells`` (with ``stamps``, each row's ``updated_at``
    as read), or ``stored``, the JSON text of the rows to store (``sweeps.store_rows``)."""

    fields: dict[str, Any]
    runnable: bool
    count: int = 0
    last: int = 0
    end: bool = True  # the read reached the column's last queued cell
    cells: list[FormulaCell] = field(default_factory=list)
    stamps: dict[int, int] = field(default_factory=dict)
    stored: str | None = None


def _too_big(value: Any, limit: int) -> bool:
    """Whether the value's JSON is longer than ``limit`` bytes of UTF-8 (without encoding
    the short strings, which are most values)."""
    if isinstance(value, str) and len(value) * 6 + 2 <= limit:
        return False
    return len(dumps(value).encode()) > limit


class BatchReader:
    """Reads a sweep's batches (``read_whole``, or ``read_cells`` when a batch cannot be
    evaluated whole) and evaluates them."""

    def __init__(self, db: Database, settings: Settings, pool: FormulaPool) -> None:
        self.db = db
        self.settings = settings
        self.pool = pool

    async def read_cells(
        self, table_id: str, field_id: str, position: int, limit: int, sweep: Any
    ) -> Batch:
        """The next batch, evaluated row by row (``evaluate``)."""
        fields, rows, raw = await self.read(
            table_id, field_id, position, limit, sweep.after_seq, sweep.fill_until
        )
        target = fields.get(field_id)
        batch = Batch(fields, target is not None and target.type == "formula")
        if rows:
            batch.cells = await self.evaluate(target, fields, rows, raw)
            batch.stamps = {r.seq: r.updated_at for r in rows}
            batch.count, batch.last = len(rows), rows[-1].seq
        batch.end = len(rows) < limit
        return batch

    async def read_whole(
        self, table_id: str, field_id: str, position: int, limit: int, sweep: Any
    ) -> Batch | None:
        """The next batch read as one JSON text and evaluated in one call into JavaScript,
        the rows to store coming back as one JSON text, with no work per row in Python;
        None when the formula or the batch needs ``read_cells`` (it reads an action
        column's result, its column's type converts values, or ``evaluate_rows`` says
        so)."""
        # PostgreSQL: a transaction, for the read's local settings (sweeps.queued_rows).
        async with self.db.transaction(write=not self.db.is_sqlite) as conn:
            fields = {f.id: f for f in await fields_repo.list_any_order(conn, table_id)}
            target = fields.get(field_id)
            if target is None or target.type != "formula":
                return Batch(fields, False)
            ts = target.type_settings
            refs = evaluation.references(str(ts.get("formulaText") or ""))
            if any(getattr(fields.get(r), "type", None) == "action" for r in refs):
                return None
            if (ts.get("dataTypeSettings") or {}).get("type") in evaluation.COERCED_TYPES:
                return None
            # A batch stops at _WHOLE_BYTES of cells (JavaScript's memory is limited), but
            # takes one row at least.
            total, count, last, rows = await sweeps.queued_rows_json(
                conn,
                table_id,
                field_id,
                position,
                limit,
                sweep.after_seq,
                sweep.fill_until,
                max_bytes=_WHOLE_BYTES,
            )
        batch = Batch(fields, True, int(count), int(last or 0), end=total < limit)
        if batch.count:
            batch.stored = await self.pool.evaluate_rows(str(ts.get("formulaText") or ""), rows)
            if batch.stored is None:
                return None
        return batch

    async def read(
        self,
        table_id: str,
        field_id: str,
        position: int,
        limit: int,
        after_seq: int | None = None,
        fill_until: int | None = None,
    ) -> tuple[dict[str, Any], list[Any], bool]:
        """The table's fields, the column's next QUEUED cells after ``position`` (none when
        the column is gone or no longer a formula), and whether their ``cells`` are the JSON
        text the database holds: so for a formula that reads no action column, as it needs
        no ``meta``."""
        # PostgreSQL: a transaction, for the read's local settings (sweeps.queued_rows).
        async with self.db.transaction(write=not self.db.is_sqlite) as conn:
            fields = {f.id: f for f in await fields_repo.list_any_order(conn, table_id)}
            target = fields.get(field_id)
            if target is None or target.type != "formula":
                return fields, [], False
            refs = evaluation.references(str(target.type_settings.get("formulaText") or ""))
            raw = all(getattr(fields.get(r), "type", None) != "action" for r in refs)
            rows = await sweeps.queued_rows(
                conn, table_id, field_id, position, limit, after_seq, fill_until, raw=raw
            )
            return fields, rows, raw

    async def evaluate(
        self, field: Any, fields: Mapping[str, Any], rows: Sequence[Any], raw: bool
    ) -> list[FormulaCell]:
        """The cells of a batch, evaluated in the formula worker processes."""
        formula = str(field.type_settings.get("formulaText") or "")
        results: list[Any]
        if raw:
            results = await self.pool.evaluate_many_json(formula, [r.cells for r in rows])
        else:
            values = [cell_values(fields, r.cells, r.meta) for r in rows]
            single = evaluation.single_reference(formula)
            if single is not None:
                results = [v.get(single) for v in values]
            else:
                refs = evaluation.references(formula)
                payloads = [formulas.row_json(refs, v) for v in values]
                results = await self.pool.evaluate_many_json(formula, payloads)
        out: list[FormulaCell] = []
        limit = self.settings.max_cell_bytes
        data_type = (field.type_settings.get("dataTypeSettings") or {}).get("type")
        for r, value in zip(rows, results, strict=True):
            if not isinstance(value, evaluation.FormulaError):
                value = evaluation.coerce(value, data_type)
                if _too_big(value, limit):
                    value = formulas.result_too_big(limit)
            if isinstance(value, evaluation.FormulaError):
                out.append(
                    FormulaCell(
                        r.seq, r.id, CellStatus.ERROR, None, evaluation.error_message(value)
                    )
                )
            else:
                status = (
                    CellStatus.SUCCESS_NO_DATA if evaluation.is_blank(value) else CellStatus.SUCCESS
                )
                out.append(FormulaCell(r.seq, r.id, status, value))
        return out
