"""The unit of work: the one object a request's (or a job's) write transaction goes through.

It keeps two invariants that callers used to keep by memory:

- **Tables before records.** A write declares the tables whose rows (records, their cells'
  run statuses) it changes with ``write_tables``: their ``tables`` rows are locked in id
  order and their ``data_version`` moves, before any record is touched. Writers of records
  call ``declared`` (updates, deletes) and raise if that was forgotten; inserted rows lock
  nothing another writer holds, so ``rows_inserted`` may come first and the version moves
  at the latest just before commit. On PostgreSQL two writers therefore never wait for
  each other; caches keyed on ``data_version`` (lookups) never serve stale rows.
- **After commit, never before, never on rollback.** ``after_commit(fn)`` runs ``fn`` once
  the transaction has committed: nudging the run engine (``jobs_queued``), dropping cached
  webhook lookups (``source_changed``), making or dropping a view's filter indexes on
  PostgreSQL (``filter_indexes``). What runs there is this process's reaction, wired
  at start in ``CommitListeners``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ClauseElement, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import NotFound
from . import search_index
from .models import Table

log = logging.getLogger("claystack")

Hook = Callable[[], Awaitable[None] | None]


class UndeclaredWrite(RuntimeError):
    """A record writer ran for a table the unit of work was not told about: a bug."""


@dataclass(slots=True)
class CommitListeners:
    """What this process does once a unit of work that queued jobs or changed a source has
    committed; set by the app (``lifecycle``) or the worker at start."""

    jobs_queued: Callable[[], None] | None = None
    source_changed: Callable[[str | None], None] | None = None
    # (table id, field ids, drop): a view's filter indexes to make or drop (PostgreSQL)
    filter_indexes: Callable[[str, list[str], bool], None] | None = None


_BUMP_ONE = (
    update(Table)
    .where(Table.id == bindparam("t"))
    .values(data_version=Table.data_version + 1)
    .execution_options(sqlite_inline=True)
)


@functools.cache
def _set_one(keys: tuple[str, ...], *, rows: bool, bump: bool) -> Any:
    """``UPDATE tables SET <keys>[, row_count += :v_rows][, data_version += 1] WHERE id = :t``,
    its values bound as ``v_<key>``."""
    values: dict[str, Any] = {k: bindparam(f"v_{k}") for k in keys}
    if rows:
        values["row_count"] = Table.row_count + bindparam("v_rows")
    if bump:
        values["data_version"] = Table.data_version + 1
    stmt = update(Table).where(Table.id == bindparam("t")).values(values)
    return stmt.execution_options(sqlite_inline=True)


class UnitOfWork:
    """One transaction and what must happen around it (see the module's docstring)."""

    __slots__ = (
        "conn",
        "write",
        "index_min_rows",
        "_listeners",
        "_tables",
        "_inserted",
        "_hooks",
        "_flags",
    )

    def __init__(
        self,
        conn: AsyncConnection,
        *,
        write: bool,
        listeners: CommitListeners | None = None,
        index_min_rows: int = 10_000,
    ) -> None:
        self.conn = conn
        self.write = write
        self.index_min_rows = index_min_rows  # see Database
        self._listeners = listeners or CommitListeners()
        self._tables: set[str] = set()
        self._inserted: set[str] = set()
        self._hooks: list[Hook] = []
        self._flags: set[object] = set()

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    async def write_tables(
        self, table_ids: Iterable[str], *, rows_added: int = 0, **values: Any
    ) -> None:
        """Declares that rows of these tables change in this transaction: locks their
        ``tables`` rows in id order and moves ``data_version``, once per table. ``values``
        are more ``tables`` columns to set in the same statement (``updated_at``), and
        ``rows_added`` moves ``row_count``; with them the statement runs even for a table
        already declared."""
        if not self.write:
            raise UndeclaredWrite("write_tables in a read-only transaction")
        sets = bool(values) or rows_added != 0
        ids = sorted(set(table_ids) if sets else set(table_ids) - self._tables)
        if not ids:
            return
        if (
            len(ids) == 1
            and sets
            and not any(isinstance(v, ClauseElement) for v in values.values())
        ):
            # The commonest write (one table, plain values): a statement built once.
            params = {f"v_{k}": v for k, v in values.items()}
            params["t"] = ids[0]
            if rows_added:
                params["v_rows"] = rows_added
            bump = ids[0] not in self._tables
            stmt = _set_one(tuple(sorted(values)), rows=rows_added != 0, bump=bump)
            found = (await self.conn.execute(stmt, params)).rowcount
        elif sets:
            found = await self._set(ids, rows_added, values)
        else:
            found = await self._bump(ids)
        if found != len(ids) and not self._inserted.isdisjoint(ids):
            # No foreign key checks new rows on PostgreSQL (migration 0018): their table is
            # found here, locked until commit, or the insert fails.
            raise NotFound("Table not found")
        self._tables.update(ids)
        self._inserted.difference_update(ids)

    async def _set(self, ids: list[str], rows_added: int, values: dict[str, Any]) -> int:
        if len(ids) > 1 and self.dialect == "postgresql":
            # One UPDATE … IN locks rows in the order its plan finds them, not the list's.
            await self.conn.execute(
                select(Table.id).where(Table.id.in_(ids)).order_by(Table.id).with_for_update()
            )
        stmt = update(Table).where(Table.id.in_(ids) if len(ids) > 1 else Table.id == ids[0])
        if rows_added:
            values["row_count"] = Table.row_count + rows_added
        bump = {i for i in ids if i not in self._tables}
        if bump == set(ids):
            values["data_version"] = Table.data_version + 1
        elif bump:
            # Some were declared already: move only the others' versions, separately.
            await self._bump(sorted(bump))
        stmt = stmt.values(**values).execution_options(sqlite_inline=True)
        return int((await self.conn.execute(stmt)).rowcount)

    def tables_written(self, table_ids: Iterable[str]) -> None:
        """The caller's own statement did what ``write_tables`` does for these tables (it
        updated their rows, moving ``data_version``, in the statement that inserted their
        new records: the webhook batch on PostgreSQL): they count as declared."""
        if not self.write:
            raise UndeclaredWrite("tables written in a read-only transaction")
        ids = set(table_ids)
        self._tables.update(ids)
        self._inserted.difference_update(ids)

    async def _bump(self, ids: list[str]) -> int:
        if len(ids) == 1:
            result = await self.conn.execute(_BUMP_ONE, {"t": ids[0]})
        else:
            result = await self.conn.execute(
                update(Table).where(Table.id.in_(ids)).values(data_version=Table.data_version + 1)
            )
        return int(result.rowcount)

    def declared(self, table_id: str) -> None:
        """Raises unless ``write_tables`` named this table: record updates and deletes call
        it before their statement, so a writer cannot skip the lock order."""
        if table_id not in self._tables:
            raise UndeclaredWrite(f"records of {table_id} written before uow.write_tables")

    def rows_inserted(self, table_id: str) -> None:
        """New rows of this table: its version moves before commit if nothing else did."""
        if not self.write:
            raise UndeclaredWrite("rows inserted in a read-only transaction")
        if table_id not in self._tables:
            self._inserted.add(table_id)

    def after_commit(self, fn: Hook) -> None:
        """Runs ``fn`` (plain or async) once the transaction has committed; never if it rolls
        back. A failing hook is logged: the write it follows stands."""
        self._hooks.append(fn)

    def once(self, key: object, fn: Hook) -> None:
        """``after_commit(fn)`` unless a hook with this key is registered already."""
        if key not in self._flags:
            self._flags.add(key)
            self._hooks.append(fn)

    def jobs_queued(self) -> None:
        """Run jobs or a formula sweep were queued: the engine is nudged after commit."""
        wake = self._listeners.jobs_queued
        if wake is not None:
            self.once("jobs_queued", wake)

    def source_changed(self, hook_uuid: str | None) -> None:
        """A source's URL, token or answer type changed: cached lookups go after commit."""
        forget = self._listeners.source_changed
        if forget is not None:
            self.after_commit(lambda: forget(hook_uuid))

    async def filter_indexes(self, table_id: str, field_ids: list[str], *, drop: bool) -> None:
        """Makes (or drops) per-field filter indexes of a table (``search_index``). SQLite:
        in this transaction. PostgreSQL: after commit, by this process's indexer, outside any
        transaction (``CONCURRENTLY``), so that no other table's readers or writers wait on
        ``records`` meanwhile; without an indexer (a worker), in this transaction."""
        if not field_ids:
            return
        hand = self._listeners.filter_indexes
        if self.dialect == "postgresql" and hand is not None:
            ids = list(field_ids)
            self.after_commit(lambda: hand(table_id, ids, drop))
        elif drop:
            await search_index.drop_filter_indexes(self.conn, table_id, field_ids)
        else:
            for field_id in field_ids:
                await search_index.ensure_filter_index(self.conn, table_id, field_id)

    async def before_commit(self) -> None:
        """Moves the versions of tables that only had rows inserted."""
        if self._inserted:
            await self.write_tables(self._inserted)

    async def committed(self) -> None:
        """Runs the after-commit hooks, in the order they were registered."""
        hooks, self._hooks = self._hooks, []
        for fn in hooks:
            try:
                result = fn()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - the transaction stands whatever a hook does
                log.exception("after-commit hook failed")
